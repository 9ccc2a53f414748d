import { crc32 } from 'node:zlib';
import { AlarmEventSchema, type AlarmEvent } from './event.js';
import type { AlarmSnapshot } from './manager.js';

/** Written in the header record; format 2 names the cursor of delivery and quarantine records. */
export const JOURNAL_FORMAT_VERSION = 2;

export interface JournalEntry {
  /** Journal sequence number: increases with every appended event, across restarts. */
  readonly n: number;
  readonly event: AlarmEvent;
  /** The alarm after this event; null once it has ended. */
  readonly snapshot: AlarmSnapshot | null;
}

/**
 * One line of the journal. `h` header, `e` an event, `d` events committed, `q` an event
 * quarantined. `c` names the cursor; absent in records of format 1, which had one transport: the
 * first cursor.
 */
export type JournalRecord =
  | { k: 'h'; v: number }
  | { k: 'e'; n: number; e: unknown; s: AlarmSnapshot | null }
  | { k: 'd'; n: number[]; c?: string }
  | { k: 'q'; n: number; c?: string };

export function headerRecord(): JournalRecord {
  return { k: 'h', v: JOURNAL_FORMAT_VERSION };
}

export function eventRecord(entry: JournalEntry): JournalRecord {
  return { k: 'e', n: entry.n, e: entry.event, s: entry.snapshot };
}

/** The entry an `e` record holds; `decodeRecord` has already checked the event against its schema. */
export function entryOfRecord(record: Extract<JournalRecord, { k: 'e' }>): JournalEntry {
  return { n: record.n, event: record.e as AlarmEvent, snapshot: record.s };
}

/** The record as one line: its CRC-32 in hex, a space, its JSON, a newline. */
export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The record on one line (without its newline), or undefined when its checksum or shape is wrong. */
export function decodeRecord(line: string): JournalRecord | undefined {
  const space = line.indexOf(' ');
  if (space !== 8) return undefined;
  const json = line.slice(9);
  if (Number.parseInt(line.slice(0, 8), 16) !== crc32(json)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as { k?: unknown; n?: unknown; e?: unknown; c?: unknown };
  if (record.c !== undefined && typeof record.c !== 'string') return undefined;
  switch (record.k) {
    case 'h':
      return value as JournalRecord;
    case 'e':
      return Number.isSafeInteger(record.n) && AlarmEventSchema.safeParse(record.e).success ? (value as JournalRecord) : undefined;
    case 'd':
      return Array.isArray(record.n) && record.n.every((n) => Number.isSafeInteger(n)) ? (value as JournalRecord) : undefined;
    case 'q':
      return Number.isSafeInteger(record.n) ? (value as JournalRecord) : undefined;
    default:
      return undefined;
  }
}
