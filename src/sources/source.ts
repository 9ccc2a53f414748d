import type { DecodeTarget } from '../telemetry/decode.js';

/**
 * Where a source delivers: decoded samples and rejections, and the channels its link holds to a
 * deadline of its own, all on the one path every sample takes.
 */
export interface SourceTarget extends DecodeTarget {
  /**
   * Watches a channel with its own silence limit (undefined: the detection-wide limit), before or
   * after it is first heard from, so the pumps of a port that never opens still raise
   * telemetry-lost.
   */
  watchChannel?(pumpId: string, channel: string, silenceLimitMs: number | undefined): void;
}

/**
 * A place telemetry comes from. A source owns its IO and its reconnection; it hands every
 * decoded sample or rejection to `into` and never stops on bad input.
 */
export interface TelemetrySource {
  /** Stable label used in logs and reject counts, e.g. `serial:/dev/ttyUSB0` or `mqtt`. */
  readonly name: string;
  start(into: SourceTarget): Promise<void>;
  stop(): Promise<void>;
}
