import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AlarmEvent } from '../alarms/event.js';
import type { AlarmSink } from '../alarms/manager.js';
import type { IngestStatus } from '../ingest/guard.js';
import type { ProtocolObservations } from '../protocols/protocol.js';
import type { SourceTarget } from '../sources/source.js';
import { REJECT_REASONS, type RejectReason } from '../telemetry/decode.js';
import { createLagWindow, type LagWindow } from './event-loop.js';
import type { WatchdogOutcome } from './watchdog.js';

/** One telemetry source as metrics and health see it. */
export interface SourceLinkStatus {
  name: string;
  kind: string;
  state: string;
  /** Every state this kind of link can be in, so the one-hot gauge also shows the zeros. */
  states: readonly string[];
  up: boolean;
  /** Serial pump protocols: what the session learnt about the pump. */
  observations?: ProtocolObservations;
}

/** One MQTT connection of ours (`alarms` publishes, `telemetry` subscribes). */
export interface BrokerLinkStatus {
  client: string;
  state: string;
  states: readonly string[];
  connected: boolean;
}

/** The durable journal's backlog, once there is one. */
export interface JournalStatus {
  depth: number;
  /** Undefined when nothing waits for delivery. */
  oldestUndeliveredAgeMs: number | undefined;
  /** Events sent before they were on disk (journal full or failing, or an fsync too slow). */
  nonDurableEvents: number;
  /** Fsyncs that outlasted the writer's wait, so the events they covered went out not durable. */
  slowFsyncs: number;
}

/** Station messages by verdict (accepted, malformed, unknown, …). */
export interface InboxCounts {
  acks: Readonly<Record<string, number>>;
  commands: Readonly<Record<string, number>>;
  /** Station roster updates on `<prefix>/roster`. */
  roster?: Readonly<Record<string, number>>;
}

/** Read at scrape time only, so nothing on the sample path pays for them. */
export interface MetricsProbes {
  sources(): readonly SourceLinkStatus[];
  brokerLinks(): readonly BrokerLinkStatus[];
  activeAlarms(): readonly Pick<AlarmEvent, 'condition' | 'priority'>[];
  /** Channels by detector state, e.g. `{ watched: 12, silent: 1 }`. */
  channels(): Readonly<Record<string, number>>;
  journal(): JournalStatus | undefined;
  ready(): boolean;
  /** True when the configuration turned TLS certificate checks off. */
  tlsInsecure(): boolean;
  /** Overload protection: what reached the detector, was shed or waits, and the gateway's own CPU share. */
  ingest?(): IngestStatus | undefined;
  inbox?(): InboxCounts | undefined;
  clock?(): { synchronized: boolean | null } | undefined;
}

export interface DaemonMetricsOptions {
  /** Event-loop delay since the previous scrape; one is made (and stopped by `stop`) when absent. */
  lag?: LagWindow;
}

/** From a PUBACK on loopback (milliseconds) to a backlog after a long outage (minutes). */
export const DELIVERY_LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/** Plain numbers on the hot path; prom-client hashes its label sets on every `inc`. */
class SourceTally {
  accepted = 0;
  readonly rejected = new Map<RejectReason, number>(REJECT_REASONS.map((reason) => [reason, 0]));
}

const noProbes: MetricsProbes = {
  sources: () => [],
  brokerLinks: () => [],
  activeAlarms: () => [],
  channels: () => ({}),
  journal: () => undefined,
  ready: () => false,
  tlsInsecure: () => false,
};

