import { SUM_OF_SQUARES_DIFFERS } from './rstd.js';
import type { DiffReport, OutputReport } from './report.js';
import { formatRanges, percent } from './values.js';

// The diff report as one self-contained HTML page: inline CSS, each histogram an inline SVG bar
// chart, no scripts and no external assets, so the file can be attached to a bug report.

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Bar {
  readonly label: string;
  readonly count: number;
  readonly kind: 'ulp' | 'nan' | 'inf';
}

/** Bins from the lowest to the highest ULP seen (gaps drawn as empty bins when the span is
 *  small), then NaN and Inf mismatches as bars of their own colour. */
function bars(o: OutputReport): Bar[] {
  const result: Bar[] = [];
  if (o.histogram.length > 0) {
    const lo = o.histogram[0].ulp;
    const hi = o.histogram[o.histogram.length - 1].ulp;
    const counts = new Map(o.histogram.map((b) => [b.ulp, b.count]));
    const bins = hi - lo <= 64 ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : o.histogram.map((b) => b.ulp);
    for (const u of bins) result.push({ label: u > 0 ? `+${u}` : String(u), count: counts.get(u) ?? 0, kind: 'ulp' });
  }
  if (o.stats.nanMismatches > 0) result.push({ label: 'NaN', count: o.stats.nanMismatches, kind: 'nan' });
  if (o.stats.infMismatches > 0) result.push({ label: 'Inf', count: o.stats.infMismatches, kind: 'inf' });
  return result;
}

const COLOURS: Readonly<Record<Bar['kind'], string>> = { ulp: '#3b6ea5', nan: '#b23a3a', inf: '#c78a1c' };

function histogramSvg(o: OutputReport): string {
  const data = bars(o);
  if (data.length === 0) return '<p class="exact">bit-exact: no histogram</p>';
  const barWidth = Math.max(6, Math.min(40, Math.floor(640 / data.length)));
  const plotHeight = 160;
  const left = 48;
  const width = left + data.length * barWidth + 10;
  const height = plotHeight + 40;
  const max = Math.max(...data.map((b) => b.count));
  // Labels at least 48 px apart, so six-digit ULP values do not overlap.
  const labelEvery = Math.ceil(48 / barWidth);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="signed ULP histogram of ${escapeHtml(o.name)}">`,
    `<line x1="${left}" y1="${plotHeight}" x2="${width - 10}" y2="${plotHeight}" stroke="#444"/>`,
    `<text x="${left - 6}" y="12" text-anchor="end" font-size="10">${max}</text>`,
    `<text x="${left - 6}" y="${plotHeight}" text-anchor="end" font-size="10">0</text>`,
  ];
  data.forEach((b, i) => {
    const h = max === 0 ? 0 : Math.max(b.count > 0 ? 1 : 0, Math.round((b.count / max) * (plotHeight - 10)));
    const x = left + i * barWidth;
    parts.push(
      `<rect x="${x + 1}" y="${plotHeight - h}" width="${barWidth - 2}" height="${h}" fill="${COLOURS[b.kind]}"><title>${escapeHtml(b.label)}: ` +
        `${b.count}</title></rect>`,
    );
    if (i % labelEvery === 0 || b.kind !== 'ulp') {
      parts.push(`<text x="${x + barWidth / 2}" y="${plotHeight + 14}" text-anchor="middle" font-size="10">${escapeHtml(b.label)}</text>`);
    }
  });
  parts.push(
    `<text x="${left + (width - left) / 2}" y="${plotHeight + 32}" text-anchor="middle" font-size="11">signed distance in ${escapeHtml(o.unit)} steps</text>`,
    '</svg>',
  );
  return parts.join('');
}

function row(cells: readonly string[], tag = 'td'): string {
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
}

/** One titled table: the header row, then a row per entry (cells already escaped). */
function section(title: string, head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<section><h2>${title}</h2><table><thead>${row(head, 'th')}</thead><tbody>${rows.map((r) => row(r)).join('')}</tbody></table></section>`;
}

function outputSection(o: OutputReport, tokens: number): string {
  const worst =
    o.worst.length === 0
      ? ''
      : `<table><thead>${row(['rank', 'row', 'col', 'group', 'ULP', 'golden', 'candidate'], 'th')}</thead><tbody>${o.worst
          .map((w) =>
            row([
              w.rank === null ? '-' : String(w.rank),
              String(w.row),
              String(w.column),
              w.group === null ? '-' : String(w.group),
              w.ulp === null ? w.class.toUpperCase() : String(w.ulp),
              `${w.golden.value} (${w.golden.bits})`,
              `${w.candidate.value} (${w.candidate.bits})`,
            ]),
          )
          .join('')}</tbody></table>`;
  const rows =
    o.differingRows.count === 0 ? '' : `<p>rows that differ (${o.differingRows.count}/${tokens}): ${escapeHtml(formatRanges(o.differingRows.rows, 40))}</p>`;
  const groups = !o.differingGroups || o.differingGroups.count === 0 ? '' : `<p>quant groups that differ: ${o.differingGroups.count}</p>`;
  return (
    `<section><h2 class="${o.pass ? 'pass' : 'fail'}">${escapeHtml(o.name)} <small>vs ${escapeHtml(o.reference)}, ${escapeHtml(o.dtype)} [` +
    `${o.shape.join(', ')}]</small></h2>
<p>${percent(o.bitExactShare)} bit-exact (${o.bitExact}/${o.elements}); ${o.stats.differing} differ, max ${o.stats.maxUlp} ULP, ${o.stats.nanMismatches} NaN ` +
    `and ${o.stats.infMismatches} Inf mismatches` +
    `${o.afterInference ? `; after inference ${o.afterInference.differing} differ (max ${o.afterInference.maxUlp} ULP)` : ''}.</p>
${histogramSvg(o)}${worst}${rows}${groups}</section>`
  );
}

