// pumpwatch channel charts, shared by the ward page, `pumpwatch replay --html` and the evaluation
// report. No imports: the caller hands in uPlot, so the same text runs as a served module and
// inlined in a self-contained file.

const PRIORITY_COLOUR = { high: '#b00020', medium: '#a34f00', low: '#1f4e99' };
const MARKER_STYLE = {
  restart: { colour: '#444444', dash: [4, 4], text: 'restart' },
  raised: { colour: '#b00020', dash: [], text: 'RAISED' },
  ended: { colour: '#1b6e20', dash: [8, 3], text: 'ended' },
  onset: { colour: '#1b6e20', dash: [5, 4], text: 'true onset' },
  'event-end': { colour: '#666666', dash: [5, 4], text: 'event ends' },
  pump: { colour: '#000000', dash: [], text: "pump's alarm" },
};
const PRESSURE_COLOUR = '#0b57d0';
const BASELINE_COLOUR = '#1b6e20';
const SLOPE_COLOUR = '#8e24aa';
const HEIGHT = 230;

function markerColour(marker) {
  if (marker.kind === 'raised' && marker.priority in PRIORITY_COLOUR) return PRIORITY_COLOUR[marker.priority];
  return MARKER_STYLE[marker.kind]?.colour ?? '#000000';
}

/** Vertical marker lines with a short text tag, and the judged slope on the volume chart. */
function overlayPlugin(state, axis) {
  return {
    hooks: {
      draw: [
        (u) => {
          const series = state.series;
          const ctx = u.ctx;
          const { top, height, left, width } = u.bbox;
          const scale = devicePixelRatio;
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, top, width, height);
          ctx.clip();
          ctx.font = `${Math.round(11 * scale)}px system-ui, sans-serif`;
          let tagRow = 0;
          for (const marker of series.markers) {
            const value = axis === 'volume' ? marker.volumeMl : axis.toX(marker.atMs);
            if (value === null || value === undefined) continue;
            const x = u.valToPos(value, 'x', true);
            if (x < left - 1 || x > left + width + 1) continue;
            const style = MARKER_STYLE[marker.kind] ?? MARKER_STYLE.restart;
            ctx.strokeStyle = markerColour(marker);
            ctx.lineWidth = (marker.kind === 'raised' ? 3 : 2) * scale;
            ctx.setLineDash(style.dash.map((d) => d * scale));
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillStyle = markerColour(marker);
            const tag = marker.kind === 'raised' && marker.priority ? `${marker.priority.toUpperCase()} ${style.text}` : style.text;
            ctx.fillText(tag, x + 3 * scale, top + (12 + 13 * (tagRow++ % 3)) * scale);
          }
          if (axis === 'volume' && series.slope) {
            const s = series.slope;
            ctx.setLineDash([]);
            ctx.strokeStyle = SLOPE_COLOUR;
            ctx.lineWidth = 3 * scale;
            ctx.beginPath();
            ctx.moveTo(u.valToPos(s.fromVolumeMl, 'x', true), u.valToPos(s.fromMmHg, 'y', true));
            ctx.lineTo(u.valToPos(s.toVolumeMl, 'x', true), u.valToPos(s.toMmHg, 'y', true));
            ctx.stroke();
          }
          ctx.restore();
          // What the tests (and screen readers) can read: how many points this chart drew.
          u.root.dataset.points = String(u.data[0].length);
        },
      ],
    },
  };
}

function timeAxis(series) {
  const origin = series.originMs ?? null;
  if (origin === null) return { toX: (ms) => ms / 1000, time: true, label: 'time' };
  return { toX: (ms) => (ms - origin) / 60000, time: false, label: 'minutes from onset' };
}

