import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines for journald. The daemon logs to stdout; replay logs to stderr so its stdout stays
 * pure alarm JSONL. Secrets never reach a logger: they are kept out of the config object.
 */
export function createLogger(level: string, destination: DestinationStream | number = 1): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino({ level, base: { app: 'pumpwatch' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