/**
 * The daemon's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * two daemons in one test process do not share counters). Counts on the sample path are plain
 * field increments; everything else is read from probes when Prometheus scrapes.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  /** An `AlarmSink` that counts every alarm lifecycle event; put it beside the real sinks. */
  readonly alarmEvents: AlarmSink;
  readonly #tallies = new Map<string, SourceTally>();
  readonly #alarmEventsTotal: Counter<'condition' | 'priority' | 'event'>;
  readonly #deliveryLatency: Histogram;
  readonly #deliveryFailures: Counter<'code'>;
  readonly #watchdogAttempts: Counter<'outcome'>;
  readonly #connectRefusals: Counter<'client' | 'kind'>;
  readonly #lag: LagWindow;
  readonly #ownsLag: boolean;
  #probes: MetricsProbes = noProbes;

  constructor(options: DaemonMetricsOptions = {}) {
    const registers = [this.registry];
    const tallies = this.#tallies;
    const probes = () => this.#probes;
    this.#ownsLag = options.lag === undefined;
    const lag = options.lag ?? createLagWindow();
    this.#lag = lag;

    new Counter({
      name: 'pumpwatch_samples_accepted_total',
      help: 'Telemetry samples that passed validation, by source: taken in, before overload protection. Accepted = processed (reached the detector) + shed + pending + rejected{source="time-guard"} (refused for their time after validation).',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, tally] of tallies) this.inc({ source }, tally.accepted);
      },
    });
    new Counter({
      name: 'pumpwatch_samples_rejected_total',
      help: 'Telemetry frames or samples refused, by source and reason (invalid-json, schema, bad-id, …).',
      labelNames: ['source', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [source, tally] of tallies) {
          for (const [reason, count] of tally.rejected) this.inc({ source, reason }, count);
        }
      },
    });
    new Gauge({
      name: 'pumpwatch_source_up',
      help: '1 while a telemetry source is connected or open, 0 otherwise.',
      labelNames: ['source', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const source of probes().sources()) this.set({ source: source.name, kind: source.kind }, source.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pumpwatch_source_link_state',
      help: 'Link state of each telemetry source: 1 for the current state, 0 for the others.',
      labelNames: ['source', 'state'],
      registers,
      collect() {
        this.reset();
        for (const source of probes().sources()) {
          for (const state of source.states) this.set({ source: source.name, state }, state === source.state ? 1 : 0);
        }
      },
    });
    new Counter({
      name: 'pumpwatch_pump_unknown_mode_total',
      help: 'Status replies whose mode word has no mapping (reported as state unknown), by source and word: send a capture (docs/protocols.md).',
      labelNames: ['source', 'mode'],
      registers,
      collect() {
        this.reset();
        for (const source of probes().sources()) {
          for (const [mode, count] of source.observations?.unknownModes ?? []) this.inc({ source: source.name, mode }, count);
        }
      },
    });
    new Gauge({
      name: 'pumpwatch_pump_variable_reported',
      help: 'Fresenius: 1 for each variable a module reported in its last read, 0 for one asked for but missing, by source, module and variable.',
      labelNames: ['source', 'module', 'variable'],
      registers,
      collect() {
        this.reset();
        for (const source of probes().sources()) {
          for (const [module, { requested, reported }] of source.observations?.variables ?? []) {
            for (const variable of new Set([...requested, ...reported])) this.set({ source: source.name, module, variable }, reported.includes(variable) ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'pumpwatch_mqtt_connected',
      help: '1 while an MQTT connection of the gateway is up (client="alarms" publishes alarms, "telemetry" reads pumps).',
      labelNames: ['client'],
      registers,
      collect() {
        this.reset();
        for (const link of probes().brokerLinks()) this.set({ client: link.client }, link.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pumpwatch_mqtt_connection_state',
      help: 'State of each MQTT connection: 1 for the current state, 0 for the others.',
      labelNames: ['client', 'state'],
      registers,
      collect() {
        this.reset();
        for (const link of probes().brokerLinks()) {
          for (const state of link.states) this.set({ client: link.client, state }, state === link.state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'pumpwatch_channels',
      help: 'Pump channels by detector state (watched = every channel seen; silent = telemetry lost; alarming = an active clinical alarm).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(probes().channels())) this.set({ state }, count);
      },
    });
    this.#alarmEventsTotal = new Counter({
      name: 'pumpwatch_alarm_events_total',
      help: 'Alarm lifecycle events emitted, by condition, priority and event (raised, updated, escalated, acknowledged, ended).',
      labelNames: ['condition', 'priority', 'event'],
      registers,
    });
    new Gauge({
      name: 'pumpwatch_alarms_active',
      help: 'Alarm conditions active now, by condition and priority.',
      labelNames: ['condition', 'priority'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { condition: string; priority: string; count: number }>();
        for (const alarm of probes().activeAlarms()) {
          const key = `${alarm.condition}\u0000${alarm.priority}`;
          const entry = counts.get(key) ?? { condition: alarm.condition, priority: alarm.priority, count: 0 };
          entry.count++;
          counts.set(key, entry);
        }
        for (const { condition, priority, count } of counts.values()) this.set({ condition, priority }, count);
      },
    });
    new Gauge({
      name: 'pumpwatch_journal_depth',
      help: 'Alarm events in the durable journal not yet acknowledged by the broker.',
      registers,
      collect() {
        const journal = probes().journal();
        if (journal !== undefined) this.set(journal.depth);
      },
    });
    new Gauge({
      name: 'pumpwatch_journal_oldest_undelivered_age_seconds',
      help: 'Age of the oldest alarm event still waiting for the broker; 0 when none waits.',
      registers,
      collect() {
        const journal = probes().journal();
        if (journal !== undefined) this.set((journal.oldestUndeliveredAgeMs ?? 0) / 1000);
      },
    });
    new Counter({
      name: 'pumpwatch_journal_non_durable_events_total',
      help: 'Alarm events sent before they were on disk (journal full or failing, or an fsync too slow); each was flagged durable:false for stations.',
      registers,
      collect() {
        const journal = probes().journal();
        if (journal === undefined) return;
        this.reset();
        this.inc(journal.nonDurableEvents);
      },
    });
    new Counter({
      name: 'pumpwatch_journal_slow_fsyncs_total',
      help: 'Journal fsyncs that took longer than 1 s: the alarms they covered were sent before reaching disk. A rising count means the disk is failing.',
      registers,
      collect() {
        const journal = probes().journal();
        if (journal === undefined) return;
        this.reset();
        this.inc(journal.slowFsyncs);
      },
    });
    this.#deliveryLatency = new Histogram({
      name: 'pumpwatch_alarm_delivery_latency_seconds',
      help: 'From an alarm event being emitted to the broker acknowledging it (PUBACK).',
      buckets: DELIVERY_LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.#deliveryFailures = new Counter({
      name: 'pumpwatch_alarm_delivery_failures_total',
      help: 'Alarm publishes the broker or the connection refused, by error code.',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'pumpwatch_event_loop_lag_seconds',
      help: 'Longest event-loop stall since the previous scrape.',
      registers,
      collect() {
        this.set(lag.maxMs() / 1000);
        lag.reset();
      },
    });
    this.#watchdogAttempts = new Counter({
      name: 'pumpwatch_watchdog_attempts_total',
      help: 'systemd watchdog ping attempts: sent, withheld (the daemon was not making progress) or skipped (previous ping still in flight).',
      labelNames: ['outcome'],
      registers,
    });
    this.#connectRefusals = new Counter({
      name: 'pumpwatch_mqtt_connect_refusals_total',
      help: 'Broker connections refused for security reasons, by client and kind (broker-certificate-refused, client-certificate-refused, not-authorized).',
      labelNames: ['client', 'kind'],
      registers,
    });
    new Counter({
      name: 'pumpwatch_samples_processed_total',
      help: 'Valid samples that reached the detector (all sources). Accepted = processed + shed + pending + rejected{source="time-guard"}.',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest === undefined) return;
        this.reset();
        this.inc(ingest.processed);
      },
    });
    new Counter({
      name: 'pumpwatch_samples_shed_total',
      help: 'Valid samples dropped unprocessed because the gateway could not keep up (overloaded, shedding auto): conflated (waited past overload.maxDelaySeconds with a newer sample of its channel behind it) or overflow (the queue was full). Samples carrying pump alarm codes and alarms are never shed.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const ingest = probes().ingest?.();
        if (ingest === undefined) return;
        for (const [reason, count] of Object.entries(ingest.shed)) this.inc({ reason }, count);
      },
    });
    new Gauge({
      name: 'pumpwatch_ingest_pending_samples',
      help: 'Valid samples taken in and waiting for the detector: queued while overloaded with shedding auto, or held by the time guard while their time is in doubt.',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest !== undefined) this.set(ingest.pending);
      },
    });
    new Gauge({
      name: 'pumpwatch_ingest_max_wait_seconds',
      help: 'Longest a queued sample waited for the detector in the latest half second (0 when nothing queued).',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest !== undefined) this.set(ingest.maxWaitMs / 1000);
      },
    });
    new Gauge({
      name: 'pumpwatch_overloaded',
      help: '1 while the gateway is overloaded: its own thread has been near a full core (the overloaded technical alarm is active).',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest !== undefined) this.set(ingest.overloaded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pumpwatch_cpu_share',
      help: 'Share of one CPU core the gateway\'s own thread spent working in the latest half second (CPU time); the overload protection acts on it.',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest !== undefined) this.set(ingest.cpuShare);
      },
    });
    new Gauge({
      name: 'pumpwatch_event_loop_utilization',
      help: 'Share of the latest half second the event loop was busy (0–1, wall clock: time spent waiting for a core counts as busy). Informational; overload is decided on pumpwatch_cpu_share.',
      registers,
      collect() {
        const ingest = probes().ingest?.();
        if (ingest !== undefined) this.set(ingest.utilization);
      },
    });
    new Counter({
      name: 'pumpwatch_station_acks_total',
      help: 'Station acknowledgements received on <prefix>/ack, by verdict (accepted, malformed, unknown, replayed, cross-ward).',
      labelNames: ['verdict'],
      registers,
      collect() {
        this.reset();
        for (const [verdict, count] of Object.entries(probes().inbox?.()?.acks ?? {})) this.inc({ verdict }, count);
      },
    });
    new Counter({
      name: 'pumpwatch_station_commands_total',
      help: 'Station commands (retire, pause, resume) received on <prefix>/cmd, by verdict (accepted, malformed, unknown, retained, cross-ward).',
      labelNames: ['verdict'],
      registers,
      collect() {
        this.reset();
        for (const [verdict, count] of Object.entries(probes().inbox?.()?.commands ?? {})) this.inc({ verdict }, count);
      },
    });
    new Counter({
      name: 'pumpwatch_station_roster_updates_total',
      help: 'Station ward rosters received on <prefix>/roster, by verdict (accepted, cleared, malformed, cross-ward).',
      labelNames: ['verdict'],
      registers,
      collect() {
        this.reset();
        for (const [verdict, count] of Object.entries(probes().inbox?.()?.roster ?? {})) this.inc({ verdict }, count);
      },
    });
    new Gauge({
      name: 'pumpwatch_gateway_clock_synchronized',
      help: '1 when the gateway clock is NTP-synchronised (timedatectl), 0 when not, -1 when it cannot be told. Pump sample times are judged against this clock.',
      registers,
      collect() {
        const clock = probes().clock?.();
        if (clock !== undefined) this.set(clock.synchronized === null ? -1 : clock.synchronized ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pumpwatch_ready',
      help: '1 while every configured source and the alarm broker connection are up (as /readyz).',
      registers,
      collect() {
        this.set(probes().ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pumpwatch_tls_insecure',
      help: '1 when the configuration turned broker certificate checks off (mqtt.tls.allowInsecure).',
      registers,
      collect() {
        this.set(probes().tlsInsecure() ? 1 : 0);
      },
    });

    const alarmEventsTotal = this.#alarmEventsTotal;
    this.alarmEvents = {
      deliver(event: AlarmEvent) {
        alarmEventsTotal.inc({ condition: event.condition, priority: event.priority, event: event.event });
      },
    };
  }

  /** Points the scrape-time gauges at the running daemon. */
  observe(probes: MetricsProbes): void {
    this.#probes = probes;
  }

  /**
   * Wraps a source's decode target so each sample and rejection is counted under the source's
   * name, allocation-free: the tally is found once, here, not per sample.
   */
  tapSource(source: string, into: SourceTarget): SourceTarget {
    let tally = this.#tallies.get(source);
    if (tally === undefined) {
      tally = new SourceTally();
      this.#tallies.set(source, tally);
    }
    const counted = tally;
    return {
      sample(sample) {
        counted.accepted++;
        into.sample(sample);
      },
      reject(rejection) {
        counted.rejected.set(rejection.reason, (counted.rejected.get(rejection.reason) ?? 0) + 1);
        into.reject(rejection);
      },
      watchChannel: (pumpId, channel, silenceLimitMs) => into.watchChannel?.(pumpId, channel, silenceLimitMs),
    };
  }

  /** One alarm publish acknowledged by the broker, `latencyMs` after the event was emitted. */
  deliveryAcknowledged(latencyMs: number): void {
    this.#deliveryLatency.observe(Math.max(0, latencyMs) / 1000);
  }

  deliveryFailed(code: string): void {
    this.#deliveryFailures.inc({ code });
  }

  watchdogAttempt(outcome: WatchdogOutcome): void {
    this.#watchdogAttempts.inc({ outcome });
  }

  connectRefused(client: string, kind: string): void {
    this.#connectRefusals.inc({ client, kind });
  }

  /** Prometheus text exposition of every metric. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  stop(): void {
    if (this.#ownsLag) this.#lag.stop();
  }
}

/**
 * prom-client's process and Node metrics (CPU, memory, file descriptors, GC, nodejs_eventloop_lag_*)
 * in a registry of their own: made once per process, because they hold timers and observers
 * that are never released, and kept across in-process restarts of the daemon.
 */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** One exposition from several registries whose metric names do not overlap. */
export async function scrapeRegistries(registries: readonly Registry[]): Promise<{ contentType: string; body: string }> {
  const bodies = await Promise.all(registries.map((registry) => registry.metrics()));
  return { contentType: registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', body: bodies.join('') };
}
