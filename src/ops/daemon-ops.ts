import { scopeOf, type AlarmEvent } from '../alarms/event.js';
import type { AlarmSink } from '../alarms/manager.js';
import type { AlarmTransport } from '../alarms/transport.js';
import { monotonicClock, type Clock, type MonotonicClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { IngestStatus } from '../ingest/guard.js';
import type { ProtocolObservations } from '../protocols/protocol.js';
import type { SourceTarget, TelemetrySource } from '../sources/source.js';
import type { ClockHealthStatus } from './clock-health.js';
import { observeDeliveries } from './delivery.js';
import { evaluateHealth, type HealthCheck, type HealthReport } from './health.js';
import { DaemonMetrics, type BrokerLinkStatus, type InboxCounts, type JournalStatus, type SourceLinkStatus } from './metrics.js';

/** The running daemon's parts that operations watch; read only at scrape or check time. */
export interface OpsParts {
  pipeline: { readonly channelCount: number; readonly alarms: { activeAlarms(): readonly AlarmEvent[] } };
  publisher: { readonly connectionState: string };
  sources: readonly TelemetrySource[];
  journal?: () => JournalStatus | undefined;
  ingest?: () => IngestStatus;
  /** Station acks and commands by verdict. */
  inbox?: () => InboxCounts;
  clock?: () => ClockHealthStatus;
}

export interface DaemonOpsOptions {
  config: Pick<Config, 'mqtt' | 'ops'>;
  /** Steps the tick age; the system's monotonic clock unless a test steps it. */
  monotonic?: MonotonicClock;
}

/**
 * Metrics and health of one daemon: counts samples per source and alarm events, tracks the
 * detector's tick, and answers liveness (alive and making progress: `/healthz`, the systemd
 * watchdog) and readiness (every configured source and the broker up: `/readyz`).
 */
export interface DaemonOps {
  readonly metrics: DaemonMetrics;
  /** Counts alarm events; put it beside the real sinks. */
  readonly alarmSink: AlarmSink;
  /** Wraps a source's decode target to count what it delivers. */
  tapSource(source: string, into: SourceTarget): SourceTarget;
  /** Wraps the outbox's transport to time every delivery and count failures. */
  observeTransport(transport: AlarmTransport, clock: Clock): AlarmTransport;
  /** Call after each detector tick; a detector that stops ticking fails liveness. */
  ticked(): void;
  attach(parts: OpsParts): void;
  /** The progress checks the watchdog gates its pings on (the watchdog adds its own event-loop check). */
  readonly livenessChecks: readonly HealthCheck[];
  liveness(): HealthReport;
  readiness(): HealthReport;
  stop(): void;
}

const SERIAL_STATES = ['opening', 'open', 'waiting-to-reopen', 'stopped'] as const;
const MQTT_STATES = ['idle', 'connecting', 'connected', 'disconnected', 'stopped'] as const;

function withState(states: readonly string[], state: string): readonly string[] {
  return states.includes(state) ? states : [...states, state];
}

/** Sources say how they are linked by shape: serial ports have `linkState`, MQTT clients `connectionState`. */
export function sourceLinkStatus(source: TelemetrySource): SourceLinkStatus {
  const linked = source as Partial<{ linkState: string; connectionState: string; protocolObservations: ProtocolObservations }>;
  if (typeof linked.linkState === 'string') {
    const status: SourceLinkStatus = { name: source.name, kind: 'serial', state: linked.linkState, states: withState(SERIAL_STATES, linked.linkState), up: linked.linkState === 'open' };
    if (linked.protocolObservations !== undefined) status.observations = linked.protocolObservations;
    return status;
  }
  if (typeof linked.connectionState === 'string') {
    const state = linked.connectionState;
    return { name: source.name, kind: 'mqtt', state, states: withState(MQTT_STATES, state), up: state === 'connected' };
  }
  return { name: source.name, kind: 'other', state: 'running', states: ['running'], up: true };
}

function brokerLink(client: string, state: string): BrokerLinkStatus {
  return { client, state, states: withState(MQTT_STATES, state), connected: state === 'connected' };
}

/** watched: every channel seen; silent: telemetry lost; alarming: an active clinical or advisory alarm; clock-skewed: judged on arrival time. */
function channelStates(parts: OpsParts): Record<string, number> {
  const silent = new Set<string>();
  const alarming = new Set<string>();
  for (const alarm of parts.pipeline.alarms.activeAlarms()) {
    if (scopeOf(alarm) === 'gateway') continue;
    const key = `${alarm.pumpId}\u0000${alarm.channel}`;
    if (alarm.condition === 'telemetry-lost') silent.add(key);
    else if (alarm.kind !== 'technical') alarming.add(key);
  }
  let clockSkewed = 0;
  for (const alarm of parts.pipeline.alarms.activeAlarms()) if (alarm.condition === 'pump-clock-skew') clockSkewed++;
  return { watched: parts.pipeline.channelCount, silent: silent.size, alarming: alarming.size, 'clock-skewed': clockSkewed };
}

export function createDaemonOps(options: DaemonOpsOptions): DaemonOps {
  const monotonic = options.monotonic ?? monotonicClock;
  const { config } = options;
  const metrics = new DaemonMetrics();
  const maxTickAgeMs = config.ops.watchdog.maxTickAgeSeconds * 1000;
  const tlsInsecure = config.mqtt.tls?.rejectUnauthorized === false;
  let lastTickMs = monotonic.elapsedMs();
  let parts: OpsParts | undefined;

  const livenessChecks: HealthCheck[] = [
    {
      name: 'detector',
      check() {
        const ageMs = monotonic.elapsedMs() - lastTickMs;
        return ageMs <= maxTickAgeMs ? undefined : `last tick ${Math.round(ageMs / 1000)} s ago (limit ${maxTickAgeMs / 1000} s)`;
      },
    },
  ];

  const readinessChecks = (): HealthCheck[] => {
    if (parts === undefined) return [{ name: 'started', check: () => 'the daemon is still starting' }];
    const { publisher, sources } = parts;
    return [
      ...sources.map((source) => ({
        name: `source:${source.name}`,
        check: () => {
          const status = sourceLinkStatus(source);
          return status.up ? undefined : `${status.kind} link ${status.state}`;
        },
      })),
      { name: 'broker', check: () => (publisher.connectionState === 'connected' ? undefined : `alarm connection ${publisher.connectionState}`) },
    ];
  };

  const readiness = (): HealthReport => evaluateHealth(readinessChecks());

  return {
    metrics,
    alarmSink: metrics.alarmEvents,
    tapSource: (source, into) => metrics.tapSource(source, into),
    observeTransport: (transport, clock) =>
      observeDeliveries(transport, { acknowledged: (latencyMs) => metrics.deliveryAcknowledged(latencyMs), failed: (code) => metrics.deliveryFailed(code) }, clock),
    ticked() {
      lastTickMs = monotonic.elapsedMs();
    },
    attach(attached) {
      parts = attached;
      const links = attached.sources.filter((source) => sourceLinkStatus(source).kind === 'mqtt');
      metrics.observe({
        sources: () => attached.sources.map(sourceLinkStatus),
        brokerLinks: () => [
          brokerLink('alarms', attached.publisher.connectionState),
          ...links.map((source) => brokerLink('telemetry', sourceLinkStatus(source).state)),
        ],
        activeAlarms: () => attached.pipeline.alarms.activeAlarms(),
        channels: () => channelStates(attached),
        journal: () => attached.journal?.(),
        ready: () => readiness().ok,
        tlsInsecure: () => tlsInsecure,
        ingest: () => attached.ingest?.(),
        inbox: () => attached.inbox?.(),
        clock: () => attached.clock?.(),
      });
    },
    livenessChecks,
    liveness: () => evaluateHealth(livenessChecks),
    readiness,
    stop: () => metrics.stop(),
  };
}
