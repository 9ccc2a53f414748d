import type { SettableClock } from '../../src/clock.js';
import { createSettableClock } from '../../src/clock.js';
import type { DeviceSession, HostSession, HostSessionDeps, SendBytes } from '../../src/protocols/protocol.js';
import { createTelemetryRecorder } from './telemetry-recorder.js';

/** Bytes a session sent, kept in order, with a switch to refuse sends like a port that stopped draining. */
export function createWire() {
  const chunks: Uint8Array[] = [];
  let refusing = false;
  const send: SendBytes = (bytes) => {
    if (refusing) return false;
    chunks.push(Uint8Array.from(bytes));
    return true;
  };
  return {
    send,
    chunks,
    /** Everything sent since the last `take`, as one buffer. */
    take(): Buffer {
      const all = Buffer.concat(chunks);
      chunks.length = 0;
      return all;
    },
    refuse(value: boolean) {
      refusing = value;
    },
  };
}

/** A host session with a settable clock, a recorder for what it decodes and a wire for what it sends. */
export function createHostHarness<T extends HostSession>(create: (deps: HostSessionDeps) => T, startMs = 1_700_000_000_000) {
  const clock: SettableClock = createSettableClock(startMs);
  const recorder = createTelemetryRecorder();
  const wire = createWire();
  const host = create({ into: recorder.target, send: wire.send, clock });
  return { clock, recorder, wire, host };
}

/**
 * A host and a device session talking through in-memory wires. `settle` delivers queued bytes in
 * both directions until both are quiet, so exchanges run without re-entrancy.
 */
export function linkHostToDevice<T extends HostSession, D extends DeviceSession>(
  createHost: (deps: HostSessionDeps) => T,
  createDevice: (send: SendBytes, clock: SettableClock) => D,
  startMs = 1_700_000_000_000,
) {
  const harness = createHostHarness(createHost, startMs);
  const deviceWire = createWire();
  const device = createDevice(deviceWire.send, harness.clock);
  const hostLog: Buffer[] = [];
  const settle = () => {
    for (let rounds = 0; rounds < 1000; rounds++) {
      const toDevice = harness.wire.take();
      const toHost = deviceWire.take();
      if (toDevice.length === 0 && toHost.length === 0) return;
      if (toDevice.length > 0) {
        hostLog.push(toDevice);
        device.receive(toDevice);
      }
      if (toHost.length > 0) harness.host.receive(toHost);
    }
    throw new Error('host and device kept talking for 1000 rounds');
  };
  /** Everything the host has sent through `settle` so far. */
  const hostSent = () => Buffer.concat(hostLog);
  return { ...harness, device, deviceWire, settle, hostSent };
}
