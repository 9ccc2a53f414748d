/**
 * Every number the simulator uses, with its default, the range families draw from, and where it
 * comes from. Source tags ([S13] …) refer to the source list at the end of docs/simulator.md;
 * "assumption" marks a number we chose because no source gave one. docs/simulator.md renders
 * this table, and a test keeps the two in step.
 */

export interface ParameterInfo {
  readonly unit: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly source: string;
  readonly meaning: string;
}

/** Pressure of a 1 cm water column: ρ·g·h with ρ = 1.0 g/mL, g = 9.80665 m/s², 1 mmHg = 133.322 Pa. */
export const HYDROSTATIC_MMHG_PER_CM = 0.7356;

export const PARAMETERS = {
  rateMlPerH: {
    unit: 'mL/h', default: 1, min: 0.1, max: 10,
    source: '[S74] typical 0.5 mL/h; [S54][S53] calcium 0.19 mL/h neat to 1.9–3.2 mL/h/kg diluted; [S73] total fluids 2.5–7.1 mL/h per kg',
    meaning: 'programmed infusion rate',
  },
  syringeMl: {
    unit: 'mL', default: 50, min: 10, max: 50,
    source: '[S11][S16]',
    meaning: 'syringe size (volumetric pumps: container volume, 100–500 mL)',
  },
  complianceUlPerMmHg: {
    unit: 'µL/mmHg', default: 2.5, min: 0.4, max: 5,
    source: '[S13] syringe 1.2–2.8; back-calculated from [S11] (2.0–2.5 for a 50 mL syringe at 500 mmHg), [S16] (2.6 for 50 mL, 0.5 for 10 mL) and [S10] (≈5, volumetric)',
    meaning: 'system compliance: syringe (or cassette) plus tubing; see the per-syringe table',
  },
  occlusionLimitMmHg: {
    unit: 'mmHg', default: 300, min: 100, max: 900,
    source: '[S20] NICU limit 300; [S32] Agilia 50–900; [S29] ECRI ≥ 103',
    meaning: "the pump's own downstream occlusion alarm threshold",
  },
  reportIntervalS: {
    unit: 's', default: 10, min: 1, max: 30,
    source: '[S30] Alaris pressure display refreshed every 10 s',
    meaning: 'telemetry reporting interval',
  },
  lineResistanceMmHgPerMlH: {
    unit: 'mmHg per mL/h', default: 0.05, min: 0.02, max: 1.4,
    source: 'calc. §1.5: 1.0 mm × 150 cm extension 0.09, 0.5 mm microbore 1.4 (Poiseuille, μ = 0.7 mPa·s)',
    meaning: 'extension set and tubing between the pump and the catheter hub',
  },
  catheterResistanceMmHgPerMlH: {
    unit: 'mmHg per mL/h', default: 0.05, min: 0.01, max: 0.1,
    source: 'calc. §1.5 from [S69][S70]: 24G 0.012–0.053, 26G 0.044',
    meaning: 'peripheral catheter',
  },
  venousPressureMmHg: {
    unit: 'mmHg', default: 5, min: 2, max: 10,
    source: '[S65] VLBW CVP 3.5 ± 2.2; [S64] 4–8 ventilated; [S67] peripheral − central 1.48 ± 0.98',
    meaning: 'peripheral venous pressure at the catheter tip',
  },
  veinResistanceRu: {
    unit: 'RU (mmHg per L/h)', default: 62, min: 10, max: 420,
    source: '[S8] median 62, range −13.6 to 420 (negative values are measurement noise, so the model floors at 10)',
    meaning: 'resistance of the vein beyond the catheter tip',
  },
  tissueResistanceRu: {
    unit: 'RU (mmHg per L/h)', default: 544, min: 66, max: 4170,
    source: '[S8] median 544, range 65.7–4170; RU read as mmHg per L/h (§1.5, unverified)',
    meaning: 'resistance of subcutaneous tissue to infiltrating fluid',
  },
  tissuePressureMmHg: {
    unit: 'mmHg', default: -1, min: -4, max: 1,
    source: '[S71a] rat −0.65 to −1.2; [S71b] pig −3.9; [S71c] human −1 to −3',
    meaning: 'baseline interstitial fluid pressure before infiltration',
  },
  siteComplianceMlPerMmHg: {
    unit: 'mL/mmHg', default: 0.1, min: 0.03, max: 0.4,
    source: 'calc. from [S71e] (19.2 vs 6.4 mL/L/mmHg) on a 5–20 mL region',
    meaning: 'tissue compliance at the start of an infiltration',
  },
  plateauMmHg: {
    unit: 'mmHg', default: 6, min: 1, max: 40,
    source: '[S71d] IFP no more than 1–1.5 mmHg above control as hydrated tissue grows several-fold more compliant; [S7] line pressure independent of volume extravasated; tight sites keep rising (assumption for 10–40); held to the Phelps 1990 null result [S5]',
    meaning: 'rise of interstitial pressure above baseline that a flooding site levels off at (compliance grows as C0·(1 + V/Vs)², Vs = plateau·C0)',
  },
  pumpHeightCm: {
    unit: 'cm', default: 0, min: -20, max: 40,
    source: 'assumption (pump on a pole beside the incubator); 0.7356 mmHg per cm [S68]',
    meaning: 'height of the pump above the infusion site',
  },
  heightChangeCm: {
    unit: 'cm', default: -30, min: -30, max: 30,
    source: 'assumption (±30 cm); [S16] lowering 130 cm stops delivery for 29.7 min (50 mL) and 5.5 min (10 mL) at 0.5 mL/h',
    meaning: 'step change of pump height in a height-change event',
  },
  sensorNoiseMmHg: {
    unit: 'mmHg (SD)', default: 0.5, min: 0, max: 2,
    source: 'assumption; [S35] accuracy ±2 % of flow specified from −100 to +300 mmHg says nothing on pressure noise',
    meaning: 'white noise on each reported pressure',
  },
  quantisationMmHg: {
    unit: 'mmHg', default: 1, min: 0.1, max: 5,
    source: 'assumption; some pumps report in 5 mmHg steps',
    meaning: 'resolution of the reported pressure',
  },
  sensorOffsetMmHg: {
    unit: 'mmHg', default: 0, min: -3, max: 3,
    source: 'assumption',
    meaning: 'zero error of the pressure sensor',
  },
  stickSlipMmHg: {
    unit: 'mmHg', default: 1.5, min: 0, max: 5,
    source: 'assumption; stick-slip described qualitatively in [S78][S9g][S76]',
    meaning: 'plunger-force sawtooth amplitude on syringe pumps',
  },
  stickVolumeUl: {
    unit: 'µL', default: 2, min: 0.5, max: 5,
    source: 'assumption',
    meaning: 'volume the motor advances before the stopper breaks free (jittered ±50 % per cycle)',
  },
  rippleFraction: {
    unit: 'fraction of flow', default: 0.05, min: 0.02, max: 0.11,
    source: '[S75] "multiple percent", 11 % residual in a pulsation-free prototype',
    meaning: 'peristaltic flow ripple on volumetric pumps',
  },
  strokeVolumeMl: {
    unit: 'mL', default: 0.1, min: 0.05, max: 0.3,
    source: 'assumption',
    meaning: 'volume per peristaltic cycle (sets the ripple period)',
  },
  rippleSensorMmHg: {
    unit: 'mmHg', default: 1, min: 0, max: 3,
    source: 'assumption',
    meaning: 'mechanical ripple the peristaltic fingers put on the pressure sensor',
  },
  bagHeightCm: {
    unit: 'cm', default: 60, min: 30, max: 90,
    source: 'assumption',
    meaning: 'bag above a volumetric pump (sets the upstream pressure)',
  },
  upstreamAlarmMmHg: {
    unit: 'mmHg', default: -100, min: -300, max: -50,
    source: 'assumption (proximal occlusion limits not retrieved, [S38])',
    meaning: 'upstream pressure below which a volumetric pump raises OCCLUSION_UPSTREAM',
  },
  slackMl: {
    unit: 'mL', default: 0.25, min: 0.1, max: 0.95,
    source: 'back-calc. from [S14]: 6.75–57.2 min to first delivery at 1 mL/h',
    meaning: 'mechanical slack taken up before a fresh syringe delivers (0 when primed)',
  },
  settleMl: {
    unit: 'mL', default: 0.1, min: 0.05, max: 0.3,
    source: 'back-calc. from [S14]: 19.6–76.3 min to steady state at 1 mL/h',
    meaning: 'volume constant of the approach to steady delivery after the slack',
  },
  syringeChangeBolusUl: {
    unit: 'µL', default: 8, min: -58, max: 74,
    source: '[S18] median 8 µL, ±33 µL (range drawn as ±2 SD)',
    meaning: 'bolus (or backflow, negative) when a new syringe starts',
  },
  backoffFraction: {
    unit: 'fraction', default: 0.35, min: 0, max: 1,
    source: '[S34] post-occlusion bolus reduction to < 0.3 mL; [S29] ≤ 0.5 mL',
    meaning: 'share of the occlusion pressure left after the plunger backs off on a syringe-pump alarm',
  },
  nurseResponseS: {
    unit: 's', default: 180, min: 60, max: 600,
    source: 'assumption',
    meaning: 'time from a pump alarm to a nurse clearing it',
  },
  resiteMin: {
    unit: 'min', default: 30, min: 10, max: 60,
    source: 'assumption',
    meaning: 'infusion stopped while a new catheter is placed after an infiltration is found',
  },
  limbHeightSdCm: {
    unit: 'cm (SD)', default: 2, min: 0, max: 8,
    source: 'assumption (neonate in an incubator; infants held or moving: larger)',
    meaning: 'slow random movement of the infusion site height',
  },
  limbHeightTauMin: {
    unit: 'min', default: 20, min: 5, max: 60,
    source: 'assumption',
    meaning: 'correlation time of the site-height movement',
  },
  venousDriftSdMmHg: {
    unit: 'mmHg (SD)', default: 1, min: 0, max: 3,
    source: 'assumption; [S65] CVP SD 2.2 mmHg across infants',
    meaning: 'slow drift of venous pressure',
  },
  venousDriftTauMin: {
    unit: 'min', default: 60, min: 10, max: 240,
    source: 'assumption',
    meaning: 'correlation time of the venous drift',
  },
  cryingRiseMmHg: {
    unit: 'mmHg', default: 10, min: 5, max: 20,
    source: 'no source found (§3.6: sweep it)',
    meaning: 'venous pressure rise during a crying bout (fluctuates 60–100 % of it)',
  },
  movementMmHg: {
    unit: 'mmHg', default: 10, min: 3, max: 30,
    source: 'assumption',
    meaning: 'scale of the pressure spikes while the patient moves (half-normal per 5 s)',
  },
  tipOutS: {
    unit: 's', default: 60, min: 5, max: 600,
    source: 'assumption',
    meaning: 'time for the catheter tip to leave the vein at the start of an infiltration',
  },
  partialOcclusionMmHgPerMlH: {
    unit: 'mmHg per mL/h', default: 100, min: 20, max: 1000,
    source: 'assumption (a kink or partial clot; 100 gives 100 mmHg at 1 mL/h)',
    meaning: 'added resistance of a partial downstream occlusion',
  },
  clotGrowthMin: {
    unit: 'min', default: 30, min: 5, max: 120,
    source: 'assumption',
    meaning: 'time for a clot to close the catheter (lumen radius shrinks linearly, resistance as 1/r⁴)',
  },
  flushVolumeMl: {
    unit: 'mL', default: 0.5, min: 0.2, max: 2,
    source: 'assumption; [S20] 16 % of occlusion alarms follow a drug injection',
    meaning: 'hand flush or drug push at the port near the catheter',
  },
  flushDurationS: {
    unit: 's', default: 10, min: 5, max: 30,
    source: 'assumption',
    meaning: 'duration of a hand flush',
  },
  bolusVolumeMl: {
    unit: 'mL', default: 1, min: 0.2, max: 5,
    source: '[S54] calcium bolus 0.5 mL/kg of 10 %',
    meaning: 'pump-delivered bolus volume',
  },
  bolusRateMlPerH: {
    unit: 'mL/h', default: 30, min: 10, max: 300,
    source: 'assumption; [S53] calcium ≤ 100 mg/min',
    meaning: 'pump-delivered bolus rate',
  },
} as const satisfies Record<string, ParameterInfo>;

