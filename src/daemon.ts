import type { BindingInterface } from '@serialport/bindings-cpp';
import { AckHandler } from './alarms/ack.js';
import { AuditLog } from './alarms/audit-log.js';
import { CommandHandler } from './alarms/commands.js';
import { FileRetiredChannels } from './alarms/retired-channels.js';
import { Roster, RosterHandler } from './alarms/roster.js';
import { AlarmJournal } from './alarms/journal.js';
import { JournalWriter } from './alarms/journal-writer.js';
import { AlarmOutbox } from './alarms/outbox.js';
import type { TechnicalReport } from './alarms/manager.js';
import { systemTimers, type Clock, type Timers } from './clock.js';
import type { LoadedConfig } from './config/load.js';
import { IngestGuard } from './ingest/guard.js';
import type { Logger } from './log.js';
import type { MqttConnect } from './mqtt/client-options.js';
import { BrokerTrustWatch } from './ops/broker-trust.js';
import { ClockHealth, type ClockSyncProbe } from './ops/clock-health.js';
import { createDaemonOps, type DaemonOps } from './ops/daemon-ops.js';
import { journalStatus } from './ops/delivery.js';
import { registerPcd04Metrics } from './pcd04/metrics.js';
import { Pcd04AlertReporter, PCD04_TRANSPORT, PCD04_WINDOW } from './pcd04/reporter.js';
import { createAlarmManager, Pipeline, TIME_GUARD_SOURCE } from './pipeline.js';
import { createMqttAlarmSide, MQTT_TRANSPORT, type MqttAlarmSide } from './sinks/mqtt-alarms.js';
import { MqttTelemetrySource } from './sources/mqtt.js';
import { createSerialSources } from './sources/serial.js';
import { PUMPWATCH_VERSION } from './version.js';
import type { TelemetrySource } from './sources/source.js';
import { createWardPage } from './web/page.js';
import type { WardRoutes } from './web/server.js';

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
  /** Drives the detector's tick; the system's unless a test steps it. */
  timers?: Timers;
  /** Whether the gateway clock is NTP-synchronised; default: timedatectl. */
  clockProbe?: ClockSyncProbe;
}

export interface Daemon {
  readonly pipeline: Pipeline;
  /** Overload protection between the sources and the pipeline. */
  readonly ingest: IngestGuard;
  /** The MQTT side: alarm publisher, gateway status and ack inbox on one connection. */
  readonly publisher: MqttAlarmSide;
  readonly journal: AlarmJournal;
  /** The MQTT transport's outbox. */
  readonly outbox: AlarmOutbox;
  /** The IHE PCD-04 Alert Reporter and its outbox, when `pcd04.enabled`. */
  readonly pcd04: { readonly reporter: Pcd04AlertReporter; readonly outbox: AlarmOutbox } | undefined;
  readonly acks: AckHandler;
  readonly commands: CommandHandler;
  /** Station roster updates on `<prefix>/roster`. */
  readonly rosterUpdates: RosterHandler;
  readonly sources: readonly TelemetrySource[];
  /** Metrics registry, liveness and readiness. */
  readonly ops: DaemonOps;
  /** The ward page's routes, served by the ops HTTP server; undefined when ops.http.web is off. */
  readonly page: WardRoutes | undefined;
  stop(): Promise<void>;
}

/**
 * Composes the running daemon: sources → pipeline → journal and outbox → MQTT alarm publisher,
 * with station acks back into the alarm manager. It starts without waiting for the broker:
 * detection runs and alarms wait in the journal while the broker is away.
 *
 * Wiring runs one way: the alarm manager and its technical-alarm reporter are made first and
 * handed to everything that reports (broker trust, outbox, ingest guard); the outbox joins the
 * manager's sinks once made.
 */