function chartOptions(title, xLabel, time, width, state, axis, withBaseline) {
  const lines = [
    {},
    { label: 'pressure mmHg', stroke: PRESSURE_COLOUR, width: 2, spanGaps: false, points: { show: false } },
  ];
  if (withBaseline) lines.push({ label: 'learned baseline mmHg', stroke: BASELINE_COLOUR, width: 2, dash: [10, 5], points: { show: false } });
  return {
    title,
    width,
    height: HEIGHT,
    scales: { x: { time } },
    series: lines,
    axes: [
      { label: xLabel, stroke: '#000000', grid: { stroke: '#d0d0d0' } },
      { label: 'mmHg', stroke: '#000000', grid: { stroke: '#d0d0d0' } },
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    plugins: [overlayPlugin(state, axis)],
  };
}

/** Points with a volume, in volume order (uPlot needs an ascending x). */
function volumeData(series) {
  const rows = [];
  for (let i = 0; i < series.tsMs.length; i++) {
    const v = series.volumeMl[i];
    if (v !== null && v !== undefined) rows.push([v, series.pressureMmHg[i], series.baselineMmHg?.[i] ?? null]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  return [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])];
}

function describe(series) {
  const n = series.tsMs.length;
  const last = n > 0 ? series.pressureMmHg[n - 1] : null;
  const baseline = n > 0 ? series.baselineMmHg?.[n - 1] : null;
  const parts = [`${n} points`];
  if (last !== null && last !== undefined) parts.push(`latest ${last} mmHg`);
  if (series.baselineMmHg !== null) parts.push(baseline === null || baseline === undefined ? 'baseline: still learning' : `learned baseline ${baseline} mmHg`);
  if (series.slope) parts.push(`slope (purple): ${series.slope.label}`);
  return parts.join(' · ');
}

function markerList(series) {
  const list = document.createElement('ol');
  list.className = 'pw-markers';
  for (const marker of series.markers.slice(-12)) {
    const item = document.createElement('li');
    item.className = `pw-marker pw-marker-${marker.kind}${marker.priority ? ` pw-priority-${marker.priority}` : ''}`;
    item.textContent = `${new Date(marker.atMs).toLocaleTimeString()} — ${marker.label}`;
    list.append(item);
  }
  return list;
}

/**
 * Draws a channel's pressure against time and against volume delivered, with the learned
 * baseline, segment restarts, alarm markers and the slope being judged. Returns `update(series)`
 * to redraw with new data in place, and `destroy()`.
 */
export function drawChannelCharts(uPlot, container, series) {
  container.replaceChildren();
  container.classList.add('pw-channel-charts');
  const heading = document.createElement('h3');
  const summary = document.createElement('p');
  summary.className = 'pw-chart-summary';
  const timeBox = document.createElement('div');
  timeBox.className = 'pw-chart pw-chart-time';
  const volumeBox = document.createElement('div');
  volumeBox.className = 'pw-chart pw-chart-volume';
  const markersBox = document.createElement('div');
  container.append(heading, summary, timeBox, volumeBox, markersBox);

  const state = { series };
  let charts = [];
  let shape = '';
  const width = () => Math.max(280, Math.floor((container.clientWidth || 700) - 8));
  const datasets = (current, axis, withBaseline) => {
    const timeData = [current.tsMs.map(axis.toX), current.pressureMmHg];
    if (withBaseline) timeData.push(current.baselineMmHg);
    if (current.volumeMl === null) return [timeData];
    const volume = volumeData(current);
    if (!withBaseline) volume.pop();
    return [timeData, volume];
  };
  const show = (current) => {
    state.series = current;
    heading.textContent = current.title;
    summary.textContent = describe(current);
    markersBox.replaceChildren(markerList(current));
    const axis = timeAxis(current);
    const withBaseline = current.baselineMmHg !== null;
    const data = datasets(current, axis, withBaseline);
    const nextShape = `${data.length}/${withBaseline}/${axis.time}`;
    // Same shape: new data in place (cheap, keeps zoom); otherwise the charts are built anew.
    if (nextShape === shape) {
      charts.forEach((chart, index) => chart.setData(data[index]));
      return;
    }
    for (const chart of charts) chart.destroy();
    shape = nextShape;
    charts = [new uPlot(chartOptions('pressure against time', axis.label, axis.time, width(), state, axis, withBaseline), data[0], timeBox)];
    if (data[1] !== undefined) {
      charts.push(new uPlot(chartOptions('pressure against volume delivered', 'mL delivered', false, width(), state, 'volume', withBaseline), data[1], volumeBox));
    }
  };
  show(series);
  // A rotated tablet or a resized window redraws the charts at the new width, in place.
  let drawnWidth = width();
  const resized = new ResizeObserver(() => {
    const next = width();
    if (next === drawnWidth) return;
    drawnWidth = next;
    for (const chart of charts) chart.setSize({ width: next, height: chart.height });
  });
  resized.observe(container);
  return {
    update: show,
    destroy() {
      resized.disconnect();
      for (const chart of charts) chart.destroy();
      charts = [];
      shape = '';
    },
  };
}
