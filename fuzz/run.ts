import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Xoshiro128StarStar } from '../src/fixtures/prng.js';
import { FormatError } from '../src/fixtures/errors.js';
import { checkSafetensors } from '../src/fixtures/safetensors.js';

// A seeded mutator over the committed corpus (fuzz/corpus). Every mutated file goes through
// three judges: the TypeScript reader (in this process), the C++ reader (one
// hip/build/host/safetensors_check --stream process per batch) and the independent Python
// oracle (fuzz/oracle.py, likewise). Counted: files, the verdicts, any disagreement, any file a
// reader accepts that the oracle calls malformed, any crash (an exception other than the
// readers' format errors, or a checker exiting other than 0), and peak memory. Findings are
// written to --findings with the seed and index that reproduce them. Exit 1 on any finding.
//
//   node dist/fuzz/run.js --seed 1 --count 100000 [--checker hip/build/host/safetensors_check]

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    checker: { type: 'string', default: 'hip/build/host/safetensors_check' },
    oracle: { type: 'string', default: 'fuzz/oracle.py' },
    corpus: { type: 'string', default: 'fuzz/corpus' },
    findings: { type: 'string', default: 'fuzz/findings' },
    // The stated memory bounds: a batch's peak bounds every file in it (files are <= 64 KB).
    'max-checker-mib': { type: 'string', default: '64' },
    'max-node-mib': { type: 'string', default: '256' },
  },
});
const seed = Number(values.seed);
const count = Number(values.count);
const batchSize = Number(values.batch);

const corpus = readdirSync(values.corpus)
  .filter((f) => f.endsWith('.safetensors'))
  .sort()
  .map((f) => new Uint8Array(readFileSync(join(values.corpus, f))));

const rng = Xoshiro128StarStar.fromSeed(seed);
const pick = <T>(items: readonly T[]): T => items[rng.nextBelow(items.length)];
const encoder = new TextEncoder();

/** Tokens that break the rules in the ways the issue lists, and structure to recombine. */
const TOKENS = [
  '1.0',
  '-0',
  '2e0',
  '01',
  '9007199254740991',
  '9007199254740992',
  '1099511627776',
  '4503599627370496',
  '0',
  '1',
  '8',
  '-1',
  '"__metadata__"',
  '\\ud800',
  '\\udc00',
  '\\ud83d\\ude00',
  '\\u0000',
  '\\u001b',
  '\ufeff',
  ' ',
  '\t',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '"',
  '"dtype"',
  '"shape"',
  '"data_offsets"',
  '"F32"',
  '"BF16"',
  '"F8_E8M0"',
  '"F16"',
  'null',
  'true',
  'NaN',
  '[0,0]',
  '[]',
  '"x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},',
  '[[[[[[[[',
  ']]]]]]]]',
].map((t) => encoder.encode(t));
const INTERESTING_BYTES = [
  0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc2, 0xed, 0xef, 0xf4, 0xf5, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x2d, 0x2e, 0x65, 0x20,
];
const NUMBERS = ['0', '1', '2', '3', '4', '8', '16', '-0', '1.0', '2e0', '9007199254740991', '9007199254740992', '4294967296', '1099511627776'];

