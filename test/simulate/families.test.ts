import { describe, expect, it } from 'vitest';
import { familyPumps, type FamilyName } from '../../src/simulate/families.js';
import { COMPLIANCE_BY_CONTAINER, PARAMETERS as P } from '../../src/simulate/parameters.js';
import { H } from './helpers.js';

function channels(family: FamilyName, pumps = 30) {
  return familyPumps({ family, seed: 3, pumps, durationMs: 24 * H }).flatMap((pump) => pump.channels);
}

describe('families', () => {
  it('puts exactly one true downstream occlusion on every channel of the occlusion family', () => {
    for (const channel of channels('occlusion')) {
      expect(channel.events.filter((event) => event.kind === 'occlusion' || event.kind === 'recurrent-occlusion')).toHaveLength(1);
      expect(channel.events.some((event) => event.kind === 'infiltration')).toBe(false);
    }
  });

  it('puts one infiltration on every channel of the infiltration family, sites in their documented shares', () => {
    const sites = channels('infiltration', 200).map((channel) => {
      const infiltrations = channel.events.filter((event) => event.kind === 'infiltration');
      expect(infiltrations).toHaveLength(1);
      return infiltrations[0]!.site;
    });
    const share = (site: string) => sites.filter((item) => item === site).length / sites.length;
    expect(share('tight')).toBeCloseTo(0.2, 1);
    expect(share('medium')).toBeCloseTo(0.4, 1);
    expect(share('compliant')).toBeCloseTo(0.4, 1);
  });

  it('keeps the artefacts family free of true events', () => {
    const trueKinds = new Set(['occlusion', 'recurrent-occlusion', 'infiltration', 'upstream-occlusion', 'disconnection']);
    expect(channels('artefacts').flatMap((channel) => channel.events).filter((event) => trueKinds.has(event.kind))).toEqual([]);
  });

  it('puts harsh physics on the harsh and stress families, and one true event on each harsh channel', () => {
    const pumps = familyPumps({ family: 'harsh', seed: 3, pumps: 60, durationMs: 24 * H });
    const lines = pumps.flatMap((pump) => pump.channels);
    const coarse = lines.filter((line) => line.quantisationMmHg === 5).length / lines.length;
    expect(coarse).toBeGreaterThan(0.35);
    expect(coarse).toBeLessThan(0.65);
    expect(new Set(pumps.map((pump) => pump.patient.venousDriftSdMmHg))).toEqual(new Set([0.5, 1.5, 3]));
    for (const line of lines) {
      const trueEvents = line.events.filter((event) => event.kind === 'occlusion' || event.kind === 'infiltration');
      expect(trueEvents).toHaveLength(1);
      const event = trueEvents[0]!;
      if (event.kind === 'infiltration') expect(event.tipOutMs).toBeLessThanOrEqual(60_000);
      expect(line.venousPressureMmHg).toBeGreaterThanOrEqual(6);
      if (line.pumpType === 'syringe') expect(line.stickSlipMmHg).toBeGreaterThanOrEqual(2);
    }
    expect(channels('artefacts').some((line) => line.quantisationMmHg === 5 && line.venousPressureMmHg >= 6)).toBe(true);
  });

  it('leaves the everyday families on everyday physics', () => {
    expect(Math.max(...familyPumps({ family: 'mixed', seed: 3, pumps: 30, durationMs: 24 * H }).map((pump) => pump.patient.venousDriftSdMmHg))).toBeLessThanOrEqual(2);
    expect(channels('infiltration').every((line) => line.stickSlipMmHg <= 3)).toBe(true);
  });

  it('gives the quiet family no events and a still patient', () => {
    const pumps = familyPumps({ family: 'quiet', seed: 3, pumps: 10, durationMs: 24 * H });
    expect(pumps.flatMap((pump) => [...pump.patient.events, ...pump.channels.flatMap((channel) => channel.events)]).filter((event) => event.kind !== 'start-up')).toEqual([]);
  });

  it('draws every channel within the documented ranges', () => {
    for (const channel of channels('mixed', 100)) {
      expect(channel.rateMlPerH).toBeGreaterThanOrEqual(P.rateMlPerH.min);
      expect(channel.rateMlPerH).toBeLessThanOrEqual(P.rateMlPerH.max);
      expect(channel.complianceUlPerMmHg).toBeGreaterThanOrEqual(COMPLIANCE_BY_CONTAINER.syringe10.min);
      expect(channel.complianceUlPerMmHg).toBeLessThanOrEqual(COMPLIANCE_BY_CONTAINER.volumetric.max);
      expect(channel.occlusionLimitMmHg).toBeGreaterThanOrEqual(P.occlusionLimitMmHg.min);
      expect(channel.occlusionLimitMmHg).toBeLessThanOrEqual(P.occlusionLimitMmHg.max);
      expect(channel.reportIntervalS).toBeGreaterThanOrEqual(P.reportIntervalS.min);
      expect(channel.reportIntervalS).toBeLessThanOrEqual(P.reportIntervalS.max);
      expect(channel.lineResistanceMmHgPerMlH).toBeLessThanOrEqual(P.lineResistanceMmHgPerMlH.max);
      expect(channel.veinResistanceRu).toBeGreaterThanOrEqual(P.veinResistanceRu.min);
      expect(channel.venousPressureMmHg).toBeGreaterThanOrEqual(P.venousPressureMmHg.min);
      expect(Math.abs(channel.pumpHeightCm)).toBeLessThanOrEqual(P.pumpHeightCm.max);
    }
  });

  it('names pumps with zero-padded numbers', () => {
    expect(familyPumps({ family: 'quiet', seed: 1, pumps: 120, durationMs: H }).map((pump) => pump.pumpId).slice(0, 2)).toEqual(['P001', 'P002']);
  });
});
