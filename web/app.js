// The ward page: the whole ward when the event stream opens, then what changed (rows, alarms,
// health) on every server-sent event; one chart fetched for the channel in view. Everything it
// loads comes from the daemon that served it.
import { drawChannelCharts } from './chart.js';

const CHART_REFRESH_MS = 2000;
const STALE_AFTER_MS = 5000;
const PRIORITY_RANK = { high: 3, medium: 2, low: 1 };

const $ = (id) => document.getElementById(id);
const view = {
  ward: null,
  receivedAt: 0,
  selected: null,
  pinned: false,
  chart: null,
  chartKey: null,
  /** The chart's data, merged from refreshes. */
  series: null,
  chartFetchedAt: 0,
  chartLoading: false,
  rows: new Map(),
  /** Every channel by key, as objects; the stream sends only the rows that changed. */
  channels: new Map(),
  list: [],
  rowHeight: 0,
  filter: '',
  alarmIds: '',
};

const keyOf = (pumpId, channel) => `${pumpId}\u0000${channel}`;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function age(ms) {
  if (!Number.isFinite(ms)) return '–';
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/** The server's clock now, from its last snapshot. */
function serverNow() {
  return view.ward.nowMs + (Date.now() - view.receivedAt);
}

function badge(priority) {
  return el('span', `pw-badge pw-priority-${priority}`, priority.toUpperCase());
}

/** Alarms drawn in the list; the rest are counted. They arrive most urgent first, so a storm cannot bury a high one. */
const ALARMS_SHOWN = 200;

function renderAlarms(ward) {
  const list = $('alarms');
  const items = ward.alarms.slice(0, ALARMS_SHOWN).map((alarm) => {
    const item = el('li', `pw-alarm pw-priority-${alarm.priority}${alarm.acknowledged ? ' pw-acked' : ''}`);
    item.dataset.alarmId = alarm.alarmId;
    item.dataset.condition = alarm.condition;
    item.dataset.pump = `${alarm.pumpId}/${alarm.channel}`;
    const head = el('p', 'pw-alarm-head');
    head.append(badge(alarm.priority), el('strong', 'pw-condition', ` ${alarm.condition} `), el('span', 'pw-where', `${alarm.bed ? `${alarm.bed} · ` : ''}${alarm.pumpId} / ${alarm.channel}`));
    const paused = alarm.pausedUntil ? ` · PAUSED until ${new Date(alarm.pausedUntil).toLocaleTimeString()}` : '';
    const meta = el('p', 'pw-alarm-meta', `raised ${age(serverNow() - Date.parse(alarm.raisedAt))} ago · ${alarm.acknowledged ? 'acknowledged' : 'NOT ACKNOWLEDGED'}${paused} · ${alarm.kind}`);
    const message = el('p', 'pw-alarm-message', alarm.message);
    item.append(head, meta, message);
    if (ward.allowAck && !alarm.acknowledged) {
      const button = el('button', 'pw-ack', 'Acknowledge');
      button.type = 'button';
      button.addEventListener('click', () => acknowledge(alarm.alarmId, button));
      item.append(button);
    }
    item.addEventListener('click', (event) => {
      if (event.target instanceof HTMLButtonElement) return;
      select(keyOf(alarm.pumpId, alarm.channel), true);
    });
    return item;
  });
  if (items.length === 0) items.push(el('li', 'pw-none', 'No active alarms.'));
  const hidden = ward.alarms.length - items.length;
  if (hidden > 0) items.push(el('li', 'pw-none pw-more', `… and ${hidden} more alarms, of equal or lower priority (all are in the ward table)`));
  list.replaceChildren(...items);
  $('alarm-count').textContent = `(${ward.alarms.length})`;
  $('ack-by-row')?.toggleAttribute('hidden', !ward.allowAck);
}

/** Rows drawn beyond the visible ones, above and below, so scrolling never shows a gap. */
const ROW_OVERSCAN = 10;

function rowFor(key) {
  let row = view.rows.get(key);
  if (row === undefined) {
    row = el('tr');
    for (let i = 0; i < 9; i++) row.append(el('td'));
    row.tabIndex = 0;
    row.addEventListener('click', () => select(key, true));
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') select(key, true);
    });
    view.rows.set(key, row);
  }
  return row;
}