function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** One mutation of a byte string (a header or a data buffer). */
function mutate(bytes: Uint8Array): Uint8Array {
  const at = rng.nextBelow(bytes.length + 1);
  switch (rng.nextBelow(9)) {
    case 0: {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[at % bytes.length] ^= 1 << rng.nextBelow(8);
      return out;
    }
    case 1: {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[at % bytes.length] = pick(INTERESTING_BYTES);
      return out;
    }
    case 2:
      return splice(bytes, at, Math.min(bytes.length - at, 1 + rng.nextBelow(16)), new Uint8Array(0));
    case 3:
      return splice(bytes, at, 0, pick(TOKENS));
    case 4: {
      // A copy of a stretch elsewhere: duplicate keys, entries and brackets.
      const from = rng.nextBelow(bytes.length + 1);
      const length = Math.min(bytes.length - from, 1 + rng.nextBelow(64));
      return splice(bytes, at, 0, bytes.slice(from, from + length));
    }
    case 5: {
      // Replace one number of the text with another (keeps the JSON well formed).
      const text = new TextDecoder().decode(bytes);
      const runs = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
      if (runs.length === 0 || text.includes('\ufffd')) return bytes;
      const run = pick(runs);
      const replacement = rng.nextBoolean() ? pick(NUMBERS) : String(Number(run[0]) + pick([-2, -1, 1, 2]));
      return encoder.encode(text.slice(0, run.index) + replacement + text.slice((run.index ?? 0) + run[0].length));
    }
    case 6:
      return bytes.slice(0, at);
    case 7: {
      // A zero-size tensor at an offset some tensor begins or ends at, listed at the front: valid
      // whatever the key order, so the accepting path is exercised too.
      const text = new TextDecoder().decode(bytes);
      const offsets = [...text.matchAll(/"data_offsets":\[(\d+),(\d+)\]/g)].flatMap((m) => [m[1], m[2]]);
      if (!text.startsWith('{') || offsets.length === 0 || text.includes('\ufffd')) return bytes;
      const offset = pick(offsets);
      const name = `z${rng.nextBelow(1000)}`; // the draws in their old order: name, dtype, shape
      const dtype = pick(['BF16', 'F32', 'F8_E4M3']);
      const shape = pick(['0', '3,0', '0,9007199254740991']);
      const entry = `"${name}":{"dtype":"${dtype}","shape":[${shape}],"data_offsets":[${offset},${offset}]}`;
      const comma = text.trimEnd() === '{}' ? '' : ',';
      return encoder.encode(`{${entry}${comma}${text.slice(1)}`);
    }
    default:
      return splice(
        bytes,
        at,
        0,
        Uint8Array.from({ length: 1 + rng.nextBelow(8) }, () => rng.nextBelow(256)),
      );
  }
}

/** A mutated file: the header and the data mutated apart, then the length prefix mostly fixed up. */
function mutatedFile(): Uint8Array {
  const base = pick(corpus);
  const declared = base.length >= 8 ? Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true)) : 0;
  const headerEnd = Math.min(base.length, 8 + Math.min(declared, base.length));
  let header: Uint8Array = base.slice(Math.min(8, base.length), headerEnd);
  let data: Uint8Array = base.slice(headerEnd);
  if (rng.nextBelow(8) === 0) data = pick(corpus).slice(8);
  const mutations = 1 + rng.nextBelow(4);
  for (let i = 0; i < mutations; i++) {
    if (rng.nextBelow(4) === 0) data = mutate(data);
    else header = mutate(header);
  }
  const prefix = new Uint8Array(8);
  const view = new DataView(prefix.buffer);
  const roll = rng.nextBelow(16);
  view.setBigUint64(
    0,
    BigInt(roll < 13 ? header.length : roll === 13 ? declared : header.length + rng.nextInt(-3, 3) + (roll === 15 ? 100_000_000 : 0)) & 0xffff_ffff_ffff_ffffn,
    true,
  );
  const out = new Uint8Array(8 + header.length + data.length);
  out.set(prefix, 0);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

function records(files: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    files.flatMap((f) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(f.length);
      return [length, Buffer.from(f.buffer, f.byteOffset, f.length)];
    }),
  );
}

interface Judged {
  readonly lines: string[];
  readonly status: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

function judge(command: string, args: string[], input: Buffer): Judged {
  const r = spawnSync(command, args, { input, maxBuffer: 1 << 30 });
  return {
    lines: r.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== ''),
    status: r.status,
    signal: r.signal,
    stderr: r.stderr.toString('utf8'),
  };
}

const verdictOf = (line: string | undefined) => (line === undefined ? 'missing' : line.split(' ')[0]);

