import type { DecodeTarget } from '../telemetry/decode.js';

/**
 * A place telemetry comes from. A source owns its IO and its reconnection; it hands every
 * decoded sample or rejection to `into` and never stops on bad input.
 */
export interface TelemetrySource {
  /** Stable label used in logs and reject counts, e.g. `serial:/dev/ttyUSB0` or `mqtt`. */
  readonly name: string;
  start(into: DecodeTarget): Promise<void>;
  stop(): Promise<void>;
}
