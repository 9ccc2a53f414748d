import type { Clock } from '../clock.js';
import { createAlarisDeviceSession } from './alaris-device.js';
import { createFreseniusDeviceSession } from './fresenius-device.js';
import { createJsonLinesDeviceSession } from '../protocols/json-lines.js';
import type { DeviceSession, ProtocolId, SendBytes } from '../protocols/protocol.js';

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
