import type { BindingInterface } from '@serialport/bindings-cpp';
import { AckHandler } from './alarms/ack.js';
import { AuditLog } from './alarms/audit-log.js';
import { CommandHandler } from './alarms/commands.js';
import { AlarmJournal } from './alarms/journal.js';
import { AlarmOutbox } from './alarms/outbox.js';
import type { Clock } from './clock.js';
import type { LoadedConfig } from './config/load.js';
import { IngestGuard } from './ingest/guard.js';
import type { Logger } from './log.js';
import type { MqttConnect } from './mqtt/client-options.js';
import { BrokerTrustWatch } from './ops/broker-trust.js';
import { ClockHealth, type ClockSyncProbe } from './ops/clock-health.js';
import { createDaemonOps, type DaemonOps } from './ops/daemon-ops.js';
import { journalStatus } from './ops/delivery.js';
import { Pipeline, TIME_GUARD_SOURCE } from './pipeline.js';
import { MqttAlarmPublisher } from './sinks/mqtt-alarms.js';
import { MqttTelemetrySource } from './sources/mqtt.js';
import { createSerialSources } from './sources/serial.js';
import { PUMPWATCH_VERSION } from './version.js';
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
  /** Whether the gateway clock is NTP-synchronised; default: timedatectl. */
  clockProbe?: ClockSyncProbe;
}

export interface Daemon {
  readonly pipeline: Pipeline;
  /** Overload protection between the sources and the pipeline. */
  readonly ingest: IngestGuard;
  readonly publisher: MqttAlarmPublisher;
  readonly journal: AlarmJournal;
  readonly outbox: AlarmOutbox;
  readonly acks: AckHandler;
  readonly commands: CommandHandler;
  readonly sources: readonly TelemetrySource[];
  /** Metrics registry, liveness and readiness. */
  readonly ops: DaemonOps;
  stop(): Promise<void>;
}

/**
 * Composes the running daemon: sources → pipeline → journal and outbox → MQTT alarm publisher,
 * with station acks back into the alarm manager. It starts without waiting for the broker:
 * detection runs and alarms wait in the journal while the broker is away.
 */
export async function startDaemon({ config, secrets }: LoadedConfig, deps: DaemonDeps): Promise<Daemon> {
  const { clock, logger, credentialsDirectory } = deps;
  const ops = createDaemonOps({ config });
  // A broker refused for certificates or credentials is a delivery-failure technical alarm.
  const trust = new BrokerTrustWatch({
    report: (report) => pipeline.alarms.reportTechnical(report),
    logger,
    onRefusal: (client, kind) => ops.metrics.connectRefused(client, kind),
  });
  const connect = trust.wrap(deps.connect);
  if (config.mqtt.tls?.rejectUnauthorized === false) {
    logger.error(
      { code: 'PW_TLS_INSECURE', url: config.mqtt.url },
      'INSECURE: broker certificate checks are OFF (mqtt.tls.allowInsecure); anyone on the network can pose as the broker and read or drop alarms',
    );
  }
  const clockHealth = new ClockHealth(deps.clockProbe);
  // Not awaited: the first answer can take a moment, and start-up must not wait for it.
  void clockHealth.start();
  const journal = AlarmJournal.open({ directory: config.journal.directory, maxBytes: config.journal.maxBytes, logger });
  const { delivery } = config;
  const publisher = new MqttAlarmPublisher({
    config,
    secrets,
    connect,
    logger,
    clock,
    credentialsDirectory,
    maxPayloadBytes: delivery.maxPayloadBytes,
    // Each event is two publishes (retained state and stream), plus the status and retained restore.
    maxInFlight: 2 * delivery.maxInFlight + 2,
    eventExpirySeconds: delivery.eventExpirySeconds,
    statusExtras: () => ({ version: PUMPWATCH_VERSION, clock: clockHealth.status }),
  });
  const outbox = new AlarmOutbox({
    journal,
    transport: ops.observeTransport(publisher, clock),
    logger,
    clock,
    report: (report) => pipeline.alarms.reportTechnical(report),
    maxInFlight: delivery.maxInFlight,
    maxAttempts: delivery.maxAttempts,
    stalledAfterMs: delivery.stalledAfterSeconds * 1000,
  });
  const restoredAlarms = journal.restoredAlarms();
  const audit = new AuditLog({ directory: config.journal.directory, maxBytes: config.journal.auditMaxBytes, logger, clock });
  // Sample times the pipeline's time guard refuses are counted like a source's rejects.
  const timeRejects = ops.tapSource(TIME_GUARD_SOURCE, { sample: () => undefined, reject: () => undefined });
  const pipeline = new Pipeline({
    config,
    clock,
    logger,
    sinks: [outbox, ops.alarmSink, audit],
    restoredAlarms,
    escalate: true,
    onTimeReject: (rejection) => timeRejects.reject(rejection),
    onRetired: (retirement) => audit.retired(retirement),
  });
  const ingest = new IngestGuard({
    settings: config.overload,
    process: (sample) => pipeline.accept(sample),
    report: (report) => pipeline.alarms.reportTechnical(report),
    logger,
  });
  const acks = new AckHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    acknowledge: (alarmId, by, ackAt) => pipeline.alarms.acknowledge(alarmId, by, ackAt),
    logger,
    clock,
  });
  publisher.onAck((ack) => acks.handle(ack.payload, ack.retained));
  const commands = new CommandHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    retire: (pumpId, channel, by) => pipeline.retire(pumpId, channel, by),
    audit: (entry) => audit.command(entry),
    logger,
    clock,
  });
  publisher.onCommand((command) => commands.handle(command.payload, command.retained));
  outbox.start();
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
        sample: (sample) => ingest.offer(sample),
        reject: (rejection) => pipeline.reject(source.name, rejection),
      }),
    );
  }
  ops.attach({
    pipeline,
    publisher,
    sources,
    journal: () => journalStatus(outbox, journal, clock),
    ingest: () => ingest.status(),
    inbox: () => ({ acks: acks.counts(), commands: commands.counts() }),
    clock: () => clockHealth.status,
  });
  const ticker = setInterval(() => {
    pipeline.tick();
    ops.ticked();
  }, TICK_INTERVAL_MS);
  logger.info(
    { code: 'PW_STARTED', version: PUMPWATCH_VERSION, gatewayId: config.gateway.id, sources: sources.map((source) => source.name), alarmTopicPrefix: publisher.topics.prefix },
    'pumpwatch running',
  );
  return {
    pipeline,
    ingest,
    publisher,
    journal,
    outbox,
    acks,
    commands,
    sources,
    ops,
    async stop() {
      clearInterval(ticker);
      await Promise.all(sources.map((source) => source.stop()));
      ingest.stop();
      outbox.stop();
      await publisher.stop();
      await journal.synced();
      journal.close();
      audit.close();
      clockHealth.stop();
      ops.stop();
      logger.info({ code: 'PW_STOPPED', acceptedSamples: pipeline.acceptedCount, rejected: pipeline.rejects.totals() }, 'pumpwatch stopped');
    },
  };
}
