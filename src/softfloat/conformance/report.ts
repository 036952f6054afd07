import type { TwinArgument, WgslTwin } from '../twins.js';
import { nameOfWgslCode } from '../wgslCodes.js';
import type { ConformanceResult } from './run.js';

// The selftest's report: one row per suite, then each mismatch argument by argument, f32 as
// sign/exponent/fraction and codes by name, TestFloat style.

/** What a twin returns: a bf16 code, an fp8 code, or f32 bits. */
function resultKind(twinName: string): TwinArgument {
  if (twinName === 'bf16FromF32Bits') return { kind: 'bits', width: 16 };
  if (twinName === 'fp8FromF32Bits') return { kind: 'bits', width: 8 };
  return { kind: 'bits', width: 32 };
}

/** The per-suite table, then each failure field by field. */
export function formatConformance(results: readonly ConformanceResult[], twins: readonly WgslTwin[]): string {
  const header = ['suite', 'cases', 'mismatches', 'gpu ms', 'cpu ms', 'coverage'];
  const rows = results.map((r) => [r.label, String(r.cases), String(r.mismatches), r.gpuMs.toFixed(0), r.cpuMs.toFixed(0), r.coverage]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const r of results.filter((r) => r.mismatches > 0)) {
    const twin = twins.find((t) => t.name === r.twin);
    if (!twin) continue;
    out.push('', `${r.label}: ${r.mismatches} of ${r.cases} differ; first ${r.examples.length}:`);
    for (const e of r.examples) {
      out.push(`  ${twin.name}(${describeArguments(twin, e.args)})`);
      out.push(`    gpu ${describeValue(resultKind(twin.name), e.gpu)}`);
      out.push(`    cpu ${describeValue(resultKind(twin.name), e.cpu)}`);
    }
  }
  const total = results.reduce((a, r) => a + r.cases, 0);
  const bad = results.reduce((a, r) => a + r.mismatches, 0);
  out.push('', `${bad === 0 ? 'PASS' : 'FAIL'}: ${total} cases in ${results.length} suites, ${bad} mismatches`);
  return out.join('\n');
}

/** A case's arguments, field by field: f32 as sign/exponent/fraction, codes by name. */
export function describeArguments(twin: WgslTwin, args: readonly number[]): string {
  return args.map((value, i) => describeValue(twin.args[i], value)).join(', ');
}

export function describeValue(kind: TwinArgument, value: number): string {
  const hex = (v: number, width: number): string => v.toString(16).padStart(width, '0');
  if (kind.kind === 'code') return `${String(nameOfWgslCode(kind.table, value))}`;
  if (kind.width === 32) {
    return `0x${hex(value >>> 0, 8)} (${value >>> 31 ? '-' : '+'} exp ${hex((value >>> 23) & 0xff, 2)} frac ${hex(value & 0x7fffff, 6)})`;
  }
  if (kind.width === 16) return `0x${hex(value, 4)} (${value >>> 15 ? '-' : '+'} exp ${hex((value >>> 7) & 0xff, 2)} frac ${hex(value & 0x7f, 2)})`;
  return `0x${hex(value, 2)}`;
}
