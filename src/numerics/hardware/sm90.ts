import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isNaNF32UI } from '../../softfloat/internals.js';
import { correctlyRoundedRcpF32, correctlyRoundedRsqrtF32 } from './correctlyRounded.js';

// sm_90's approximate f32 instructions, reproduced bit for bit from tables measured on an
// NVIDIA H200 (gpu/approx_measure.cu; figures and provenance in gpu/MEASUREMENTS.md).
//
// The GPU checked, over all 2^32 inputs, that the result depends on the input only through one
// period of it: rsqrt(x * 4^k) = rsqrt(x) * 2^-k and rcp(x * 2^k) = rcp(x) * 2^-k, subnormal
// inputs included (they are normalized first), with IEEE special values. So the tables cover
// one period, x in [1, 4) for rsqrt (2^24 entries: mantissa and exponent parity) and x in
// [1, 2) for rcp (2^23), stored as the signed difference (in f32 ULP, int8, gzip) between the
// hardware result and the correctly rounded one. The non-ftz forms differ from the .ftz forms
// only in what they do with subnormal inputs and outputs (the ftz forms flush both to zero).
//
// Each file is gzip members of 2^14 entries, concatenated (any gunzip reads the whole table),
// each naming its own compressed length as BGZF does (a 'BC' extra subfield; written by
// gpu/export_tables.py blocked_gz): a run that reads a few hundred entries inflates only their
// members (inflating both tables whole took 10% of a short explain run).

const TABLE_FILES = {
  rsqrt: 'sm90-rsqrt-approx-f32.diff.i8.gz',
  rcp: 'sm90-rcp-approx-f32.diff.i8.gz',
} as const;
type TableName = keyof typeof TABLE_FILES;

const SM90_RSQRT_PERIOD = 1 << 24;
const SM90_RCP_PERIOD = 1 << 23;
const ONE = 0x3f800000;
const SM90_SIGN = 0x80000000;
const SM90_MIN_NORMAL = 0x00800000;
const SM90_POS_INF = 0x7f800000;
const SM90_NAN_OUT = 0x7fffffff; // what the hardware returns for NaN results (measured)

function dataPath(file: string): URL {
  // From src/ (vitest, ts sources) the data sits beside this file; from dist/src/ it stays in src/.
  const beside = new URL(`./data/${file}`, import.meta.url);
  return existsSync(beside) ? beside : new URL(`../../../../src/numerics/hardware/data/${file}`, import.meta.url);
}

/** One gzip member of a table file: its bytes in the file and the entries it holds. */
export interface TableMember {
  readonly start: number;
  readonly end: number;
  readonly firstEntry: number;
  readonly entries: number;
}

interface PeriodTable {
  readonly file: string;
  readonly bytes: Buffer;
  readonly members: readonly TableMember[];
  /** Whether each member has been inflated into diffs. */
  readonly inflated: Uint8Array;
  /** The stored differences (hardware result minus the correctly rounded one, f32 ULP), all in
   *  -2..1 (checked on inflating): 2 bits each, difference + 2, four to a byte (6 MiB held for
   *  both tables instead of 24); 0 in members not inflated yet. */
  readonly diffs: Uint8Array;
  /** Hardware results built so far; 0 where not built yet. */
  readonly results: Uint32Array;
  readonly reference: (bits: number) => number;
}
const tables = new Map<TableName, PeriodTable>();

/** Where a gzip member starting at `start` ends: from its 'BC' extra subfield (BGZF: the member's
 *  length less one, RFC 1952 section 2.3.1.1 for the extra field), or the end of the file for a
 *  member without one (a table written as one plain gzip stream). */
function memberEnd(bytes: Buffer, start: number): number {
  const FEXTRA = 4;
  if ((bytes[start + 3] & FEXTRA) === 0) return bytes.length;
  const extraEnd = start + 12 + bytes.readUInt16LE(start + 10);
  for (let p = start + 12; p + 4 <= extraEnd; p += 4 + bytes.readUInt16LE(p + 2)) {
    if (bytes[p] === 0x42 && bytes[p + 1] === 0x43 && bytes.readUInt16LE(p + 2) === 2) return start + bytes.readUInt16LE(p + 4) + 1;
  }
  return bytes.length;
}

