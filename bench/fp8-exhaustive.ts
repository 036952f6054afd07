import { FP8_FORMATS, fp8Encoder, fp8FromF32Bits, type Fp8Saturation } from '../src/numerics/fp8.js';

// fp8Encoder (the CPU engine's table) against fp8FromF32Bits (the definition, the WGSL twin) on
// every one of the 2^32 f32 inputs, for each format and saturation given (all by default). Too
// long for CI (about a minute per pair on one core); test/numerics/fp8.test.ts checks every top
// 16-bit pattern and seeded inputs there. Exit 1 on any difference.
// Usage: node dist/bench/fp8-exhaustive.js [FORMAT,SATURATION]...

const SATURATIONS: readonly Fp8Saturation[] = ['satfinite', 'overflow'];
const asked = process.argv.slice(2).map((a) => a.split(',') as [(typeof FP8_FORMATS)[number], Fp8Saturation]);
const pairs = asked.length > 0 ? asked : FP8_FORMATS.flatMap((f) => SATURATIONS.map((s) => [f, s] as [(typeof FP8_FORMATS)[number], Fp8Saturation]));
let failed = false;
for (const [format, saturation] of pairs) {
  const start = performance.now();
  const encode = fp8Encoder(format, saturation);
  let differing = 0;
  let first = -1;
  for (let high = 0; high < 1 << 16; high++) {
    const base = (high << 16) >>> 0;
    for (let low = 0; low < 1 << 16; low++) {
      const bits = base + low;
      if (encode(bits) !== fp8FromF32Bits(bits, format, saturation)) {
        if (differing++ === 0) first = bits;
      }
    }
  }
  failed ||= differing > 0;
  const where = differing > 0 ? `, first at 0x${first.toString(16)}` : '';
  console.log(`${format} ${saturation}: 2^32 inputs, ${differing} differ${where} (${((performance.now() - start) / 1000).toFixed(0)} s)`);
}
process.exit(failed ? 1 : 0);
