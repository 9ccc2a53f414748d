import type { SiteClass } from './parameters.js';

/**
 * A fully resolved description of what to simulate. Scenario files and random families both
 * compile to a WardSpec; the model never fills in anything on its own, so a spec is the whole
 * truth about a run (apart from noise, which comes from the seed).
 */

export type PumpType = 'syringe' | 'volumetric';

export interface DrugSpec {
  name: string;
  concentration?: string;
  code?: string;
}

/** Times are milliseconds from the start of the run; `durationMs` absent = until a nurse or the end of the run. */
export type ChannelEventSpec =
  | {
      kind: 'infiltration';
      atMs: number;
      site: SiteClass;
      siteComplianceMlPerMmHg: number;
      /** Rise of interstitial pressure above baseline that the site approaches as it floods. */
      plateauMmHg: number;
      tissueResistanceRu: number;
      tissuePressureMmHg: number;
      tipOutMs: number;
      /** 1 = the tip is fully out of the vein; less = part of the flow still reaches the vein. */
      fraction: number;
      /** When it is found at a site check; absent = only if the pump alarms, or never. */
      durationMs?: number;
    }
  | {
      kind: 'occlusion';
      atMs: number;
      cause: 'clamp' | 'kink' | 'clot';
      severity: 'full' | 'partial';
      /** Added line resistance of a partial clamp or kink. */
      resistanceMmHgPerMlH: number;
      /** Clot: time for the lumen to close (radius shrinks linearly, resistance as 1/r⁴). */
      growthMs: number;
      durationMs?: number;
    }
  | {
      kind: 'recurrent-occlusion';
      atMs: number;
      durationMs: number;
      meanIntervalMs: number;
      episodeMinMs: number;
      episodeMaxMs: number;
      severity: 'full' | 'partial';
      resistanceMmHgPerMlH: number;
    }
  | { kind: 'upstream-occlusion'; atMs: number; durationMs?: number }
  | { kind: 'disconnection'; atMs: number; durationMs?: number; /** open end relative to the site */ endHeightCm: number }
  | { kind: 'height-change'; atMs: number; deltaCm: number; durationMs?: number }
  | { kind: 'syringe-change'; atMs: number; pauseMs: number; bolusUl: number; primed: boolean; slackMl: number; settleMl: number }
  | { kind: 'flush'; atMs: number; volumeMl: number; durationMs: number }
  | { kind: 'bolus'; atMs: number; volumeMl: number; rateMlPerH: number }
  | { kind: 'rate-change'; atMs: number; rateMlPerH: number }
  | { kind: 'pause'; atMs: number; durationMs: number }
  | { kind: 'start-up'; atMs: number; primed: boolean; slackMl: number; settleMl: number }
  | { kind: 'dropout'; atMs: number; durationMs: number }
  | { kind: 'duplicates'; atMs: number; durationMs: number; probability: number }
  | { kind: 'reorder'; atMs: number; durationMs: number; probability: number };

export type ChannelEventKind = ChannelEventSpec['kind'];

/** Events of the patient: they reach every channel of the pump. */
export type PatientEventSpec =
  | { kind: 'crying'; atMs: number; durationMs: number; riseMmHg: number }
  | { kind: 'movement'; atMs: number; durationMs: number; amplitudeMmHg: number };

export interface PatientSpec {
  limbHeightSdCm: number;
  limbHeightTauMin: number;
  venousDriftSdMmHg: number;
  venousDriftTauMin: number;
  events: PatientEventSpec[];
}

export interface ChannelSpec {
  channel: string;
  pumpType: PumpType;
  drug?: DrugSpec;
  rateMlPerH: number;
  /** Syringe size, or bag volume for a volumetric pump. */
  containerMl: number;
  /** Volume left in the syringe or bag at the start of the run. */
  initialFillMl: number;
  /** Volume infused so far at the start of the run (reported cumulative volume). */
  initialVolumeMl: number;
  complianceUlPerMmHg: number;
  occlusionLimitMmHg: number;
  reportIntervalS: number;
  /** Some pumps do not report downstream pressure at all. */
  reportsPressure: boolean;
  lineResistanceMmHgPerMlH: number;
  catheterResistanceMmHgPerMlH: number;
  venousPressureMmHg: number;
  veinResistanceRu: number;
  pumpHeightCm: number;
  sensorNoiseMmHg: number;
  quantisationMmHg: number;
  sensorOffsetMmHg: number;
  stickSlipMmHg: number;
  stickVolumeUl: number;
  rippleFraction: number;
  strokeVolumeMl: number;
  rippleSensorMmHg: number;
  bagHeightCm: number;
  upstreamAlarmMmHg: number;
  backoffFraction: number;
  nurseResponseS: number;
  resiteMin: number;
  /** Change the syringe (or bag) when it runs empty, as a nurse would. */
  autoRefill: boolean;
  /** `running`: infusing at steady state from the start; `stopped`: waits for a start-up event. */
  startMode: 'running' | 'stopped';
  events: ChannelEventSpec[];
}

export interface PumpSpec {
  pumpId: string;
  careArea?: string;
  patient: PatientSpec;
  channels: ChannelSpec[];
}

export interface WardSpec {
  name: string;
  seed: number;
  startMs: number;
  durationMs: number;
  pumps: PumpSpec[];
}
