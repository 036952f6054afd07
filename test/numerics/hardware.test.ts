import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { correctlyRoundedRcpF32, correctlyRoundedRsqrtF32 } from '../../src/numerics/hardware/correctlyRounded.js';
import { sm90DivFull, sm90DivFullFtz } from '../../src/numerics/hardware/sm90Div.js';
import { sm90RcpApprox, sm90RcpApproxFtz, sm90RsqrtApprox, sm90RsqrtApproxFtz, tableMembers } from '../../src/numerics/hardware/sm90.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

// The sm_90 approximate instructions against what an H200 returned (gpu/approx_measure.cu):
// 2^16 seeded inputs of every class for the unary ops, and div.full on seeded pairs of three
// ranges plus every pair of 40 edge values (test/numerics/hardware-data, gpu/MEASUREMENTS.md).
// The tables the emulation reads cover one period of the input; these vectors lie all over
// the f32 range, so they test the scaling rule and the special cases too.

function rows(file: string, width: number): Uint32Array[] {
  const raw = gunzipSync(readFileSync(new URL(`./hardware-data/${file}`, import.meta.url)));
  const all = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const out: Uint32Array[] = [];
  for (let i = 0; i < all.length; i += width) out.push(all.subarray(i, i + width));
  return out;
}

const isNan = (b: number): boolean => (b & 0x7fffffff) > 0x7f800000;
const hex = (b: number): string => `0x${(b >>> 0).toString(16).padStart(8, '0')}`;

function mismatches(cases: Uint32Array[], column: number, f: (...args: number[]) => number, arity: number): string[] {
  const bad: string[] = [];
  for (const row of cases) {
    const args = Array.from(row.subarray(0, arity));
    const want = row[column];
    const got = f(...args) >>> 0;
    const ok = got === want || (isNan(got) && isNan(want));
    if (!ok && bad.length < 10) bad.push(`${args.map(hex).join(', ')}: hardware ${hex(want)}, emulation ${hex(got)}`);
  }
  return bad;
}

describe('sm_90 rsqrt.approx / rcp.approx (measured tables)', () => {
  const spots = rows('sm90-unary-spots.u32.gz', 5);

  it('has 2^16 measured spot inputs', () => {
    expect(spots.length).toBe(1 << 16);
  });
  it('rsqrt.approx.f32 matches the H200 on every spot input', () => {
    expect(mismatches(spots, 1, sm90RsqrtApprox, 1)).toEqual([]);
  });
  it('rsqrt.approx.ftz.f32 matches the H200 on every spot input', () => {
    expect(mismatches(spots, 2, sm90RsqrtApproxFtz, 1)).toEqual([]);
  });
  it('rcp.approx.f32 matches the H200 on every spot input', () => {
    expect(mismatches(spots, 3, sm90RcpApprox, 1)).toEqual([]);
  });
  it('rcp.approx.ftz.f32 matches the H200 on every spot input', () => {
    expect(mismatches(spots, 4, sm90RcpApproxFtz, 1)).toEqual([]);
  });
  it('special values follow the measured rules', () => {
    expect(sm90RsqrtApprox(0x00000000)).toBe(0x7f800000);
    expect(sm90RsqrtApprox(0x80000000)).toBe(0xff800000);
    expect(sm90RsqrtApprox(0x7f800000)).toBe(0);
    expect(isNan(sm90RsqrtApprox(0xbf800000))).toBe(true);
    expect(sm90RcpApprox(0xff800000)).toBe(0x80000000);
    expect(sm90RcpApproxFtz(0x00000001)).toBe(0x7f800000);
    expect(sm90RsqrtApprox(0x3f800000)).toBe(0x3f800000); // rsqrt(1) = 1
    expect(sm90RsqrtApprox(0x40800000)).toBe(0x3f000000); // rsqrt(4) = 1/2
    expect(sm90RcpApprox(0x40000000)).toBe(0x3f000000); // rcp(2) = 1/2
  });
});

