import type { ChannelRetirement } from './alarms/audit-log.js';
import { PAUSE_MAX_MINUTES } from './alarms/commands.js';
import { scopeOf } from './alarms/event.js';
import { AlarmManager, type AlarmSink, type PauseEnded, type RestoredAlarm } from './alarms/manager.js';
import { alarmPolicy } from './alarms/policy.js';
import type { RetiredChannelStore } from './alarms/retired-channels.js';
import { Roster } from './alarms/roster.js';
import { createSettableClock, type Clock, type SettableClock } from './clock.js';
import type { Config } from './config/schema.js';
import { ChannelMap } from './detect/channel-map.js';
import type { LineState } from './detect/line-state.js';
import { LineWatch } from './detect/line-watch.js';
import { FindingMerger } from './detect/merge.js';
import { PumpAlarmRelay, type PumpAlarmState } from './detect/pump-alarms.js';
import { SilenceWatch, type ChannelLiveness, type RetiredChannel } from './detect/silence.js';
import type { Logger } from './log.js';
import type { DecodeTarget, Rejection } from './telemetry/decode.js';
import { RejectLedger } from './telemetry/rejects.js';
import type { TelemetrySample } from './telemetry/sample.js';
import { TimeGuard, type ChannelTime } from './detect/time-guard.js';
import { DetectorView } from './view/detector-view.js';
import { ChannelTraces, type ChannelTrace, type TraceSettings } from './view/trace.js';

/** How often, at most, silence is checked as time advances. */
const SILENCE_CHECK_INTERVAL_MS = 1000;
/** Where the pipeline's own refusals (sample times) are counted. */
export const TIME_GUARD_SOURCE = 'time-guard';

/**
 * One channel's state in every stage, found with one lookup per sample instead of one per stage
 * (about eight Map lookups, 5–9 % of a sample's CPU). Each stage still owns its state and makes
 * it when it did before (first offered; first past the time guard), so nothing changes order.
 * Dropped whenever a stage forgets the channel (`#forget`), so it never holds a stale state.
 */
interface ChannelStages {
  time: ChannelTime | undefined;
  liveness: ChannelLiveness | undefined;
  pumpAlarm: PumpAlarmState | undefined;
  line: LineState | undefined;
  trace: ChannelTrace | undefined;
}

export interface AlarmManagerSettings {
  config: Config;
  clock: Clock;
  /** Sinks known up front; the daemon adds its outbox later (see `AlarmManager.addSink`). */
  sinks: readonly AlarmSink[];
  /** True where stations acknowledge (the daemon): unacknowledged alarms then escalate. */
  escalate?: boolean;
  /** The ward roster; default: the configured one. */
  roster?: Roster;
  /** Told whenever a channel's pause ends (audit). */
  onPauseEnded?: (ended: PauseEnded) => void;
}

/** The alarm manager as the configuration sets it up; made first, then handed to the pipeline. */
export function createAlarmManager({ config, clock, sinks, escalate = false, roster = new Roster(config.roster), onPauseEnded }: AlarmManagerSettings): AlarmManager {
  const manager = new AlarmManager({
    identity: { gatewayId: config.gateway.id, site: config.gateway.site, ward: config.gateway.ward },
    clock,
    sinks,
    priorities: config.alarms.priorities,
    policy: alarmPolicy(config.alarms, { escalate }),
    placement: (pumpId, channel) => roster.placement(pumpId, channel),
    ...(onPauseEnded === undefined ? {} : { onPauseEnded }),
  });
  roster.onChange(() => manager.placementChanged());
  return manager;
}

