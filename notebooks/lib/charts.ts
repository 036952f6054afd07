// Small SVG charts for the notebooks. Each chart is one self-contained <svg> string (no scripts,
// no external fonts or styles), so the executed notebook and its HTML export show it as is.
// A Chart is displayed by Jupyter's Deno kernel when it is a cell's last expression, through
// the kernel's `Symbol.for('Jupyter.display')` hook; `chart.svg` is the markup itself.

export interface Chart {
  readonly svg: string;
}

export type AxisScale = 'linear' | 'log2' | 'log10';

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies, readable on white. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'] as const;

const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';
const TITLE_SIZE = 17;
const LABEL_SIZE = 14;
const TICK_SIZE = 12.5;
const LEGEND_SIZE = 13;

// Charts inlined in one HTML page share one id namespace: each clip path gets its own id.
let clipCounter = 0;

function makeChart(svg: string): Chart {
  const chart = { svg };
  Object.defineProperty(chart, Symbol.for('Jupyter.display'), {
    value: () => ({ 'image/svg+xml': svg }),
    enumerable: false,
  });
  return chart;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, '');
}

function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? fmt(v) : escapeXml(v)}"`)
    .join('');
  return `<text x="${fmt(x)}" y="${fmt(y)}"${a}>${content}</text>`;
}

/** A tick label: plain text, or base^exponent with a raised exponent. */
interface TickLabel {
  readonly base: string;
  readonly exponent?: string;
}

function tickMarkup(label: TickLabel): string {
  const base = escapeXml(label.base);
  if (label.exponent === undefined) return base;
  return `${base}<tspan dy="-0.45em" font-size="${fmt(TICK_SIZE * 0.78)}">${escapeXml(label.exponent)}</tspan>`;
}

/** Tick values 1, 2, 5 x 10^k spanning [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const rough = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough * (1 - 1e-9)) ?? 10 * power;
  const first = Math.ceil(lo / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(1).split('e');
    return `${m.replace(/\.0$/, '')}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(4)));
}

interface Axis {
  readonly scale: AxisScale;
  readonly lo: number;
  readonly hi: number;
  /** Pixel position of a data value. */
  readonly at: (v: number) => number;
  readonly ticks: readonly { value: number; label: TickLabel }[];
}

function transform(scale: AxisScale, v: number): number {
  if (scale === 'log2') return Math.log2(v);
  if (scale === 'log10') return Math.log10(v);
  return v;
}

function makeAxis(scale: AxisScale, domain: readonly [number, number], pixels: readonly [number, number], target: number, integerTicks: boolean): Axis {
  let [lo, hi] = domain;
  if (scale !== 'linear' && !(lo > 0)) throw new Error(`a ${scale} axis needs a positive domain, got [${lo}, ${hi}]`);
  if (lo === hi) {
    const pad = scale === 'linear' ? (lo === 0 ? 1 : Math.abs(lo) * 0.1) : 0;
    lo = scale === 'linear' ? lo - pad : lo / 2;
    hi = scale === 'linear' ? hi + pad : hi * 2;
  }
  const tLo = transform(scale, lo);
  const tHi = transform(scale, hi);
  const at = (v: number): number => pixels[0] + ((transform(scale, v) - tLo) / (tHi - tLo)) * (pixels[1] - pixels[0]);
  let ticks: { value: number; label: TickLabel }[];
  if (scale === 'linear') {
    let values = niceTicks(lo, hi, target);
    if (integerTicks) values = values.filter((v) => Number.isInteger(v));
    ticks = values.map((value) => ({ value, label: { base: formatNumber(value) } }));
  } else {
    const base = scale === 'log2' ? 2 : 10;
    const first = Math.ceil(tLo - 1e-9);
    const last = Math.floor(tHi + 1e-9);
    // Exponents at multiples of a round stride (2^-20, 2^-10, 2^0, ...), about `target` of them.
    const needed = (last - first + 1) / target;
    const stride = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32].find((s) => s >= needed) ?? Math.ceil(needed);
    ticks = [];
    for (let k = first; k <= last; k++) {
      if (k % stride !== 0) continue;
      const value = base ** k;
      const label: TickLabel = base === 10 && k >= 0 && k <= 4 ? { base: String(value) } : { base: String(base), exponent: String(k) };
      ticks.push({ value, label });
    }
  }
  return { scale, lo, hi, at, ticks };
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

