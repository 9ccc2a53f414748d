import type { BindingInterface } from '@serialport/bindings-cpp';
import type { Writable } from 'node:stream';
import type { SimEmission } from './channel.js';

/** Where simulated telemetry goes. `write` may return a promise to slow the run down (backpressure). */
export interface TelemetryOutput {
  readonly name: string;
  write(emission: SimEmission, line: string): void | Promise<void>;
  /** Pushes buffered lines out (called before the pacer waits). */
  flush(): void | Promise<void>;
  close(): Promise<void>;
  /** Samples that could not be delivered (e.g. broker down). */
  readonly dropped: number;
}

/** Lines are joined into chunks of about this size before a stream write. */
const CHUNK_CHARS = 1 << 16;

function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      stream.off('drain', onDrain);
      reject(error);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

/** JSON lines into a stream (file or stdout), chunked, honouring the stream's backpressure. */
export function createStreamOutput(stream: Writable, name: string, options: { end: boolean }): TelemetryOutput {
  let buffer = '';
  const flush = (): Promise<void> | undefined => {
    if (buffer === '') return undefined;
    const chunk = buffer;
    buffer = '';
    return stream.write(chunk) ? undefined : waitForDrain(stream);
  };
  return {
    name,
    dropped: 0,
    write(_emission, line) {
      buffer += `${line}\n`;
      return buffer.length >= CHUNK_CHARS ? flush() : undefined;
    },
    flush: () => flush(),
    async close() {
      await flush();
      if (!options.end) return;
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
    },
  };
}

/** The part of an mqtt.js client the simulator uses. */
export interface MqttPublisher {
  readonly connected: boolean;
  publishAsync(topic: string, message: string, options: { qos: 0 | 1 }): Promise<unknown>;
  endAsync(): Promise<void>;
}

export type MqttConnect = (url: string, options: { clientId: string; queueQoSZero: boolean; reconnectPeriod: number; connectTimeout: number }) => Promise<MqttPublisher>;

/** mqtt.js, loaded only when a run publishes. */
export const connectMqtt: MqttConnect = async (url, options) => {
  const { connectAsync } = await import('mqtt');
  return connectAsync(url, options);
};

/**
 * Publishes each sample to `<prefix>/<pumpId>/telemetry` at QoS 0 (the daemon subscribes to
 * `pumps/+/telemetry` by default). While the broker is unreachable samples are dropped and
 * counted, as a real pump's would be; they are never queued without bound.
 */
export async function createMqttOutput(url: string, topicPrefix: string, connect: MqttConnect, clientId: string): Promise<TelemetryOutput> {
  const client = await connect(url, { clientId, queueQoSZero: false, reconnectPeriod: 1000, connectTimeout: 10_000 });
  let dropped = 0;
  const countDrop = () => {
    dropped++;
  };
  return {
    name: `mqtt ${url}`,
    get dropped() {
      return dropped;
    },
    write(emission, line) {
      if (!client.connected) {
        dropped++;
        return undefined;
      }
      // QoS 0 resolves once the packet is on the socket: awaiting it is the backpressure.
      return client.publishAsync(`${topicPrefix}/${emission.sample.pumpId}/telemetry`, line, { qos: 0 }).then(undefined, countDrop);
    },
    flush: () => undefined,
    close: () => client.endAsync(),
  };
}

/** The part of a serial port stream the simulator uses. */
export type SerialWriter = Pick<Writable, 'write' | 'end' | 'once' | 'off'> & {
  drain(callback: (error?: Error | null) => void): void;
  close(callback: (error?: Error | null) => void): void;
};

export type SerialOpen = (path: string, baudRate: number) => Promise<SerialWriter>;

/**
 * Opens ports through @serialport/stream with the given binding (MockBinding in tests); by
 * default the native binding, loaded only when a run writes to a port.
 */
export function serialOpener(loadBinding: () => Promise<BindingInterface> = loadNativeBinding): SerialOpen {
  return async (path, baudRate) => {
    const [{ SerialPortStream }, binding] = await Promise.all([import('@serialport/stream'), loadBinding()]);
    const port = new SerialPortStream({ binding, path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    return port;
  };
}

async function loadNativeBinding(): Promise<BindingInterface> {
  const { autoDetect } = await import('@serialport/bindings-cpp');
  return autoDetect();
}

/** JSON lines to a serial device or pty, one line per sample, honouring the port's backpressure. */
export async function createSerialOutput(path: string, baudRate: number, open: SerialOpen): Promise<TelemetryOutput> {
  const port = await open(path, baudRate);
  return {
    name: `serial ${path}`,
    dropped: 0,
    write(_emission, line) {
      if (port.write(`${line}\n`)) return undefined;
      return new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          port.off('error', onError);
          resolve();
        };
        const onError = (error: Error) => {
          port.off('drain', onDrain);
          reject(error);
        };
        port.once('drain', onDrain);
        port.once('error', onError);
      });
    },
    flush: () => undefined,
    async close() {
      // Closing cancels writes still queued, so let every line reach the device first.
      await new Promise<void>((resolve, reject) => {
        port.once('error', reject);
        port.end(() => resolve());
      });
      await new Promise<void>((resolve) => port.drain(() => resolve()));
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
