import type { DiffReport, OutputReport } from './report.js';
import { table } from './table.js';
import { describeRstdMiss, SUM_OF_SQUARES_DIFFERS } from './rstd.js';
import { formatRanges, percent } from './values.js';

// explainFormat.ts reads the renderer from here.
export { table };

// The diff report as terminal text: one table of outputs, then the worst elements, the rows and
// groups that differ, rank divergence, rstd inference and the quant scale check.

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** The histogram as 'ulp:count' pairs, the largest bins first when there are many. */
function compactHistogram(o: OutputReport, limit = 8): string {
  if (o.histogram.length === 0) return o.stats.differing === 0 ? '' : '(no finite mismatches)';
  if (o.histogram.length <= limit) return o.histogram.map((b) => `${signed(b.ulp)}:${b.count}`).join(' ');
  const kept = [...o.histogram]
    .sort((a, b) => b.count - a.count)
    .slice(0, limit)
    .sort((a, b) => a.ulp - b.ulp);
  return `${kept.map((b) => `${signed(b.ulp)}:${b.count}`).join(' ')} … (${o.histogram.length} bins)`;
}

function rowRef(rank: number | null, row: number): string {
  return rank === null ? `row ${row}` : `rank ${rank} row ${row}`;
}

export function formatDiffReport(report: DiffReport): string {
  const { golden } = report;
  const lines: string[] = [
    `golden     ${golden.file} (${golden.preset}, ${golden.ranks} ranks x ${golden.tokens} tokens x ${golden.hidden} hidden)`,
    `candidate  ${report.candidate.file}`,
    '',
  ];
  const inferring = report.rstd !== null || report.scale !== null;
  const header = [
    'output',
    'unit',
    'elements',
    'bit-exact',
    'differ',
    'NaN',
    'Inf',
    'max ULP',
    ...(inferring ? ['after inference'] : []),
    'signed ULP histogram',
  ];
  lines.push(
    table(
      header,
      report.outputs.map((o) => [
        o.name,
        o.unit,
        String(o.elements),
        percent(o.bitExactShare),
        String(o.stats.differing),
        String(o.stats.nanMismatches),
        String(o.stats.infMismatches),
        String(o.stats.maxUlp),
        ...(inferring ? [o.afterInference ? `${o.afterInference.differing} (max ${o.afterInference.maxUlp})` : ''] : []),
        compactHistogram(o),
      ]),
      new Set([2, 3, 4, 5, 6, 7]),
    ),
  );

  for (const o of report.outputs) {
    if (o.maxRelativeError !== null) lines.push(`${o.name}: largest relative error ${o.maxRelativeError.toPrecision(3)} (|candidate - golden| / |golden|)`);
  }

  const worst = report.outputs.flatMap((o) => o.worst.map((w) => ({ o, w })));
  if (worst.length > 0) {
    lines.push('', 'worst elements');
    lines.push(
      table(
        ['output', 'rank', 'row', 'col', 'group', 'ULP', 'golden', 'candidate'],
        worst.map(({ o, w }) => [
          o.name,
          w.rank === null ? '-' : String(w.rank),
          String(w.row),
          String(w.column),
          w.group === null ? '-' : String(w.group),
          w.ulp === null ? w.class.toUpperCase() : signed(w.ulp),
          `${w.golden.value} (${w.golden.bits})`,
          `${w.candidate.value} (${w.candidate.bits})`,
        ]),
        new Set([1, 2, 3, 4, 5]),
      ),
    );
  }

  const differing = report.outputs.filter((o) => o.differingRows.count > 0);
  if (differing.length > 0) {
    lines.push('', 'rows that differ');
    for (const o of differing) lines.push(`  ${o.name}: ${o.differingRows.count}/${golden.tokens} rows: ${formatRanges(o.differingRows.rows)}`);
  }
  const grouped = report.outputs.filter((o) => o.differingGroups && o.differingGroups.count > 0);
  if (grouped.length > 0) {
    lines.push('', 'quant groups that differ (row:group)');
    for (const o of grouped) {
      const g = o.differingGroups!;
      const shown = g.groups
        .slice(0, 16)
        .map((x) => `${x.row}:${x.group}`)
        .join(' ');
      lines.push(`  ${o.name}: ${g.count} groups: ${shown}${g.count > 16 ? ' …' : ''}`);
    }
  }
  if (report.rankDivergence.length > 0) {
    lines.push('', 'divergence between ranks');
    for (const d of report.rankDivergence) {
      const parts = d.ranks.map(
        (r) =>
          `rank ${r.rank}: ${r.differing}/${r.elements}${r.differing > 0 ? ` (max ${r.maxUlp} ULP${r.nanMismatches ? `, ${r.nanMismatches} NaN` : ''})` : ''}`,
      );
      lines.push(`  ${d.kind} vs rank ${d.baseRank}: ${parts.join(', ')}`);
    }
  }
  if (report.rstd) {
    const r = report.rstd;
    lines.push('', `rstd inference (+-${r.ulps} f32 ULP): ${r.explained.length}/${r.examined} rows explained`);
    const byDelta = new Map<string, string[]>();
    for (const e of r.explained) {
      const key = `rstd ${signed(e.deltaUlp)} ULP`;
      byDelta.set(key, [...(byDelta.get(key) ?? []), rowRef(e.rank, e.row)]);
    }
    for (const [key, rows] of [...byDelta].sort())
      lines.push(`  explained by ${key}: ${rows.length} rows (${rows.slice(0, 8).join(', ')}${rows.length > 8 ? ', …' : ''})`);
    // A row whose rstd is further off than the search range has another sum of squares: not a
    // true mismatch, and said so with the shift it needs.
    const scaled = r.unexplained.filter((u) => u.reason === SUM_OF_SQUARES_DIFFERS);
    for (const u of scaled.slice(0, 12)) lines.push(`  ${rowRef(u.rank, u.row)}: ${describeRstdMiss(u)}`);
    if (scaled.length > 12) lines.push(`  … ${scaled.length - 12} more rows where ${SUM_OF_SQUARES_DIFFERS}`);
    const mismatches = r.unexplained.filter((u) => u.reason !== SUM_OF_SQUARES_DIFFERS);
    // With scale inference on, a row no rstd reproduces may still be explained group by group
    // below: the final word on its quant groups is the scale section's.
    const label = report.scale ? 'no rstd shift reproduces (their quant groups: scale inference below)' : 'true mismatches';
    if (mismatches.length > 0) {
      lines.push(
        `  ${label}: ${mismatches
          .map((u) => `${rowRef(u.rank, u.row)}${u.reason === 'residual differs' ? ' (residual differs)' : ''}`)
          .slice(0, 12)
          .join(', ')}${mismatches.length > 12 ? ', …' : ''}`,
      );
    }
  }
  if (report.scale) {
    const s = report.scale;
    const why = s.trigger === 'contract' ? "the golden's contract marks the reciprocal or divide 'inferred'" : '--scale infer';
    lines.push(
      '',
      `scale inference (approximate reciprocal or divide, +-${s.ulps} f32 ULP; ${why}): ${s.explained.length}/${s.examined} differing groups explained`,
    );
    const bySlot = new Map<string, string[]>();
    for (const e of s.explained) {
      const key = `${e.slot} ${signed(e.deltaUlp)} ULP`;
      bySlot.set(key, [...(bySlot.get(key) ?? []), `${rowRef(e.rank, e.row)} group ${e.group}`]);
    }
    for (const [key, groups] of [...bySlot].sort())
      lines.push(`  explained by ${key}: ${groups.length} groups (${groups.slice(0, 6).join(', ')}${groups.length > 6 ? ', …' : ''})`);
    if (s.unexplained.length > 0) {
      lines.push(
        `  true mismatches: ${s.unexplained
          .slice(0, 12)
          .map((u) => `${rowRef(u.rank, u.row)} group ${u.group} (${u.reason})`)
          .join(', ')}${s.unexplained.length > 12 ? `, … (${s.unexplained.length} groups)` : ''}`,
      );
    }
  }
  for (const q of report.quantConsistency) {
    if (q.differingCodes === 0 && q.groupsWithDifferentScale === 0) continue;
    const basis =
      q.basis === 'candidate norm'
        ? "the candidate's own norm output"
        : "the golden's normed values (the quantizer reads an f32 value the candidate does not output)";
    lines.push(
      '',
      `${q.name} requantized from ${basis} with the candidate's own scales: ${q.differingCodes} differing codes, ${q.consistentWithCandidateScale} ` +
        `consistent, ${q.inconsistent} not (${q.groupsWithDifferentScale} groups have a different scale)`,
    );
  }
  if (report.ignored.length > 0) lines.push('', `not compared (no golden output): ${report.ignored.join(', ')}`);
  const failing = report.outputs.filter((o) => !o.pass);
  const tolerant = report.outputs.some((o) => o.tolerance > 0);
  const within = (o: OutputReport) => (o.tolerance > 0 ? `within ${o.tolerance} ULP` : 'bit-exact');
  const tolerances = report.outputs.map((o) => `${o.name} ${o.tolerance}`).join(', ');
  const exceptions = [...(report.rstd ? ['rows an rstd shift explains'] : []), ...(report.scale ? ['groups a scale shift explains'] : [])];
  const excepted = `${exceptions.join(' and ')} `;
  lines.push(
    '',
    report.pass
      ? `PASS: every output is bit-exact${tolerant ? ` or within its tolerance (${tolerances} ULP)` : ''}` + `${inferring ? ` (${excepted}excepted)` : ''}`
      : `FAIL: ${failing.map((o) => `${o.name} is not ${within(o)}`).join(', ')}${inferring ? ` (${excepted}excepted)` : ''}`,
  );
  return lines.join('\n');
}
