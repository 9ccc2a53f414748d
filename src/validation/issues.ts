import type { z } from 'zod';

/** Turning zod issues into the error texts every boundary shows: what, where, which value. */

const MAX_SHOWN_VALUE_CHARS = 40;

/** A value as shown in an error: JSON, cut at a length a log line can carry. */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'number') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_SHOWN_VALUE_CHARS ? `${text.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Formats zod issues as `path: message (got value)`, one string per problem. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const got = valueAt(input, issue.path);
      const shown = got === undefined ? 'missing' : showValue(got);
      return `${where}: ${issue.message} (got ${shown})`;
    });
}
