import { z } from 'zod';

/** Pump ids become MQTT topic segments, so they may never contain `/`, `+`, `#` or NUL. */
export const PUMP_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const CHANNEL_PATTERN = /^[A-Za-z0-9._-]{1,16}$/;

/**
 * `unknown`: the pump reported a mode word its codec has no mapping for; the word itself is in
 * `pumpMode`. The sample still carries pressure, rate and volume (a sample is never dropped for
 * its mode), but the detector does not treat it as infusing.
 */
export const INFUSION_STATES = ['infusing', 'paused', 'stopped', 'bolus', 'kvo', 'priming', 'alarm', 'unknown'] as const;
export type InfusionState = (typeof INFUSION_STATES)[number];

const nonEmptyText = (maxLength: number) => z.string().trim().min(1, 'must not be empty').max(maxLength);
const pressureMmHg = z.number().min(-500).max(3000);

/** Sample time: ISO-8601 with an explicit zone, or epoch milliseconds. Normalised to epoch ms. */
const sampleTime = z
  .union([
    z.iso.datetime({ offset: true, message: 'must be ISO-8601 with a zone (Z or ±hh:mm) or epoch ms' }),
    z.number().int().min(0, 'epoch ms must be ≥ 0'),
  ])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

export const DrugSchema = z.object({
  name: nonEmptyText(128),
  concentration: nonEmptyText(64).optional(),
  code: nonEmptyText(64).optional(),
});

export const TelemetrySampleSchema = z
  .object({
    pumpId: z.string().regex(PUMP_ID_PATTERN, 'must be 1–64 of A-Z a-z 0-9 . _ : -'),
    channel: z.string().regex(CHANNEL_PATTERN, 'must be 1–16 of A-Z a-z 0-9 . _ -').default('1'),
    ts: sampleTime,
    seq: z.number().int().min(0).optional(),
    state: z.enum(INFUSION_STATES),
    pumpMode: nonEmptyText(32).optional().describe("the pump's own mode word, as sent, when a serial codec could not map it (state is then unknown)"),
    rateMlPerH: z.number().min(0).max(2000).optional(),
    volumeInfusedMl: z.number().min(0).max(100_000).optional(),
    downstreamPressureMmHg: pressureMmHg.optional(),
    upstreamPressureMmHg: pressureMmHg.optional(),
    occlusionLimitMmHg: z.number().min(0).max(3000).optional(),
    pumpType: z.enum(['syringe', 'volumetric']).optional(),
    drug: DrugSchema.optional(),
    careArea: nonEmptyText(32).optional(),
    pumpAlarms: z.array(nonEmptyText(64)).max(32).optional(),
  })
  .meta({
    title: 'pumpwatch telemetry sample v1',
    description:
      'One reading of one pump channel. Unknown extra fields are ignored; NaN, Infinity, numbers in strings, empty fields and out-of-range values are rejected.',
  });

/** A validated sample as the core sees it: `ts` is epoch milliseconds, `channel` is filled in. */
export type TelemetrySample = z.output<typeof TelemetrySampleSchema>;
/** A sample as it travels on the wire (JSON). */
export type TelemetrySampleInput = z.input<typeof TelemetrySampleSchema>;
