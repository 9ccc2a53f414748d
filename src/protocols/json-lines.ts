import { LineFramer } from './line-framer.js';
import { decodeJsonFrame, type JsonDecodeOptions, type SampleOverrides } from '../telemetry/decode.js';
import type { DeviceSession, HostSession, HostSessionDeps, PumpChannelRef, PumpReading, SendBytes } from './protocol.js';
import { HostCounters, Observations } from './session-stats.js';

/**
 * pumpwatch's own framing: one telemetry v1 JSON object (or array) per `\n`-terminated line.
 * The pump talks unasked; the gateway never writes.
 */


export interface JsonLinesHostOptions {
  /** Identity the port knows better than the frame (one port, one pump). */
  pumpId?: string;
  channel?: string;
  maxFrameBytes: number;
  maxSamplesPerFrame: number;
}

export function createJsonLinesHostSession(options: JsonLinesHostOptions, deps: HostSessionDeps): HostSession {
  const { into } = deps;
  const overrides: SampleOverrides = {};
  if (options.pumpId !== undefined) overrides.pumpId = options.pumpId;
  if (options.channel !== undefined) overrides.channel = options.channel;
  const decodeOptions: JsonDecodeOptions =
    Object.keys(overrides).length > 0 ? { maxSamplesPerFrame: options.maxSamplesPerFrame, overrides } : { maxSamplesPerFrame: options.maxSamplesPerFrame };
  const framer = new LineFramer(options.maxFrameBytes, {
    frame(text) {
      counters.framesAccepted++;
      decodeJsonFrame(text, into, decodeOptions);
    },
    reject: (rejection) => into.reject(rejection),
  });
  const counters = new HostCounters(framer);
  const channels: readonly PumpChannelRef[] = options.pumpId === undefined ? [] : [{ pumpId: options.pumpId, channel: options.channel ?? '1' }];
  return {
    stats: counters,
    pollIntervalMs: undefined,
    channels,
    observations: new Observations(),
    opened: () => undefined,
    receive: (chunk) => framer.push(chunk),
    poll: () => undefined,
    closed: () => framer.reset(),
  };
}

/** One line for `reading`: the object as given (a simulator sample carries its own `ts`). */
export function encodeJsonLine(reading: PumpReading): Uint8Array {
  return Buffer.from(`${JSON.stringify(reading)}\n`, 'utf8');
}

/** The pump side, for the emulator: writes every reading as it comes. */
export function createJsonLinesDeviceSession(send: SendBytes): DeviceSession {
  return {
    receive: () => undefined,
    update: (reading) => void send(encodeJsonLine(reading)),
    tick: () => undefined,
  };
}