export interface PipelineOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  /** Where findings go; its sinks receive the alarm events. */
  alarms: AlarmManager;
  /** Alarms journaled by the previous run: they keep their alarmId and their channels are watched. */
  restoredAlarms?: readonly RestoredAlarm[];
  /** Keep chart history per channel beside the detector (the ward page, replay --html). */
  trace?: TraceSettings | undefined;
  /**
   * Replay: sample times are the only clock. Accepted samples advance this clock, and sample times
   * are judged against the replayed timeline instead of the gateway clock.
   */
  sampleClock?: SettableClock | undefined;
  /** Sample times the time guard refused, for the source's metrics (they are always in `rejects`). */
  onTimeReject?: (rejection: Rejection) => void;
  /** Told about every retired channel (audit). */
  onRetired?: (retirement: ChannelRetirement) => void;
  /** Retired channels kept across restarts (the daemon's state directory); default: none kept. */
  retiredChannels?: RetiredChannelStore | undefined;
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
  readonly #occlusionSources: FindingMerger;
  readonly #time: TimeGuard;
  readonly #sampleClock: SettableClock | undefined;
  readonly #onRetired: ((retirement: ChannelRetirement) => void) | undefined;
  readonly #retired: RetiredChannelStore | undefined;
  readonly #noticeOnRetire: boolean;
  readonly #stages = new ChannelMap<ChannelStages>(() => ({ time: undefined, liveness: undefined, pumpAlarm: undefined, line: undefined, trace: undefined }));
  /** The channel of the sample being offered: the time guard passes on only that channel's samples, before `offerAt` returns. */
  #current: ChannelStages | undefined;
  #lastSilenceCheckMs = Number.NEGATIVE_INFINITY;
  #acceptedCount = 0;

  constructor({ config, clock, logger, alarms, restoredAlarms = [], trace, sampleClock, onTimeReject, onRetired, retiredChannels }: PipelineOptions) {
    this.#clock = clock;
    this.#retired = retiredChannels;
    this.#noticeOnRetire = config.lifecycle.noticeOnRetire;
    this.#sampleClock = sampleClock;
    this.#onRetired = onRetired;
    this.alarms = alarms;
    // The traces are an alarm sink; they read the detector only once samples flow.
    this.traces = trace === undefined ? undefined : new ChannelTraces(trace, new DetectorView({ state: (pumpId, channel) => this.#lineWatch.state(pumpId, channel) }));
    if (this.traces !== undefined) this.alarms.addSink(this.traces);
    this.alarms.restore(restoredAlarms);
    const onFinding = this.alarms.onFinding.bind(this.alarms);
    this.rejects = new RejectLedger(logger, clock, config.logging.rejectLogIntervalSeconds * 1000);
    // The pump's own occlusion alarm and the pressure trend both report downstream-occlusion:
    // the merger keeps it active while either holds it, so neither ends the other's alarm.
    const occlusionSources = new FindingMerger(onFinding);
    this.#occlusionSources = occlusionSources;
    this.#pumpAlarms = new PumpAlarmRelay(config.detection.occlusionAlarmCodes, occlusionSources.source());
    this.#lineWatch = new LineWatch({
      settings: config.detection,
      occlusionAlarmCodes: config.detection.occlusionAlarmCodes,
      emit: occlusionSources.source(),
    });
    this.#silence = new SilenceWatch(config.detection.telemetryLostAfterSeconds * 1000, onFinding, {
      retireAfterMs: config.lifecycle.retireAfterSeconds * 1000,
      retire: (retired) => this.#retiredForSilence(retired),
    });
    this.#time = new TimeGuard({
      settings: { maxSkewMs: config.time.maxSkewSeconds * 1000, resyncSamples: config.time.resyncSamples },
      reference: sampleClock === undefined ? 'gateway-clock' : 'sample-time',
      now: () => clock.now(),
      accept: (sample) => this.#process(sample),
      reject: (rejection) => {
        this.rejects.record(TIME_GUARD_SOURCE, rejection);
        onTimeReject?.(rejection);
      },
      emit: onFinding,
    });
    // A restored channel that stays silent must raise telemetry-lost again, as if just heard from.
    const now = clock.now();
    for (const { snapshot } of restoredAlarms) {
      if (scopeOf(snapshot) === 'channel') this.#silence.onSample(snapshot.pumpId, snapshot.channel, now, now);
    }
  }

  /** Samples that reached the detector. */
  get acceptedCount(): number {
    return this.#acceptedCount;
  }

  /** Samples the time guard holds while their time is in doubt: taken in, not yet judged or refused. */
  get heldSampleCount(): number {
    return this.#time.heldCount;
  }

  get channelCount(): number {
    return this.#silence.channelCount;
  }

  /** A decoded sample; its time is checked (time guard) before any detector sees it. */
  accept(sample: TelemetrySample): void {
    const stages = this.#stages.getOrCreate(sample.pumpId, sample.channel);
    stages.time ??= this.#time.channel(sample.pumpId, sample.channel);
    this.#current = stages;
    this.#time.offerAt(stages.time, sample);
  }

  #process(sample: TelemetrySample): void {
    const stages = this.#current!;
    const { pumpId, channel } = sample;
    this.#acceptedCount++;
    // Heard from again: a retired channel is watched afresh (and stays watched after a restart).
    if (this.#retired !== undefined && this.#retired.size > 0 && this.#retired.has(pumpId, channel)) this.#retired.delete(pumpId, channel);
    this.#sampleClock?.set(sample.ts);
    const now = this.#clock.now();
    this.#silence.onSampleAt((stages.liveness ??= this.#silence.channel(pumpId, channel)), pumpId, channel, sample.ts, now, sample.state);
    this.#pumpAlarms.onSample((stages.pumpAlarm ??= this.#pumpAlarms.channel(pumpId, channel)), sample);
    this.#lineWatch.onSampleAt((stages.line ??= this.#lineWatch.channel(pumpId, channel)), sample);
    if (this.traces !== undefined) this.traces.onSample((stages.trace ??= this.traces.channel(pumpId, channel)), sample);
    this.tick();
  }

  /**
   * Watches a channel with its own silence limit (a serial link's deadline; undefined: the
   * detection-wide limit), before or after it is first heard from, so the pumps of a port that
   * never opens still raise telemetry-lost.
   */
  watchChannel(pumpId: string, channel: string, silenceLimitMs: number | undefined): void {
    // A retired pump is not watched from configuration again; its own next sample brings it back.
    if (this.#retired !== undefined && this.#retired.size > 0 && this.#retired.has(pumpId, channel)) return;
    this.#silence.watch(pumpId, channel, silenceLimitMs, this.#clock.now());
  }

  /**
   * Takes a channel out of watch (a station says the pump is gone): its alarms end, its detector
   * state is forgotten, and it raises nothing until heard from again. False when nothing was known.
   */
  retire(pumpId: string, channel: string, by: string): boolean {
    const known = this.#silence.forget(pumpId, channel);
    const atMs = this.#clock.now();
    const endedAlarms = this.#forget(pumpId, channel, atMs, { reason: 'channel-retired', retiredBy: by });
    if (!known && endedAlarms === 0) return false;
    this.#retired?.add(pumpId, channel, atMs);
    this.#onRetired?.({ pumpId, channel, atMs, by, endedAlarms, evidence: {} });
    return true;
  }

  /**
   * Pauses a channel's alarm signals for `minutes` (a station, for a line change): detection goes
   * on and its alarms are still sent, marked paused and not escalated, until it is resumed or
   * the time is up. Undefined when the channel is not known (never heard from, no alarm).
   */
  pause(pumpId: string, channel: string, minutes: number, by: string): { untilMs: number } | undefined {
    if (!this.#knows(pumpId, channel)) return undefined;
    const untilMs = this.#clock.now() + Math.min(minutes, PAUSE_MAX_MINUTES) * 60_000;
    this.alarms.pause({ pumpId, channel, untilMs, by });
    return { untilMs };
  }

  /** Ends a station's pause early; false when the channel was not paused. */
  resume(pumpId: string, channel: string): boolean {
    return this.alarms.resume(pumpId, channel, 'resumed') !== undefined;
  }

  #knows(pumpId: string, channel: string): boolean {
    return this.#silence.knows(pumpId, channel) || this.alarms.activeAlarms().some((alarm) => alarm.pumpId === pumpId && alarm.channel === channel);
  }

  #retiredForSilence({ pumpId, channel, atMs, silentSeconds, lastState }: RetiredChannel): void {
    const evidence = { reason: 'channel-retired', retiredBy: 'silence-after-stop', silentSeconds, lastState: lastState ?? null };
    const endedAlarms = this.#forget(pumpId, channel, atMs, evidence);
    this.#retired?.add(pumpId, channel, atMs);
    this.#onRetired?.({ pumpId, channel, atMs, by: 'silence-after-stop', endedAlarms, evidence: { silentSeconds, lastState: lastState ?? null } });
    if (this.#noticeOnRetire) {
      this.alarms.notify({ condition: 'channel-retired', pumpId, channel, active: true, atMs, evidence: { silentSeconds, lastState: lastState ?? null, endedAlarms } });
    }
  }

  #forget(pumpId: string, channel: string, atMs: number, evidence: Record<string, string | number | boolean | null>): number {
    this.#stages.delete(pumpId, channel);
    this.#time.forget(pumpId, channel);
    this.#lineWatch.forget(pumpId, channel);
    this.#pumpAlarms.forget(pumpId, channel);
    this.#occlusionSources.forget(pumpId, channel);
    return this.alarms.endChannel(pumpId, channel, atMs, evidence);
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

