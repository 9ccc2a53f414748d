import type { InfusionState } from '../telemetry/sample.js';
import { ChannelMap } from './channel-map.js';
import type { FindingSink } from '../alarms/finding.js';

/** One channel's liveness; the pipeline resolves it once per channel (`channel`) and hands it back on every sample (`onSampleAt`). */
export interface ChannelLiveness {
  lastReceivedMs: number;
  /** NaN until the channel's first sample (it was watched from configuration). */
  lastSampleTs: number;
  lost: boolean;
  limitMs: number;
  /** The last sample said stopped or paused: silence then means the pump was put away. */
  idle: boolean;
  lastState: InfusionState | undefined;
}

/** A channel retired for silence after it stopped: its alarms end and it is forgotten. */
export interface RetiredChannel {
  pumpId: string;
  channel: string;
  atMs: number;
  silentSeconds: number;
  lastState: InfusionState | undefined;
}

/**
 * Raises `telemetry-lost` for a channel that has been silent longer than its limit, and ends it
 * when data returns. Time is the gateway clock at receipt (pump clocks drift); in replay that
 * clock is the sample time. A channel is known from its first sample, or earlier through
 * `watch` (a serial port's configured pumps), so a pump that never answers is reported too.
 *
 * A channel whose last sample said `stopped` or `paused` raises nothing when it falls silent:
 * pumps are stopped and switched off all day on a ward, and alarming for each would be the flood
 * that teaches staff to ignore alarms. It is retired once silent for `retireAfterMs` instead.
 */
export class SilenceWatch {
  readonly #silenceLimitMs: number;
  readonly #retireAfterMs: number;
  readonly #channels: ChannelMap<ChannelLiveness>;
  readonly #emit: FindingSink;
  readonly #retire: (retired: RetiredChannel) => void;
  /** The instant `check` judges against, so its per-channel visit is one function made once. */
  #checkNowMs = 0;
  readonly #checkChannel = (liveness: ChannelLiveness, pumpId: string, channel: string): void => {
    const nowMs = this.#checkNowMs;
    const silentMs = nowMs - liveness.lastReceivedMs;
    if (liveness.idle) {
      if (silentMs > this.#retireAfterMs) {
        this.#channels.delete(pumpId, channel);
        this.#retire({ pumpId, channel, atMs: nowMs, silentSeconds: Math.round(silentMs / 1000), lastState: liveness.lastState });
      }
      return;
    }
    if (liveness.lost || silentMs <= liveness.limitMs) return;
    liveness.lost = true;
    this.#emit({
      condition: 'telemetry-lost',
      pumpId,
      channel,
      active: true,
      atMs: nowMs,
      evidence: {
        silentSeconds: Math.round(silentMs / 1000),
        limitSeconds: liveness.limitMs / 1000,
        lastSampleTs: Number.isNaN(liveness.lastSampleTs) ? null : liveness.lastSampleTs,
      },
    });
  };

  constructor(
    silenceLimitMs: number,
    emit: FindingSink,
    lifecycle: { retireAfterMs: number; retire: (retired: RetiredChannel) => void } = { retireAfterMs: Number.POSITIVE_INFINITY, retire: () => undefined },
  ) {
    this.#silenceLimitMs = silenceLimitMs;
    this.#retireAfterMs = lifecycle.retireAfterMs;
    this.#retire = lifecycle.retire;
    this.#emit = emit;
    this.#channels = new ChannelMap(() => ({ lastReceivedMs: 0, lastSampleTs: Number.NaN, lost: false, limitMs: silenceLimitMs, idle: false, lastState: undefined }));
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Watches a channel with its own silence limit (a serial link's deadline; undefined keeps the
   * default), counting from `nowMs` if it has not been heard from yet. Cheap enough to call on
   * every sample.
   */
  watch(pumpId: string, channel: string, silenceLimitMs: number | undefined, nowMs: number): void {
    const limitMs = silenceLimitMs ?? this.#silenceLimitMs;
    const known = this.#channels.get(pumpId, channel);
    if (known !== undefined) {
      known.limitMs = limitMs;
      return;
    }
    const created = this.#channels.getOrCreate(pumpId, channel);
    created.lastReceivedMs = nowMs;
    created.limitMs = limitMs;
  }

  knows(pumpId: string, channel: string): boolean {
    return this.#channels.get(pumpId, channel) !== undefined;
  }

  /** Stops watching a channel (retired): nothing more is raised for it until it is heard again. */
  forget(pumpId: string, channel: string): boolean {
    return this.#channels.delete(pumpId, channel);
  }

  onSample(pumpId: string, channel: string, sampleTs: number, receivedMs: number, state?: InfusionState): void {
    this.onSampleAt(this.channel(pumpId, channel), pumpId, channel, sampleTs, receivedMs, state);
  }

  /** A channel's liveness, made on first use. A retired channel's is dropped: resolve it again after `forget` or a retirement. */
  channel(pumpId: string, channel: string): ChannelLiveness {
    return this.#channels.getOrCreate(pumpId, channel);
  }

  /** `onSample` with the channel's liveness already resolved (`channel`). */
  onSampleAt(liveness: ChannelLiveness, pumpId: string, channel: string, sampleTs: number, receivedMs: number, state?: InfusionState): void {
    liveness.lastReceivedMs = receivedMs;
    liveness.lastSampleTs = sampleTs;
    liveness.lastState = state;
    liveness.idle = state === 'stopped' || state === 'paused';
    if (!liveness.lost) return;
    liveness.lost = false;
    this.#emit({
      condition: 'telemetry-lost',
      pumpId,
      channel,
      active: false,
      atMs: sampleTs,
      evidence: { resumedAtMs: receivedMs },
    });
  }

  /** Called on a timer in the daemon and as sample time advances in replay: O(channels). */
  check(nowMs: number): void {
    this.#checkNowMs = nowMs;
    this.#channels.forEach(this.#checkChannel);
  }
}
