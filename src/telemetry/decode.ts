import { z } from 'zod';
import { describeIssues, showValue } from '../validation/issues.js';
import { TelemetrySampleSchema, type TelemetrySample } from './sample.js';

/** Why a frame or sample was refused. Stable codes: metrics, logs and tests match on them. */
export const REJECT_REASONS = [
  'invalid-json',
  'frame-too-long',
  'not-an-object',
  'too-many-samples',
  // JSON nested deeper than any sample: refused before anything walks it.
  'too-deep',
  'missing-id',
  'bad-id',
  'schema',
  'checksum',
  // Serial pump protocols: bytes outside any frame or a frame that breaks the framing rules.
  'framing',
  // A well-formed pump frame pumpwatch cannot map: an unknown mode or unit, or an error reply.
  'unsupported',
  // Sample times (src/detect/time-guard.ts): too far ahead of or behind the reference, or not after the last.
  'time-future',
  'time-past',
  'out-of-order',
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
 * A sample is an object holding at most an object or array of scalars (depth 2), a frame an array
 * of them (3). JSON.parse itself is iterative, but everything after it (zod, JSON.stringify,
 * String) recurses: 100k nested arrays overflow the stack.
 */
export const MAX_JSON_DEPTH = 16;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** More than `limit` of `{` and `[` in `text` (inside strings too)? indexOf scans natively, many times faster than a loop over characters. */
function openingsExceed(text: string, limit: number): boolean {
  let count = 0;
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) if (++count > limit) return true;
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) if (++count > limit) return true;
  return false;
}

/** The deepest nesting of arrays and objects in JSON text, stopping as soon as it passes `limit`. O(n), no allocation. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // Nesting cannot be deeper than the brackets that open it: a sample has two or three, so the
  // character walk below runs only for frames holding many (arrays of samples, attacks).
  if (!openingsExceed(text, limit)) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--;
  }
  return false;
}

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
  const missingId = badId && (input as { pumpId?: unknown }).pumpId === undefined;
  into.reject({ reason: missingId ? 'missing-id' : badId ? 'bad-id' : 'schema', detail: describeIssues(parsed.error.issues, input).join('; ') });
}

export interface JsonDecodeOptions {
  /** An MQTT message may carry an array of samples; past this many the rest are refused, so one message cannot flood the core. */
  maxSamplesPerFrame: number;
  overrides?: SampleOverrides;
}

/**
 * Decodes one JSON text frame (a serial line, a file line or an MQTT payload) holding a sample
 * or an array of samples.
 */
export function decodeJsonFrame(frame: string, into: DecodeTarget, options: JsonDecodeOptions): void {
  if (jsonDepthExceeds(frame, MAX_JSON_DEPTH)) {
    into.reject({ reason: 'too-deep', detail: `JSON nested deeper than ${MAX_JSON_DEPTH} levels in a frame of ${frame.length} characters` });
    return;
  }
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
  // Over the cap, the first samples are still decoded and only the excess is refused: refusing the
  // whole frame would silence every pump in it, while this silences only the excess, whose channels
  // then raise telemetry-lost. The work per frame stays bounded by the cap either way.
  const decoded = Math.min(value.length, options.maxSamplesPerFrame);
  for (let index = 0; index < decoded; index++) decodeSampleValue(value[index], into, options.overrides);
  if (value.length > decoded) {
    into.reject({
      reason: 'too-many-samples',
      detail: `frame holds ${value.length} samples, more than the limit of ${options.maxSamplesPerFrame}: decoded the first ${decoded}, dropped ${value.length - decoded} from index ${decoded} (${describeDropped(value[decoded])} onwards)`,
    });
  }
}

/** Names the first dropped sample by its pump, so an engineer knows where the cut fell. */
function describeDropped(value: unknown): string {
  const pumpId = value !== null && typeof value === 'object' ? (value as { pumpId?: unknown }).pumpId : undefined;
  return pumpId === undefined ? 'a sample without pumpId' : `pumpId ${showValue(pumpId)}`;
}