export interface ReplayOptions {
  config: Config;
  logger: Logger;
  sinks: readonly AlarmSink[];
  /** Names the rejections in the reject ledger. */
  source: string;
  /** Keep chart history per channel (replay --html). */
  trace?: TraceSettings | undefined;
  /**
   * Judge each sample's time against the replayed timeline (`pumpwatch replay`): only accepted
   * samples advance the clock, so one dated 2099 cannot. Otherwise every sample sets the clock first.
   */
  judgeSampleTimes?: boolean;
}

/**
 * The replay loop shared by `pumpwatch replay`, the evaluator and the tests: each sample's own
 * time is the clock, so the same input and config give the same alarm events.
 */
export class ReplayLoop implements DecodeTarget {
  readonly clock: SettableClock = createSettableClock();
  readonly pipeline: Pipeline;
  readonly #source: string;
  readonly #judgeSampleTimes: boolean;

  constructor({ config, logger, sinks, source, trace, judgeSampleTimes = false }: ReplayOptions) {
    this.#source = source;
    this.#judgeSampleTimes = judgeSampleTimes;
    const alarms = createAlarmManager({ config, clock: this.clock, sinks });
    const sampleClock = judgeSampleTimes ? this.clock : undefined;
    this.pipeline = new Pipeline({ config, clock: this.clock, logger, alarms, trace, sampleClock });
  }

  sample(sample: TelemetrySample): void {
    if (!this.#judgeSampleTimes) this.clock.set(sample.ts);
    this.pipeline.accept(sample);
  }

  reject(rejection: Rejection): void {
    this.pipeline.reject(this.#source, rejection);
  }

  /** Lets time pass without a sample, so silence and hold-offs fall due. */
  advanceTo(epochMs: number): void {
    this.clock.set(epochMs);
    this.pipeline.tick();
  }
}
