import { SimChannel, type SimEmission } from './channel.js';
import type { RunRecord, SimLabel } from './labels.js';
import { deriveSeed } from './random.js';
import type { WardSpec } from './spec.js';

/**
 * A simulated ward: every channel of every pump, merged into one stream in arrival order.
 * Pull-based and synchronous, so a caller decides the pace: flat out into a file, or paced
 * against a clock for MQTT or a demo (see `pace.ts`). Nothing here reads the wall clock.
 */
export class Ward implements Iterable<SimEmission> {
  readonly spec: WardSpec;
  readonly startMs: number;
  readonly endMs: number;
  readonly channels: readonly SimChannel[];
  /** Min-heap of channel indexes keyed by their next arrival time (ties: channel order). */
  readonly #heap: number[] = [];
  readonly #heapAtMs: number[] = [];
  #emitted = 0;
  #lastAtMs: number;

  constructor(spec: WardSpec) {
    this.spec = spec;
    this.startMs = spec.startMs;
    this.endMs = spec.startMs + spec.durationMs;
    this.#lastAtMs = spec.startMs;
    const channels: SimChannel[] = [];
    for (const pump of spec.pumps) {
      const patientSeed = deriveSeed(spec.seed, pump.pumpId, 'patient');
      for (const channel of pump.channels) {
        channels.push(
          new SimChannel(channel, {
            pumpId: pump.pumpId,
            ...(pump.careArea === undefined ? {} : { careArea: pump.careArea }),
            patient: pump.patient,
            channelSeed: deriveSeed(spec.seed, pump.pumpId, channel.channel),
            patientSeed,
            startMs: this.startMs,
            endMs: this.endMs,
          }),
        );
      }
    }
    this.channels = channels;
    channels.forEach((channel, index) => {
      const atMs = channel.peekAtMs();
      if (atMs !== undefined) this.#heapPush(index, atMs);
    });
  }

  /** Samples handed out so far. */
  get emittedCount(): number {
    return this.#emitted;
  }

  /** Share of the run's time covered so far, 0–1. */
  get progress(): number {
    return Math.min(1, Math.max(0, (this.#lastAtMs - this.startMs) / (this.endMs - this.startMs)));
  }

  /** Arrival time of the next sample, without taking it; undefined when the run is over. */
  peekAtMs(): number | undefined {
    return this.#heap.length === 0 ? undefined : this.#heapAtMs[0];
  }

  /** The next sample in arrival order, or undefined when the run is over. */
  next(): SimEmission | undefined {
    if (this.#heap.length === 0) return undefined;
    const index = this.#heap[0]!;
    const channel = this.channels[index]!;
    const emission = channel.take()!;
    const atMs = channel.peekAtMs();
    if (atMs === undefined) this.#heapPop();
    else this.#heapReplaceTop(index, atMs);
    this.#emitted++;
    this.#lastAtMs = emission.atMs;
    return emission;
  }

  *[Symbol.iterator](): Iterator<SimEmission> {
    for (let emission = this.next(); emission !== undefined; emission = this.next()) yield emission;
  }

  /**
   * Labels completed since the last call. A label completes when its event ends, or when the run
   * is over (then `end` is null for events still going). Order within a batch is not by time;
   * sort with `compareLabels` for files.
   */
  takeLabels(): SimLabel[] {
    const labels: SimLabel[] = [];
    for (const channel of this.channels) channel.drainLabels(labels);
    return labels;
  }

  /** What was run: the first line of a labels file. */
  runRecord(): RunRecord {
    return {
      record: 'run',
      v: 1,
      name: this.spec.name,
      seed: this.spec.seed,
      start: new Date(this.startMs).toISOString(),
      end: new Date(this.endMs).toISOString(),
      startMs: this.startMs,
      endMs: this.endMs,
      channels: this.channels.map((channel) => ({
        pumpId: channel.pumpId,
        channel: channel.channel,
        pumpType: channel.spec.pumpType,
        drug: channel.spec.drug?.name ?? null,
        rateMlPerH: channel.spec.rateMlPerH,
        reportIntervalS: channel.spec.reportIntervalS,
      })),
    };
  }

  #less(a: number, b: number): boolean {
    const atA = this.#heapAtMs[a]!;
    const atB = this.#heapAtMs[b]!;
    return atA < atB || (atA === atB && this.#heap[a]! < this.#heap[b]!);
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const at = this.#heapAtMs;
    const index = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = index;
    const atMs = at[a]!;
    at[a] = at[b]!;
    at[b] = atMs;
  }

  #heapPush(index: number, atMs: number): void {
    this.#heap.push(index);
    this.#heapAtMs.push(atMs);
    let child = this.#heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.#less(child, parent)) break;
      this.#swap(child, parent);
      child = parent;
    }
  }

  #heapPop(): void {
    const last = this.#heap.length - 1;
    this.#swap(0, last);
    this.#heap.pop();
    this.#heapAtMs.pop();
    this.#siftDown(0);
  }

  #heapReplaceTop(index: number, atMs: number): void {
    this.#heap[0] = index;
    this.#heapAtMs[0] = atMs;
    this.#siftDown(0);
  }

  #siftDown(start: number): void {
    const size = this.#heap.length;
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= size) return;
      const right = left + 1;
      const child = right < size && this.#less(right, left) ? right : left;
      if (!this.#less(child, parent)) return;
      this.#swap(child, parent);
      parent = child;
    }
  }
}
