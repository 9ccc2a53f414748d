import { z } from 'zod';
import { describeIssues, showValue } from '../validation/issues.js';
import { TelemetrySampleSchema, type TelemetrySample } from './sample.js';

/** Why a frame or sample was refused. Stable codes: metrics, logs and tests match on them. */
export const REJECT_REASONS = [
  'invalid-json',
  'frame-too-long',
  'not-an-object',
  'too-many-samples',
  'bad-id',
  'schema',
  'checksum',
  // Serial pump protocols: bytes outside any frame or a frame that breaks the framing rules.
  'framing',
  // A well-formed pump frame pumpwatch cannot map: an unknown mode or unit, or an error reply.
  'unsupported',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reason: RejectReason;
  /** Path-qualified, human-readable: what was wrong, where, and the offending value. */
  detail: string;
}

/** Where decoded samples and rejections go; callbacks instead of arrays keep the hot path allocation-free. */
export interface DecodeTarget {
  sample(sample: TelemetrySample): void;
  reject(rejection: Rejection): void;
}

const ID_FIELDS = new Set<PropertyKey>(['pumpId', 'channel']);
/**
 * Validation is most of the per-sample cost: zod's ahead-of-time compiled parser is about six
 * times faster, and falls back to the runtime parser for any input it rejects, so results and
 * issue texts are the runtime's own.
 */
const CompiledSampleSchema = z.compile(TelemetrySampleSchema);
/**
 * Identity a source knows better than the frame (one serial port wired to one pump): it replaces
 * the frame's own fields before validation, so a pump that sends no id still decodes.
 */
export interface SampleOverrides {
  pumpId?: string;
  channel?: string;
}

/** Validates one already-parsed JSON value as telemetry v1. */
export function decodeSampleValue(value: unknown, into: DecodeTarget, overrides?: SampleOverrides): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    into.reject({ reason: 'not-an-object', detail: `sample must be a JSON object (got ${showValue(value)})` });
    return;
  }
  const input = overrides === undefined ? value : { ...value, ...overrides };
  const parsed = CompiledSampleSchema.safeParse(input);
  if (parsed.success) {
    into.sample(parsed.data);
    return;
  }
  const badId = parsed.error.issues.some((issue) => issue.path.length > 0 && ID_FIELDS.has(issue.path[0]!));
  into.reject({ reason: badId ? 'bad-id' : 'schema', detail: describeIssues(parsed.error.issues, input).join('; ') });
}

export interface JsonDecodeOptions {
  /** An MQTT message may carry an array of samples; cap it so one message cannot flood the core. */
  maxSamplesPerFrame: number;
  overrides?: SampleOverrides;
}

/**
 * Decodes one JSON text frame (a serial line, a file line or an MQTT payload) holding a sample
 * or an array of samples.
 */
export function decodeJsonFrame(frame: string, into: DecodeTarget, options: JsonDecodeOptions): void {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (error) {
    into.reject({ reason: 'invalid-json', detail: `${(error as Error).message} in ${showValue(frame)}` });
    return;
  }
  if (!Array.isArray(value)) {
    decodeSampleValue(value, into, options.overrides);
    return;
  }
  if (value.length > options.maxSamplesPerFrame) {
    into.reject({
      reason: 'too-many-samples',
      detail: `frame holds ${value.length} samples, more than the limit of ${options.maxSamplesPerFrame}`,
    });
    return;
  }
  for (const element of value) decodeSampleValue(element, into, options.overrides);
}
