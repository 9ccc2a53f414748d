/**
 * What MQTT allows in a topic and what pumpwatch allows in its own, as plain functions that import
 * nothing: the config schema checks the topic prefix with them, the MQTT side every topic level.
 */

/**
 * A pump id is the longest thing that ends up in a segment (64 chars); anything much longer is a
 * bug, not a name.
 */
export const MAX_TOPIC_SEGMENT_BYTES = 128;
/**
 * MQTT allows 65535-byte topics; ours stay under 1 KiB (prefix + `alarms` + three segments), far
 * from any broker limit.
 */
export const MAX_TOPIC_PREFIX_BYTES = 512;

const WILDCARD_OR_SEPARATOR = /[+#/]/;
/** C0 and C1 controls (includes NUL): MQTT forbids NUL and says controls SHOULD NOT appear. */
const CONTROL_CHARACTER = /\p{Cc}/u;
/** In a `u` regex this matches only unpaired surrogates, which have no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why `value` cannot be one topic level, or undefined when it can. */
export function topicSegmentProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (WILDCARD_OR_SEPARATOR.test(value)) return 'contains a wildcard or level separator (+ # /)';
  if (value.includes('\u0000')) return 'contains NUL';
  if (CONTROL_CHARACTER.test(value)) return 'contains a control character';
  if (LONE_SURROGATE.test(value)) return 'is not valid UTF-8 (lone surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_TOPIC_SEGMENT_BYTES) return `is longer than ${MAX_TOPIC_SEGMENT_BYTES} bytes`;
  return undefined;
}

/** Why `prefix` cannot lead our topics, or undefined when it can. */
export function topicPrefixProblem(prefix: string): string | undefined {
  const levels = prefix.split('/');
  for (const [index, level] of levels.entries()) {
    const problem = topicSegmentProblem(level);
    if (problem !== undefined) return `level ${index + 1} ("${level}") ${problem}`;
  }
  // `$` topics are the broker's own ($SYS); `#` subscribers would never see ours.
  if (prefix.startsWith('$')) return 'must not start with $ (reserved for the broker)';
  if (Buffer.byteLength(prefix, 'utf8') > MAX_TOPIC_PREFIX_BYTES) return `is longer than ${MAX_TOPIC_PREFIX_BYTES} bytes`;
  return undefined;
}