function setCell(row, index, text, className = '') {
  const cell = row.cells[index];
  if (cell.textContent !== text) cell.textContent = text;
  if (cell.className !== className) cell.className = className;
}

function channelRank(channel) {
  return (channel.alarmPriority ? 10 * (PRIORITY_RANK[channel.alarmPriority] ?? 0) : 0) + (channel.link === 'lost' ? 5 : 0);
}

/** Rows arrive as arrays (see channelColumns) to keep the stream small; the page works with objects. */
function channelOf(columns, values) {
  const channel = {};
  for (let i = 0; i < columns.length; i++) channel[columns[i]] = values[i];
  channel.key = keyOf(channel.pumpId, channel.channel);
  return channel;
}

function fillRow(row, c, key, now, ward) {
  row.dataset.pump = `${c.pumpId}/${c.channel}`;
  row.className = `${c.alarmPriority ? `pw-row-alarm pw-priority-${c.alarmPriority}` : ''}${key === view.selected ? ' pw-selected' : ''}`;
  setCell(row, 0, `${c.pumpId} / ${c.channel}${c.bed ? ` · ${c.bed}` : ''}`);
  setCell(row, 1, c.alarmPriority ? `${c.alarmPriority.toUpperCase()}: ${c.alarmCondition}` : '–', c.alarmPriority ? `pw-cell-alarm pw-priority-${c.alarmPriority}` : '');
  setCell(row, 2, c.drug === null ? '–' : `${c.vesicant ? '⚠ ' : ''}${c.drug}`, c.vesicant ? 'pw-vesicant pw-drug' : 'pw-drug');
  row.cells[2].title = c.vesicant ? 'vesicant drug' : '';
  setCell(row, 3, c.careArea === null ? '–' : `${c.careArea}${c.sensitiveArea ? '*' : ''}`);
  setCell(row, 4, c.rateMlPerH === null ? '–' : String(c.rateMlPerH), 'pw-num');
  setCell(row, 5, c.state || '–');
  setCell(row, 6, c.pressureMmHg === null ? '–' : String(c.pressureMmHg), 'pw-num');
  setCell(row, 7, c.link === 'lost' ? 'LOST' : 'live', c.link === 'lost' ? 'pw-lost' : '');
  setCell(row, 8, age(now - c.lastTs), now - c.lastTs > ward.telemetryLostAfterSeconds * 1000 ? 'pw-lost pw-num' : 'pw-num');
}

function spacer(height) {
  const row = el('tr', 'pw-spacer');
  row.setAttribute('aria-hidden', 'true');
  const cell = el('td');
  cell.colSpan = 9;
  cell.style.height = `${height}px`;
  row.append(cell);
  return row;
}

/**
 * The ward table, sorted (alarming and lost channels first) and filtered; only the rows in view
 * are in the DOM, so a thousand channels cost what thirty do.
 */
