import type { BindingInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import { systemClock, type Clock } from '../clock.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { SERIAL_DEFAULTS, type DeviceSession, type ProtocolId, type PumpReading } from '../protocols/protocol.js';
import { createDeviceSession } from './registry.js';

/**
 * A simulated pump (or Fresenius rack) on a serial port: it answers the gateway's queries in the
 * pump's protocol from the latest readings it was given. The simulator feeds it samples; a socat
 * pty pair connects it to `pumpwatch run`.
 */
export interface PumpEmulator {
  readonly path: string;
  readonly protocol: ProtocolId;
  readonly session: DeviceSession;
  /** Bytes the emulator could not write because the port was not draining. */
  readonly dropped: number;
  /** The pump's current reading of one channel. */
  update(reading: PumpReading): void;
  close(): Promise<void>;
}

export interface PumpEmulatorOptions {
  path: string;
  protocol: ProtocolId;
  binding: BindingInterface;
  clock: Clock;
  /** For the Fresenius rack: which pump channel sits in which module (default: in order of appearance). */
  modules?: readonly { module: number; pumpId: string; channel: string }[];
  /** Every verified frame the gateway sent, for logs and tests. */
  onCommand?: (body: string) => void;
  /** How often the device session's `tick` runs (the Fresenius ENQ keep-alive). */
  tickIntervalMs?: number;
}

/** More than this waiting to be written means the gateway is not reading; further replies are dropped. */
const MAX_PENDING_WRITE_BYTES = 64 * 1024;

export async function openPumpEmulator(options: PumpEmulatorOptions): Promise<PumpEmulator> {
  const { path, protocol, binding, clock } = options;
  const port = new SerialPortStream({ binding, path, ...SERIAL_DEFAULTS[protocol], autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  let dropped = 0;
  // A pty whose other end went away reports errors; the emulator keeps running until closed.
  port.on('error', () => undefined);
  const session = createDeviceSession(
    protocol,
    (bytes) => {
      if (!port.isOpen || port.writableLength > MAX_PENDING_WRITE_BYTES) {
        dropped += bytes.length;
        return false;
      }
      port.write(bytes);
      return true;
    },
    {
      clock,
      ...(options.modules === undefined ? {} : { modules: options.modules }),
      ...(options.onCommand === undefined ? {} : { onCommand: options.onCommand }),
    },
  );
  port.on('data', (chunk: Buffer) => session.receive(chunk));
  const ticker = setInterval(() => session.tick(), options.tickIntervalMs ?? 250);
  session.tick();
  return {
    path,
    protocol,
    session,
    get dropped() {
      return dropped;
    },
    update: (reading) => session.update(reading),
    async close() {
      clearInterval(ticker);
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

/**
 * The simulator's output shape (`src/simulate/outputs.ts` TelemetryOutput), so `pumpwatch
 * simulate --serial PATH --protocol alaris|fresenius` can put its samples behind a pump protocol.
 */
export interface EmulatorOutput {
  readonly name: string;
  write(emission: { sample: PumpReading }, line: string): void;
  flush(): void;
  close(): Promise<void>;
  readonly dropped: number;
}

export function emulatorOutput(emulator: PumpEmulator): EmulatorOutput {
  return {
    name: `${emulator.protocol} pump emulator on ${emulator.path}`,
    write: (emission) => emulator.update(emission.sample),
    flush: () => undefined,
    close: () => emulator.close(),
    get dropped() {
      return emulator.dropped;
    },
  };
}

/**
 * An emulator on `path` with the native binding and the system clock, as the simulator's output.
 * `modules` seats every channel before the first sample, so a gateway that opens its module
 * sessions at once is never told a module does not exist.
 */
export async function openEmulatorOutput(
  path: string,
  protocol: ProtocolId,
  modules?: PumpEmulatorOptions['modules'],
  loadBinding = loadSystemSerialBinding,
): Promise<EmulatorOutput> {
  return emulatorOutput(await openPumpEmulator({ path, protocol, binding: await loadBinding(), clock: systemClock, ...(modules === undefined ? {} : { modules }) }));
}
