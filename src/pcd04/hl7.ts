/**
 * The HL7 v2 encoding rules PCD-04 needs, with the delimiters TF-2 B.1 fixes for MSH-1/MSH-2:
 * `|` fields, `^` components, `&` sub-components, `~` repetitions, `\` escape.
 */
export const SEGMENT_SEPARATOR = '\r';

/** HL7 v2.6 chapter 2.7 escape sequences, so free text never breaks the structure. */
export function escapeText(text: string): string {
  return text.replace(/[\\|^&~\r\n]/g, (character) => {
    switch (character) {
      case '\\':
        return '\\E\\';
      case '|':
        return '\\F\\';
      case '^':
        return '\\S\\';
      case '&':
        return '\\T\\';
      case '~':
        return '\\R\\';
      case '\r':
        return '\\X0D\\';
      default:
        return '\\X0A\\';
    }
  });
}

/** Reverses `escapeText` (for reading ACK text and in tests). */
export function unescapeText(text: string): string {
  return text.replace(/\\(E|F|S|T|R|X0D|X0A)\\/g, (_match, code: string) => ({ E: '\\', F: '|', S: '^', T: '&', R: '~', X0D: '\r', X0A: '\n' })[code] ?? '');
}

/** Components joined with `^`, each escaped; trailing empty ones dropped. */
export function components(...values: readonly (string | undefined)[]): string {
  return trimEmpty(values.map((value) => (value === undefined ? '' : escapeText(value)))).join('^');
}

/** Sub-components joined with `&`, each escaped. */
export function subComponents(...values: readonly (string | undefined)[]): string {
  return trimEmpty(values.map((value) => (value === undefined ? '' : escapeText(value)))).join('&');
}

/** A segment from already-encoded fields; fields[0] is the segment id. Trailing empty fields dropped. */
export function segment(fields: readonly string[]): string {
  return trimEmpty(fields).join('|');
}

function trimEmpty(values: readonly string[]): string[] {
  let end = values.length;
  while (end > 0 && values[end - 1] === '') end--;
  return values.slice(0, end);
}

/** Minutes east of UTC for `utcOffset` (`local` uses the gateway's zone at that instant). */
export function offsetMinutes(utcOffset: string, epochMs: number): number {
  if (utcOffset === 'local') return -new Date(epochMs).getTimezoneOffset();
  const sign = utcOffset.startsWith('-') ? -1 : 1;
  return sign * (Number(utcOffset.slice(1, 3)) * 60 + Number(utcOffset.slice(3, 5)));
}

/**
 * HL7 DTM to the second with a zone offset, `YYYYMMDDHHMMSS+ZZZZ`: TF-2 B.1 requires the offset on
 * MSH-7 (`+0000` is UTC), and the same form is used on every time stamp of the message.
 */
export function formatDtm(epochMs: number, utcOffset: string): string {
  const offset = offsetMinutes(utcOffset, epochMs);
  const shifted = new Date(epochMs + offset * 60_000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const absolute = Math.abs(offset);
  return (
    `${pad(shifted.getUTCFullYear(), 4)}${pad(shifted.getUTCMonth() + 1)}${pad(shifted.getUTCDate())}` +
    `${pad(shifted.getUTCHours())}${pad(shifted.getUTCMinutes())}${pad(shifted.getUTCSeconds())}` +
    `${offset < 0 ? '-' : '+'}${pad(Math.floor(absolute / 60))}${pad(absolute % 60)}`
  );
}

export interface ParsedAck {
  /** MSA-1: CA/CE/CR (enhanced mode) or AA/AE/AR (original mode), HL7 table 0008. */
  code: string;
  /** MSA-2: the MSH-10 of the message acknowledged. */
  controlId: string;
  /** MSA-3 or ERR text, when the Alert Manager said why. */
  text: string;
}

/** MSA of an ACK; undefined when the frame is not an HL7 message with an MSA segment. */
export function parseAck(message: string): ParsedAck | undefined {
  const segments = message.split(/\r\n|\r|\n/);
  if (!segments[0]?.startsWith('MSH')) return undefined;
  const separator = segments[0].charAt(3) || '|';
  const msa = segments.find((line) => line.startsWith(`MSA${separator}`));
  if (msa === undefined) return undefined;
  const fields = msa.split(separator);
  const err = segments.find((line) => line.startsWith(`ERR${separator}`));
  const errText = err?.split(separator)[8] ?? '';
  return { code: fields[1] ?? '', controlId: unescapeText(fields[2] ?? ''), text: unescapeText(fields[3] || errText) };
}
