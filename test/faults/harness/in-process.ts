import { connect } from 'mqtt';
import { systemClock } from '../../../src/clock.js';
import { ConfigSchema, type ConfigInput } from '../../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import type { TelemetrySample } from '../../../src/telemetry/sample.js';
import { captureLog, type CapturedLog } from '../../helpers/log-capture.js';

export interface InProcessDaemon {
  daemon: Daemon;
  log: CapturedLog;
  /** Hands a sample straight to the pipeline: these tests break delivery, not telemetry. */
  feed(pumpId: string, fields?: Partial<TelemetrySample>): void;
  /** Log time of each journaled alarm event, by eventId. */
  journaledAt(): Map<string, { atMs: number; pumpId: string; event: string; durable: boolean; condition: string }>;
}

/** The daemon composed in this process (no sources), for faults that need its insides at hand. */
export async function startInProcessDaemon(configInput: ConfigInput): Promise<InProcessDaemon> {
  const config = ConfigSchema.parse(configInput);
  const log = captureLog('info');
  const daemon = await startDaemon(
    { config, secrets: {}, overriddenFromEnv: [] },
    { clock: systemClock, logger: log.logger, connect, loadSerialBinding: () => Promise.reject(new Error('no serial in fault tests')) },
  );
  return {
    daemon,
    log,
    feed(pumpId, fields = {}) {
      daemon.pipeline.accept({ pumpId, channel: '1', ts: Date.now(), state: 'infusing', rateMlPerH: 1, ...fields });
    },
    journaledAt() {
      const journaled = new Map<string, { atMs: number; pumpId: string; event: string; durable: boolean; condition: string }>();
      for (const line of log.withCode('PW_ALARM_EVENT')) {
        journaled.set(String(line.eventId), {
          atMs: Date.parse(String(line.time)),
          pumpId: String(line.pumpId),
          event: String(line.event),
          durable: line.durable === true,
          condition: String(line.condition),
        });
      }
      return journaled;
    },
  };
}
