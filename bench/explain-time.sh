#!/usr/bin/env bash
# explain's wall time on TP 8 x M x 7168 with quant (issue 16: under 2 s at M = 64), this build
# against an older one (OLD: a checkout built with `npm run build`), alternating in one run:
# old, new, old, new, ... K times each, each a fresh process (what a user waits for), with and
# without --rstd infer; the candidate is aiter-1stage-quant@gfx942 with the sm90 rsqrt (rows off
# by an rstd ULP), the golden the preset itself. Prints min/median/max of the wall and of the CPU
# (user + system) seconds and of the minor page faults (about 13 us of CPU each on this VM),
# the ratios of the medians, whether the two builds printed the same JSON, and the load average
# before and after (on a shared machine the CPU seconds move less).
# Usage: bash bench/explain-time.sh OLD [K] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bash bench/explain-time.sh OLD [K] [M]}
k=${2:-5}
m=${3:-64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cli=dist/src/cli/main.js
node $cli gen --preset aiter-1stage-quant@gfx942 --ranks 8 --tokens "$m" --hidden 7168 --seed 1 --out "$work/g" >/dev/null
node $cli gen --preset aiter-1stage-quant@gfx942 --set hardwareOps.rsqrt=sm90 --ranks 8 --tokens "$m" --hidden 7168 --seed 1 --out "$work/c" >/dev/null
golden=$(ls "$work"/g/*.safetensors)
candidate=$(ls "$work"/c/*.safetensors)
echo "explain, TP 8 x $m x 7168, aiter-1stage-quant@gfx942 vs its sm90-rsqrt variant; $(date -u +%FT%TZ); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
stats() { sort -n | awk '{a[NR]=$1} END {printf "%.2f/%.2f/%.2f", a[1], a[int((NR+1)/2)], a[NR]}'; }
for flags in "" "--rstd infer"; do
  for which in old new; do : >"$work/$which.wall" && : >"$work/$which.cpu" && : >"$work/$which.faults"; done
  for _ in $(seq "$k"); do
    for which in old new; do
      c=$([ $which = old ] && echo "$old/$cli" || echo "$cli")
      # shellcheck disable=SC2086
      /usr/bin/time -f '%e %U %S %R' -o "$work/t" node "$c" explain "$candidate" --inputs "$golden" $flags --json >"$work/$which.json"
      read -r wall user sys faults <"$work/t"
      echo "$wall" >>"$work/$which.wall"
      echo "$faults" >>"$work/$which.faults"
      echo "$user + $sys" | bc >>"$work/$which.cpu"
    done
  done
  same=$(cmp -s "$work/old.json" "$work/new.json" && echo "same JSON" || echo "JSON DIFFERS")
  for what in wall cpu faults; do
    o=$(stats <"$work/old.$what")
    n=$(stats <"$work/new.$what")
    ratio=$(echo "scale=2; $(echo "$o" | cut -d/ -f2) / $(echo "$n" | cut -d/ -f2)" | bc)
    echo "explain ${flags:-(no flags)}, $what: old ${o}, new ${n} (min/median/max of $k); old/new medians ${ratio}x; ${same}"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
