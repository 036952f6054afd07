import type { ExplainReport } from './explainReport.js';
import { table } from './format.js';

// The explain report as terminal text: the verdict, the fit stage by stage, what nothing
// explains, and the command that makes a golden of the fit.

const VERDICTS: Readonly<Record<ExplainReport['verdict'], string>> = {
  'bit-exact': 'bit-exact: the fitted contract reproduces every output',
  approximate: 'exact up to approximate hardware operations (listed apart below)',
  bug: 'elements no hypothesis reproduces (a real bug); everything else is explained',
  unexplained: 'no contract in the search space reproduces this candidate',
};

/** Tied values shown on one line; --json lists them all. */
const SHOWN_TIES = 4;

function tieList(ties: readonly string[]): string {
  return ties.length <= SHOWN_TIES ? ties.join(', ') : `${ties.slice(0, SHOWN_TIES).join(', ')} and ${ties.length - SHOWN_TIES} more`;
}

export function formatExplainReport(report: ExplainReport, shownElements = 12): string {
  const g = report.golden;
  const lines: string[] = [
    `candidate  ${report.candidate.file} (${report.candidate.outputs.join(', ')})`,
    `inputs     ${g.file} (golden made with ${g.preset}, ${g.ranks} ranks x ${g.tokens} tokens x ${g.hidden} hidden)`,
    `searched   stage by stage on rows ${report.probeRows.join(', ')} (${report.stages.map((s) => `${s.stage}: ${s.evaluated} contracts`).join(', ')}), ` +
      `${report.engineRuns} engine runs; ties confirmed on ${report.tieRows.length} rows; fit checked on all ${g.tokens}`,
    '',
    `verdict: ${VERDICTS[report.verdict]}`,
    '',
  ];
  for (const s of report.stages) {
    lines.push(`stage ${s.stage} (fitted on ${s.outputs.map((k) => `out.${k}`).join(', ')}):`);
    const rows = s.dimensions.map((d) => [d.path, d.value, d.ties.length === 0 ? 'pinned' : `ties: ${tieList(d.ties)}`]);
    lines.push(table(['dimension', 'fitted', 'data'], rows, new Set()));
  }
  lines.push('');
  lines.push(
    table(
      ['output', 'elements', 'differing', 'approximated', 'from own input', 'unexplained'],
      report.outputs.map((o) => [
        o.name,
        String(o.elements),
        String(o.differing),
        String(o.approximated),
        String(o.inherited),
        o.note ? `${o.unexplained} (${o.note})` : String(o.unexplained),
      ]),
      new Set([1, 2, 3, 4, 5]),
    ),
  );
  const { rstd, scale } = report.approximations;
  if (rstd && (rstd.rows.length > 0 || rstd.misses.length > 0)) {
    lines.push(
      `rstd (approximate rsqrt, +-${rstd.ulps} f32 ULP): ${rstd.rows.length} rows explained by a shift${
        rstd.rows.length > 0
          ? ` (${rstd.rows
              .slice(0, 8)
              .map((r) => `${r.rank === null ? '' : `rank ${r.rank} `}row ${r.row}: ${r.deltaUlp > 0 ? '+' : ''}${r.deltaUlp}`)
              .join(', ')}${rstd.rows.length > 8 ? ', …' : ''})`
          : ''
      }`,
    );
    for (const miss of rstd.misses.slice(0, 8)) lines.push(`  ${miss.rank === null ? '' : `rank ${miss.rank} `}row ${miss.row}: ${miss.message}`);
  }
  if (scale && (scale.groups.length > 0 || scale.misses.length > 0)) {
    const bySlot = (slot: string): number => scale.groups.filter((g) => g.slot === slot).length;
    lines.push(
      `scale (approximate reciprocal/divide, +-${scale.ulps} f32 ULP): ${bySlot('scale')} groups explained by a shifted scale, ${bySlot('reciprocal')} by a ` +
        `shifted reciprocal${scale.misses.length > 0 ? `, ${scale.misses.length} not` : ''}`,
    );
    for (const miss of scale.misses.slice(0, 8))
      lines.push(`  ${miss.rank === null ? '' : `rank ${miss.rank} `}row ${miss.row} group ${miss.group}: ${miss.reason}`);
  }
  if (report.unexplainedCount > 0) {
    lines.push(`${report.unexplainedCount} element(s) no hypothesis reproduces:`);
    for (const e of report.unexplained.slice(0, shownElements)) lines.push(`  ${e.name}[${e.row}, ${e.column}]: expected ${e.expected}, got ${e.actual}`);
    if (report.unexplainedCount > shownElements) lines.push('  … (--json lists the first 20)');
  }
  lines.push('');
  const near = report.nearestPreset;
  const also = near.alsoNearest.length === 0 ? '' : `; as near: ${tieList(near.alsoNearest)}`;
  lines.push(
    near.differences.length === 0
      ? `nearest preset: ${near.name} (no difference${also})`
      : `nearest preset: ${near.name}, ${near.differences.length} dimension(s) apart${also}:`,
  );
  for (const d of near.differences) lines.push(`  ${d.path}: ${d.preset} -> ${d.fitted}`);
  if (report.vsGolden.length === 0) lines.push(`vs the golden's contract (${g.preset}): no difference`);
  else {
    lines.push(`vs the golden's contract (${g.preset}):`);
    for (const d of report.vsGolden) lines.push(`  ${d.path}: ${d.golden} -> ${d.fitted}`);
  }
  lines.push('');
  lines.push(`to make a golden of this contract, save the JSON below as ${report.gen.contractFile} and run:`);
  lines.push(`  ${report.gen.command}`);
  lines.push(report.gen.contractJson);
  return lines.join('\n');
}
