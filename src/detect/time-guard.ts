import { ChannelMap } from './channel-map.js';
import type { FindingSink } from '../alarms/finding.js';
import type { Rejection } from '../telemetry/decode.js';
import type { TelemetrySample } from '../telemetry/sample.js';

export interface TimeGuardSettings {
  /** Further than this from the reference time a sample is out of range. */
  maxSkewMs: number;
  /** Consecutive out-of-range samples that agree with each other resynchronise the channel. */
  resyncSamples: number;
}

/**
 * What a sample's time is judged against:
 * - `gateway-clock` (the daemon): the gateway's own clock at arrival;
 * - `sample-time` (replay): the timeline of the samples accepted so far, since a recording
 *   carries no arrival time. A confirmed jump forward is then a gap in the recording, not a
 *   clock fault; a confirmed jump back is a pump clock set back, and the channel's samples are
 *   moved to follow on from its last one.
 */
export type TimeReference = 'gateway-clock' | 'sample-time';

export interface TimeGuardOptions {
  settings: TimeGuardSettings;
  reference: TimeReference;
  /** The gateway clock (`gateway-clock` only). */
  now: () => number;
  accept: (sample: TelemetrySample) => void;
  reject: (rejection: Rejection) => void;
  /** `pump-clock-skew` findings. */
  emit: FindingSink;
}

const IN_RANGE = 0;
const FUTURE = 1;
const PAST = 2;
const REORDERED = 3;
type Verdict = typeof IN_RANGE | typeof FUTURE | typeof PAST | typeof REORDERED;

/** One channel's time state; the pipeline resolves it once per channel (`channel`) and hands it back on every sample (`offerAt`). */
export interface ChannelTime {
  /** Corrected time of the last accepted sample; NaN before the first. */
  lastTs: number;
  /** Added to the pump's own time: 0 until the channel resynchronises to a jumped clock. */
  offsetMs: number;
  skewed: boolean;
  /** Out-of-range samples held while they might be a clock jump rather than an outlier. */
  held: TelemetrySample[];
  heldVerdicts: Verdict[];
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * Checks every sample's own time before the detector sees it, so one sample dated 2099 cannot
 * make every later, correctly dated sample look reordered (and silence the channel for good).
 *
 * A sample is judged against the reference time (see `TimeReference`) and against its channel's
 * last accepted sample. In range and not older: passed on. Out of range (too far in the future or
 * the past) or older than the last: held, up to `resyncSamples − 1` of them. If the next
 * sample is back in range the held ones were outliers and are refused, each with its own reason
 * (`time-future`, `time-past`, `out-of-order`). If instead `resyncSamples` in a row agree with
 * each other (each newer than the one before, none a jump from it), the pump's clock has jumped:
 * the channel resynchronises, the held samples are passed on, nothing is lost, and from then on
 * its samples carry the corrected time. Against the gateway clock the correction puts them at
 * arrival time; a correction beyond `maxSkewMs` is a persistent skew and raises
 * `pump-clock-skew`, which ends when the pump's clock agrees again.
 *
 * O(1) per sample and allocation-free while clocks behave; the held list is allocated once per
 * channel, on its first doubtful sample.
 */
export class TimeGuard {
  readonly #settings: TimeGuardSettings;
  readonly #reference: TimeReference;
  readonly #now: () => number;
  readonly #accept: (sample: TelemetrySample) => void;
  readonly #reject: (rejection: Rejection) => void;
  readonly #emit: FindingSink;
  readonly #channels = new ChannelMap<ChannelTime>(() => ({ lastTs: Number.NaN, offsetMs: 0, skewed: false, held: [], heldVerdicts: [] }));
  /** `sample-time`: the latest accepted time over every channel; NaN before the first sample. */
  #timeline = Number.NaN;
  #heldCount = 0;

  constructor(options: TimeGuardOptions) {
    this.#settings = options.settings;
    this.#reference = options.reference;
    this.#now = options.now;
    this.#accept = options.accept;
    this.#reject = options.reject;
    this.#emit = options.emit;
  }

