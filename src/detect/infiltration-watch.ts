import type { AlarmEvidence } from '../alarms/event.js';
import type { TelemetrySample } from '../telemetry/sample.js';
import { round, type FindingSink } from '../alarms/finding.js';
import type { LineState } from './line-state.js';
import type { DetectorSettings } from './settings.js';
import type { SlopeHypotheses } from './slope-cusum.js';

/**
 * The possible-infiltration state machine, on slabs of pressure against volume: a sequential
 * tissue-slope test (`slope-cusum.ts`) with slow drift as a random walk, judged against one of
 * two operating points — ward-wide, or the more sensitive vesicant-line point (a vesicant drug in
 * a sensitive care area). Its state lives in the channel's `LineState`; the coordinator
 * (`LineWatch`) decides when a slab is undisturbed and when the segment restarts.
 */
export class InfiltrationWatch {
  readonly #s: DetectorSettings;
  readonly #emit: FindingSink;
  readonly #hypotheses: SlopeHypotheses;

  constructor(settings: DetectorSettings, emit: FindingSink) {
    this.#s = settings;
    this.#emit = emit;
    const infiltration = settings.infiltration;
    this.#hypotheses = {
      lowMmHgPerMl: infiltration.slopeLowMmHgPerMl,
      highMmHgPerMl: infiltration.slopeHighMmHgPerMl,
      ceilingMmHgPerMl: infiltration.ceilingMmHgPerMl,
      clip: infiltration.clipSd,
      stepCapNats: infiltration.stepCapNats,
      driftWeight: infiltration.driftWeight,
    };
  }

  /** Whether the channel is judged at the vesicant-line operating point. */
  static vesicantPoint(st: LineState): boolean {
    return st.vesicant && st.sensitiveArea;
  }

  thresholdNats(st: LineState): number {
    return InfiltrationWatch.vesicantPoint(st) ? this.#s.sensitiveContext.thresholdNats : this.#s.infiltration.thresholdNats;
  }

  /**
   * Variance of one slab mean: white noise (the line's quiet scatter) averaged over its samples,
   * plus quantisation, which does not average away when the noise is smaller than a step.
   */
  #whiteVariance(st: LineState, samples: number): number {
    const floor = this.#s.segments.noiseFloorMmHg;
    const scatter = Math.max(floor, st.quietSlabJaggedness);
    const resolution = Number.isFinite(st.resolutionMmHg) ? st.resolutionMmHg : 0;
    return (scatter * scatter) / Math.max(1, samples) + (resolution * resolution) / 12;
  }

  /**
   * One slab closed. `disturbed` slabs (crying, movement, handling) are left out; the test then
   * spans the gap with a larger drift variance. `judge` is false while the baseline is still
   * being learned (start-up creep is not a site) or an occlusion is active.
   */
  onSlab(st: LineState, pressure: number, volume: number, samples: number, disturbed: boolean, judge: boolean, ts: number, sample: TelemetrySample): void {
    if (st.infiltrationActive) {
      // Ends only if the pressure falls back to where the rise began: tissue does not drain itself.
      if (!disturbed) st.infiltrationEndConfirm = pressure <= st.infiltrationStartP ? st.infiltrationEndConfirm + 1 : 0;
      if (st.infiltrationEndConfirm >= 2) this.end(st, ts, sample, 'pressure-fell');
      return;
    }
    if (disturbed || !judge) return;
    const score = st.tissueStep(this.#hypotheses, pressure, volume, ts, this.#whiteVariance(st, samples), true);
    const threshold = this.thresholdNats(st);
    if (score < threshold) return;
    const resolution = Number.isFinite(st.resolutionMmHg) ? st.resolutionMmHg : 0;
    const rise = pressure - st.tissueOnsetP;
    if (rise < Math.max(this.#s.infiltration.riseMmHg, resolution)) return;
    if (ts - st.infiltrationEndedTs < this.#s.infiltration.holdOffMinutes * 60_000) return;
    this.#raise(st, score, threshold, rise, pressure, volume, ts, sample);
  }

  #raise(st: LineState, score: number, threshold: number, rise: number, pressure: number, volume: number, ts: number, sample: TelemetrySample): void {
    const infiltration = this.#s.infiltration;
    const spanMl = Math.max(volume - st.tissueOnsetV, Number.EPSILON);
    const slope = rise / spanMl;
    const onsetP = st.tissueOnsetP;
    st.infiltrationActive = true;
    st.infiltrationEndConfirm = 0;
    st.infiltrationStartP = onsetP;
    st.restartTissueTest();
    const drugNote = st.vesicant ? ` This line carries ${st.drugLabel ?? 'a vesicant'}, a vesicant: check the site now.` : '';
    const evidence: AlarmEvidence = {
      source: 'pressure-trend',
      test: 'tissue-slope-cusum',
      operatingPoint: InfiltrationWatch.vesicantPoint(st) ? 'vesicant-line' : 'ward',
      scoreNats: round(score, 2),
      thresholdNats: threshold,
      baselineMmHg: round(onsetP, 1),
      pressureMmHg: round(pressure, 1),
      riseMmHg: round(rise, 1),
      driftMmHg2PerHour: round(st.driftRate, 2),
      slopeMmHgPerMl: round(slope, 1),
      volumeSinceOnsetMl: round(spanMl, 3),
      rateMlPerH: sample.rateMlPerH ?? null,
      apparentSiteComplianceMlPerMmHg: round(1 / slope, 3),
      vesicant: st.vesicant,
      drug: st.drugLabel ?? null,
      careArea: st.careArea ?? null,
    };
    this.#emit({
      condition: 'possible-infiltration',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: true,
      atMs: ts,
      priority: st.vesicant ? infiltration.priorityVesicant : infiltration.priorityOther,
      message:
        `Line pressure is creeping up with the volume delivered (${round(rise, 1)} mmHg over ${round(spanMl, 2)} mL), ` +
        `as it can when fluid collects in tissue. Check the IV site for swelling, blanching, coolness or leakage.${drugNote}`,
      evidence,
    });
  }

  end(st: LineState, ts: number, sample: TelemetrySample, reason: string): void {
    st.infiltrationActive = false;
    st.infiltrationEndedTs = ts;
    this.#emit({
      condition: 'possible-infiltration',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: false,
      atMs: ts,
      evidence: { source: 'pressure-trend', reason },
    });
  }
}