export async function startDaemon({ config, secrets }: LoadedConfig, deps: DaemonDeps): Promise<Daemon> {
  const { clock, logger, credentialsDirectory } = deps;
  const timers = deps.timers ?? systemTimers;
  const ops = createDaemonOps({ config });
  const audit = new AuditLog({ directory: config.journal.directory, maxBytes: config.journal.auditMaxBytes, logger, clock });
  const roster = new Roster(config.roster);
  const alarms = createAlarmManager({
    config,
    clock,
    sinks: [],
    escalate: true,
    roster,
    onPauseEnded: (ended) => {
      audit.pauseEnded(ended);
      logger.info({ code: 'PW_CHANNEL_RESUMED', pumpId: ended.pumpId, channel: ended.channel, reason: ended.reason, pausedBy: ended.by }, "channel's pause ended");
    },
  });
  const reportTechnical = (report: TechnicalReport): void => alarms.reportTechnical(report);
  // A broker refused for certificates or credentials is a delivery-failure technical alarm.
  const trust = new BrokerTrustWatch({
    report: reportTechnical,
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
  const journal = AlarmJournal.open({ directory: config.journal.directory, maxBytes: config.journal.maxBytes, logger, cursors: [MQTT_TRANSPORT, ...(config.pcd04.enabled ? [PCD04_TRANSPORT] : [])] });
  const { delivery } = config;
  const publisher = createMqttAlarmSide({
    config,
    secrets,
    connect,
    logger,
    clock,
    states: journal,
    credentialsDirectory,
    maxPayloadBytes: delivery.maxPayloadBytes,
    eventExpirySeconds: delivery.eventExpirySeconds,
    statusExtras: () => ({ version: PUMPWATCH_VERSION, clock: clockHealth.status }),
  });
  const writer = new JournalWriter({ journal, logger, clock, report: reportTechnical });
  const outbox = new AlarmOutbox({
    journal,
    writer,
    transport: ops.observeTransport(publisher.publisher, clock),
    logger,
    clock,
    report: reportTechnical,
    maxInFlight: delivery.maxInFlight,
    maxAttempts: delivery.maxAttempts,
    stalledAfterMs: delivery.stalledAfterSeconds * 1000,
  });
  const pcd04 = config.pcd04.enabled ? createPcd04(config, { journal, writer, logger, clock, report: reportTechnical }) : undefined;
  if (pcd04 !== undefined) registerPcd04Metrics(ops.metrics.registry, { counters: pcd04.reporter.counters, get connected() { return pcd04.reporter.connected; }, stats: () => pcd04.outbox.stats() });
  alarms.addSink(writer);
  alarms.addSink(ops.alarmSink);
  const webOn = config.ops.http.enabled && config.ops.http.web.enabled;
  alarms.addSink(audit);
  // Sample times the pipeline's time guard refuses are counted like a source's rejects.
  const timeRejects = ops.tapSource(TIME_GUARD_SOURCE, { sample: () => undefined, reject: () => undefined });
  const pipeline = new Pipeline({
    config,
    clock,
    logger,
    alarms,
    restoredAlarms: journal.restoredAlarms(),
    trace: webOn ? config.ops.http.web : undefined,
    onTimeReject: (rejection) => timeRejects.reject(rejection),
    onRetired: (retirement) => audit.retired(retirement),
    retiredChannels: new FileRetiredChannels({ directory: config.journal.directory, logger }),
  });
  const ingest = new IngestGuard({
    settings: config.overload,
    process: (sample) => pipeline.accept(sample),
    downstream: { detected: () => pipeline.acceptedCount, held: () => pipeline.heldSampleCount },
    report: reportTechnical,
    logger,
  });
  const acks = new AckHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    acknowledge: (alarmId, by, ackAt) => alarms.acknowledge(alarmId, by, ackAt),
    logger,
    clock,
  });
  publisher.acks.onAck((ack) => acks.handle(ack.payload, ack.retained));
  const commands = new CommandHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    retire: (pumpId, channel, by) => pipeline.retire(pumpId, channel, by),
    pause: (pumpId, channel, minutes, by) => {
      const paused = pipeline.pause(pumpId, channel, minutes, by);
      if (paused !== undefined) audit.paused({ pumpId, channel, by, untilMs: paused.untilMs });
      return paused;
    },
    resume: (pumpId, channel) => pipeline.resume(pumpId, channel),
    audit: (entry) => audit.command(entry),
    logger,
    clock,
  });
  publisher.acks.onCommand((command) => commands.handle(command.payload, command.retained));
  const rosterUpdates = new RosterHandler({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    roster,
    audit: (entry) => audit.roster(entry),
    logger,
    clock,
  });
  publisher.acks.onRoster((update) => rosterUpdates.handle(update.payload, update.retained));
  outbox.start();
  pcd04?.outbox.start();
  pcd04?.reporter.start();
  const sources: TelemetrySource[] = [];
  if (config.sources.mqtt !== undefined) {
    sources.push(new MqttTelemetrySource({ config, source: config.sources.mqtt, secrets, connect, logger, clock, credentialsDirectory }));
  }
  if (config.sources.serial.length > 0) {
    const binding = await deps.loadSerialBinding();
    sources.push(...createSerialSources(config.sources.serial, { binding, logger, clock }));
  }
  await publisher.start();
  for (const source of sources) {
    await source.start(
      ops.tapSource(source.name, {
        sample: (sample) => ingest.offer(sample),
        reject: (rejection) => pipeline.reject(source.name, rejection),
        watchChannel: (pumpId, channel, silenceLimitMs) => pipeline.watchChannel(pumpId, channel, silenceLimitMs),
      }),
    );
  }
  const parts = {
    pipeline,
    publisher,
    sources,
    journal: () => journalStatus(outbox, journal, clock),
    ingest: () => ingest.status(),
    inbox: () => ({ acks: acks.counts(), commands: commands.counts(), roster: rosterUpdates.counts() }),
    clock: () => clockHealth.status,
  };
  ops.attach(parts);
  const page = webOn ? createWardPage({ ...parts, config, token: secrets.webToken, clock, logger, acks, roster }) : undefined;
  const ticker = timers.setInterval(() => {
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
    pcd04,
    acks,
    commands,
    rosterUpdates,
    sources,
    ops,
    page,
    async stop() {
      timers.clearInterval(ticker);
      page?.stop();
      await Promise.all(sources.map((source) => source.stop()));
      ingest.stop();
      outbox.stop();
      pcd04?.outbox.stop();
      pcd04?.reporter.stop();
      writer.stop();
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

/** The Alert Reporter: its own outbox (window of one, as MLLP is) over the shared journal and writer. */
function createPcd04(
  config: LoadedConfig['config'],
  parts: { journal: AlarmJournal; writer: JournalWriter; logger: Logger; clock: Clock; report: (technical: TechnicalReport) => void },
): { reporter: Pcd04AlertReporter; outbox: AlarmOutbox } {
  const { journal, writer, logger, clock, report } = parts;
  const reporter = new Pcd04AlertReporter({ settings: { pcd04: config.pcd04, gateway: config.gateway }, logger, clock, report });
  const outbox = new AlarmOutbox({
    journal,
    writer,
    transport: reporter,
    logger,
    clock,
    report,
    maxInFlight: PCD04_WINDOW,
    maxAttempts: config.pcd04.maxAttempts,
    stalledAfterMs: config.delivery.stalledAfterSeconds * 1000,
    // An Alert Manager that drops the link is not told apart from one that chokes on a message: re-send until committed.
    blameDrops: false,
    labels: {
      linkPart: 'pcd04-link',
      quarantinePart: 'pcd04-quarantine',
      stalledMessage: 'Alarms from this gateway are waiting to be delivered to the hospital Alert Manager (nurse call and phones): check the Alert Manager and the network.',
    },
  });
  return { reporter, outbox };
}
