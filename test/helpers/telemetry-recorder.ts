import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import type { SourceTarget } from '../../src/sources/source.js';
import type { Rejection, RejectReason } from '../../src/telemetry/decode.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';

/** A source target that keeps what a source delivered, and the channels it asked to be watched. */
export function createTelemetryRecorder() {
  const samples: TelemetrySample[] = [];
  const rejections: Rejection[] = [];
  const watched: [string, string, number | undefined][] = [];
  const target: SourceTarget = {
    sample: (sample) => samples.push(sample),
    reject: (rejection) => rejections.push(rejection),
    watchChannel: (pumpId, channel, silenceLimitMs) => void watched.push([pumpId, channel, silenceLimitMs]),
  };
  return {
    target,
    samples,
    rejections,
    watched,
    count: (reason: RejectReason) => rejections.filter((rejection) => rejection.reason === reason).length,
  };
}

export type LogRecord = Record<string, unknown> & { code?: string; level: number; msg: string };

/** A real pino logger whose JSON lines are parsed back, so tests match on stable codes. */
export function createCapturingLogger(): { logger: Logger; records: LogRecord[]; codes: () => string[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records, codes: () => records.flatMap((record) => (record.code === undefined ? [] : [record.code])) };
}

/** One telemetry v1 line as a pump would send it. */
export function sampleLine(fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ pumpId: 'P1', ts: 1_700_000_000_000, state: 'infusing', rateMlPerH: 1, downstreamPressureMmHg: 12, ...fields })}\n`;
}