interface LegendItem {
  readonly name: string;
  readonly color: string;
  readonly dash?: string;
  readonly kind: 'line' | 'box' | 'dot';
}

/** Legend laid out in rows under the title; returns its markup and height. */
function legend(items: readonly LegendItem[], x0: number, y0: number, maxWidth: number): { markup: string; height: number } {
  if (items.length === 0) return { markup: '', height: 0 };
  const rowHeight = LEGEND_SIZE + 8;
  let x = x0;
  let y = y0;
  const parts: string[] = [];
  for (const item of items) {
    const w = 30 + item.name.length * LEGEND_SIZE * 0.6 + 18;
    if (x + w > x0 + maxWidth && x > x0) {
      x = x0;
      y += rowHeight;
    }
    const cy = y + rowHeight / 2;
    if (item.kind === 'line') {
      const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : '';
      parts.push(`<line x1="${fmt(x)}" y1="${fmt(cy)}" x2="${fmt(x + 24)}" y2="${fmt(cy)}" stroke="${item.color}" stroke-width="3"${dash}/>`);
    } else if (item.kind === 'dot') {
      parts.push(`<circle cx="${fmt(x + 12)}" cy="${fmt(cy)}" r="4" fill="${item.color}"/>`);
    } else {
      parts.push(`<rect x="${fmt(x + 5)}" y="${fmt(cy - 7)}" width="14" height="14" fill="${item.color}"/>`);
    }
    parts.push(text(x + 30, cy + LEGEND_SIZE * 0.36, escapeXml(item.name), { 'font-size': LEGEND_SIZE }));
    x += w;
  }
  return { markup: parts.join(''), height: y - y0 + rowHeight };
}

function header(width: number, height: number, title: string, subtitle: string | undefined): string {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    // Long titles shrink to fit the width rather than run off it (glyphs average ~0.62 em in bold).
    text(width / 2, 26, escapeXml(title), {
      'font-size': Math.min(TITLE_SIZE, (width - 24) / (title.length * 0.62)),
      'font-weight': 'bold',
      'text-anchor': 'middle',
    }),
  ];
  if (subtitle)
    parts.push(
      text(width / 2, 46, escapeXml(subtitle), {
        'font-size': Math.min(LABEL_SIZE - 1, (width - 24) / (subtitle.length * 0.55)),
        'text-anchor': 'middle',
        fill: '#444444',
      }),
    );
  return parts.join('');
}

function titleHeight(subtitle: string | undefined): number {
  return subtitle ? 56 : 38;
}

/** Grid lines, tick labels, axis labels. */
function axes(frame: Frame, x: Axis | null, y: Axis, xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  const { left, right, top, bottom } = frame;
  for (const t of y.ticks) {
    const py = y.at(t.value);
    parts.push(`<line x1="${fmt(left)}" y1="${fmt(py)}" x2="${fmt(right)}" y2="${fmt(py)}" stroke="#e3e3e3"/>`);
    parts.push(text(left - 8, py + TICK_SIZE * 0.35, tickMarkup(t.label), { 'font-size': TICK_SIZE, 'text-anchor': 'end' }));
  }
  if (x) {
    for (const t of x.ticks) {
      const px = x.at(t.value);
      parts.push(`<line x1="${fmt(px)}" y1="${fmt(top)}" x2="${fmt(px)}" y2="${fmt(bottom)}" stroke="#eeeeee"/>`);
      parts.push(`<line x1="${fmt(px)}" y1="${fmt(bottom)}" x2="${fmt(px)}" y2="${fmt(bottom + 5)}" stroke="#333333"/>`);
      parts.push(text(px, bottom + 20, tickMarkup(t.label), { 'font-size': TICK_SIZE, 'text-anchor': 'middle' }));
    }
  }
  parts.push(`<rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}" fill="none" stroke="#333333"/>`);
  parts.push(text((left + right) / 2, frame.height - 12, escapeXml(xLabel), { 'font-size': LABEL_SIZE, 'text-anchor': 'middle' }));
  const cy = (top + bottom) / 2;
  parts.push(text(18, cy, escapeXml(yLabel), { 'font-size': LABEL_SIZE, 'text-anchor': 'middle', transform: `rotate(-90 18 ${fmt(cy)})` }));
  return parts.join('');
}