mkdirSync(values.findings, { recursive: true });
const tally = {
  files: 0,
  accepted: 0,
  rejected: 0,
  disagreements: 0,
  acceptedMalformed: 0,
  crashes: 0,
  maxFileBytes: 0,
  nodePeakRssMiB: 0,
  checkerPeakRssMiB: 0,
};
const findings: string[] = [];
const started = Date.now();
function finding(kind: string, index: number, bytes: Uint8Array | null, detail: string): void {
  if (findings.length < 50 && bytes) writeFileSync(join(values.findings, `${kind}-seed${seed}-${index}.safetensors`), bytes);
  findings.push(`${kind} #${index}: ${detail}`);
}

for (let start = 0; start < count; start += batchSize) {
  const files = Array.from({ length: Math.min(batchSize, count - start) }, mutatedFile);
  const ts = files.map((bytes, i) => {
    try {
      checkSafetensors(bytes, `#${start + i}`);
      return 'ok';
    } catch (e) {
      if (e instanceof FormatError) return 'reject';
      tally.crashes++;
      finding('ts-crash', start + i, bytes, String(e));
      return 'crash';
    }
  });
  const input = records(files);
  const cpp = judge(values.checker, ['--stream'], input);
  const py = judge('python3', [values.oracle], input);
  for (const [name, r] of [
    ['c++', cpp],
    ['oracle', py],
  ] as const) {
    if (r.status !== 0 || r.lines.length !== files.length) {
      tally.crashes++;
      finding(`${name}-crash`, start, null, `exit ${r.status} signal ${r.signal}, ${r.lines.length}/${files.length} verdicts: ${r.stderr.slice(0, 300)}`);
    }
  }
  const rss = /maxrss_kib (\d+)/.exec(cpp.stderr);
  if (rss) tally.checkerPeakRssMiB = Math.max(tally.checkerPeakRssMiB, Number(rss[1]) / 1024);
  files.forEach((bytes, i) => {
    const verdicts = [ts[i], verdictOf(cpp.lines[i]), verdictOf(py.lines[i])];
    tally.files++;
    tally.maxFileBytes = Math.max(tally.maxFileBytes, bytes.length);
    if (verdicts[0] === 'ok') tally.accepted++;
    else tally.rejected++;
    if (verdicts[2] !== 'ok' && (verdicts[0] === 'ok' || verdicts[1] === 'ok')) {
      tally.acceptedMalformed++;
      finding('accepted-malformed', start + i, bytes, `ts ${verdicts[0]}, c++ ${verdicts[1]}, oracle ${py.lines[i]}`);
    }
    if (new Set(verdicts).size !== 1) {
      tally.disagreements++;
      finding('disagreement', start + i, bytes, `ts ${verdicts[0]}, c++ ${cpp.lines[i]}, oracle ${py.lines[i]}`);
    }
  });
  tally.nodePeakRssMiB = Math.max(tally.nodePeakRssMiB, process.memoryUsage().rss / 2 ** 20);
}

if (tally.checkerPeakRssMiB > Number(values['max-checker-mib']))
  finding('memory', count, null, `C++ checker peak ${tally.checkerPeakRssMiB.toFixed(0)} MiB over the ${values['max-checker-mib']} MiB bound`);
if (tally.nodePeakRssMiB > Number(values['max-node-mib']))
  finding('memory', count, null, `node peak ${tally.nodePeakRssMiB.toFixed(0)} MiB over the ${values['max-node-mib']} MiB bound`);
const seconds = (Date.now() - started) / 1000;
const summary = {
  seed,
  ...tally,
  findings: findings.length,
  nodePeakRssMiB: Math.round(tally.nodePeakRssMiB),
  checkerPeakRssMiB: Math.round(tally.checkerPeakRssMiB),
  seconds,
};
console.log(JSON.stringify(summary));
for (const f of findings.slice(0, 20)) console.log(f);
process.exitCode = findings.length === 0 ? 0 : 1;
