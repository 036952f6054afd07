import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import * as current from '../src/fixtures/inputs.js';

// Input generation time and output digest per generator (issue 16: "at least 5x faster, same
// bits"). With --old PATH (the inputs.js of an older build, e.g. the pre-coordinator commit
// compiled elsewhere), old and new run alternately in one process on the same case, and each
// line gives both times (min/median/max ms), the ratio of the medians and whether the SHA-256
// of every output (rank inputs, residual, weight) is the same.
// Usage: node dist/bench/inputs.js [--old PATH] [--shape N,M,H] [--repeat K]

type Generate = typeof current.generateInputs;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const [ranks, tokens, hidden] = option('--shape', '8,128,7168').split(',').map(Number);
const repeat = Number(option('--repeat', '3'));
const oldPath = option('--old', '');
const old: Generate | null = oldPath ? ((await import(pathToFileURL(resolve(oldPath)).href)) as typeof current).generateInputs : null;

function timed(generate: Generate, name: string): { ms: number; digest: string } {
  const start = performance.now();
  const g = generate(name, { ranks, tokens, hidden, group: 128, seed: 7 });
  const ms = performance.now() - start;
  const hash = createHash('sha256');
  for (const a of [...g.rankInputs, g.residual, g.weight]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return { ms, digest: hash.digest('hex') };
}

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0].toFixed(0)}/${s[Math.floor(s.length / 2)].toFixed(0)}/${s[s.length - 1].toFixed(0)}`;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`N=${ranks} M=${tokens} H=${hidden} group 128 seed 7, ${repeat} runs each, ms min/median/max`);
for (const name of current.INPUT_GENERATOR_NAMES) {
  const now: number[] = [];
  const before: number[] = [];
  const digests = new Set<string>();
  let nowDigest = '';
  for (let i = 0; i < repeat; i++) {
    if (old) {
      const o = timed(old, name);
      before.push(o.ms);
      digests.add(o.digest);
    }
    const n = timed(current.generateInputs, name);
    now.push(n.ms);
    digests.add(n.digest);
    nowDigest = n.digest;
  }
  const line = [name.padEnd(18), `new ${stats(now).padStart(14)}`, `sha256 ${nowDigest.slice(0, 16)}`];
  if (old) {
    const speedUp = `speed-up ${(median(before) / median(now)).toFixed(1)}x`;
    line.push(`old ${stats(before).padStart(14)}`, speedUp, digests.size === 1 ? 'bits same' : 'BITS DIFFER');
  }
  console.log(line.join('  '));
}
