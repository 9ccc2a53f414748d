import type { TelemetrySample } from '../telemetry/sample.js';
import { round, type FindingSink } from '../alarms/finding.js';
import { EPISODE_RING_SIZE, type LineState } from './line-state.js';
import type { DetectorSettings } from './settings.js';

/**
 * The recurrent-occlusion state machine: occlusion episodes (the pump's own alarm codes, its
 * automatic restarts, and pumpwatch's own occlusion raises) counted in a ring of times; several
 * within the window raise `recurrent-occlusion`, a quiet window ends it. The pump's codes are
 * classified here, once per sample.
 */
export class RecurrenceWatch {
  readonly #s: DetectorSettings;
  readonly #emit: FindingSink;
  readonly #occlusionCodes: ReadonlySet<string>;
  readonly #restartCodes: ReadonlySet<string>;
  readonly #count: number;
  readonly #windowMs: number;

  constructor(settings: DetectorSettings, occlusionAlarmCodes: readonly string[], emit: FindingSink) {
    this.#s = settings;
    this.#emit = emit;
    this.#occlusionCodes = new Set(occlusionAlarmCodes);
    this.#restartCodes = new Set(settings.recurrentOcclusion.autoRestartCodes);
    this.#count = Math.min(settings.recurrentOcclusion.count, EPISODE_RING_SIZE);
    this.#windowMs = settings.recurrentOcclusion.windowMinutes * 60_000;
  }

  /** Rising edges of the pump's occlusion and auto-restart codes are episodes; so are our raises. */
  onSample(st: LineState, sample: TelemetrySample, ts: number): void {
    let occluded = false;
    let restarted = false;
    const codes = sample.pumpAlarms;
    if (codes !== undefined) {
      for (let index = 0; index < codes.length; index++) {
        const code = codes[index] as string;
        if (this.#occlusionCodes.has(code)) occluded = true;
        if (this.#restartCodes.has(code)) restarted = true;
      }
    }
    if (occluded && !st.pumpOcclusionCode && !st.occlusionActive) this.episode(st, ts, sample);
    if (restarted && !st.pumpRestartCode) this.episode(st, ts, sample);
    st.pumpOcclusionCode = occluded;
    st.pumpRestartCode = restarted;
    if (st.recurrentActive && ts - st.lastEpisodeTs > this.#windowMs) {
      st.recurrentActive = false;
      this.#emit({
        condition: 'recurrent-occlusion',
        pumpId: sample.pumpId,
        channel: sample.channel,
        active: false,
        atMs: ts,
        evidence: { quietMinutes: this.#s.recurrentOcclusion.windowMinutes },
      });
    }
  }

  episode(st: LineState, ts: number, sample: TelemetrySample): void {
    st.pushEpisode(ts);
    const needed = this.#count;
    if (st.recurrentActive || st.episodeCount < needed) return;
    const firstTs = st.episodeTs(needed - 1);
    if (ts - firstTs > this.#windowMs) return;
    st.recurrentActive = true;
    const minutes = this.#s.recurrentOcclusion.windowMinutes;
    this.#emit({
      condition: 'recurrent-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      message: `${needed} occlusions or automatic restarts on this line within ${round((ts - firstTs) / 60_000, 0)} min. Check the cannula position and how the line is routed.`,
      evidence: {
        episodes: needed,
        withinMinutes: round((ts - firstTs) / 60_000, 1),
        windowMinutes: minutes,
        rateMlPerH: sample.rateMlPerH ?? null,
      },
    });
  }
}