function renderWard(ward) {
  // Read the scroll box before anything below writes to the page: a read after a write makes the
  // browser lay out the whole page at once, which at 1,000 channels cost most of each update.
  const wrap = $('ward').closest('.pw-table-wrap');
  const scrollTop = wrap.scrollTop;
  const viewHeight = wrap.clientHeight;
  const now = serverNow();
  const filter = view.filter.toLowerCase();
  const channels = [...view.channels.values()]
    .filter((c) => filter === '' || `${c.pumpId} ${c.channel} ${c.bed ?? ''} ${c.drug ?? ''} ${c.careArea ?? ''}`.toLowerCase().includes(filter))
    .sort((a, b) => channelRank(b) - channelRank(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  view.list = channels;
  const rowHeight = view.rowHeight || 28;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - ROW_OVERSCAN);
  const last = Math.min(channels.length, Math.ceil((scrollTop + viewHeight) / rowHeight) + ROW_OVERSCAN);
  const shown = [];
  for (let index = first; index < last; index++) {
    const c = channels[index];
    const row = rowFor(c.key);
    fillRow(row, c, c.key, now, ward);
    shown.push(row);
  }
  const keep = new Set(shown);
  for (const [key, row] of view.rows) if (!keep.has(row)) view.rows.delete(key);
  $('ward').replaceChildren(spacer(first * rowHeight), ...shown, spacer((channels.length - last) * rowHeight));
  if (!view.rowHeight && shown.length > 0) view.rowHeight = shown[0].getBoundingClientRect().height || 28;
  $('channel-count').textContent = `(${view.channels.size} channels)`;
}

function renderHealth(ward) {
  const h = ward.health;
  const entries = [];
  const add = (term, text, bad = false) => entries.push(el('dt', '', term), el('dd', bad ? 'pw-bad' : 'pw-good', text));
  for (const source of h.sources) add(`source ${source.name} (${source.kind})`, source.up ? `${source.state} ✓` : `${source.state.toUpperCase()} ✗`, !source.up);
  if (h.sources.length === 0) add('sources', 'none configured', true);
  add('alarm broker', h.broker === 'connected' ? 'connected ✓' : `${h.broker.toUpperCase()} ✗`, h.broker !== 'connected');
  if (h.journal) {
    const waiting = h.journal.oldestUndeliveredAgeMs === undefined ? '' : `, oldest ${age(h.journal.oldestUndeliveredAgeMs)}`;
    add('alarm journal', `${h.journal.depth} waiting for delivery${waiting}`, h.journal.depth > 0);
  }
  if (h.ingest) add('overload', h.ingest.overloaded ? `OVERLOADED (${h.ingest.pending} samples waiting; ${Math.round(h.ingest.cpuShare * 100)} % of a core)` : `no (${Math.round(h.ingest.cpuShare * 100)} % of a core)`, h.ingest.overloaded);
  const rejects = Object.entries(h.rejects).filter(([, n]) => n > 0);
  add('rejected samples', rejects.length === 0 ? 'none' : rejects.map(([reason, n]) => `${reason}: ${n}`).join(', '), rejects.length > 0);
  $('health').replaceChildren(...entries);
}

function renderEvents(ward) {
  const items = ward.events.map((e) => {
    const item = el('li', `pw-event pw-event-${e.event}`);
    item.append(el('time', '', new Date(e.at).toLocaleTimeString()), document.createTextNode(' '), badge(e.priority), el('span', '', ` ${e.event} ${e.condition} — ${e.pumpId} / ${e.channel}`));
    item.title = e.message;
    return item;
  });
  if (items.length === 0) items.push(el('li', 'pw-none', 'No alarm events yet.'));
  $('events').replaceChildren(...items);
}

function select(key, pinned) {
  if (view.selected !== key) {
    view.selected = key;
    view.chartFetchedAt = 0;
  }
  view.pinned = view.pinned || pinned;
  for (const [rowKey, row] of view.rows) row.classList.toggle('pw-selected', rowKey === key);
  void refreshChart(true);
}

/**
 * The held chart and a refresh of it (the points after the last one held for good): the
 * provisional last point is replaced, points the gateway no longer keeps are dropped, and markers,
 * slope and title are taken whole.
 */
function mergeSeries(held, update) {
  const end = held.partial ? held.tsMs.length - 1 : held.tsMs.length;
  let start = 0;
  while (start < end && held.tsMs[start] < (update.oldestTsMs ?? -Infinity)) start++;
  const join = (old, fresh) => (old === null || fresh === null ? fresh : [...old.slice(start, end), ...fresh]);
  return {
    ...update,
    tsMs: join(held.tsMs, update.tsMs),
    pressureMmHg: join(held.pressureMmHg, update.pressureMmHg),
    volumeMl: join(held.volumeMl, update.volumeMl),
    baselineMmHg: join(held.baselineMmHg, update.baselineMmHg),
  };
}

async function refreshChart(force) {
  const key = view.selected;
  if (key === null || view.chartLoading) return;
  if (!force && Date.now() - view.chartFetchedAt < CHART_REFRESH_MS) return;
  view.chartLoading = true;
  try {
    const [pumpId, channel] = key.split('\u0000');
    // The channel already drawn asks only for the points after its last final one: a few points, not hours of them.
    const held = view.chart !== null && view.chartKey === key ? view.series : null;
    const last = held === null ? undefined : held.tsMs[held.partial ? held.tsMs.length - 2 : held.tsMs.length - 1];
    const after = last === undefined ? '' : `&after=${last}`;
    const response = await fetch(`/api/channel?pumpId=${encodeURIComponent(pumpId)}&channel=${encodeURIComponent(channel)}${after}`, { cache: 'no-store' });
    if (!response.ok) return;
    const fetched = await response.json();
    view.chartFetchedAt = Date.now();
    $('chart-hint').hidden = true;
    if (held === null) {
      view.chart?.destroy();
      view.series = fetched;
      view.chart = drawChannelCharts(globalThis.uPlot, $('chart'), fetched);
      view.chartKey = key;
    } else if (view.chartKey === key && view.series === held) {
      view.series = mergeSeries(held, fetched);
      view.chart.update(view.series);
    }
  } finally {
    view.chartLoading = false;
  }
}

/** The whole ward: on connect, and after a frame was missed. */
function replaceWard({ channels, ...ward }) {
  view.channels = new Map();
  for (const values of channels) {
    const channel = channelOf(ward.channelColumns, values);
    view.channels.set(channel.key, channel);
  }
  view.ward = ward;
  render(ward);
}

/** What changed since the previous frame: the rows sent replace theirs; alarms and events come when they changed. */
function applyDelta(delta) {
  if (view.ward === null) return;
  for (const values of delta.rows) {
    const channel = channelOf(view.ward.channelColumns, values);
    view.channels.set(channel.key, channel);
  }
  const ward = { ...view.ward, nowMs: delta.nowMs, health: delta.health };
  if (delta.alarms !== undefined) ward.alarms = delta.alarms;
  if (delta.events !== undefined) ward.events = delta.events;
  view.ward = ward;
  render(ward);
}

function render(ward) {
  view.receivedAt = Date.now();
  $('gateway').textContent = `${ward.gateway.site} · ${ward.gateway.ward} · ${ward.gateway.id}`;
  renderWard(ward);
  renderAlarms(ward);
  renderHealth(ward);
  renderEvents(ward);
  if (!view.pinned) {
    const first = view.list[0];
    if (first !== undefined && keyOf(first.pumpId, first.channel) !== view.selected) select(keyOf(first.pumpId, first.channel), false);
  }
  // A new or ended alarm redraws the chart at once, so its marker shows with it.
  const alarms = ward.alarms.map((alarm) => alarm.alarmId).join(' ');
  void refreshChart(alarms !== view.alarmIds);
  view.alarmIds = alarms;
  document.body.dataset.rendered = String(ward.nowMs);
}

async function acknowledge(alarmId, button) {
  const by = $('ack-by').value.trim();
  if (by === '') {
    $('ack-by').focus();
    $('ack-by').setCustomValidity('Enter your name to acknowledge');
    $('ack-by').reportValidity();
    return;
  }
  localStorage.setItem('pumpwatch.by', by);
  button.disabled = true;
  const response = await fetch('/api/ack', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ alarmId, by }) });
  const result = await response.json().catch(() => ({}));
  button.textContent = response.ok ? 'Acknowledged' : `Not acknowledged (${result.verdict ?? result.error ?? response.status})`;
}