function extent(values: readonly number[], scale: AxisScale): [number, number] {
  const usable = values.filter((v) => Number.isFinite(v) && (scale === 'linear' || v > 0));
  if (usable.length === 0) return scale === 'linear' ? [0, 1] : [1, 2];
  return [Math.min(...usable), Math.max(...usable)];
}

function padded(domain: [number, number], scale: AxisScale, includeZero: boolean): [number, number] {
  let [lo, hi] = domain;
  if (scale !== 'linear') return [lo, hi];
  if (includeZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  const span = hi - lo || Math.abs(hi) || 1;
  return [lo === 0 ? 0 : lo - span * 0.04, hi === 0 ? 0 : hi + span * 0.06];
}

// ---------------------------------------------------------------------------------------------
// Line chart

export interface LineSeries {
  readonly name: string;
  /** [x, y] pairs; a non-finite y (or a non-positive one on a log axis) breaks the line. */
  readonly points: readonly (readonly [number, number])[];
  readonly color?: string;
  readonly dash?: string;
  /** Draw a staircase (value held until the next x), as a function of a rounding looks. */
  readonly step?: boolean;
  /** Draw a dot at each point. */
  readonly markers?: boolean;
  /** Dots only, no line. */
  readonly noLine?: boolean;
}

export interface VerticalMarker {
  readonly x: number;
  readonly label: string;
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly xScale?: AxisScale;
  readonly yScale?: AxisScale;
  readonly xDomain?: readonly [number, number];
  readonly yDomain?: readonly [number, number];
  readonly markers?: readonly VerticalMarker[];
  readonly width?: number;
  readonly height?: number;
}

export function lineChart(o: LineChartOptions): Chart {
  const width = o.width ?? 780;
  const height = o.height ?? 420;
  const xScale = o.xScale ?? 'linear';
  const yScale = o.yScale ?? 'linear';
  const items: LegendItem[] = o.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? PALETTE[i % PALETTE.length],
    dash: s.dash,
    kind: s.noLine ? 'dot' : 'line',
  }));
  const lg = legend(items, 80, titleHeight(o.subtitle), width - 100);
  const frame: Frame = { width, height, left: 78, right: width - 24, top: titleHeight(o.subtitle) + lg.height + 8, bottom: height - 52 };
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const xDomain = o.xDomain ? ([...o.xDomain] as [number, number]) : extent(xs, xScale);
  const yDomain = o.yDomain ? ([...o.yDomain] as [number, number]) : padded(extent(ys, yScale), yScale, true);
  const x = makeAxis(xScale, xDomain, [frame.left, frame.right], 8, false);
  const y = makeAxis(yScale, yDomain, [frame.bottom, frame.top], 6, false);
  const usable = (p: readonly [number, number]): boolean =>
    Number.isFinite(p[0]) && Number.isFinite(p[1]) && (xScale === 'linear' || p[0] > 0) && (yScale === 'linear' || p[1] > 0);
  const parts = [header(width, height, o.title, o.subtitle), lg.markup, axes(frame, x, y, o.xLabel, o.yLabel)];
  const clipId = `plot-${++clipCounter}`;
  parts.push(
    `<clipPath id="${clipId}"><rect x="${fmt(frame.left)}" y="${fmt(frame.top)}" width="${fmt(frame.right - frame.left)}" height="` +
      `${fmt(frame.bottom - frame.top)}"/></clipPath>`,
  );
  for (const m of o.markers ?? []) {
    const px = x.at(m.x);
    const color = m.color ?? '#555555';
    parts.push(
      `<line x1="${fmt(px)}" y1="${fmt(frame.top)}" x2="${fmt(px)}" y2="${fmt(frame.bottom)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    parts.push(text(px + 5, frame.top + 16, escapeXml(m.label), { 'font-size': TICK_SIZE, fill: color }));
  }
  o.series.forEach((s, i) => {
    const color = items[i].color;
    const segments: string[][] = [[]];
    let previous: readonly [number, number] | null = null;
    for (const p of s.points) {
      if (!usable(p)) {
        segments.push([]);
        previous = null;
        continue;
      }
      const seg = segments[segments.length - 1];
      if (s.step && previous) seg.push(`${fmt(x.at(p[0]))},${fmt(y.at(previous[1]))}`);
      seg.push(`${fmt(x.at(p[0]))},${fmt(y.at(p[1]))}`);
      previous = p;
    }
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    if (!s.noLine) {
      for (const seg of segments) {
        if (seg.length > 1)
          parts.push(
            `<polyline clip-path="url(#${clipId})" points="${seg.join(' ')}" fill="none" stroke="${color}" stroke-width="2.2"${dash} stroke-linejoin="round"/>`,
          );
      }
    }
    if (s.markers || s.noLine) {
      for (const p of s.points) {
        if (usable(p)) parts.push(`<circle cx="${fmt(x.at(p[0]))}" cy="${fmt(y.at(p[1]))}" r="3.2" fill="${color}"/>`);
      }
    }
  });
  parts.push('</svg>');
  return makeChart(parts.join(''));
}

// ---------------------------------------------------------------------------------------------
// Bar chart (grouped); a histogram is a bar chart over bin labels.

export interface BarSeries {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
}

export interface BarChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  readonly yScale?: 'linear' | 'log10';
  readonly yDomain?: readonly [number, number];
  /** Write each bar's value above it. */
  readonly valueLabels?: boolean;
  /** Formats the value labels (default: up to 4 significant digits). */
  readonly formatValue?: (v: number) => string;
  readonly width?: number;
  readonly height?: number;
}

export function barChart(o: BarChartOptions): Chart {
  const width = o.width ?? 780;
  const height = o.height ?? 420;
  const yScale = o.yScale ?? 'linear';
  for (const s of o.series) {
    if (s.values.length !== o.categories.length) throw new Error(`series '${s.name}' has ${s.values.length} values for ${o.categories.length} categories`);
  }
  const items: LegendItem[] = o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], kind: 'box' }));
  const lg = o.series.length > 1 ? legend(items, 80, titleHeight(o.subtitle), width - 100) : { markup: '', height: 0 };
  // Category labels wrap onto up to three lines; only a label that still does not fit is rotated.
  const slotWidth = (width - 102) / Math.max(1, o.categories.length);
  const wrapped = o.categories.map((c) => wrapLabel(c, Math.floor((slotWidth - 6) / (TICK_SIZE * 0.6))));
  const rotate = wrapped.some((lines) => lines === null);
  const longest = Math.max(...o.categories.map((c) => c.length));
  const lineCount = rotate ? 1 : Math.max(...wrapped.map((lines) => lines!.length));
  const bottomSpace = rotate ? 40 + Math.min(longest, 28) * TICK_SIZE * 0.45 : 36 + lineCount * (TICK_SIZE + 3);
  const frame: Frame = { width, height, left: 78, right: width - 24, top: titleHeight(o.subtitle) + lg.height + 8, bottom: height - bottomSpace };
  const values = o.series.flatMap((s) => s.values);
  const headroom = (d: [number, number]): [number, number] => (o.valueLabels && d[1] > 0 ? [d[0], d[1] + (d[1] - d[0]) * 0.08] : d);
  const yDomain = o.yDomain
    ? ([...o.yDomain] as [number, number])
    : yScale === 'linear'
      ? headroom(padded(extent(values, 'linear'), 'linear', true))
      : (() => {
          const [lo, hi] = extent(values, 'log10');
          return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))] as [number, number];
        })();
  const y = makeAxis(
    yScale,
    yDomain,
    [frame.bottom, frame.top],
    6,
    values.every((v) => Number.isInteger(v)),
  );
  const parts = [header(width, height, o.title, o.subtitle), lg.markup, axes(frame, null, y, o.xLabel, o.yLabel)];
  const slot = (frame.right - frame.left) / o.categories.length;
  const groupWidth = slot * 0.8;
  const barWidth = groupWidth / o.series.length;
  const base = yScale === 'linear' ? y.at(Math.max(y.lo, Math.min(0, y.hi))) : frame.bottom;
  const format = o.formatValue ?? formatNumber;
  o.categories.forEach((category, c) => {
    const x0 = frame.left + c * slot + (slot - groupWidth) / 2;
    o.series.forEach((s, i) => {
      const v = s.values[c];
      const bx = x0 + i * barWidth;
      const label = (py: number): void => {
        if (o.valueLabels) parts.push(text(bx + barWidth / 2, py, escapeXml(format(v)), { 'font-size': TICK_SIZE - 1, 'text-anchor': 'middle' }));
      };
      if (!Number.isFinite(v)) return;
      if (yScale !== 'linear' && v <= 0) {
        // No bar on a log axis, but a zero is still a value worth reading.
        if (v === 0) label(frame.bottom - 4);
        return;
      }
      const top = y.at(Math.min(Math.max(v, y.lo), y.hi));
      if (v !== 0)
        parts.push(
          `<rect x="${fmt(bx + 0.5)}" y="${fmt(Math.min(top, base))}" width="${fmt(Math.max(1, barWidth - 1))}" height="` +
            `${fmt(Math.max(0.5, Math.abs(base - top)))}" fill="${items[i].color}"/>`,
        );
      // Above a bar that goes up, below one that goes down.
      label(v < 0 ? Math.max(top, base) + TICK_SIZE + 2 : Math.min(top, base) - 4);
    });
    const cx = frame.left + (c + 0.5) * slot;
    if (rotate) {
      parts.push(
        text(cx, frame.bottom + 14, escapeXml(category), {
          'font-size': TICK_SIZE,
          'text-anchor': 'end',
          transform: `rotate(-35 ${fmt(cx)} ${fmt(frame.bottom + 14)})`,
        }),
      );
    } else {
      wrapped[c]!.forEach((line, i) => {
        parts.push(text(cx, frame.bottom + 20 + i * (TICK_SIZE + 3), escapeXml(line), { 'font-size': TICK_SIZE, 'text-anchor': 'middle' }));
      });
    }
  });
  parts.push('</svg>');
  return makeChart(parts.join(''));
}