  /** Channels resynchronised to a pump clock more than `maxSkewMs` off. */
  get skewedCount(): number {
    let count = 0;
    for (const [, , state] of this.#channels.entries()) if (state.skewed) count++;
    return count;
  }

  /** Samples held while their time is in doubt (neither passed on nor refused yet), over every channel. */
  get heldCount(): number {
    return this.#heldCount;
  }

  offer(sample: TelemetrySample): void {
    this.offerAt(this.channel(sample.pumpId, sample.channel), sample);
  }

  /** A channel's time state, made on first use. */
  channel(pumpId: string, channel: string): ChannelTime {
    return this.#channels.getOrCreate(pumpId, channel);
  }

  /**
   * `offer` with the sample's channel state already resolved (`channel`). Every sample it passes
   * on, held ones included, is of that channel and is passed on before it returns.
   */
  offerAt(st: ChannelTime, sample: TelemetrySample): void {
    const verdict = this.#judge(st, sample.ts + st.offsetMs);
    if (verdict === IN_RANGE) {
      if (st.held.length > 0) this.#refuseHeld(st);
      this.#pass(st, sample);
      return;
    }
    const held = st.held;
    if (held.length > 0) {
      const previous = held[held.length - 1]!.ts;
      if (sample.ts <= previous || sample.ts - previous > this.#settings.maxSkewMs) this.#refuseHeld(st);
    }
    if (held.length + 1 < this.#settings.resyncSamples) {
      held.push(sample);
      st.heldVerdicts.push(verdict);
      this.#heldCount++;
      return;
    }
    this.#resync(st, sample, verdict);
  }

  /** Forgets a retired channel; samples it still held are refused, so every sample taken in is accounted for. */
  forget(pumpId: string, channel: string): void {
    const st = this.#channels.get(pumpId, channel);
    if (st === undefined) return;
    this.#refuseHeld(st);
    st.lastTs = Number.NaN;
    st.offsetMs = 0;
    st.skewed = false;
  }

  #judge(st: ChannelTime, ts: number): Verdict {
    const reference = this.#reference === 'gateway-clock' ? this.#now() : this.#timeline;
    if (ts - reference > this.#settings.maxSkewMs) return FUTURE;
    // A recording may hold one pump's whole day before the next pump's: in replay, the past is judged per channel only.
    if (this.#reference === 'gateway-clock' && reference - ts > this.#settings.maxSkewMs) return PAST;
    // The same time again is passed on: a pump may report twice in one millisecond (a code change), and the detector skips the duplicate.
    if (ts < st.lastTs) return REORDERED;
    return IN_RANGE;
  }

  #pass(st: ChannelTime, sample: TelemetrySample): void {
    const corrected = sample.ts + st.offsetMs;
    // A resync can put a held sample before the last one (a burst sent at once): never reorder.
    if (corrected < st.lastTs) {
      this.#reject(this.#rejection(sample, REORDERED, st));
      return;
    }
    sample.ts = corrected;
    st.lastTs = corrected;
    if (!(sample.ts <= this.#timeline)) this.#timeline = sample.ts;
    this.#accept(sample);
  }

  #refuseHeld(st: ChannelTime): void {
    for (let index = 0; index < st.held.length; index++) {
      const sample = st.held[index]!;
      const verdict = st.heldVerdicts[index]!;
      this.#reject(this.#rejection(sample, verdict, st));
    }
    this.#heldCount -= st.held.length;
    st.held.length = 0;
    st.heldVerdicts.length = 0;
  }

  #rejection(sample: TelemetrySample, verdict: Verdict, st: ChannelTime): Rejection {
    const where = `${sample.pumpId}/${sample.channel}`;
    const reference = this.#reference === 'gateway-clock' ? 'the gateway clock' : 'the replayed timeline';
    const ts = iso(sample.ts);
    if (verdict === FUTURE) return { reason: 'time-future', detail: `${where}: ts ${ts} is more than ${this.#settings.maxSkewMs / 1000} s ahead of ${reference}` };
    if (verdict === PAST) return { reason: 'time-past', detail: `${where}: ts ${ts} is more than ${this.#settings.maxSkewMs / 1000} s behind ${reference}` };
    return { reason: 'out-of-order', detail: `${where}: ts ${ts} is before the channel's last sample at ${iso(st.lastTs - st.offsetMs)}` };
  }

  /** `resyncSamples` doubtful samples in a row agree: the pump's clock jumped. */
  #resync(st: ChannelTime, sample: TelemetrySample, verdict: Verdict): void {
    const first = st.held.length > 0 ? st.held[0]! : sample;
    const previousOffset = st.offsetMs;
    if (this.#reference === 'gateway-clock') {
      // Arrival time: the held samples arrived at about their own spacing before this one.
      st.offsetMs = this.#now() - sample.ts;
    } else if (verdict !== FUTURE || st.heldVerdicts.some((held) => held !== FUTURE)) {
      // Set back: follow on from the channel's last sample, one sample interval later.
      const second = st.held.length > 1 ? st.held[1]! : sample;
      const intervalMs = Math.max(1, second.ts - first.ts);
      st.offsetMs = (Number.isNaN(st.lastTs) ? this.#timeline : st.lastTs) + intervalMs - first.ts;
    }
    // Gateway clock: a correction beyond the limit is a pump clock that is off. Replay: any set-back.
    const skewed = this.#reference === 'gateway-clock' ? Math.abs(st.offsetMs) > this.#settings.maxSkewMs : st.offsetMs !== 0;
    const held = st.held;
    this.#heldCount -= held.length;
    for (const earlier of held) this.#pass(st, earlier);
    held.length = 0;
    st.heldVerdicts.length = 0;
    this.#pass(st, sample);
    this.#reportSkew(st, sample, skewed, previousOffset, first.ts);
  }

  #reportSkew(st: ChannelTime, sample: TelemetrySample, skewed: boolean, previousOffsetMs: number, firstPumpTs: number): void {
    if (!skewed && !st.skewed) return;
    st.skewed = skewed;
    this.#emit({
      condition: 'pump-clock-skew',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: skewed,
      atMs: sample.ts,
      evidence: {
        offsetSeconds: Math.round(st.offsetMs / 1000),
        previousOffsetSeconds: Math.round(previousOffsetMs / 1000),
        pumpTs: iso(firstPumpTs),
        reference: this.#reference,
        maxSkewSeconds: this.#settings.maxSkewMs / 1000,
      },
    });
  }
}
