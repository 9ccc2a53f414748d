import { HYDROSTATIC_MMHG_PER_CM } from './parameters.js';

/**
 * The infusion line's hydraulics as pure functions (units: mmHg, mL, mL/h). The pump pushes into
 * the system compliance C; the node pressure P drains through line, catheter and outlet. The
 * outlet is the vein (Pv, Rv), the tissue (IFP, Rt) or a mix while the tip leaves the vein. Seen
 * from the node the network is a Thevenin source (Peq, Rtot), so P relaxes to Peq + Q·Rtot with
 * τ = Rtot·C, integrated exactly over a step. The channel (channel.ts) owns the state and calls
 * these; the calibration tests call them directly.
 */

/** Internal time step. Pressure is integrated exactly over a step, so 0.5 s is stable for any R·C. */
export const STEP_MS = 500;
export const MS_PER_H = 3_600_000;
export const STEP_H = STEP_MS / MS_PER_H;
/** RU are mmHg per L/h; the model works in mmHg per mL/h. */
export const MMHG_PER_MLH_PER_RU = 0.001;
/** Pressure a volumetric pump pulls on a closed inlet (assumption). */
export const UPSTREAM_SUCTION_MMHG = -300;

/** Something narrowing the line: a clot closing the catheter (clotStartMs ≥ 0), or a clamp or kink. */
export interface LineOcclusion {
  readonly severity: 'full' | 'partial';
  /** Added line resistance of a partial clamp or kink. */
  readonly resistanceMmHgPerMlH: number;
  /** Clots only: when the lumen started closing (−1 for none) and how long it takes to close. */
  readonly clotStartMs: number;
  readonly clotGrowthMs: number;
}

/**
 * An infiltration site. IFP = baseline + plateau·V/(V + Vs), Vs = plateau·C0: the site starts with
 * compliance C0, which grows as C0·(1 + V/Vs)² while the tissue floods, so the pressure levels off
 * at the plateau.
 */
export interface TissueSite {
  readonly startMs: number;
  /** How long the tip takes to leave the vein, down to `fraction`. */
  readonly tipOutMs: number;
  readonly fraction: number;
  readonly tissueResistanceMmHgPerMlH: number;
  readonly baselineMmHg: number;
  readonly plateauMmHg: number;
  readonly floodVolumeMl: number;
  /** Infiltrated so far. */
  readonly volumeMl: number;
}

/** The line from the pump's compliance to the patient, as it is at one instant. */
export interface LineNetwork {
  lineResistanceMmHgPerMlH: number;
  catheterResistanceMmHgPerMlH: number;
  occlusions: readonly LineOcclusion[];
  /** Height of an end open to air (disconnected at the hub, or priming before connection); undefined when connected. */
  openEndHeightCm: number | undefined;
  pumpHeightCm: number;
  limbHeightCm: number;
  veinPressureMmHg: number;
  veinResistanceMmHgPerMlH: number;
  tissueOffsetMmHg: number;
  site: TissueSite | undefined;
  /** A flush pushed in at the port. */
  flushRateMlPerH: number;
}

/** The line seen from the compliance: P relaxes towards peq + Q·rtot, unless a full occlusion shuts it. */
export interface Thevenin {
  peqMmHg: number;
  rtotMmHgPerMlH: number;
  lineBlocked: boolean;
  catheterBlocked: boolean;
}

export function hydrostaticHeadMmHg(heightCm: number): number {
  return HYDROSTATIC_MMHG_PER_CM * heightCm;
}

/** How far the tip is out of the vein: 0 in the vein, `fraction` once out. */
export function tipOutFraction(site: TissueSite, tMs: number): number {
  return site.fraction * Math.min(1, (tMs - site.startMs) / site.tipOutMs);
}

/** Interstitial pressure at the site: levels off at baseline + plateau as the tissue floods. */
export function tissuePressureMmHg(site: TissueSite, tissueOffsetMmHg: number): number {
  return site.baselineMmHg + tissueOffsetMmHg + (site.plateauMmHg * site.volumeMl) / (site.volumeMl + site.floodVolumeMl);
}

/**
 * Solves the line into `out` (an object the caller keeps, as this runs every step). A clot shrinks
 * the catheter lumen linearly, so its resistance grows as 1/r⁴ until it shuts.
 */
