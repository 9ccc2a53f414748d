import type { BindingInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { SerialPortConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { decodeJsonFrame, type DecodeTarget, type JsonDecodeOptions, type Rejection, type SampleOverrides } from '../telemetry/decode.js';
import { LineFramer, type FrameTarget, type LineFramerStats } from './line-framer.js';
import type { TelemetrySource } from './source.js';

export type SerialLinkState = 'opening' | 'open' | 'waiting-to-reopen' | 'stopped';
export type SerialLinkListener = (state: SerialLinkState, source: SerialSource) => void;

/** Timer functions, injected so tests can step through the reopen backoff without waiting. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SerialSourceDeps {
  /** `@serialport/bindings-cpp` in production (see `loadSystemSerialBinding`), `MockBinding` in tests. */
  binding: BindingInterface;
  logger: Logger;
  timers?: Timers;
  /** A line may carry an array of samples; more than this is refused as `too-many-samples`. */
  maxSamplesPerFrame?: number;
}

const DEFAULT_MAX_SAMPLES_PER_FRAME = 100;

/** Loads the native binding only when a real port is opened, so tests and MQTT-only gateways never load it. */
export async function loadSystemSerialBinding(): Promise<BindingInterface> {
  const { autoDetect } = await import('@serialport/bindings-cpp');
  return autoDetect();
}

function closeQuietly(stream: SerialPortStream): Promise<void> {
  // A vanished device can fail to close; the stream is dropped either way.
  return new Promise((resolve) => {
    if (stream.isOpen) stream.close(() => resolve());
    else resolve();
  });
}

function ignoreError(): void {}

/**
 * Reads line-delimited JSON telemetry from one serial port. Read-only: it never writes to the pump.
 * When the port fails to open, closes, errors or ends, it is reopened with exponential backoff
 * (`reopenInitialSeconds` doubling up to `reopenMaxSeconds`, back to the start after an open
 * succeeds). Each attempt uses a fresh stream, so nothing from a dead link leaks into the next.
 */
export class SerialSource implements TelemetrySource {
  readonly name: string;
  readonly config: SerialPortConfig;
  readonly #binding: BindingInterface;
  readonly #logger: Logger;
  readonly #timers: Timers;
  readonly #decodeOptions: JsonDecodeOptions;
  readonly #framer: LineFramer;
  readonly #listeners = new Set<SerialLinkListener>();
  #into: DecodeTarget | undefined;
  #state: SerialLinkState = 'stopped';
  #stream: SerialPortStream | undefined;
  /** Bumped whenever a stream is abandoned, so late events from it are ignored. */
  #generation = 0;
  #pendingOpen: Promise<void> | undefined;
  /** Closing a lost link's stream; stop() waits for it so no descriptor outlives the source. */
  #pendingClose: Promise<void> | undefined;
  #reopenTimer: unknown;
  #nextDelayMs: number;
  #failedAttempts = 0;

  constructor(config: SerialPortConfig, deps: SerialSourceDeps) {
    this.config = config;
    this.name = `serial:${config.path}`;
    this.#binding = deps.binding;
    this.#logger = deps.logger.child({ source: this.name });
    this.#timers = deps.timers ?? systemTimers;
    this.#nextDelayMs = config.reopenInitialSeconds * 1000;
    const maxSamplesPerFrame = deps.maxSamplesPerFrame ?? DEFAULT_MAX_SAMPLES_PER_FRAME;
    const overrides: SampleOverrides = {};
    if (config.pumpId !== undefined) overrides.pumpId = config.pumpId;
    if (config.channel !== undefined) overrides.channel = config.channel;
    this.#decodeOptions = Object.keys(overrides).length > 0 ? { maxSamplesPerFrame, overrides } : { maxSamplesPerFrame };
    const frames: FrameTarget = {
      frame: (text) => {
        if (this.#into !== undefined) decodeJsonFrame(text, this.#into, this.#decodeOptions);
      },
      reject: (rejection: Rejection) => this.#into?.reject(rejection),
    };
    this.#framer = new LineFramer(config.maxFrameBytes, frames);
  }

  get linkState(): SerialLinkState {
    return this.#state;
  }

  get framerStats(): LineFramerStats {
    return this.#framer;
  }

  /** Calls `listener` on every link state change; returns a function that unsubscribes it. */
  onLinkStateChange(listener: SerialLinkListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves after the first open attempt, whether it succeeded or a reopen is now scheduled. */
  async start(into: DecodeTarget): Promise<void> {
    if (this.#into !== undefined) throw new Error(`PW_SERIAL_ALREADY_STARTED: ${this.name} is already started`);
    this.#into = into;
    await this.#open();
  }

  async stop(): Promise<void> {
    if (this.#into === undefined) return;
    this.#setState('stopped');
    this.#into = undefined;
    this.#timers.clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    this.#generation++;
    await this.#pendingOpen;
    await this.#pendingClose;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await this.#abandon(stream);
    this.#framer.reset();
    this.#logger.info({ code: 'PW_SERIAL_STOPPED', path: this.config.path }, 'serial port closed');
  }

  #open(): Promise<void> {
    this.#pendingOpen = this.#openOnce().finally(() => {
      this.#pendingOpen = undefined;
    });
    return this.#pendingOpen;
  }

  async #openOnce(): Promise<void> {
    const generation = ++this.#generation;
    this.#setState('opening');
    const { path, baudRate, dataBits, parity, stopBits } = this.config;
    let stream: SerialPortStream;
    try {
      stream = new SerialPortStream({ binding: this.#binding, path, baudRate, dataBits, parity, stopBits, autoOpen: false });
    } catch (error) {
      this.#openFailed(error as Error);
      return;
    }
    stream.on('error', ignoreError);
    const openError = await new Promise<Error | null>((resolve) => stream.open(resolve));
    if (generation !== this.#generation) {
      // stop() ran while the port was opening.
      if (openError === null) await closeQuietly(stream);
      return;
    }
    if (openError !== null) {
      this.#openFailed(openError);
      return;
    }
    this.#stream = stream;
    this.#framer.reset();
    this.#nextDelayMs = this.config.reopenInitialSeconds * 1000;
    this.#failedAttempts = 0;
    stream.on('data', (chunk: Buffer) => this.#framer.push(chunk));
    stream.on('close', (error: Error | null) => this.#linkLost(generation, 'closed', error));
    stream.on('end', () => this.#linkLost(generation, 'ended', null));
    stream.removeListener('error', ignoreError);
    stream.on('error', (error: Error) => this.#linkLost(generation, 'error', error));
    this.#logger.info({ code: 'PW_SERIAL_OPEN', path, baudRate }, 'serial port open');
    this.#setState('open');
  }

  #openFailed(error: Error): void {
    this.#failedAttempts++;
    this.#logger.warn(
      { code: 'PW_SERIAL_OPEN_FAILED', path: this.config.path, attempt: this.#failedAttempts, err: error.message },
      'serial port could not be opened',
    );
    this.#scheduleReopen();
  }

  #linkLost(generation: number, how: 'closed' | 'ended' | 'error', error: Error | null): void {
    if (generation !== this.#generation || this.#state === 'stopped') return;
    this.#generation++;
    const stream = this.#stream;
    this.#stream = undefined;
    const dropped = this.#framer.reset();
    this.#logger.warn(
      { code: 'PW_SERIAL_LINK_LOST', path: this.config.path, how, err: error?.message, droppedPartialFrameBytes: dropped },
      'serial link lost',
    );
    // Reopen only once the old descriptor is released: the port is opened with an exclusive lock.
    const closed = stream === undefined ? Promise.resolve() : this.#abandon(stream);
    this.#pendingClose = closed.then(() => {
      this.#pendingClose = undefined;
      if (this.#state !== 'stopped') this.#scheduleReopen();
    });
  }

  /** Detaches every handler except a silent error sink (an unheard 'error' would crash the process), then closes. */
  #abandon(stream: SerialPortStream): Promise<void> {
    stream.removeAllListeners();
    stream.on('error', ignoreError);
    return closeQuietly(stream);
  }

  #scheduleReopen(): void {
    const delayMs = this.#nextDelayMs;
    this.#nextDelayMs = Math.min(delayMs * 2, this.config.reopenMaxSeconds * 1000);
    this.#setState('waiting-to-reopen');
    this.#logger.info({ code: 'PW_SERIAL_REOPEN', path: this.config.path, delayMs }, 'serial port will be reopened');
    this.#reopenTimer = this.#timers.setTimeout(() => {
      this.#reopenTimer = undefined;
      void this.#open();
    }, delayMs);
  }

  #setState(state: SerialLinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state, this);
  }
}

/** One source per configured port. */
export function createSerialSources(ports: readonly SerialPortConfig[], deps: SerialSourceDeps): SerialSource[] {
  return ports.map((port) => new SerialSource(port, deps));
}
