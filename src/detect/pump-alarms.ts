import type { TelemetrySample } from '../telemetry/sample.js';
import { ChannelMap } from './channel-map.js';
import type { FindingSink } from '../alarms/finding.js';

interface PumpAlarmState {
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

  onSample(sample: TelemetrySample): void {
    const occluded = this.#carriesOcclusionCode(sample.pumpAlarms);
    const state = this.#channels.get(sample.pumpId, sample.channel);
    if (state === undefined && !occluded) return;
    const current = state ?? this.#channels.getOrCreate(sample.pumpId, sample.channel);
    if (current.occlusionActive === occluded) return;
    current.occlusionActive = occluded;
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
