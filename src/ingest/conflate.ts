import type { MonotonicClock } from '../clock.js';
import type { TelemetrySample } from '../telemetry/sample.js';

/** Why a sample was dropped unprocessed. Stable: metrics and tests match on them. */
export const SHED_REASONS = [
  // A newer sample of the same channel arrived before this one was processed.
  'conflated',
  // The queue was full: the oldest waiting sample made room.
  'overflow',
] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

export interface ConflatingQueueOptions {
  /** Where samples go (the pipeline), in arrival order per channel. */
  process: (sample: TelemetrySample) => void;
  /** Samples waiting at most (one per channel); past it the oldest is shed. */
  maxPending: number;
  /** Longest stretch spent processing before the event loop reads its sockets again. */
  drainBudgetMs: number;
  monotonic: MonotonicClock;
  /** Runs `task` once pending I/O has been handled (`setImmediate` in the daemon). */
  schedule: (task: () => void) => void;
  /** A sample whose processing threw; the queue carries on with the next. */
  onError: (error: unknown, sample: TelemetrySample) => void;
}

interface Pending {
  pumpId: string;
  channel: string;
  sample: TelemetrySample;
}

/** The pump's own alarm codes or alarm state: priority input that is never shed. */
function carriesPumpAlarm(sample: TelemetrySample): boolean {
  return sample.state === 'alarm' || (sample.pumpAlarms !== undefined && sample.pumpAlarms.length > 0);
}

/**
 * The only queue between the telemetry sockets and the detector. Normally it is empty and every
 * sample goes straight through. While conflating, it keeps the latest sample of each channel
 * and processes them oldest channel first, in slices of `drainBudgetMs` between socket reads:
 * the sockets are drained at the cost of decoding alone, the backlog in the kernel and the
 * broker stays small (so a sample that raises an alarm is fresh), and the detector sees the
 * newest state of every channel. What is shed is the oldest sample of a channel (conflated) or
 * the oldest waiting sample (overflow), counted by reason; a sample carrying the pump's own
 * alarm codes is processed instead of being shed.
 */
export class ConflatingQueue {
  readonly #options: ConflatingQueueOptions;
  readonly #byPump = new Map<string, Map<string, Pending>>();
  readonly #ring: (Pending | undefined)[];
  readonly #shed = new Map<ShedReason, number>(SHED_REASONS.map((reason) => [reason, 0]));
  #head = 0;
  #count = 0;
  #conflating = false;
  #drainScheduled = false;
  #drainedSamples = 0;
  #drainedMs = 0;
  readonly #drain = () => this.#drainSlice();

  constructor(options: ConflatingQueueOptions) {
    this.#options = options;
    this.#ring = new Array<Pending | undefined>(options.maxPending);
  }

  get conflating(): boolean {
    return this.#conflating;
  }

  get pending(): number {
    return this.#count;
  }

  shedCount(reason: ShedReason): number {
    return this.#shed.get(reason) ?? 0;
  }

  get shedTotal(): number {
    let total = 0;
    for (const count of this.#shed.values()) total += count;
    return total;
  }

  /** Samples processed by the drain so far, and the time that took: the cost of one sample. */
  get drained(): { samples: number; ms: number } {
    return { samples: this.#drainedSamples, ms: this.#drainedMs };
  }

  /** Starts or stops conflating; samples already waiting are still processed, in order. */
  setConflating(conflating: boolean): void {
    this.#conflating = conflating;
  }

  offer(sample: TelemetrySample): void {
    // Until the queue is empty, a newer sample must wait behind its channel's older one.
    if (!this.#conflating && this.#count === 0) {
      this.#options.process(sample);
      return;
    }
    let channels = this.#byPump.get(sample.pumpId);
    const waiting = channels?.get(sample.channel);
    if (waiting !== undefined) {
      if (carriesPumpAlarm(waiting.sample)) this.#processSafely(waiting.sample);
      else this.#countShed('conflated');
      waiting.sample = sample;
      return;
    }
    if (this.#count === this.#ring.length) this.#evictOldest();
    const entry: Pending = { pumpId: sample.pumpId, channel: sample.channel, sample };
    if (channels === undefined) {
      channels = new Map();
      this.#byPump.set(sample.pumpId, channels);
    }
    channels.set(sample.channel, entry);
    this.#ring[(this.#head + this.#count) % this.#ring.length] = entry;
    this.#count++;
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      this.#options.schedule(this.#drain);
    }
  }

  /** Processes everything still waiting, now (on stop: nothing already received is dropped). */
  flush(): void {
    while (this.#count > 0) this.#processSafely(this.#takeOldest());
  }

  #drainSlice(): void {
    this.#drainScheduled = false;
    const { monotonic, drainBudgetMs } = this.#options;
    const startedMs = monotonic.elapsedMs();
    let processed = 0;
    while (this.#count > 0) {
      this.#processSafely(this.#takeOldest());
      processed++;
      // Reading the clock costs more than a sample's arithmetic: look every 32 samples.
      if ((processed & 31) === 0 && monotonic.elapsedMs() - startedMs >= drainBudgetMs) break;
    }
    this.#drainedSamples += processed;
    this.#drainedMs += monotonic.elapsedMs() - startedMs;
    if (this.#count > 0) {
      this.#drainScheduled = true;
      this.#options.schedule(this.#drain);
    }
  }

  #takeOldest(): TelemetrySample {
    const entry = this.#ring[this.#head]!;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#count--;
    const channels = this.#byPump.get(entry.pumpId);
    channels?.delete(entry.channel);
    if (channels?.size === 0) this.#byPump.delete(entry.pumpId);
    return entry.sample;
  }

  #evictOldest(): void {
    const sample = this.#takeOldest();
    if (carriesPumpAlarm(sample)) this.#processSafely(sample);
    else this.#countShed('overflow');
  }

  #countShed(reason: ShedReason): void {
    this.#shed.set(reason, (this.#shed.get(reason) ?? 0) + 1);
  }

  #processSafely(sample: TelemetrySample): void {
    try {
      this.#options.process(sample);
    } catch (error) {
      this.#options.onError(error, sample);
    }
  }
}
