import type { AlarmEvent } from '../alarms/event.js';
import type { AlarmSink } from '../alarms/manager.js';
import { ChannelMap } from '../detect/channel-map.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import type { DetectorChannelView, DetectorView } from './detector-view.js';
import type { ChannelSeries, ChartMarker, ChartSlope } from './series.js';

export interface TraceSettings {
  historyMinutes: number;
  /** One chart point (mean pressure) per channel per this many seconds. */
  pointSeconds: number;
}

/** Segment restarts and alarm markers kept per channel; older ones fall off. */
const MAX_MARKERS = 64;
/** Alarm events kept for the page's event log. */
const MAX_EVENTS = 200;

/** The latest sample of a channel, for the ward table. */
export interface ChannelStatus {
  pumpId: string;
  channel: string;
  lastTs: number;
  state: string;
  rateMlPerH: number | null;
  pressureMmHg: number | null;
  volumeInfusedMl: number | null;
  drug: string | null;
  vesicant: boolean;
  careArea: string | null;
  sensitiveArea: boolean;
  /** Moves whenever the status or the chart changes: the page's feed re-sends only rows whose version moved. */
  version: number;
}

/**
 * One channel's chart history: a fixed ring of points (time, volume, mean pressure, baseline) in
 * typed arrays, allocated once, so memory per channel is bounded and known
 * (`historyMinutes × 60 / pointSeconds × 20` bytes, plus the markers).
 */
export class ChannelTrace {
  readonly ts: Float64Array;
  readonly volume: Float32Array;
  readonly pressure: Float32Array;
  readonly baseline: Float32Array;
  head = 0;
  count = 0;
  bucketStartTs = Number.NaN;
  bucketSum = 0;
  bucketSamples = 0;
  bucketLastTs = 0;
  bucketVolume = 0;
  bucketBaseline = Number.NaN;
  segmentStartTs = Number.NaN;
  readonly markers: ChartMarker[] = [];
  /** The slope the latest trend alarm was raised on, drawn where the detector measured it. */
  judged: ChartSlope | null = null;
  view: DetectorChannelView | undefined = undefined;
  lastTs = Number.NEGATIVE_INFINITY;
  state = '';
  rate = Number.NaN;
  pressureNow = Number.NaN;
  volumeInfused = Number.NaN;
  careArea: string | undefined = undefined;
  version = 0;

  constructor(capacity: number) {
    this.ts = new Float64Array(capacity);
    this.volume = new Float32Array(capacity);
    this.pressure = new Float32Array(capacity);
    this.baseline = new Float32Array(capacity);
  }

  flush(): void {
    if (this.bucketSamples === 0) return;
    const capacity = this.ts.length;
    const at = (this.head + this.count) % capacity;
    this.ts[at] = this.bucketLastTs;
    this.volume[at] = this.bucketVolume;
    this.pressure[at] = this.bucketSum / this.bucketSamples;
    this.baseline[at] = this.bucketBaseline;
    if (this.count < capacity) this.count++;
    else this.head = (this.head + 1) % capacity;
    this.bucketSamples = 0;
    this.bucketSum = 0;
  }

  mark(marker: ChartMarker): void {
    if (this.markers.length >= MAX_MARKERS) this.markers.shift();
    this.markers.push(marker);
  }
}

