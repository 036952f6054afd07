import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, histogram, lineChart, niceTicks, numberLines, stripChart, type Chart } from '../../notebooks/lib/charts.js';

// The notebooks' SVG chart helper: markup that stays well formed whatever the data, axes that
// skip what they cannot draw, and the hook that makes Jupyter's Deno kernel display a chart.

/** Tags opened and closed in order (the SVG is generated, so a stack check is enough). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

function displayBundle(chart: Chart): unknown {
  const hook = (chart as unknown as Record<symbol, () => unknown>)[Symbol.for('Jupyter.display')];
  return hook();
}

describe('niceTicks', () => {
  it('steps by 1, 2, 2.5 or 5 times a power of ten and stays inside the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 100, 6)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
    expect(niceTicks(0.95, 1.25, 6)).toEqual([0.95, 1, 1.05, 1.1, 1.15, 1.2, 1.25]);
  });
  it('returns the single value for an empty range', () => {
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('escapeXml', () => {
  it('escapes the characters that would end a tag or an attribute', () => {
    expect(escapeXml(`a<b & "c">`)).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });
});

describe('lineChart', () => {
  const chart = lineChart({
    title: 'x < y & z',
    xLabel: 'layer',
    yLabel: 'ULP',
    series: [
      {
        name: 'a',
        points: [
          [1, 1],
          [2, 4],
          [3, NaN],
          [4, 16],
          [5, 32],
        ],
      },
      {
        name: 'b',
        dash: '4 2',
        step: true,
        points: [
          [1, 2],
          [5, 3],
        ],
      },
    ],
  });

  it('is one well-formed svg element with its text escaped', () => {
    expect(chart.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(balanced(chart.svg)).toBe(true);
    expect(chart.svg).toContain('x &lt; y &amp; z');
    expect(chart.svg).not.toContain('NaN');
  });

  it('breaks a line at a non-finite point', () => {
    expect(chart.svg.match(/<polyline /g)).toHaveLength(3);
  });

  it('offers the svg to Jupyter through the display hook, not as an enumerable field', () => {
    expect(displayBundle(chart)).toEqual({ 'image/svg+xml': chart.svg });
    expect(Object.keys(chart)).toEqual(['svg']);
  });

  it('skips non-positive values on a log axis and labels powers of two', () => {
    const log = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      yScale: 'log2',
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, 2 ** -10],
            [2, 1],
            [3, 2 ** 10],
          ],
        },
      ],
    });
    expect(log.svg).not.toContain('NaN');
    expect(log.svg).not.toContain('Infinity');
    expect(log.svg).toMatch(/>2<tspan[^>]*>-8<\/tspan>/);
  });

  it('gives every chart its own clip path id, so charts inlined in one page do not share one', () => {
    const other = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
    });
    const id = (svg: string) => /<clipPath id="([^"]+)"/.exec(svg)?.[1];
    expect(id(chart.svg)).toBeDefined();
    expect(id(other.svg)).not.toBe(id(chart.svg));
  });

  it('refuses a log axis over a non-positive domain', () => {
    expect(() => lineChart({ title: 't', xLabel: 'x', yLabel: 'y', yScale: 'log10', yDomain: [0, 1], series: [] })).toThrow(/positive domain/);
  });
});

describe('barChart and histogram', () => {
  it('rejects a series whose length does not match the categories', () => {
    expect(() => barChart({ title: 't', xLabel: 'x', yLabel: 'y', categories: ['a', 'b'], series: [{ name: 's', values: [1] }] })).toThrow(
      /1 values for 2 categories/,
    );
  });

  it('draws one bar per non-zero value, negative ones included, and labels zeros', () => {
    const chart = barChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      categories: ['a', 'b', 'c'],
      series: [{ name: 's', values: [3, 0, -2] }],
      valueLabels: true,
    });
    const plotBars = chart.svg.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="#0072B2"\/>/g);
    expect(plotBars).toHaveLength(2);
    expect(chart.svg).toContain('>0</text>');
    expect(balanced(chart.svg)).toBe(true);
  });

  it('wraps long category labels instead of letting them overlap', () => {
    const chart = barChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      categories: ['one two three four', 'five six seven eight'],
      series: [{ name: 's', values: [1, 2] }],
      width: 300,
    });
    expect(chart.svg).not.toContain('rotate(-35');
    expect(chart.svg).toContain('>one two<');
  });

  it('fills every integer bin of the range, empty ones with zero', () => {
    const chart = histogram({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      range: [-2, 2],
      series: [
        {
          name: 's',
          counts: new Map([
            [-1, 5],
            [2, 1],
          ]),
        },
      ],
    });
    for (const label of ['>-2<', '>-1<', '>0<', '>+1<', '>+2<']) expect(chart.svg).toContain(label);
  });

  it('rejects non-integer histogram keys', () => {
    expect(() => histogram({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', counts: new Map([[0.5, 1]]) }] })).toThrow(/integers/);
  });
});

describe('stripChart and numberLines', () => {
  it('draws a run of equal values as one cell', () => {
    const chart = stripChart({
      title: 't',
      xLabel: 'x',
      rows: [{ name: 'r', values: [0, 0, 0, 1, 1, 0] }],
      categories: [
        { value: 0, label: 'zero', color: '#111111' },
        { value: 1, label: 'one', color: '#222222' },
      ],
    });
    expect(chart.svg.match(/fill="#111111"/g)).toHaveLength(3); // legend swatch + two runs
    expect(chart.svg.match(/fill="#222222"/g)).toHaveLength(2); // legend swatch + one run
    expect(balanced(chart.svg)).toBe(true);
  });

  it('draws values closer than a pixel as one tick and leaves out values outside the domain', () => {
    const dense = Array.from({ length: 10_000 }, (_, i) => i / 10_000);
    const chart = numberLines({ title: 't', xLabel: 'x', domain: [0, 1], rows: [{ name: 'r', values: [...dense, 5], color: '#123456' }] });
    const ticks = chart.svg.match(/stroke="#123456"/g)?.length ?? 0;
    expect(ticks).toBeGreaterThan(100);
    expect(ticks).toBeLessThan(4000);
  });
});