function connect() {
  const status = $('connection');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    status.textContent = 'live';
    status.className = 'pw-connection pw-good';
  });
  source.addEventListener('ward', (event) => replaceWard(JSON.parse(event.data)));
  source.addEventListener('delta', (event) => applyDelta(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    status.textContent = 'CONNECTION TO THE GATEWAY LOST — retrying; what you see may be out of date';
    status.className = 'pw-connection pw-bad';
  });
  setInterval(() => {
    if (view.ward !== null && Date.now() - view.receivedAt > STALE_AFTER_MS) {
      status.textContent = `NO UPDATE FOR ${age(Date.now() - view.receivedAt)} — what you see may be out of date`;
      status.className = 'pw-connection pw-bad';
    }
  }, 1000);
}

function setUp() {
  const byRow = el('p', 'pw-ack-by');
  byRow.id = 'ack-by-row';
  byRow.hidden = true;
  const label = el('label', '', 'Acknowledge as ');
  const input = el('input');
  input.id = 'ack-by';
  input.autocomplete = 'name';
  input.placeholder = 'your name';
  input.value = localStorage.getItem('pumpwatch.by') ?? '';
  input.addEventListener('input', () => input.setCustomValidity(''));
  label.append(input);
  byRow.append(label);
  $('alarms').before(byRow);
  $('filter').addEventListener('input', (event) => {
    view.filter = event.target.value;
    if (view.ward !== null) renderWard(view.ward);
  });
  let scrollQueued = false;
  $('ward').closest('.pw-table-wrap').addEventListener('scroll', () => {
    if (scrollQueued || view.ward === null) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      renderWard(view.ward);
    });
  });
  connect();
}

setUp();