describe('sm_90 table files (blocked gzip, read member by member)', () => {
  // The period tables as gpu/export_tables.py first wrote them (one gzip stream each, commit
  // dede08d): sha256 of the decompressed int8 differences. The blocked files must hold the same.
  const TABLES = [
    { name: 'rsqrt', entries: 1 << 24, sha256: '7f06db366f8eb4064c782d6d957edeb7d94f0146d41b6588ede3fd9992856de6', reference: correctlyRoundedRsqrtF32 },
    { name: 'rcp', entries: 1 << 23, sha256: '862bea101da795bf5fd46df9dfe5142a79c29edd831e2da30aa84385d885e8fe', reference: correctlyRoundedRcpF32 },
  ];
  const approx = { rsqrt: sm90RsqrtApprox, rcp: sm90RcpApprox } as const;
  for (const table of TABLES) {
    const bytes = readFileSync(new URL(`../../src/numerics/hardware/data/sm90-${table.name}-approx-f32.diff.i8.gz`, import.meta.url));
    const whole = gunzipSync(bytes);
    it(`${table.name}: decodes whole (any gunzip) to the measured table`, () => {
      expect(whole.length).toBe(table.entries);
      expect(createHash('sha256').update(whole).digest('hex')).toBe(table.sha256);
    });
    it(`${table.name}: is members of 2^14 entries, each naming its own length, end to end`, () => {
      const members = tableMembers(bytes, table.name);
      expect(members.length).toBe(table.entries >> 14);
      expect(members.every((m, k) => m.entries === 1 << 14 && m.firstEntry === k << 14 && m.start === (k === 0 ? 0 : members[k - 1].end))).toBe(true);
      expect(members[members.length - 1].end).toBe(bytes.length);
    });
    it(`${table.name}: entries read member by member match the whole decode on seeded period inputs`, () => {
      const prng = Xoshiro128StarStar.fromSeed(16);
      const bad: string[] = [];
      for (let n = 0; n < 4096; n++) {
        const i = prng.nextUint32() % table.entries;
        const want = (table.reference(0x3f800000 + i) + ((whole[i] << 24) >> 24)) >>> 0;
        const got = approx[table.name as keyof typeof approx](0x3f800000 + i);
        if (got !== want && bad.length < 5) bad.push(`entry ${i}: ${hex(got)} vs ${hex(want)}`);
      }
      expect(bad).toEqual([]);
    });
  }
  it('a plain gzip stream (no length subfield) is one member', () => {
    const plain = gzipSync(Buffer.alloc(1000, 1));
    expect(tableMembers(plain, 'plain')).toEqual([{ start: 0, end: plain.length, firstEntry: 0, entries: 1000 }]);
  });
  it('refuses bytes that are not a gzip member, and a member whose length runs past the file', () => {
    const blocked = readFileSync(new URL('../../src/numerics/hardware/data/sm90-rcp-approx-f32.diff.i8.gz', import.meta.url));
    const first = tableMembers(blocked, 'rcp')[0];
    expect(() => tableMembers(blocked.subarray(0, first.end - 1), 'f')).toThrow(/^f: the gzip member at byte 0 names an end outside the file$/);
    expect(() => tableMembers(Buffer.alloc(40), 'f')).toThrow(/^f: no gzip member at byte 0$/);
  });
});

describe('correctly rounded references', () => {
  // Independent derivation: floor(2^s / sqrt(x)) by integer square root, x = mx * 2^ex.
  function isqrt(n: bigint): bigint {
    if (n < 2n) return n;
    let x = BigInt(Math.floor(Math.sqrt(Number(n))));
    while (x * x > n) x -= 1n;
    while ((x + 1n) * (x + 1n) <= n) x += 1n;
    return x;
  }
  function nearestRsqrt(bits: number): number {
    const e = ((bits >>> 23) & 0xff) - 150;
    const m = BigInt((bits & 0x7fffff) | (e === -150 ? 0 : 0x800000));
    // 1/sqrt(m * 2^e) = 2^(-e/2) / sqrt(m); with even exponent parity t = e (or e - 1)
    const t = e % 2 === 0 ? e : e - 1;
    const mm = e % 2 === 0 ? m : 2n * m;
    // y = 2^(-t/2) / sqrt(mm): scale so that q = floor(2^(2k) / sqrt(mm)) has >= 26 bits
    const k = 40n;
    const q = isqrt((1n << (4n * k)) / mm); // ~ 2^(2k) / sqrt(mm), floor of floor: exact enough below
    // value = q * 2^(-2k - t/2); round q to 24 significant bits, nearest (no ties: irrational or exact)
    const bitsLen = q.toString(2).length;
    const drop = BigInt(bitsLen - 24);
    let sig = q >> drop;
    const rem = q - (sig << drop);
    if (rem * 2n >= 1n << drop) sig += 1n; // a tie is impossible: the exact value lies above q
    let exp = Number(drop) - 2 * Number(k) - t / 2; // value = sig * 2^exp
    if (sig === 1n << 24n) {
      sig >>= 1n;
      exp += 1;
    }
    return ((exp + 23 + 127) << 23) | Number(sig & 0x7fffffn);
  }
  it('rsqrt: the exact midpoint test agrees with an integer square root on seeded inputs', () => {
    const prng = Xoshiro128StarStar.fromSeed(12);
    const bad: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const bits = (prng.nextUint32() & 0x7fffffff) >>> 0;
      if (bits < 0x00800000 || bits >= 0x7f800000) continue;
      const want = nearestRsqrt(bits) >>> 0;
      const got = correctlyRoundedRsqrtF32(bits);
      if (got !== want && bad.length < 5) bad.push(`${hex(bits)}: ${hex(got)} vs ${hex(want)}`);
    }
    expect(bad).toEqual([]);
  });
  it('rcp is SoftFloat 1/x', () => {
    expect(correctlyRoundedRcpF32(0x40400000)).toBe(0x3eaaaaab); // 1/3
    expect(correctlyRoundedRcpF32(0x00000000)).toBe(0x7f800000);
  });
});

describe('sm_90 div.full.f32 (instruction sequence, emulated step by step)', () => {
  const pairs = rows('sm90-div-full.u32.gz', 4);
  it('matches the H200 on every measured pair', () => {
    expect(pairs.length).toBeGreaterThan(3 * (1 << 14));
    expect(mismatches(pairs, 2, sm90DivFull, 2)).toEqual([]);
  });
  it('div.full.ftz.f32 matches the H200 on every measured pair', () => {
    expect(mismatches(pairs, 3, sm90DivFullFtz, 2)).toEqual([]);
  });
});
