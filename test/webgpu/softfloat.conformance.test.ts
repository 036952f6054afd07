import { describe, expect, it } from 'vitest';
import type { AdapterKind } from '../../src/engines/webgpu/device.js';
import { formatConformance } from '../../src/softfloat/conformance/report.js';
import { runSuite } from '../../src/softfloat/conformance/run.js';
import { conformanceSuites, type ConformanceSuite } from '../../src/softfloat/conformance/suites.js';
import { f32_add } from '../../src/softfloat/f32_add.js';
import { SOFTFLOAT_TWINS, WGSL_TWINS } from '../../src/softfloat/twins.js';
import { WGSL_CODES } from '../../src/softfloat/wgslCodes.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// The selftest's quick level on both software adapters: every sqrt mantissa of two binades,
// every bf16/fp8/e8m0 code and rounding boundary, a strided sweep of all f32 patterns per
// encoder, and a million seeded pairs (triples for fma) per arithmetic op. SwiftShader flushes
// subnormals in its own float ops, so a soft-float that leaned on them would fail there. The
// sm_90 hardware ops run on their edges, a strided sweep, every 16th input of the rsqrt period
// [1, 4) and a million seeded div.full pairs each (suites.ts).

const SUITES = conformanceSuites('quick');

describe('conformance cases (no GPU)', () => {
  it('cover every soft-float and sm_90 hardware-op twin', () => {
    expect(new Set(SUITES.map((s) => s.twin.name))).toEqual(new Set(WGSL_TWINS.map((t) => t.name)));
  });

  it('hold every mantissa of the sqrt binades [1, 2) and [2, 4), and every subnormal exponent', () => {
    const sqrt = SUITES.find((s) => s.label === 'f32_sqrt(keep)')!;
    // One flag per pattern of [1, 4) (exponent fields 127 and 128), one per subnormal.
    const binades = new Uint8Array(1 << 24);
    const subnormals = new Uint8Array(1 << 23);
    for (const batch of sqrt.batches(1 << 22)) {
      for (const v of batch) {
        if (v >>> 23 === 127 || v >>> 23 === 128) binades[v - (127 << 23)] = 1;
        if (v >>> 23 === 0) subnormals[v] = 1;
      }
    }
    expect(binades.indexOf(0)).toBe(-1);
    for (let lead = 0; lead < 23; lead++) {
      expect(subnormals[1 << lead]).toBe(1);
      expect(subnormals[(2 << lead) - 1]).toBe(1);
    }
  });

  it('are the same on every call (seeded)', () => {
    const first = (suite: ConformanceSuite): Uint32Array =>
      suite
        .batches(1 << 16)
        [Symbol.iterator]()
        .next().value as Uint32Array;
    const again = conformanceSuites('quick');
    for (const [i, suite] of SUITES.entries()) expect(first(again[i])).toEqual(first(suite));
  });
});

describe.each(SOFTWARE_ADAPTERS)('soft-float conformance on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it.for(SUITES.map((s) => [s.label, s] as const))('%s matches the CPU twin bit for bit', async ([, suite], { skip }) => {
    const ctx = device(skip);
    const result = await runSuite(ctx, suite);
    expect(result.cases).toBe(suite.count);
    expect(result.mismatches, formatConformance([result], WGSL_TWINS)).toBe(0);
  });

  it('counts and reports, field by field, a CPU twin that disagrees', async ({ skip }) => {
    const ctx = device(skip);
    const add = SOFTFLOAT_TWINS.find((t) => t.name === 'f32_add')!;
    // Off by one in the last bit when both operands are equal: the first pair only.
    const broken = { ...add, cpu: (a: number, b: number) => (a === b ? f32_add(a, b, 'keep') ^ 1 : f32_add(a, b, 'keep')) };
    const keep = WGSL_CODES.f32Subnormals.keep;
    const cases = Uint32Array.from([0x3f800000, 0x3f800000, keep, 0x3f800000, 0x40000000, keep, 0x7fc00000, 0x00000001, keep]);
    const suite: ConformanceSuite = { label: 'broken add', twin: broken, coverage: 'three pairs', count: 3, batches: () => [cases] };
    const result = await runSuite(ctx, suite);
    expect(result.mismatches).toBe(1);
    expect(result.examples).toEqual([{ args: [0x3f800000, 0x3f800000, keep], gpu: 0x40000000, cpu: 0x40000001 }]);
    const report = formatConformance([result], [broken]);
    expect(report).toContain('f32_add(0x3f800000 (+ exp 7f frac 000000), 0x3f800000 (+ exp 7f frac 000000), keep)');
    expect(report).toContain('gpu 0x40000000 (+ exp 80 frac 000000)');
    expect(report).toContain('cpu 0x40000001 (+ exp 80 frac 000001)');
    expect(report).toContain('FAIL: 3 cases in 1 suites, 1 mismatches');
  });
});