export type ParameterName = keyof typeof PARAMETERS;

export function parameterDefault(name: ParameterName): number {
  return PARAMETERS[name].default;
}

/** System compliance by syringe size (and for volumetric cassettes), µL/mmHg. */
export const COMPLIANCE_BY_CONTAINER = {
  syringe10: { default: 0.5, min: 0.4, max: 0.7, source: '[S16] 10 mL: 5.5 min without delivery after a 130 cm drop at 0.5 mL/h → 0.48' },
  syringe20: { default: 1.2, min: 0.9, max: 1.6, source: 'interpolated between 10 and 50 mL (assumption)' },
  syringe50: { default: 2.5, min: 2.0, max: 3.0, source: '[S13] 1.2–2.8; [S11] 117 min at 0.5 mL/h to a 300–500 mmHg limit; [S16] 29.7 min after 130 cm → 2.6' },
  volumetric: { default: 3, min: 1.5, max: 5, source: '[S10] bench data imply ≈ 5; cassette plus long tubing (assumption for the lower end)' },
} as const;

export function complianceKey(pumpType: 'syringe' | 'volumetric', syringeMl: number): keyof typeof COMPLIANCE_BY_CONTAINER {
  if (pumpType === 'volumetric') return 'volumetric';
  if (syringeMl <= 10) return 'syringe10';
  if (syringeMl <= 20) return 'syringe20';
  return 'syringe50';
}

