import { fp8Encoder, fp8FromF32Bits } from '../src/numerics/fp8.js';

// fp8FromF32Bits (the definition) against fp8Encoder (the CPU engine's table), alternating in one
// process over the same 2^22 seeded f32 values (normal, mixed magnitudes around the e4m3 range),
// e4m3fnuz satfinite: ms min/median/max of each, the ratio of the medians, and whether every code
// agreed. Usage: node dist/bench/fp8-encoder.js [ROUNDS]

const rounds = Number(process.argv[2] ?? '7');
const n = 1 << 22;
const values = new Float32Array(n);
const bits = new Uint32Array(values.buffer);
let state = 12345;
for (let i = 0; i < n; i++) {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  values[i] = (state / 2 ** 32 - 0.5) * 2 ** ((state & 31) - 16);
}
const encode = fp8Encoder('e4m3fnuz', 'satfinite');
const definition = new Uint8Array(n);
const table = new Uint8Array(n);
const times: Record<'definition' | 'table', number[]> = { definition: [], table: [] };
for (let r = 0; r < rounds; r++) {
  let start = performance.now();
  for (let i = 0; i < n; i++) definition[i] = fp8FromF32Bits(bits[i], 'e4m3fnuz', 'satfinite');
  times.definition.push(performance.now() - start);
  start = performance.now();
  for (let i = 0; i < n; i++) table[i] = encode(bits[i]);
  times.table.push(performance.now() - start);
}
const stats = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const [d, t] = [stats(times.definition), stats(times.table)];
const mid = (xs: number[]): number => xs[Math.floor(xs.length / 2)];
const show = (xs: number[]): string => `${xs[0].toFixed(1)}/${mid(xs).toFixed(1)}/${xs[xs.length - 1].toFixed(1)} ms`;
const same = definition.every((c, i) => c === table[i]);
console.log(
  `${n} conversions x ${rounds}: fp8FromF32Bits ${show(d)}, fp8Encoder ${show(t)}; ${(mid(d) / mid(t)).toFixed(1)}x; codes ${same ? 'same' : 'DIFFER'}`,
);