export function solveLine(line: LineNetwork, tMs: number, out: Thevenin): Thevenin {
  let lineResistance = line.lineResistanceMmHgPerMlH;
  let catheterResistance = line.catheterResistanceMmHgPerMlH;
  let lineBlocked = false;
  let catheterBlocked = false;
  for (const occlusion of line.occlusions) {
    if (occlusion.clotStartMs >= 0) {
      const closed = (tMs - occlusion.clotStartMs) / occlusion.clotGrowthMs;
      if (closed >= 1) catheterBlocked = true;
      else catheterResistance /= (1 - closed) ** 4;
    } else if (occlusion.severity === 'full') lineBlocked = true;
    else lineResistance += occlusion.resistanceMmHgPerMlH;
  }
  out.lineBlocked = lineBlocked;
  if (line.openEndHeightCm !== undefined) {
    // The line ends open to air: only its own resistance and the head to the open end remain.
    out.peqMmHg = -HYDROSTATIC_MMHG_PER_CM * (line.pumpHeightCm - line.openEndHeightCm);
    out.rtotMmHgPerMlH = lineResistance;
    out.catheterBlocked = false;
    return out;
  }
  out.catheterBlocked = catheterBlocked;
  const headMmHg = HYDROSTATIC_MMHG_PER_CM * (line.pumpHeightCm - line.limbHeightCm);
  const veinPressure = line.veinPressureMmHg;
  const veinResistance = line.veinResistanceMmHgPerMlH;
  let outletPressure = veinPressure;
  let outletResistance = veinResistance;
  const site = line.site;
  if (site !== undefined) {
    const tipOut = tipOutFraction(site, tMs);
    const tissuePressure = tissuePressureMmHg(site, line.tissueOffsetMmHg);
    const gVein = (1 - tipOut) / veinResistance;
    const gTissue = tipOut / site.tissueResistanceMmHgPerMlH;
    const g = gVein + gTissue;
    outletPressure = (gVein * veinPressure + gTissue * tissuePressure) / g;
    outletResistance = 1 / g;
  }
  const beyondPort = catheterResistance + outletResistance;
  // A flush raises the pressure the pump works against, unless the catheter is shut.
  const flush = catheterBlocked ? 0 : line.flushRateMlPerH;
  out.peqMmHg = outletPressure - headMmHg + flush * beyondPort;
  out.rtotMmHgPerMlH = lineResistance + beyondPort;
  return out;
}

/** Node pressure after one step in which `injectMl` entered the compliance: exact exponential relaxation. */
export function nodePressureAfterStepMmHg(beforeMmHg: number, injectMl: number, complianceMl: number, thevenin: Thevenin): number {
  if (thevenin.lineBlocked || thevenin.catheterBlocked) return beforeMmHg + injectMl / complianceMl;
  const rtot = thevenin.rtotMmHgPerMlH;
  const steady = thevenin.peqMmHg + (injectMl / STEP_H) * rtot;
  const decay = Math.exp(-STEP_MS / (rtot * complianceMl * MS_PER_H));
  return steady + (beforeMmHg - steady) * decay;
}

/** What left the compliance towards the patient over the step: injected minus what was stored. */
export function outflowOverStepMl(beforeMmHg: number, afterMmHg: number, injectMl: number, complianceMl: number, thevenin: Thevenin): number {
  if (thevenin.lineBlocked || thevenin.catheterBlocked) return 0;
  return injectMl - complianceMl * (afterMmHg - beforeMmHg);
}

/** The infiltrated volume after one step: the flow at the tip splits between vein and tissue. */
export function tissueVolumeAfterStepMl(line: LineNetwork, site: TissueSite, outflowMl: number, tMs: number, catheterBlocked: boolean): number {
  const tipOut = tipOutFraction(site, tMs);
  if (!(tipOut > 0) || catheterBlocked) return site.volumeMl;
  const veinResistance = line.veinResistanceMmHgPerMlH;
  const veinPressure = line.veinPressureMmHg;
  const tissuePressure = tissuePressureMmHg(site, line.tissueOffsetMmHg);
  const gVein = (1 - tipOut) / veinResistance;
  const gTissue = tipOut / site.tissueResistanceMmHgPerMlH;
  const g = gVein + gTissue;
  const tipFlow = outflowMl / STEP_H + line.flushRateMlPerH;
  const tipPressure = (gVein * veinPressure + gTissue * tissuePressure) / g + tipFlow / g;
  return Math.max(0, site.volumeMl + gTissue * (tipPressure - tissuePressure) * STEP_H);
}

/** Seconds without delivery after the pump is lowered by `riseMmHg` of head: the compliance refills first, C·ΔP/Q [S16]. */
export function refillTimeS(complianceMl: number, riseMmHg: number, rateMlPerH: number): number {
  return (complianceMl * riseMmHg * 3600) / rateMlPerH;
}

/**
 * The share of each stroke a volumetric pump still fills `sinceMs` after its inlet closed: each
 * stroke pulls on the closed inlet, so suction builds and filling fails within a few strokes.
 */
export function closedInletFillFraction(sinceMs: number, strokeVolumeMl: number, rateMlPerH: number): number {
  const strokeMs = Math.max(2000, (strokeVolumeMl / Math.max(rateMlPerH, 0.01)) * MS_PER_H);
  return Math.exp(-sinceMs / strokeMs);
}

/** Inlet pressure once the stroke fills only `fillFraction`: from the bag's head towards full suction. */
export function closedInletPressureMmHg(bagHeightCm: number, fillFraction: number): number {
  return bagHeightCm * HYDROSTATIC_MMHG_PER_CM * fillFraction + UPSTREAM_SUCTION_MMHG * (1 - fillFraction);
}
