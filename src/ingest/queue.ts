import type { MonotonicClock } from '../clock.js';
import type { TelemetrySample } from '../telemetry/sample.js';

/** Why a sample was dropped unprocessed. Stable: metrics and tests match on them. */
export const SHED_REASONS = [
  // It waited longer than maxDelayMs and a newer sample of its channel was already waiting.
  'conflated',
  // The queue was full: the oldest waiting sample made room.
  'overflow',
] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

export interface BacklogQueueOptions {
  /** Where samples go (the pipeline), in arrival order per channel. */
  process: (sample: TelemetrySample) => void;
  /** Samples waiting at most; past it the oldest is shed. */
  maxPending: number;
  /** A sample that has waited longer than this is shed if a newer sample of its channel waits too. */
  maxDelayMs: number;
  /** Longest stretch spent processing before the event loop reads its sockets and runs timers again. */
  sliceMs: number;
  monotonic: MonotonicClock;
  /** Runs `task` once pending I/O has been handled (`setImmediate` in the daemon). */
  schedule: (task: () => void) => void;
  /** A sample whose processing threw; the queue carries on with the next. */
  onError: (error: unknown, sample: TelemetrySample) => void;
}

/** The newest waiting sample of one pump channel, by its position in arrival order. */
interface ChannelMark {
  newest: number;
}

/** The pump's own alarm codes or alarm state: priority input that is never shed. */
function carriesPumpAlarm(sample: TelemetrySample): boolean {
  return sample.state === 'alarm' || (sample.pumpAlarms !== undefined && sample.pumpAlarms.length > 0);
}

/**
 * The only queue between the telemetry sockets and the detector. Normally it is empty and every
 * sample goes straight through. While `queueing`, samples wait in arrival order and are
 * processed between socket reads, in slices of `sliceMs`, each slice going on until the queue is
 * empty: processing never gets less of the loop than reading, so the detector keeps running at
 * the process's capacity. Only what the process truly cannot keep up with is shed: a sample
 * that has waited longer than `maxDelayMs` while a newer sample of its channel waits behind it
 * (so every channel's newest state is still judged), or the oldest sample when `maxPending` are
 * waiting. A sample carrying the pump's own alarm codes is processed instead of being shed.
 *
 * Bookkeeping costs a slot write per sample plus two map lookups; arrival is stamped once per
 * slice (one clock read per event-loop turn), not per sample.
 */
export class BacklogQueue {
  readonly #options: BacklogQueueOptions;
  readonly #samples: (TelemetrySample | undefined)[];
  readonly #marks: (ChannelMark | undefined)[];
  readonly #arrivedMs: Float64Array;
  readonly #byPump = new Map<string, Map<string, ChannelMark>>();
  readonly #shed = { conflated: 0, overflow: 0 } satisfies Record<ShedReason, number>;
  /** Position in arrival order of the oldest waiting sample; positions only grow. */
  #headPosition = 0;
  #count = 0;
  #processed = 0;
  #queueing = false;
  #drainScheduled = false;
  /** Arrival stamp for samples taken in since the latest clock read. */
  #epochMs = 0;
  #drainedSamples = 0;
  #drainedMs = 0;
  #maxWaitMs = 0;
  readonly #drain = () => this.#drainSlice();

  constructor(options: BacklogQueueOptions) {
    this.#options = options;
    this.#samples = new Array<TelemetrySample | undefined>(options.maxPending);
    this.#marks = new Array<ChannelMark | undefined>(options.maxPending);
    this.#arrivedMs = new Float64Array(options.maxPending);
  }

  get queueing(): boolean {
    return this.#queueing;
  }

  get pending(): number {
    return this.#count;
  }

  /** Samples handed to `process` so far: what reached the detector. */
  get processed(): number {
    return this.#processed;
  }

  shedCount(reason: ShedReason): number {
    return this.#shed[reason];
  }

  get shedTotal(): number {
    return this.#shed.conflated + this.#shed.overflow;
  }

