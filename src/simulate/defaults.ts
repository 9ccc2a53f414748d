import { COMPLIANCE_BY_CONTAINER, complianceKey, PARAMETERS, SITE_PARAMETERS, type SiteClass } from './parameters.js';
import type { ChannelEventSpec, ChannelSpec, PatientSpec, PumpType } from './spec.js';

const P = PARAMETERS;

/** Default bag for a volumetric pump (mL). */
export const DEFAULT_BAG_ML = 250;

/** A channel at every documented default; scenario files and calibration code override fields. */
export function defaultChannelSpec(overrides: Partial<ChannelSpec> = {}): ChannelSpec {
  const pumpType: PumpType = overrides.pumpType ?? 'syringe';
  const containerMl = overrides.containerMl ?? (pumpType === 'syringe' ? P.syringeMl.default : DEFAULT_BAG_ML);
  return {
    channel: '1',
    pumpType,
    rateMlPerH: P.rateMlPerH.default,
    containerMl,
    initialFillMl: containerMl,
    initialVolumeMl: 0,
    complianceUlPerMmHg: COMPLIANCE_BY_CONTAINER[complianceKey(pumpType, containerMl)].default,
    occlusionLimitMmHg: P.occlusionLimitMmHg.default,
    reportIntervalS: P.reportIntervalS.default,
    reportsPressure: true,
    lineResistanceMmHgPerMlH: P.lineResistanceMmHgPerMlH.default,
    catheterResistanceMmHgPerMlH: P.catheterResistanceMmHgPerMlH.default,
    venousPressureMmHg: P.venousPressureMmHg.default,
    veinResistanceRu: P.veinResistanceRu.default,
    pumpHeightCm: P.pumpHeightCm.default,
    sensorNoiseMmHg: P.sensorNoiseMmHg.default,
    quantisationMmHg: P.quantisationMmHg.default,
    sensorOffsetMmHg: P.sensorOffsetMmHg.default,
    stickSlipMmHg: pumpType === 'syringe' ? P.stickSlipMmHg.default : 0,
    stickVolumeUl: P.stickVolumeUl.default,
    rippleFraction: pumpType === 'volumetric' ? P.rippleFraction.default : 0,
    strokeVolumeMl: P.strokeVolumeMl.default,
    rippleSensorMmHg: pumpType === 'volumetric' ? P.rippleSensorMmHg.default : 0,
    bagHeightCm: P.bagHeightCm.default,
    upstreamAlarmMmHg: P.upstreamAlarmMmHg.default,
    backoffFraction: P.backoffFraction.default,
    nurseResponseS: P.nurseResponseS.default,
    resiteMin: P.resiteMin.default,
    autoRefill: true,
    startMode: 'running',
    events: [],
    ...overrides,
  };
}

export function defaultPatientSpec(overrides: Partial<PatientSpec> = {}): PatientSpec {
  return {
    limbHeightSdCm: P.limbHeightSdCm.default,
    limbHeightTauMin: P.limbHeightTauMin.default,
    venousDriftSdMmHg: P.venousDriftSdMmHg.default,
    venousDriftTauMin: P.venousDriftTauMin.default,
    events: [],
    ...overrides,
  };
}

/** An infiltration at a site class's default stiffness. */
export function defaultInfiltration(atMs: number, site: SiteClass, overrides: Partial<Extract<ChannelEventSpec, { kind: 'infiltration' }>> = {}): Extract<ChannelEventSpec, { kind: 'infiltration' }> {
  const siteParameters = SITE_PARAMETERS[site];
  return {
    kind: 'infiltration',
    atMs,
    site,
    siteComplianceMlPerMmHg: siteParameters.siteComplianceMlPerMmHg.default,
    plateauMmHg: siteParameters.plateauMmHg.default,
    tissueResistanceRu: siteParameters.tissueResistanceRu,
    tissuePressureMmHg: P.tissuePressureMmHg.default,
    tipOutMs: P.tipOutS.default * 1000,
    fraction: 1,
    ...overrides,
  };
}
