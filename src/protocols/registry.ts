import type { Clock } from '../clock.js';
import type { SerialPortConfig } from '../config/schema.js';
import { createAlarisDeviceSession } from './alaris-device.js';
import { createAlarisHostSession } from './alaris.js';
import { createFreseniusDeviceSession } from './fresenius-device.js';
import { createFreseniusHostSession } from './fresenius.js';
import { createJsonLinesDeviceSession, createJsonLinesHostSession } from './json-lines.js';
import type { DeviceSession, HostSession, HostSessionDeps, ProtocolId, SendBytes } from './protocol.js';

/** The gateway side of the protocol a configured port speaks. */
export function createHostSession(port: SerialPortConfig, deps: HostSessionDeps, maxSamplesPerFrame: number): HostSession {
  switch (port.protocol) {
    case 'alaris':
      return createAlarisHostSession(
        {
          pumpId: port.pumpId,
          channel: port.channel,
          pumpType: port.pumpType,
          pollIntervalMs: port.pollIntervalSeconds * 1000,
          maxFrameBytes: port.maxFrameBytes,
          startup: port.startup,
        },
        deps,
      );
    case 'fresenius':
      return createFreseniusHostSession(
        {
          modules: port.modules.map(({ module, pumpId, channel, pumpType }) => (pumpType === undefined ? { module, pumpId, channel } : { module, pumpId, channel, pumpType })),
          pollIntervalMs: port.pollIntervalSeconds * 1000,
          maxFrameBytes: port.maxFrameBytes,
        },
        deps,
      );
    case 'json-lines': {
      const { pumpId, channel, maxFrameBytes } = port;
      return createJsonLinesHostSession(
        { maxFrameBytes, maxSamplesPerFrame, ...(pumpId === undefined ? {} : { pumpId }), ...(channel === undefined ? {} : { channel }) },
        deps,
      );
    }
  }
}

/** How long a port may stay silent before its pumps raise telemetry-lost; undefined: the detection-wide limit. */
export function linkDeadlineMs(port: SerialPortConfig): number | undefined {
  return port.linkDeadlineSeconds === undefined ? undefined : port.linkDeadlineSeconds * 1000;
}

export interface DeviceSessionOptions {
  clock: Clock;
  /** For the Fresenius rack: which pump channel sits in which module (default: in order of appearance). */
  modules?: readonly { module: number; pumpId: string; channel: string }[];
  onCommand?: (body: string) => void;
}

/** The pump side of a protocol, for the emulator. */
export function createDeviceSession(protocol: ProtocolId, send: SendBytes, options: DeviceSessionOptions): DeviceSession {
  switch (protocol) {
    case 'alaris':
      return createAlarisDeviceSession(send, options.onCommand === undefined ? {} : { onCommand: options.onCommand });
    case 'fresenius':
      return createFreseniusDeviceSession(send, {
        clock: options.clock,
        ...(options.modules === undefined ? {} : { modules: options.modules }),
        ...(options.onCommand === undefined ? {} : { onCommand: options.onCommand }),
      });
    case 'json-lines':
      return createJsonLinesDeviceSession(send);
  }
}