/** The gzip members of a table file, in order, with the entries each holds. */
export function tableMembers(bytes: Buffer, file: string): TableMember[] {
  const members: TableMember[] = [];
  for (let start = 0, firstEntry = 0; start < bytes.length;) {
    if (bytes.length - start < 18 || bytes[start] !== 0x1f || bytes[start + 1] !== 0x8b) throw new Error(`${file}: no gzip member at byte ${start}`);
    const end = memberEnd(bytes, start);
    if (end > bytes.length || end < start + 18) throw new Error(`${file}: the gzip member at byte ${start} names an end outside the file`);
    // ISIZE, the member's last four bytes: the entries it holds (below 2^32 here).
    const entries = bytes.readUInt32LE(end - 4);
    members.push({ start, end, firstEntry, entries });
    firstEntry += entries;
    start = end;
  }
  return members;
}

/** One period's file, read on first use; its members are inflated as their entries are read. */
function periodTable(name: TableName): PeriodTable {
  const cached = tables.get(name);
  if (cached) return cached;
  const size = name === 'rsqrt' ? SM90_RSQRT_PERIOD : SM90_RCP_PERIOD;
  const file = TABLE_FILES[name];
  const bytes = readFileSync(dataPath(file));
  const members = tableMembers(bytes, file);
  const entries = members.reduce((n, m) => n + m.entries, 0);
  if (entries !== size) throw new Error(`${file}: ${entries} entries, expected ${size}`);
  const table = {
    file,
    bytes,
    members,
    inflated: new Uint8Array(members.length),
    diffs: new Uint8Array(size / 4),
    results: new Uint32Array(size),
    reference: name === 'rsqrt' ? correctlyRoundedRsqrtF32 : correctlyRoundedRcpF32,
  };
  tables.set(name, table);
  return table;
}

/** Inflates member k of `table` into its diffs (gunzip checks the member's CRC-32). */
function inflateMember(table: PeriodTable, k: number): void {
  const m = table.members[k];
  const raw = gunzipSync(table.bytes.subarray(m.start, m.end));
  if (raw.length !== m.entries)
    throw new Error(`${table.file}: the gzip member at byte ${m.start} holds ${raw.length} entries, its size field says ${m.entries}`);
  for (let j = 0; j < raw.length; j++) {
    // The int8 difference d as d + 2 (0..3 exactly when d is in -2..1): from its byte, mod 256.
    const code = (raw[j] + 2) & 0xff;
    const i = m.firstEntry + j;
    if (code > 3) throw new Error(`${table.file}: entry ${i} differs by ${(raw[j] << 24) >> 24} ULP, outside the -2..1 the packing holds`);
    table.diffs[i >>> 2] |= code << ((i & 3) * 2);
  }
  table.inflated[k] = 1;
}

/** Inflates the member holding entry i, unless it is already. */
function inflateEntry(table: PeriodTable, i: number): void {
  let lo = 0;
  let hi = table.members.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (table.members[mid].firstEntry <= i) lo = mid;
    else hi = mid - 1;
  }
  if (table.inflated[lo] === 0) inflateMember(table, lo);
}

/** The hardware result for period entry i: the correctly rounded result plus the stored
 *  difference, built on first use and kept (building all 2^24 + 2^23 up front took 1.4 s,
 *  most of a short explain run that needs a few thousand). Every result lies in (0.5, 1], so
 *  0 can mark an entry not built yet; were one 0, it would only be rebuilt each time. */
function periodEntry(name: TableName, i: number): number {
  const table = periodTable(name);
  let result = table.results[i];
  if (result === 0) {
    inflateEntry(table, i);
    result = builtEntry(table, i);
    table.results[i] = result;
  }
  return result;
}

/** Period entry i of `table` (its member inflated): the correctly rounded result plus the stored difference. */
function builtEntry(table: PeriodTable, i: number): number {
  return (table.reference(ONE + i) + ((table.diffs[i >>> 2] >>> ((i & 3) * 2)) & 3) - 2) >>> 0;
}

/** The rsqrt period table at `index` (mantissa, then exponent parity at bit 23). WGSL: the
 *  device's table buffer from word 0 (src/engines/webgpu/hardwareTables.ts). */
function sm90RsqrtTable(index: number): number {
  return periodEntry('rsqrt', index);
}

/** The rcp period table at `index` (mantissa). WGSL: the same buffer after the rsqrt period. */
function sm90RcpTable(index: number): number {
  return periodEntry('rcp', index);
}

/** Both period tables as the GPU reads them: rsqrt's 2^24 words, then rcp's 2^23. */
export const SM90_TABLE_WORDS = SM90_RSQRT_PERIOD + SM90_RCP_PERIOD;

