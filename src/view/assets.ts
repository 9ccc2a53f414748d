import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ChannelSeries } from './series.js';

export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

/** The page's own files, beside dist/ and src/ in the package. */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const require = createRequire(import.meta.url);

function webFile(name: string): Buffer {
  return readFileSync(`${WEB_DIR}${name}`);
}

function uplotFile(name: string): Buffer {
  return readFileSync(require.resolve(`uplot/dist/${name}`));
}

/** Every file the ward page loads, by URL path: all served by the daemon, nothing from elsewhere. */
export function loadWebAssets(): ReadonlyMap<string, StaticAsset> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map<string, StaticAsset>([
    ['/', { contentType: 'text/html; charset=utf-8', body: webFile('index.html') }],
    ['/assets/app.js', { contentType: js, body: webFile('app.js') }],
    ['/assets/chart.js', { contentType: js, body: webFile('chart.js') }],
    ['/assets/ward.css', { contentType: css, body: webFile('ward.css') }],
    ['/assets/uPlot.iife.min.js', { contentType: js, body: uplotFile('uPlot.iife.min.js') }],
    ['/assets/uPlot.min.css', { contentType: css, body: uplotFile('uPlot.min.css') }],
  ]);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** A chart placeholder for `chartDocument`: the index-th series is drawn into it. */
export function chartSlot(index: number): string {
  return `<div class="pw-charts" data-series="${index}"></div>`;
}

export interface ChartDocument {
  title: string;
  /** Extra CSS for the document's own content. */
  style?: string;
  /** Body HTML, with `chartSlot(i)` where series i goes. */
  body: string;
  series: readonly ChannelSeries[];
}

/**
 * One self-contained HTML file (replay --html, the evaluation report): uPlot, the shared chart
 * code and the data inlined, so it opens from disk or an e-mail with no network at all.
 */
export function chartDocument(document: ChartDocument): string {
  const chartCode = webFile('chart.js').toString('utf8');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.title)}</title>
<style>${uplotFile('uPlot.min.css').toString('utf8')}</style>
<style>${webFile('ward.css').toString('utf8')}</style>
<style>${document.style ?? ''}</style>
<script>${uplotFile('uPlot.iife.min.js').toString('utf8').replace(/<\/script/gi, '<\\/script')}</script>
</head><body class="pw-document">
${document.body}
<script type="application/json" id="pw-series">${scriptJson(document.series)}</script>
<script type="module">
${chartCode}
const series = JSON.parse(document.getElementById('pw-series').textContent);
for (const slot of document.querySelectorAll('[data-series]')) {
  const one = series[Number(slot.dataset.series)];
  if (one !== undefined) drawChannelCharts(globalThis.uPlot, slot, one);
}
</script>
</body></html>
`;
}
