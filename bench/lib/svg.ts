/** A plain SVG line chart of a benchmark curve: rates on the left panel, latencies on the right. */

export interface Series {
  name: string;
  values: number[];
  dashed?: boolean;
}

export interface CurveChart {
  title: string;
  xLabel: string;
  x: number[];
  rates: Series[];
  latencies: Series[];
}

const COLOURS = ['#888888', '#bbbbbb', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const PANEL = { width: 430, height: 300, left: 70, top: 50, gap: 110 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round step for about five ticks up to `max`. */
function tickStep(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalised = raw / magnitude;
  return (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10) * magnitude;
}

function panel(x: number[], series: Series[], offsetX: number, yLabel: string, colourOffset: number, xLabel: string): string {
  const finite = series.flatMap((entry) => entry.values.filter(Number.isFinite));
  const yMax = Math.max(1, ...finite) * 1.05;
  const step = tickStep(yMax);
  const xMin = Math.min(...x);
  const xMax = Math.max(...x);
  const px = (value: number) => offsetX + ((value - xMin) / Math.max(1e-9, xMax - xMin)) * PANEL.width;
  const py = (value: number) => PANEL.top + PANEL.height - (value / yMax) * PANEL.height;
  const parts: string[] = [];
  parts.push(`<rect x="${offsetX}" y="${PANEL.top}" width="${PANEL.width}" height="${PANEL.height}" fill="none" stroke="#444"/>`);
  for (let tick = 0; tick <= yMax; tick += step) {
    parts.push(`<line x1="${offsetX}" x2="${offsetX + PANEL.width}" y1="${py(tick).toFixed(1)}" y2="${py(tick).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${offsetX - 6}" y="${(py(tick) + 4).toFixed(1)}" text-anchor="end">${tick.toLocaleString('en-US')}</text>`);
  }
  for (const value of x) {
    parts.push(`<text x="${px(value).toFixed(1)}" y="${PANEL.top + PANEL.height + 16}" text-anchor="middle">${value}×</text>`);
  }
  parts.push(`<text x="${offsetX + PANEL.width / 2}" y="${PANEL.top + PANEL.height + 34}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text transform="translate(${offsetX - 56} ${PANEL.top + PANEL.height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  series.forEach((entry, index) => {
    const colour = COLOURS[(index + colourOffset) % COLOURS.length]!;
    const points = entry.values.flatMap((value, at) => (Number.isFinite(value) ? [`${px(x[at]!).toFixed(1)},${py(value).toFixed(1)}`] : []));
    const dash = entry.dashed === true ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const point of points) {
      const [cx, cy] = point.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`);
    }
    const legendY = PANEL.top + PANEL.height + 52 + index * 16;
    parts.push(`<line x1="${offsetX}" x2="${offsetX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${offsetX + 30}" y="${legendY}">${escape(entry.name)}</text>`);
  });
  return parts.join('\n');
}

export function curveSvg(chart: CurveChart): string {
  const legendRows = Math.max(chart.rates.length, chart.latencies.length);
  const width = PANEL.left + 2 * PANEL.width + PANEL.gap + 20;
  const height = PANEL.top + PANEL.height + 60 + legendRows * 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${PANEL.left}" y="24" font-size="14" font-weight="bold">${escape(chart.title)}</text>`,
    panel(chart.x, chart.rates, PANEL.left, 'samples per second', 0, chart.xLabel),
    panel(chart.x, chart.latencies, PANEL.left + PANEL.width + PANEL.gap, 'sample-to-alarm latency (ms)', 5, chart.xLabel),
    '</svg>',
    '',
  ].join('\n');
}