  /** Samples processed by the drain so far, and the time that took: the cost of one sample. */
  get drained(): { samples: number; ms: number } {
    return { samples: this.#drainedSamples, ms: this.#drainedMs };
  }

  /** The longest a processed or shed sample had waited since the last call (ms); resets it. */
  takeMaxWaitMs(): number {
    const wait = this.#maxWaitMs;
    this.#maxWaitMs = 0;
    return wait;
  }

  /** Starts or stops queueing; samples already waiting are still processed, in order. */
  setQueueing(queueing: boolean): void {
    this.#queueing = queueing;
  }

  offer(sample: TelemetrySample): void {
    // Until the queue is empty, a newer sample must wait behind its channel's older one.
    if (!this.#queueing && this.#count === 0) {
      this.#processed++;
      this.#processSafely(sample);
      return;
    }
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      this.#epochMs = this.#options.monotonic.elapsedMs();
      this.#options.schedule(this.#drain);
    }
    if (this.#count === this.#samples.length) this.#evictOldest();
    const position = this.#headPosition + this.#count;
    const slot = position % this.#samples.length;
    const mark = this.#markFor(sample);
    mark.newest = position;
    this.#samples[slot] = sample;
    this.#marks[slot] = mark;
    this.#arrivedMs[slot] = this.#epochMs;
    this.#count++;
  }

  /** Processes everything still waiting, now (on stop: nothing already received is dropped). */
  flush(): void {
    while (this.#count > 0) {
      const sample = this.#samples[this.#headPosition % this.#samples.length]!;
      this.#release();
      this.#processed++;
      this.#processSafely(sample);
    }
    this.#byPump.clear();
  }

  #markFor(sample: TelemetrySample): ChannelMark {
    let channels = this.#byPump.get(sample.pumpId);
    if (channels === undefined) {
      channels = new Map();
      this.#byPump.set(sample.pumpId, channels);
    }
    let mark = channels.get(sample.channel);
    if (mark === undefined) {
      mark = { newest: -1 };
      channels.set(sample.channel, mark);
    }
    return mark;
  }

  #drainSlice(): void {
    this.#drainScheduled = false;
    const { monotonic, sliceMs, maxDelayMs } = this.#options;
    const startedMs = monotonic.elapsedMs();
    let nowMs = startedMs;
    let processed = 0;
    while (this.#count > 0) {
      const position = this.#headPosition;
      const slot = position % this.#samples.length;
      const sample = this.#samples[slot]!;
      const mark = this.#marks[slot]!;
      const waitedMs = nowMs - this.#arrivedMs[slot]!;
      this.#release();
      if (waitedMs > this.#maxWaitMs) this.#maxWaitMs = waitedMs;
      if (waitedMs > maxDelayMs && mark.newest > position && !carriesPumpAlarm(sample)) {
        this.#shed.conflated++;
        continue;
      }
      this.#processed++;
      this.#processSafely(sample);
      processed++;
      // Reading the clock costs more than a sample's arithmetic: look every 32 samples.
      if ((processed & 31) === 0) {
        nowMs = monotonic.elapsedMs();
        if (nowMs - startedMs >= sliceMs) break;
      }
    }
    const endMs = monotonic.elapsedMs();
    this.#drainedSamples += processed;
    this.#drainedMs += endMs - startedMs;
    if (this.#count === 0) {
      // Marks only matter while their samples wait; dropping them keeps the map as small as the queue.
      this.#byPump.clear();
      return;
    }
    this.#drainScheduled = true;
    this.#epochMs = endMs;
    this.#options.schedule(this.#drain);
  }

  /** Frees the oldest slot (read it first). */
  #release(): void {
    const slot = this.#headPosition % this.#samples.length;
    this.#samples[slot] = undefined;
    this.#marks[slot] = undefined;
    this.#headPosition++;
    this.#count--;
  }

  #evictOldest(): void {
    const sample = this.#samples[this.#headPosition % this.#samples.length]!;
    this.#release();
    if (carriesPumpAlarm(sample)) {
      this.#processed++;
      this.#processSafely(sample);
    } else {
      this.#shed.overflow++;
    }
  }

  #processSafely(sample: TelemetrySample): void {
    try {
      this.#options.process(sample);
    } catch (error) {
      this.#options.onError(error, sample);
    }
  }
}
