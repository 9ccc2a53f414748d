import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSampleValue, type Rejection } from '../../src/telemetry/decode.js';
import { describeIssues } from '../../src/validation/issues.js';
import { TelemetrySampleSchema, type TelemetrySample } from '../../src/telemetry/sample.js';

/**
 * decode.ts validates with zod's compiled parser for speed; it must agree with the runtime
 * schema on every input: the same sample out, or the same rejection text.
 */

function viaDecode(value: unknown): { sample?: TelemetrySample; rejection?: Rejection } {
  let outcome: { sample?: TelemetrySample; rejection?: Rejection } = {};
  decodeSampleValue(value, { sample: (sample) => (outcome = { sample }), reject: (rejection) => (outcome = { rejection }) });
  return outcome;
}

function viaRuntime(value: Record<string, unknown>): { sample?: TelemetrySample; detail?: string } {
  const parsed = TelemetrySampleSchema.safeParse(value);
  return parsed.success ? { sample: parsed.data } : { detail: describeIssues(parsed.error.issues, value).join('; ') };
}

/** Mostly valid values, so both paths are exercised: a sample passes when every field is valid. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, awkward: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: awkward, weight: 1 });
const awkwardNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -10, max: 5000 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
);
const awkwardText = fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('', '  ', 'ward/P1', 'P+1'), fc.integer());
const number = (min: number, max: number) => mostly(fc.double({ min, max, noNaN: true }), awkwardNumber);
const text = (valid: fc.Arbitrary<string>) => mostly(valid, awkwardText);
const sampleLike = fc.record(
  {
    pumpId: text(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/)),
    channel: text(fc.constantFrom('1', '2', 'B')),
    ts: mostly(
      fc.oneof(fc.constantFrom('2026-03-01T10:00:00.000+01:00', '2026-03-01T10:00:00Z'), fc.integer({ min: 0, max: 2e12 })),
      fc.oneof(fc.constantFrom('2026-03-01 10:00', 'yesterday'), fc.integer({ min: -5, max: -1 }), fc.double()),
    ),
    seq: mostly(fc.nat(), awkwardNumber),
    state: mostly(fc.constantFrom('infusing', 'paused', 'stopped', 'bolus', 'kvo', 'priming', 'alarm'), fc.oneof(fc.constant('running'), fc.integer())),
    rateMlPerH: number(0, 2000),
    volumeInfusedMl: number(0, 100_000),
    downstreamPressureMmHg: number(-500, 3000),
    upstreamPressureMmHg: number(-500, 3000),
    occlusionLimitMmHg: number(0, 3000),
    pumpType: mostly(fc.constantFrom('syringe', 'volumetric'), fc.constant('elastomeric')),
    drug: mostly(
      fc.record({ name: text(fc.constantFrom('Calcium gluconate 10%', ' Dextrose ')), concentration: text(fc.constant('10 mg/mL')), code: text(fc.constant('CAGL')) }, { requiredKeys: ['name'] }),
      fc.string(),
    ),
    careArea: text(fc.constantFrom('NICU', 'PICU ')),
    pumpAlarms: mostly(fc.array(text(fc.constant('OCCLUSION_DOWNSTREAM')), { maxLength: 3 }), fc.oneof(fc.string(), fc.array(fc.constant('X'), { minLength: 33, maxLength: 40 }))),
    vendorField: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('decodeSampleValue with the compiled schema', () => {
  it('accepts and rejects exactly what the runtime schema does, with the same sample or the same issue text', () => {
    let accepted = 0;
    fc.assert(
      fc.property(sampleLike, (value) => {
        const decoded = viaDecode(value);
        const expected = viaRuntime(value);
        if (expected.sample !== undefined) {
          accepted++;
          expect(decoded).toEqual({ sample: expected.sample });
        } else expect(decoded.rejection?.detail).toBe(expected.detail);
      }),
      { numRuns: 1500, seed: 20260101 },
    );
    // Both paths ran: enough valid samples and enough rejections.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(1400);
  });

  it('returns a fresh sample object, never the input it was given', () => {
    const input = { pumpId: 'P-01', ts: 1_700_000_000_000, state: 'infusing', drug: { name: 'Dextrose 10%' } };
    const { sample } = viaDecode(input);
    expect(sample).toEqual({ ...input, channel: '1' });
    expect(sample).not.toBe(input);
    expect(sample?.drug).not.toBe(input.drug);
  });
});
