import type { SerialPortConfig } from '../config/schema.js';
import { createAlarisHostSession } from '../protocols/alaris.js';
import { createFreseniusHostSession } from '../protocols/fresenius.js';
import { createJsonLinesHostSession } from '../protocols/json-lines.js';
import type { HostSession, HostSessionDeps } from '../protocols/protocol.js';

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