/** Writes both period tables into `target` (SM90_TABLE_WORDS words): the device's copy. */
export function fillSm90Tables(target: Uint32Array): void {
  if (target.length !== SM90_TABLE_WORDS) throw new RangeError(`fillSm90Tables: ${target.length} words, expected ${SM90_TABLE_WORDS}`);
  // Built straight into the device's copy, not through periodEntry's cache: filling the cache
  // here would keep all 96 MiB of results on the host for the life of the process.
  const rsqrt = periodTable('rsqrt');
  const rcp = periodTable('rcp');
  for (const table of [rsqrt, rcp]) for (let k = 0; k < table.members.length; k++) if (table.inflated[k] === 0) inflateMember(table, k);
  for (let i = 0; i < SM90_RSQRT_PERIOD; i++) target[i] = builtEntry(rsqrt, i);
  for (let i = 0; i < SM90_RCP_PERIOD; i++) target[SM90_RSQRT_PERIOD + i] = builtEntry(rcp, i);
}

// From here on, every function reads statement for statement beside its WGSL twin
// (shaders/numerics/hardware/sm90.wgsl): integers only, as the soft-float does.

/** A finite nonzero magnitude as its normalized fraction (23 bits, implicit one dropped) and unbiased exponent. */
interface Sm90Normalized {
  readonly frac: number;
  readonly exp: number;
}

function sm90Normalize(mag: number): Sm90Normalized {
  const biased = mag >>> 23;
  if (biased !== 0) return { frac: mag & 0x7fffff, exp: biased - 127 };
  const lz = Math.clz32(mag) - 8; // mag < 2^23
  return { frac: (mag << lz) & 0x7fffff, exp: -126 - lz };
}

function sm90Rsqrt(bits: number, ftz: boolean): number {
  const sign = (bits & SM90_SIGN) >>> 0;
  const mag = bits & 0x7fffffff;
  if (isNaNF32UI(bits)) return SM90_NAN_OUT;
  if (mag === 0 || (ftz && mag < SM90_MIN_NORMAL)) return (sign | SM90_POS_INF) >>> 0;
  if (sign !== 0) return SM90_NAN_OUT;
  if (mag === SM90_POS_INF) return 0;
  const n = sm90Normalize(mag);
  // x = m * 2^(2k + parity): the table holds m * 2^parity in [1, 4), the result scales by 2^-k.
  const k = n.exp >> 1;
  const t = sm90RsqrtTable(n.frac | ((n.exp & 1) << 23));
  return (t - (k << 23)) >>> 0; // T in (0.5, 1]: the scaled result is always a normal f32
}

function sm90Rcp(bits: number, ftz: boolean): number {
  const sign = (bits & SM90_SIGN) >>> 0;
  const mag = bits & 0x7fffffff;
  if (isNaNF32UI(bits)) return SM90_NAN_OUT;
  if (mag === 0 || (ftz && mag < SM90_MIN_NORMAL)) return (sign | SM90_POS_INF) >>> 0;
  if (mag === SM90_POS_INF) return sign;
  const n = sm90Normalize(mag);
  const t = sm90RcpTable(n.frac);
  // The result's exponent field: T's (126 or 127) less x's exponent (at most 127), so >= -1.
  const yExp = (t >>> 23) - n.exp;
  if (yExp >= 255) return (sign | SM90_POS_INF) >>> 0;
  if (yExp >= 1) return (sign | (yExp << 23) | (t & 0x7fffff)) >>> 0;
  if (ftz) return sign;
  return (sign | sm90SubnormalNearestEven((t & 0x7fffff) | 0x800000, 1 - yExp)) >>> 0;
}

/** sig (24 bits) shifted right by `shift` (1 or 2: the exponent field would be 0 or -1) onto
 *  the subnormal grid, nearest-even. */
function sm90SubnormalNearestEven(sig: number, shift: number): number {
  const q = sig >>> shift;
  const rem = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** sm_90 `rsqrt.approx.f32` (MUFU.RSQ with the compiler's subnormal range reduction). */
export function sm90RsqrtApprox(bits: number): number {
  return sm90Rsqrt(bits >>> 0, false);
}

/** sm_90 `rsqrt.approx.ftz.f32`: subnormal inputs read as zero. */
export function sm90RsqrtApproxFtz(bits: number): number {
  return sm90Rsqrt(bits >>> 0, true);
}

/** sm_90 `rcp.approx.f32`. */
export function sm90RcpApprox(bits: number): number {
  return sm90Rcp(bits >>> 0, false);
}

/** sm_90 `rcp.approx.ftz.f32`: subnormal inputs read as zero, subnormal results flushed. */
export function sm90RcpApproxFtz(bits: number): number {
  return sm90Rcp(bits >>> 0, true);
}