/** Greedy word wrap into at most three lines of `maxChars`; null when a word is too long. */
function wrapLabel(label: string, maxChars: number): string[] | null {
  const lines: string[] = [];
  for (const word of label.split(' ')) {
    if (word.length > maxChars) return null;
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= maxChars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.length <= 3 ? lines : null;
}

export interface HistogramSeries {
  readonly name: string;
  /** Value -> count (e.g. a signed ULP histogram from compareTensors). */
  readonly counts: ReadonlyMap<number, number>;
  readonly color?: string;
}

/** Integer-binned histogram: one bar group per integer from the smallest to the largest key. */
export function histogram(
  o: Omit<BarChartOptions, 'categories' | 'series'> & {
    readonly series: readonly HistogramSeries[];
    readonly range?: readonly [number, number];
    /** Label of a bin (default: the signed integer). */
    readonly binLabel?: (bin: number) => string;
  },
): Chart {
  const keys = o.series.flatMap((s) => [...s.counts.keys()]);
  if (keys.some((k) => !Number.isInteger(k))) throw new Error('histogram keys must be integers');
  const lo = o.range?.[0] ?? Math.min(...keys);
  const hi = o.range?.[1] ?? Math.max(...keys);
  const bins: number[] = [];
  for (let k = lo; k <= hi; k++) bins.push(k);
  return barChart({
    ...o,
    categories: bins.map((b) => (o.binLabel ? o.binLabel(b) : b > 0 ? `+${b}` : String(b))),
    series: o.series.map((s) => ({ name: s.name, color: s.color, values: bins.map((b) => s.counts.get(b) ?? 0) })),
  });
}

// ---------------------------------------------------------------------------------------------
// Strip chart: one row of cells per series, coloured by category (which elements flip).

export interface StripCategory {
  readonly value: number;
  readonly label: string;
  readonly color: string;
}

export interface StripChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly rows: readonly { readonly name: string; readonly values: readonly number[] }[];
  /** Colour per value; a value not listed is drawn in grey. */
  readonly categories: readonly StripCategory[];
  /** Optional labelled spans under the strip (e.g. which rank owns a partition). */
  readonly spans?: readonly { readonly from: number; readonly to: number; readonly label: string }[];
  /** Axis ticks at column positions (fractional allowed); default: column indices. */
  readonly xTicks?: readonly { readonly at: number; readonly label: string }[];
  readonly width?: number;
}

