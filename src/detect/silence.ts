import { ChannelMap } from './channel-map.js';
import type { FindingSink } from './finding.js';

interface ChannelLiveness {
  lastReceivedMs: number;
  lastSampleTs: number;
  lost: boolean;
}

/**
 * Raises `telemetry-lost` for a channel that has been silent longer than the limit, and ends it
 * when data returns. Time is the gateway clock at receipt (pump clocks drift); in replay that
 * clock is the sample time.
 */
export class SilenceWatch {
  readonly #silenceLimitMs: number;
  readonly #channels = new ChannelMap<ChannelLiveness>();
  readonly #emit: FindingSink;

  constructor(silenceLimitMs: number, emit: FindingSink) {
    this.#silenceLimitMs = silenceLimitMs;
    this.#emit = emit;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  onSample(pumpId: string, channel: string, sampleTs: number, receivedMs: number): void {
    const liveness = this.#channels.getOrCreate(pumpId, channel, () => ({ lastReceivedMs: receivedMs, lastSampleTs: sampleTs, lost: false }));
    liveness.lastReceivedMs = receivedMs;
    liveness.lastSampleTs = sampleTs;
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
    for (const [pumpId, channel, liveness] of this.#channels.entries()) {
      const silentMs = nowMs - liveness.lastReceivedMs;
      if (liveness.lost || silentMs <= this.#silenceLimitMs) continue;
      liveness.lost = true;
      this.#emit({
        condition: 'telemetry-lost',
        pumpId,
        channel,
        active: true,
        atMs: nowMs,
        evidence: { silentSeconds: Math.round(silentMs / 1000), limitSeconds: this.#silenceLimitMs / 1000, lastSampleTs: liveness.lastSampleTs },
      });
    }
  }
}