export const SITE_CLASSES = ['tight', 'medium', 'compliant'] as const;
export type SiteClass = (typeof SITE_CLASSES)[number];

/**
 * Infiltration sites. A tight site (small limb, fascia) starts stiff, levels off high and has a
 * high tissue resistance; a compliant one floods easily and levels off within a few mmHg
 * [S7][S71d][S71e]. Compliance bands are for a neonate's 5–20 mL tissue region (6.4–19.2 mL/L/mmHg,
 * [S71e]). `resistanceQuantile` places the tissue resistance within the Scott distribution [S8].
 * `share`: how often each class occurs; tight at 0.2 echoes the 19 % of infant infiltrations that
 * came with an occlusion alarm [S6]. The class bands and shares are our assumption, checked
 * against the Phelps 1990 null result [S5] by the calibration tests.
 */
export const SITE_PARAMETERS: Record<SiteClass, {
  readonly share: number;
  readonly siteComplianceMlPerMmHg: { readonly default: number; readonly min: number; readonly max: number };
  readonly plateauMmHg: { readonly default: number; readonly min: number; readonly max: number };
  readonly tissueResistanceRu: number;
  readonly resistanceQuantile: readonly [number, number];
}> = {
  tight: { share: 0.2, siteComplianceMlPerMmHg: { default: 0.03, min: 0.03, max: 0.06 }, plateauMmHg: { default: 25, min: 10, max: 40 }, tissueResistanceRu: 1500, resistanceQuantile: [0.6, 1] },
  medium: { share: 0.4, siteComplianceMlPerMmHg: { default: 0.1, min: 0.06, max: 0.15 }, plateauMmHg: { default: 6, min: 3, max: 10 }, tissueResistanceRu: 544, resistanceQuantile: [0.25, 0.75] },
  compliant: { share: 0.4, siteComplianceMlPerMmHg: { default: 0.4, min: 0.15, max: 0.4 }, plateauMmHg: { default: 2, min: 1, max: 3 }, tissueResistanceRu: 150, resistanceQuantile: [0, 0.4] },
};

