import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { DecodeTarget } from '../telemetry/decode.js';
import type { InfusionState } from '../telemetry/sample.js';

/**
 * The contract every pump protocol meets. A codec has two sides that share one framer:
 * - the host session (pumpwatch): bytes from the pump in, telemetry v1 samples or counted
 *   rejections out, and for polled protocols the status queries, acknowledgements and
 *   keep-alive answers to send. It never sends anything that changes an infusion.
 * - the device session (the pump emulator behind the simulator): the gateway's queries in,
 *   the pump's replies and reports out, encoded from a stream of readings.
 * Both are push-based and synchronous, never throw on input, and keep at most one frame
 * (bounded by `maxFrameBytes`) in memory.
 */

export const PROTOCOL_IDS = ['json-lines', 'alaris', 'fresenius'] as const;
export type ProtocolId = (typeof PROTOCOL_IDS)[number];

export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';

export interface SerialSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: Parity;
  stopBits: 1 | 1.5 | 2;
}

/** Each protocol's line settings, the defaults of a configured port. */
export const SERIAL_DEFAULTS: Readonly<Record<ProtocolId, Readonly<SerialSettings>>> = {
  'json-lines': { baudRate: 115_200, dataBits: 8, parity: 'none', stopBits: 1 },
  // OpenICE Asena.java and infupy alaris.py: 38400 8N1, no flow control.
  alaris: { baudRate: 38_400, dataBits: 8, parity: 'none', stopBits: 1 },
  // infupy fresenius.py: 19200, 7 data bits, even parity, 1 stop bit.
  fresenius: { baudRate: 19_200, dataBits: 7, parity: 'even', stopBits: 1 },
};

/** Where a protocol puts bytes on the wire. Returns false when the port is not taking bytes and they were dropped. */
export type SendBytes = (bytes: Uint8Array) => boolean;

/** What a framer has in memory and what it threw away: the bound tests and metrics check. */
export interface FramerStats {
  /** Bytes of the frame being received. Never more than `maxFrameBytes`. */
  readonly bufferedBytes: number;
  readonly peakBufferedBytes: number;
  /** Bytes outside any frame, inside refused frames, or inside overlong frames. */
  readonly discardedBytes: number;
}

export interface HostSessionStats extends FramerStats {
  /** Frames that passed framing and checksum. */
  readonly framesAccepted: number;
  /** Bytes handed to the port (queries, acknowledgements, keep-alive answers). */
  readonly bytesSent: number;
  /** Sends the port refused (it was not draining); each one is lost, not queued. */
  readonly sendsDropped: number;
}

/**
 * What a session learnt about the pump that the public record leaves open, for logs and metrics:
 * the mode words it could not map, and (Fresenius) which variables each module really reports.
 */
export interface ProtocolObservations {
  /** Mode words with no mapping, with how often each came. Bounded: at most MAX_UNKNOWN_MODES words. */
  readonly unknownModes: ReadonlyMap<string, number>;
  /** Per module (as a string), the variables asked for and those its last read reported. */
  readonly variables: ReadonlyMap<string, { readonly requested: string; readonly reported: string }>;
}

/** Distinct unknown mode words kept per session, so a babbling pump cannot grow the map. */
export const MAX_UNKNOWN_MODES = 16;

/** One (pump, channel) a port carries: what link supervision watches before the first sample. */
export interface PumpChannelRef {
  pumpId: string;
  channel: string;
}

/** The gateway side of one serial link. */
export interface HostSession {
  readonly stats: HostSessionStats;
  /** How often `poll` must be called while the link is open; undefined when the pump talks unasked. */
  readonly pollIntervalMs: number | undefined;
  /** The pump channels this link is configured for (empty when frames name their own pumps). */
  readonly channels: readonly PumpChannelRef[];
  readonly observations: ProtocolObservations;
  /** The port has opened: start the session (the first query goes out here). */
  opened(): void;
  /** Bytes from the pump, in any chunking. */
  receive(chunk: Uint8Array): void;
  /** Called every `pollIntervalMs` while the port is open. */
  poll(): void;
  /** The port is gone: drop the partial frame and session state. Returns the bytes dropped. */
  closed(): number;
}

export interface HostSessionDeps {
  into: DecodeTarget;
  send: SendBytes;
  /** Pump frames carry no time: samples are stamped with this clock at receipt. */
  clock: Clock;
  /** Where a session says, once, what it learnt about the pump (identity, unknown modes, variables). */
  logger?: Logger;
}

/** What a simulated pump channel reports: the telemetry fields the pump protocols can carry. */
export interface PumpReading {
  pumpId: string;
  channel?: string;
  state: InfusionState;
  rateMlPerH?: number;
  volumeInfusedMl?: number;
  downstreamPressureMmHg?: number;
  pumpAlarms?: readonly string[];
}

/** The pump side of one serial link, for the emulator. */
export interface DeviceSession {
  /** Bytes from the gateway. */
  receive(chunk: Uint8Array): void;
  /** The pump's current reading of one of its channels; spontaneous protocols report it at once. */
  update(reading: PumpReading): void;
  /** Called about once a second: protocols with a device-driven keep-alive send it here. */
  tick(): void;
}
