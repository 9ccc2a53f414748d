import { pino, type DestinationStream } from 'pino';
import type { LogCode } from './log-codes.js';

/** Every line carries a catalogued code (src/log-codes.ts) and a message. */
export interface LogFields {
  code: LogCode;
  [field: string]: unknown;
}

type LogMethod = (fields: LogFields, message: string) => void;

/**
 * pino's logger as pumpwatch uses it: the compiler refuses a line without a catalogued code.
 * Any pino logger is one.
 */
export interface Logger {
  fatal: LogMethod;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * JSON lines for journald. The daemon logs to stdout; replay logs to stderr so its stdout stays
 * pure alarm JSONL. Secrets never reach a logger: they are kept out of the config object.
 */
export function createLogger(level: string, destination: DestinationStream | number = 1): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { app: 'pumpwatch' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