export function stripChart(o: StripChartOptions): Chart {
  const width = o.width ?? 780;
  const labelWidth = Math.min(260, 24 + Math.max(...o.rows.map((r) => r.name.length)) * LABEL_SIZE * 0.58);
  const items: LegendItem[] = o.categories.map((c) => ({ name: c.label, color: c.color, kind: 'box' }));
  const lg = legend(items, 20, titleHeight(o.subtitle), width - 40);
  const rowHeight = 30;
  const top = titleHeight(o.subtitle) + lg.height + 10;
  const left = labelWidth;
  const right = width - 20;
  const columns = Math.max(...o.rows.map((r) => r.values.length));
  const spanSpace = o.spans ? 34 : 0;
  const height = top + o.rows.length * rowHeight + spanSpace + 62;
  const cell = (right - left) / columns;
  const colorOf = new Map(o.categories.map((c) => [c.value, c.color]));
  const parts = [header(width, height, o.title, o.subtitle), lg.markup];
  o.rows.forEach((row, r) => {
    const y0 = top + r * rowHeight;
    parts.push(text(left - 10, y0 + rowHeight / 2 + LABEL_SIZE * 0.35, escapeXml(row.name), { 'font-size': LABEL_SIZE - 1, 'text-anchor': 'end' }));
    // Runs of one colour are drawn as one rect: fewer nodes, no hairline gaps.
    let start = 0;
    for (let i = 1; i <= row.values.length; i++) {
      if (i < row.values.length && row.values[i] === row.values[start]) continue;
      const color = colorOf.get(row.values[start]) ?? '#bbbbbb';
      parts.push(`<rect x="${fmt(left + start * cell)}" y="${fmt(y0 + 3)}" width="${fmt((i - start) * cell)}" height="${rowHeight - 6}" fill="${color}"/>`);
      start = i;
    }
  });
  const bottom = top + o.rows.length * rowHeight;
  parts.push(`<rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(right - left)}" height="${fmt(bottom - top)}" fill="none" stroke="#333333"/>`);
  for (const s of o.spans ?? []) {
    const x1 = left + s.from * cell;
    const x2 = left + s.to * cell;
    parts.push(`<path d="M${fmt(x1 + 1)},${fmt(bottom + 6)} v6 H${fmt(x2 - 1)} v-6" fill="none" stroke="#333333"/>`);
    parts.push(text((x1 + x2) / 2, bottom + 27, escapeXml(s.label), { 'font-size': TICK_SIZE, 'text-anchor': 'middle' }));
  }
  const ticks =
    o.xTicks ??
    niceTicks(0, columns, 8)
      .filter((t) => Number.isInteger(t) && t <= columns)
      .map((t) => ({ at: t, label: String(t) }));
  const tickY = bottom + spanSpace;
  for (const t of ticks) {
    const px = left + t.at * cell;
    parts.push(`<line x1="${fmt(px)}" y1="${fmt(tickY)}" x2="${fmt(px)}" y2="${fmt(tickY + 5)}" stroke="#333333"/>`);
    parts.push(text(px, tickY + 19, escapeXml(t.label), { 'font-size': TICK_SIZE, 'text-anchor': 'middle' }));
  }
  parts.push(text((left + right) / 2, height - 12, escapeXml(o.xLabel), { 'font-size': LABEL_SIZE, 'text-anchor': 'middle' }));
  parts.push('</svg>');
  return makeChart(parts.join(''));
}

