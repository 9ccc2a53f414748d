import { AlarmManager, type AlarmSink, type RestoredAlarm } from './alarms/manager.js';
import { alarmPolicy } from './alarms/policy.js';
import type { Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { LineWatch } from './detect/line-watch.js';
import { FindingMerger } from './detect/merge.js';
import { PumpAlarmRelay } from './detect/pump-alarms.js';
import { SilenceWatch } from './detect/silence.js';
import type { Logger } from './log.js';
import type { Rejection } from './telemetry/decode.js';
import { RejectLedger } from './telemetry/rejects.js';
import type { TelemetrySample } from './telemetry/sample.js';
import { DetectorView } from './web/detector-view.js';
import { ChannelTraces, type TraceSettings } from './web/trace.js';

/** How often, at most, silence is checked as time advances. */
const SILENCE_CHECK_INTERVAL_MS = 1000;

export interface PipelineOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  sinks: readonly AlarmSink[];
  /** Alarms journaled by the previous run: they keep their alarmId and their channels are watched. */
  restoredAlarms?: readonly RestoredAlarm[];
  /** True where stations acknowledge (the daemon): unacknowledged alarms then escalate. */
  escalate?: boolean;
  /** Keep chart history per channel beside the detector (the ward page, replay --html). */
  trace?: TraceSettings | undefined;
}

/**
 * The core, identical in the daemon, replay and tests: validated samples in, alarm events out to
 * the sinks. Sources call `accept` or `reject`; the daemon calls `tick` on a timer.
 */
export class Pipeline {
  readonly alarms: AlarmManager;
  readonly rejects: RejectLedger;
  /** Chart history and recent alarm events, when asked for. */
  readonly traces: ChannelTraces | undefined;
  readonly #clock: Clock;
  readonly #pumpAlarms: PumpAlarmRelay;
  readonly #silence: SilenceWatch;
  readonly #lineWatch: LineWatch;
  #lastSilenceCheckMs = Number.NEGATIVE_INFINITY;
  #acceptedCount = 0;

  constructor({ config, clock, logger, sinks, restoredAlarms = [], escalate = false, trace }: PipelineOptions) {
    this.#clock = clock;
    // The traces are an alarm sink, so they exist before the detector they read (only once samples flow).
    this.traces = trace === undefined ? undefined : new ChannelTraces(trace, new DetectorView({ state: (pumpId, channel) => this.#lineWatch.state(pumpId, channel) }));
    this.alarms = new AlarmManager({
      identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
      clock,
      sinks: this.traces === undefined ? sinks : [...sinks, this.traces],
      priorities: config.alarms.priorities,
      policy: alarmPolicy(config.alarms, { escalate }),
    });
    this.alarms.restore(restoredAlarms);
    const onFinding = this.alarms.onFinding.bind(this.alarms);
    this.rejects = new RejectLedger(logger, clock, config.logging.rejectLogIntervalSeconds * 1000);
    // The pump's own occlusion alarm and the pressure trend both report downstream-occlusion:
    // the merger keeps it active while either holds it, so neither ends the other's alarm.
    const occlusionSources = new FindingMerger(onFinding);
    this.#pumpAlarms = new PumpAlarmRelay(config.detection.occlusionAlarmCodes, occlusionSources.source());
    this.#lineWatch = new LineWatch({
      settings: config.detection,
      occlusionAlarmCodes: config.detection.occlusionAlarmCodes,
      emit: occlusionSources.source(),
    });
    this.#silence = new SilenceWatch(config.detection.telemetryLostAfterSeconds * 1000, onFinding);
    // A restored channel that stays silent must raise telemetry-lost again, as if just heard from.
    const now = clock.now();
    for (const { snapshot } of restoredAlarms) {
      if (snapshot.pumpId !== config.gateway.id) this.#silence.onSample(snapshot.pumpId, snapshot.channel, now, now);
    }
  }

  get acceptedCount(): number {
    return this.#acceptedCount;
  }

  get channelCount(): number {
    return this.#silence.channelCount;
  }

  accept(sample: TelemetrySample): void {
    this.#acceptedCount++;
    const now = this.#clock.now();
    this.#silence.onSample(sample.pumpId, sample.channel, sample.ts, now);
    this.#pumpAlarms.onSample(sample);
    this.#lineWatch.onSample(sample);
    this.traces?.onSample(sample);
    this.tick();
  }

  /**
   * Watches a channel with its own silence limit (a serial link's deadline; undefined: the
   * detection-wide limit), before or after it is first heard from, so the pumps of a port that
   * never opens still raise telemetry-lost.
   */
  watchChannel(pumpId: string, channel: string, silenceLimitMs: number | undefined): void {
    this.#silence.watch(pumpId, channel, silenceLimitMs, this.#clock.now());
  }

  reject(source: string, rejection: Rejection): void {
    this.rejects.record(source, rejection);
  }

  /** Checks silence at most once per second of clock time, whoever calls it. */
  tick(): void {
    const now = this.#clock.now();
    if (now - this.#lastSilenceCheckMs < SILENCE_CHECK_INTERVAL_MS) return;
    this.#lastSilenceCheckMs = now;
    this.#silence.check(now);
    this.alarms.tick(now);
  }
}
