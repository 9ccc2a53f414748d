import type { BindingInterface } from '@serialport/bindings-cpp';
import type { Clock } from './clock.js';
import type { LoadedConfig } from './config/load.js';
import type { Logger } from './log.js';
import type { MqttConnect } from './mqtt/client-options.js';
import { createDaemonOps, type DaemonOps } from './ops/daemon-ops.js';
import { Pipeline } from './pipeline.js';
import { MqttAlarmPublisher } from './sinks/mqtt-alarms.js';
import { MqttTelemetrySource } from './sources/mqtt.js';
import { createSerialSources } from './sources/serial.js';
import type { TelemetrySource } from './sources/source.js';

/** How often silence is checked when no sample arrives to advance the clock. */
const TICK_INTERVAL_MS = 1000;

/** The edges the daemon needs from the outside world; tests substitute any of them. */
export interface DaemonDeps {
  clock: Clock;
  logger: Logger;
  connect: MqttConnect;
  /** Only called when serial ports are configured, so MQTT-only gateways never load the native module. */
  loadSerialBinding: () => Promise<BindingInterface>;
  credentialsDirectory?: string | undefined;
}

export interface Daemon {
  readonly pipeline: Pipeline;
  readonly publisher: MqttAlarmPublisher;
  readonly sources: readonly TelemetrySource[];
  /** Metrics registry, liveness and readiness. */
  readonly ops: DaemonOps;
  stop(): Promise<void>;
}

/**
 * Composes the running daemon: sources → pipeline → MQTT alarm publisher. It starts without
 * waiting for the broker: detection runs and alarms queue while the broker is away.
 */
export async function startDaemon({ config, secrets }: LoadedConfig, deps: DaemonDeps): Promise<Daemon> {
  const { clock, logger, connect, credentialsDirectory } = deps;
  const ops = createDaemonOps({ config });
  if (config.mqtt.tls?.rejectUnauthorized === false) {
    logger.error(
      { code: 'PW_TLS_INSECURE', url: config.mqtt.url },
      'INSECURE: broker certificate checks are OFF (mqtt.tls.allowInsecure); anyone on the network can pose as the broker and read or drop alarms',
    );
  }
  const publisher = new MqttAlarmPublisher({ config, secrets, connect, logger, clock, credentialsDirectory });
  const pipeline = new Pipeline({ config, clock, logger, sinks: [publisher, ops.alarmSink] });
  const sources: TelemetrySource[] = [];
  if (config.sources.mqtt !== undefined) {
    sources.push(new MqttTelemetrySource({ config, source: config.sources.mqtt, secrets, connect, logger, clock, credentialsDirectory }));
  }
  if (config.sources.serial.length > 0) {
    const binding = await deps.loadSerialBinding();
    sources.push(...createSerialSources(config.sources.serial, { binding, logger, clock, linkWatch: pipeline }));
  }
  await publisher.start();
  for (const source of sources) {
    await source.start(
      ops.tapSource(source.name, {
        sample: (sample) => pipeline.accept(sample),
        reject: (rejection) => pipeline.reject(source.name, rejection),
      }),
    );
  }
  ops.attach({ pipeline, publisher, sources });
  const ticker = setInterval(() => {
    pipeline.tick();
    ops.ticked();
  }, TICK_INTERVAL_MS);
  logger.info(
    { code: 'PW_STARTED', gatewayId: config.gateway.id, sources: sources.map((source) => source.name), alarmTopicPrefix: publisher.topics.prefix },
    'pumpwatch running',
  );
  return {
    pipeline,
    publisher,
    sources,
    ops,
    async stop() {
      clearInterval(ticker);
      await Promise.all(sources.map((source) => source.stop()));
      await publisher.stop();
      ops.stop();
      logger.info({ code: 'PW_STOPPED', acceptedSamples: pipeline.acceptedCount, rejected: pipeline.rejects.totals() }, 'pumpwatch stopped');
    },
  };
}
