import { SEGMENT_STARTUP, type LineState } from '../detect/line-state.js';
import type { LineWatch } from '../detect/line-watch.js';
import type { ChartSlope } from './series.js';

/**
 * The one place the ward page reads the detector's mind. Everything here is read-only and goes
 * through `LineWatch.state`, so a detector rewrite re-points this file and nothing else.
 */
export interface DetectorChannelView {
  /** Volume delivered as the detector integrates it from the rate: the chart's x axis. */
  readonly volumeMl: number;
  /** The learned baseline, NaN while the segment is still learning. */
  readonly baselineMmHg: number;
  /** When the current segment (learning restart) began, sample time. */
  readonly segmentStartTs: number;
  readonly segmentKind: 'startup' | 'resume';
  readonly drugLabel: string | undefined;
  readonly vesicant: boolean;
  readonly sensitiveArea: boolean;
  /** Rise over volume across the block means the detector holds for this segment (its recent trend), or null. */
  judgedSlope(): JudgedSlope | null;
}

export type JudgedSlope = ChartSlope;

class LineStateView implements DetectorChannelView {
  readonly #state: Readonly<LineState>;

  constructor(state: Readonly<LineState>) {
    this.#state = state;
  }

  get volumeMl(): number {
    return this.#state.volume;
  }

  get baselineMmHg(): number {
    return this.#state.baselineLearned ? this.#state.baseline : Number.NaN;
  }

  get segmentStartTs(): number {
    return this.#state.segmentStartTs;
  }

  get segmentKind(): 'startup' | 'resume' {
    return this.#state.segmentKind === SEGMENT_STARTUP ? 'startup' : 'resume';
  }

  get drugLabel(): string | undefined {
    return this.#state.drugLabel;
  }

  get vesicant(): boolean {
    return this.#state.vesicant;
  }

  get sensitiveArea(): boolean {
    return this.#state.sensitiveArea;
  }

  judgedSlope(): JudgedSlope | null {
    const st = this.#state;
    const n = st.fineCount;
    if (n < 2) return null;
    // Rise over volume from the oldest held block to the newest, as the occlusion test measures it.
    const fromVolumeMl = st.fineV(n - 1);
    const toVolumeMl = st.fineV(0);
    if (toVolumeMl <= fromVolumeMl) return null;
    const fromMmHg = st.fineP(n - 1);
    const toMmHg = st.fineP(0);
    const slope = (toMmHg - fromMmHg) / (toVolumeMl - fromVolumeMl);
    return { fromVolumeMl, fromMmHg, toVolumeMl, toMmHg, slopeMmHgPerMl: slope, label: `rise over the detector's last ${n} blocks: ${Math.round(slope)} mmHg/mL` };
  }
}

/** The detector of one pipeline, seen per channel. */
export class DetectorView {
  readonly #watch: Pick<LineWatch, 'state'>;

  constructor(watch: Pick<LineWatch, 'state'>) {
    this.#watch = watch;
  }

  /** A live view (its getters follow the detector); keep it, it never goes stale. */
  channel(pumpId: string, channel: string): DetectorChannelView | undefined {
    const state = this.#watch.state(pumpId, channel);
    return state === undefined ? undefined : new LineStateView(state);
  }
}