// ---------------------------------------------------------------------------------------------
// Number lines: one track per row with a tick at each value (a format's grid).

export interface NumberLineRow {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
  /** Values drawn as tall, labelled marks (e.g. the inputs being rounded). */
  readonly highlights?: readonly { readonly value: number; readonly label: string }[];
}

export interface NumberLineOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly rows: readonly NumberLineRow[];
  readonly domain: readonly [number, number];
  readonly xScale?: AxisScale;
  readonly width?: number;
}

export function numberLines(o: NumberLineOptions): Chart {
  const width = o.width ?? 780;
  const xScale = o.xScale ?? 'linear';
  const labelWidth = Math.min(240, 24 + Math.max(...o.rows.map((r) => r.name.length)) * LABEL_SIZE * 0.58);
  const rowHeight = 52;
  const top = titleHeight(o.subtitle) + 8;
  const height = top + o.rows.length * rowHeight + 66;
  const frame: Frame = { width, height, left: labelWidth, right: width - 24, top, bottom: top + o.rows.length * rowHeight };
  const x = makeAxis(xScale, [o.domain[0], o.domain[1]], [frame.left, frame.right], 8, false);
  const inside = (v: number): boolean => v >= o.domain[0] && v <= o.domain[1];
  const parts = [header(width, height, o.title, o.subtitle)];
  for (const t of x.ticks) {
    const px = x.at(t.value);
    parts.push(`<line x1="${fmt(px)}" y1="${fmt(frame.top)}" x2="${fmt(px)}" y2="${fmt(frame.bottom)}" stroke="#eeeeee"/>`);
    parts.push(`<line x1="${fmt(px)}" y1="${fmt(frame.bottom)}" x2="${fmt(px)}" y2="${fmt(frame.bottom + 5)}" stroke="#333333"/>`);
    parts.push(text(px, frame.bottom + 20, tickMarkup(t.label), { 'font-size': TICK_SIZE, 'text-anchor': 'middle' }));
  }
  o.rows.forEach((row, r) => {
    const color = row.color ?? PALETTE[r % PALETTE.length];
    const cy = top + r * rowHeight + rowHeight / 2 + 6;
    parts.push(text(frame.left - 10, cy + LABEL_SIZE * 0.35, escapeXml(row.name), { 'font-size': LABEL_SIZE - 1, 'text-anchor': 'end' }));
    parts.push(`<line x1="${fmt(frame.left)}" y1="${fmt(cy)}" x2="${fmt(frame.right)}" y2="${fmt(cy)}" stroke="#999999"/>`);
    // Values closer than a quarter pixel draw as one tick (bf16 near zero has thousands).
    let lastPx = -Infinity;
    for (const v of row.values) {
      if (!inside(v)) continue;
      const px = x.at(v);
      if (Math.abs(px - lastPx) < 0.25) continue;
      lastPx = px;
      parts.push(`<line x1="${fmt(px)}" y1="${fmt(cy - 8)}" x2="${fmt(px)}" y2="${fmt(cy + 8)}" stroke="${color}" stroke-width="2"/>`);
    }
    for (const h of row.highlights ?? []) {
      if (!inside(h.value)) continue;
      const px = x.at(h.value);
      parts.push(`<path d="M${fmt(px)},${fmt(cy - 9)} l-5,-8 h10 z" fill="#000000"/>`);
      parts.push(text(px, cy - 21, escapeXml(h.label), { 'font-size': TICK_SIZE - 1, 'text-anchor': 'middle' }));
    }
  });
  parts.push(text((frame.left + frame.right) / 2, height - 12, escapeXml(o.xLabel), { 'font-size': LABEL_SIZE, 'text-anchor': 'middle' }));
  parts.push('</svg>');
  return makeChart(parts.join(''));
}