/**
 * Scott 1996 [S8] as log-normals: medians 62 and 544 RU; the log-SDs put ~9 % of veins above and
 * ~10 % of tissue below the 200 RU threshold, which is what a 0.90/0.91 operating point implies.
 */
export const SCOTT_RESISTANCE = {
  vein: { medianRu: 62, logSd: 0.87, minRu: 10, maxRu: 420 },
  tissue: { medianRu: 544, logSd: 0.78, minRu: 66, maxRu: 4170 },
  thresholdRu: 200,
} as const;

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    return (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1);
  }
  if (q > 1 - 0.02425) return -normalQuantile(1 - q);
  const r = q - 0.5;
  const s = r * r;
  return ((((((a[0]! * s + a[1]!) * s + a[2]!) * s + a[3]!) * s + a[4]!) * s + a[5]!) * r) / (((((b[0]! * s + b[1]!) * s + b[2]!) * s + b[3]!) * s + b[4]!) * s + 1);
}

/** A tissue resistance for a site class: a quantile of the Scott tissue distribution within the class's band. */
export function tissueResistanceAtQuantile(quantile: number): number {
  const { medianRu, logSd, minRu, maxRu } = SCOTT_RESISTANCE.tissue;
  const value = medianRu * Math.exp(logSd * normalQuantile(quantile));
  return Math.min(maxRu, Math.max(minRu, value));
}