export function diffReportHtml(report: DiffReport): string {
  const g = report.golden;
  const rstd = report.rstd
    ? `<section><h2>rstd inference (±${report.rstd.ulps} f32 ULP)</h2><p>${report.rstd.explained.length}/${report.rstd.examined} differing rows explained by ` +
      `an rstd shift; ${report.rstd.unexplained.filter((u) => u.reason !== SUM_OF_SQUARES_DIFFERS).length} ` +
      `${report.scale ? 'rows no rstd shift reproduces (their quant groups: scale inference)' : 'true mismatches'}, ` +
      `${report.rstd.unexplained.filter((u) => u.reason === SUM_OF_SQUARES_DIFFERS).length} rows where ${SUM_OF_SQUARES_DIFFERS}.</p>${
        report.rstd.explained.length === 0
          ? ''
          : `<table><thead>${row(['rank', 'row', 'rstd shift (ULP)'], 'th')}</thead><tbody>${report.rstd.explained
              .slice(0, 200)
              .map((e) => row([e.rank === null ? '-' : String(e.rank), String(e.row), String(e.deltaUlp)]))
              .join('')}</tbody></table>`
      }</section>`
    : '';
  const scale = report.scale
    ? section(
        `scale inference (±${report.scale.ulps} f32 ULP): ${report.scale.explained.length}/${report.scale.examined} differing groups explained, ` +
          `${report.scale.unexplained.length} true mismatches`,
        ['rank', 'row', 'group', 'explained by', 'shift (ULP)'],
        [
          ...report.scale.explained.map((e) => [e.rank === null ? '-' : String(e.rank), String(e.row), String(e.group), e.slot, String(e.deltaUlp)]),
          ...report.scale.unexplained.map((u) => [u.rank === null ? '-' : String(u.rank), String(u.row), String(u.group), `nothing: ${u.reason}`, '-']),
        ].slice(0, 200),
      )
    : '';
  const ranks =
    report.rankDivergence.length === 0
      ? ''
      : section(
          'divergence between ranks',
          ['output', 'rank', 'vs rank', 'differ', 'max ULP'],
          report.rankDivergence.flatMap((d) =>
            d.ranks.map((r) => [d.kind, String(r.rank), String(d.baseRank), `${r.differing}/${r.elements}`, String(r.maxUlp)]),
          ),
        );
  const quant = report.quantConsistency.filter((q) => q.differingCodes > 0 || q.groupsWithDifferentScale > 0);
  const quantSection =
    quant.length === 0
      ? ''
      : section(
          "FP8 codes against the candidate's own scales",
          ['output', 'differing codes', 'consistent with candidate scale', 'inconsistent', 'groups with another scale'],
          quant.map((q) => [
            q.name,
            String(q.differingCodes),
            String(q.consistentWithCandidateScale),
            String(q.inconsistent),
            String(q.groupsWithDifferentScale),
          ]),
        );
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ulpwise diff: ${escapeHtml(report.candidate.file)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;font-family:ui-monospace,monospace}
th{background:#f0f0f0}
h2{font-size:1.1em;margin-top:1.5em}h2 small{font-weight:normal;color:#666}
.pass::before{content:"✔ ";color:#2a7a2a}.fail::before{content:"✘ ";color:#b23a3a}
.exact{color:#2a7a2a}
</style></head><body>
<h1>ulpwise diff</h1>
<p>golden <code>${escapeHtml(g.file)}</code> (${escapeHtml(g.preset)}, ${g.ranks} ranks × ${g.tokens} tokens × ${g.hidden} hidden)<br>candidate <code>` +
    `${escapeHtml(report.candidate.file)}</code></p>
<p class="${report.pass ? 'pass' : 'fail'}"><strong>${report.pass ? 'PASS' : 'FAIL'}</strong>: ` +
    `${report.maxUlp === 0 ? 'bit-exact required' : `within ${report.maxUlp} ULP allowed`}</p>
${report.outputs.map((o) => outputSection(o, g.tokens)).join('\n')}
${ranks}${rstd}${scale}${quantSection}
</body></html>
`
  );
}
