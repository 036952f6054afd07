# Sourced by the .ci scripts: Debian package checks and installs, shared so that every script
# waits for the dpkg lock, runs apt-get as root (sudo when needed) and tests status the same way.
# Status is compared as captured text, never `producer | grep -q`: under pipefail, grep's early
# exit can kill a long producer with SIGPIPE and fail a check whose match was found.

apt_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]
}

# Prints the named packages that are not installed, space-separated.
apt_missing() {
  local package missing=()
  for package in "$@"; do
    apt_installed "$package" || missing+=("$package")
  done
  echo "${missing[*]}"
}

apt_install() {
  local runner=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "apt: need root (or sudo) to install $*" >&2; return 1; }
    runner=(sudo)
  fi
  "${runner[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
