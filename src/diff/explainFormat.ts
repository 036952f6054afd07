import type { ExplainReport, HypothesisReport } from './explainReport.js';
import { table } from './format.js';
import { percent } from './values.js';

// The explain report as terminal text: the ranking, then the verdict in words.

export function formatExplainReport(report: ExplainReport, shown = 12): string {
  const g = report.golden;
  const outputs = report.candidate.outputs;
  const searched = report.searchRows ? ` (searched on rows ${report.searchRows.join(', ')}; ${report.hypotheses.length} rescored on all ${g.tokens})` : '';
  const rstd = report.rstdUlps === null ? '' : `, rstd inferred within +-${report.rstdUlps} ULP`;
  const lines: string[] = [
    `candidate  ${report.candidate.file} (${outputs.join(', ')})`,
    `inputs     ${g.file} (golden made with ${g.preset}, ${g.ranks} ranks x ${g.tokens} tokens x ${g.hidden} hidden)`,
    `tried      ${report.searched} hypotheses in ${report.engineRuns} engine runs${searched}${rstd}`,
    '',
  ];
  // Variants scoring exactly like the row above them add nothing to the table (the dimensions
  // they vary are listed under 'not decided'): they are folded into a count.
  const rows: string[][] = [];
  const top: HypothesisReport[] = [];
  let folded = 0;
  const fold = (): void => {
    if (folded > 0) rows.push(['', `  … ${folded} variant(s) with the same scores`, '', ...outputs.map(() => '')]);
    folded = 0;
  };
  const sameScores = (a: HypothesisReport, b: HypothesisReport): boolean => a.outputs.every((o, i) => o.share === b.outputs[i].share);
  for (const [i, h] of report.hypotheses.entries()) {
    if (top.length >= shown) break;
    const previous = top[top.length - 1];
    if (previous && h.kind === 'variant' && sameScores(previous, h)) {
      folded++;
      continue;
    }
    fold();
    top.push(h);
    rows.push([String(i + 1), h.name, percent(h.score), ...outputs.map((name) => {
      const o = h.outputs.find((x) => x.name === name)!;
      return o.note ? '-' : percent(o.share);
    })]);
  }
  fold();
  lines.push(table(['#', 'hypothesis', 'score', ...outputs], rows, new Set(Array.from({ length: outputs.length + 3 }, (_, i) => i).filter((i) => i !== 1))));
  const listed = report.hypotheses.indexOf(top[top.length - 1]) + 1;
  if (report.hypotheses.length > listed) lines.push(`… ${report.hypotheses.length - listed} more (--json lists all)`);
  for (const h of top.filter((x) => x.aliases.length > 0)) lines.push(`${h.name} also covers ${h.aliases.join(', ')} (they differ only where these outputs cannot show it)`);
  const best = report.hypotheses[0];
  lines.push('');
  lines.push(report.exact
    ? `best explanation: ${report.best} (bit-exact on every output${best.rstdExplainedRows > 0 ? `, ${best.rstdExplainedRows} rows up to an rstd shift` : ''})`
    : `best explanation: ${report.best} (${percent(best.score)}: no hypothesis reproduces every output)`);
  if (report.runnerUp) {
    lines.push(`runner-up: ${report.runnerUp.name} (${percent(report.runnerUp.score)}), separated by:`);
    for (const s of report.runnerUp.separatedBy) lines.push(`  ${s.path}: ${s.best} (best) vs ${s.other}`);
  }
  if (report.vsGolden.length === 0) lines.push(`vs the golden's contract (${g.preset}): no difference`);
  else {
    lines.push(`vs the golden's contract (${g.preset}):`);
    for (const d of report.vsGolden) lines.push(`  ${d.path}: ${d.golden} -> ${d.best}`);
  }
  if (report.confirmed.length > 0) {
    lines.push('confirmed by single-dimension variants:');
    for (const c of report.confirmed) lines.push(`  ${c.path} = ${c.value} (best alternative ${c.alternative}: ${percent(c.alternativeScore)})`);
  }
  if (report.undetermined.length > 0) {
    lines.push('not decided by these inputs (alternatives score the same):');
    for (const u of report.undetermined) lines.push(`  ${u.path} = ${u.value} (also ${u.alternatives.join(', ')}${u.ruledOut.length > 0 ? `; not ${u.ruledOut.join(', ')}` : ''})`);
  }
  return lines.join('\n');
}
