import type { TelemetrySample } from '../telemetry/sample.js';
import { ChannelMap } from './channel-map.js';
import type { FindingSink } from '../alarms/finding.js';

/** One channel's relay state; the pipeline resolves it once per channel (`channel`) and hands it back on every sample (`onSample`). */
export interface PumpAlarmState {
  occlusionActive: boolean;
}

/**
 * Passes the pump's own downstream-occlusion alarm on as a `downstream-occlusion` finding, and
 * ends it when a sample no longer carries the code.
 */
export class PumpAlarmRelay {
  readonly #occlusionCodes: ReadonlySet<string>;
  readonly #channels = new ChannelMap<PumpAlarmState>(() => ({ occlusionActive: false }));
  readonly #emit: FindingSink;

  constructor(occlusionCodes: readonly string[], emit: FindingSink) {
    this.#occlusionCodes = new Set(occlusionCodes);
    this.#emit = emit;
  }

  forget(pumpId: string, channel: string): void {
    this.#channels.delete(pumpId, channel);
  }

  /** A channel's relay state, made on first use; dropped by `forget`. */
  channel(pumpId: string, channel: string): PumpAlarmState {
    return this.#channels.getOrCreate(pumpId, channel);
  }

  /** A sample of the channel whose state (`channel`) is given. */
  onSample(state: PumpAlarmState, sample: TelemetrySample): void {
    const occluded = this.#carriesOcclusionCode(sample.pumpAlarms);
    if (state.occlusionActive === occluded) return;
    state.occlusionActive = occluded;
    this.#emit({
      condition: 'downstream-occlusion',
      pumpId: sample.pumpId,
      channel: sample.channel,
      active: occluded,
      atMs: sample.ts,
      evidence: {
        source: 'pump-alarm',
        pumpAlarms: sample.pumpAlarms?.join(',') ?? '',
        downstreamPressureMmHg: sample.downstreamPressureMmHg ?? null,
        occlusionLimitMmHg: sample.occlusionLimitMmHg ?? null,
        rateMlPerH: sample.rateMlPerH ?? null,
      },
    });
  }

  #carriesOcclusionCode(codes: readonly string[] | undefined): boolean {
    if (codes === undefined) return false;
    for (const code of codes) if (this.#occlusionCodes.has(code)) return true;
    return false;
  }
}
