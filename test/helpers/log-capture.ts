import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLog {
  logger: Logger;
  /** Every line logged so far, parsed. */
  readonly lines: Record<string, unknown>[];
  withCode(code: string): Record<string, unknown>[];
}

/** A real pino logger writing into memory, so tests can assert on log codes. */
export function captureLog(level = 'debug'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines, withCode: (code) => lines.filter((line) => line.code === code) };
}