const round = (value: number, digits: number): number | null => {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

function statusOf(pumpId: string, channel: string, trace: ChannelTrace): ChannelStatus {
  const view = trace.view;
  return {
    pumpId,
    channel,
    lastTs: trace.lastTs,
    state: trace.state,
    rateMlPerH: round(trace.rate, 2),
    pressureMmHg: round(trace.pressureNow, 1),
    volumeInfusedMl: round(trace.volumeInfused, 2),
    drug: view?.drugLabel ?? null,
    vesicant: view?.vesicant ?? false,
    careArea: trace.careArea ?? null,
    sensitiveArea: view?.sensitiveArea ?? false,
    version: trace.version,
  };
}

/** Why learning restarted, in words, from what changed between two samples. */
function restartReason(trace: ChannelTrace, sample: TelemetrySample, kind: string): string {
  const rate = sample.rateMlPerH ?? Number.NaN;
  if (trace.state === '') return 'first sample';
  if (trace.state !== sample.state) return `${trace.state} → ${sample.state}`;
  if (Number.isFinite(trace.rate) && rate !== trace.rate) return `rate ${trace.rate} → ${rate} mL/h`;
  if (Number.isFinite(trace.volumeInfused) && (sample.volumeInfusedMl ?? Number.POSITIVE_INFINITY) < trace.volumeInfused) return 'new syringe or infusion';
  return kind === 'startup' ? 'start-up' : 'resume (gap or change)';
}

/** The rise the detector judged when it raised a trend alarm, from the event's evidence. */
function judgedAtRaise(event: AlarmEvent, volumeMl: number): ChartSlope | null {
  const { pressureMmHg, riseMmHg, slopeMmHgPerMl, volumeSinceOnsetMl } = event.evidence;
  if (typeof pressureMmHg !== 'number' || typeof riseMmHg !== 'number' || typeof slopeMmHgPerMl !== 'number' || typeof volumeSinceOnsetMl !== 'number') return null;
  return {
    fromVolumeMl: volumeMl - volumeSinceOnsetMl,
    fromMmHg: pressureMmHg - riseMmHg,
    toVolumeMl: volumeMl,
    toMmHg: pressureMmHg,
    slopeMmHgPerMl,
    label: `${event.condition} raised on ${slopeMmHgPerMl} mmHg/mL (+${riseMmHg} mmHg over ${Math.round(volumeSinceOnsetMl * 1000)} µL)`,
  };
}

/**
 * Chart history kept beside the detector, one bounded ring per channel, fed after the detector
 * has seen each sample (O(1), no allocation except when a marker is added), and the page's
 * recent alarm events. Pure bookkeeping: it never changes what the detector decides.
 */
export class ChannelTraces implements AlarmSink {
  readonly #detector: DetectorView;
  readonly #capacity: number;
  readonly #pointMs: number;
  readonly #channels: ChannelMap<ChannelTrace>;
  readonly #events: AlarmEvent[] = [];
  #listener: ((event: AlarmEvent) => void) | undefined;

  constructor(settings: TraceSettings, detector: DetectorView) {
    this.#detector = detector;
    this.#pointMs = settings.pointSeconds * 1000;
    this.#capacity = Math.max(2, Math.ceil((settings.historyMinutes * 60) / settings.pointSeconds));
    const capacity = this.#capacity;
    this.#channels = new ChannelMap(() => new ChannelTrace(capacity));
  }

  /** Points kept per channel. */
  get capacity(): number {
    return this.#capacity;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** Called once per alarm event (the page pushes it at once). */
  listen(listener: (event: AlarmEvent) => void): void {
    this.#listener = listener;
  }

  /** A channel's chart ring, made on first use (channels are never dropped). */
  channel(pumpId: string, channel: string): ChannelTrace {
    return this.#channels.getOrCreate(pumpId, channel);
  }

  /** A sample of the channel whose ring (`channel`) is given, after the detector has seen it. */
  onSample(trace: ChannelTrace, sample: TelemetrySample): void {
    const ts = sample.ts;
    if (ts <= trace.lastTs) return;
    trace.view ??= this.#detector.channel(sample.pumpId, sample.channel);
    const view = trace.view;
    if (view !== undefined && view.segmentStartTs !== trace.segmentStartTs) {
      trace.segmentStartTs = view.segmentStartTs;
      trace.mark({ atMs: view.segmentStartTs, volumeMl: view.volumeMl, kind: 'restart', label: `learning restarts: ${restartReason(trace, sample, view.segmentKind)}` });
    }
    trace.lastTs = ts;
    trace.version++;
    trace.state = sample.state;
    trace.rate = sample.rateMlPerH ?? Number.NaN;
    trace.volumeInfused = sample.volumeInfusedMl ?? Number.NaN;
    if (sample.careArea !== undefined) trace.careArea = sample.careArea;
    const pressure = sample.downstreamPressureMmHg;
    trace.pressureNow = pressure ?? Number.NaN;
    if (pressure === undefined) return;
    if (!(ts - trace.bucketStartTs < this.#pointMs)) {
      trace.flush();
      trace.bucketStartTs = ts;
    }
    trace.bucketSum += pressure;
    trace.bucketSamples++;
    trace.bucketLastTs = ts;
    trace.bucketVolume = view?.volumeMl ?? Number.NaN;
    trace.bucketBaseline = view?.baselineMmHg ?? Number.NaN;
  }

  deliver(event: AlarmEvent): void {
    if (this.#events.length >= MAX_EVENTS) this.#events.shift();
    this.#events.push(event);
    if (event.event === 'raised' || event.event === 'ended') this.#markAlarm(event, event.event);
    this.#listener?.(event);
  }

  #markAlarm(event: AlarmEvent, kind: 'raised' | 'ended'): void {
    const trace = this.#channels.get(event.pumpId, event.channel);
    if (trace === undefined) return;
    const volumeMl = trace.view?.volumeMl ?? null;
    trace.version++;
    trace.mark({ atMs: Date.parse(event.at), volumeMl, kind, priority: event.priority, label: `${event.condition} ${event.event} (${event.priority})` });
    if (kind === 'raised' && volumeMl !== null) trace.judged = judgedAtRaise(event, volumeMl) ?? trace.judged;
  }

  /** Newest last. */
  recentEvents(): readonly AlarmEvent[] {
    return this.#events;
  }

  *statuses(): IterableIterator<ChannelStatus> {
    for (const [pumpId, channel, trace] of this.#channels.entries()) yield statusOf(pumpId, channel, trace);
  }

  /** One channel's status; undefined for an unknown channel. */
  status(pumpId: string, channel: string): ChannelStatus | undefined {
    const trace = this.#channels.get(pumpId, channel);
    return trace === undefined ? undefined : statusOf(pumpId, channel, trace);
  }

  /**
   * The chart of one channel, the point still being averaged included; undefined for an unknown
   * channel. With `afterTsMs`, only the points after it (a live page's refresh: a few points, not
   * the whole ring); markers and slope always whole.
   */
  series(pumpId: string, channel: string, afterTsMs = Number.NEGATIVE_INFINITY): ChannelSeries | undefined {
    const trace = this.#channels.get(pumpId, channel);
    if (trace === undefined) return undefined;
    const tsMs: number[] = [];
    const pressureMmHg: (number | null)[] = [];
    const volumeMl: (number | null)[] = [];
    const baselineMmHg: (number | null)[] = [];
    const capacity = trace.ts.length;
    const push = (ts: number, volume: number, pressure: number, baseline: number) => {
      tsMs.push(ts);
      volumeMl.push(round(volume, 4));
      pressureMmHg.push(round(pressure, 1));
      baselineMmHg.push(round(baseline, 1));
    };
    // Points are in time order: walk back from the newest to the first one after afterTsMs.
    let first = trace.count;
    while (first > 0 && trace.ts[(trace.head + first - 1) % capacity]! > afterTsMs) first--;
    for (let index = first; index < trace.count; index++) {
      const at = (trace.head + index) % capacity;
      push(trace.ts[at]!, trace.volume[at]!, trace.pressure[at]!, trace.baseline[at]!);
    }
    const partial = trace.bucketSamples > 0;
    if (partial) push(trace.bucketLastTs, trace.bucketVolume, trace.bucketSum / trace.bucketSamples, trace.bucketBaseline);
    const oldestTsMs = trace.count > 0 ? trace.ts[trace.head]! : partial ? trace.bucketLastTs : null;
    const slope = trace.judged ?? trace.view?.judgedSlope() ?? null;
    return {
      pumpId,
      channel,
      title: `${pumpId} / ${channel}${trace.view?.drugLabel === undefined ? '' : ` · ${trace.view.drugLabel}`}`,
      tsMs,
      pressureMmHg,
      volumeMl,
      baselineMmHg,
      // A point is stamped with its last sample, so its bucket began up to one point earlier.
      markers: trace.markers.filter((marker) => oldestTsMs === null || marker.atMs > oldestTsMs - this.#pointMs),
      slope,
      partial,
      oldestTsMs,
    };
  }
}
