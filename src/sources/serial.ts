import type { BindingInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import { stat } from 'node:fs/promises';
import { systemClock, systemTimers, type Clock, type TimeoutTimers } from '../clock.js';
import type { SerialPortConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { HostSession, HostSessionStats, ProtocolObservations, PumpChannelRef } from '../protocols/protocol.js';
import type { DecodeTarget } from '../telemetry/decode.js';
import { createHostSession, linkDeadlineMs } from './serial-sessions.js';
import type { SourceTarget, TelemetrySource } from './source.js';

export type SerialLinkState = 'opening' | 'open' | 'waiting-to-reopen' | 'stopped';
export type SerialLinkListener = (state: SerialLinkState, source: SerialSource) => void;

export interface SerialSourceDeps {
  /** `@serialport/bindings-cpp` in production (see `loadSystemSerialBinding`), `MockBinding` in tests. */
  binding: BindingInterface;
  logger: Logger;
  /** Injected so tests can step through the reopen backoff without waiting. */
  timers?: TimeoutTimers;
  /** Stamps samples of protocols whose frames carry no time. */
  clock?: Clock;
  /** A line may carry an array of samples; those past this many are refused as `too-many-samples`. */
  maxSamplesPerFrame?: number;
  /** Names the device node behind a path, or undefined when there is none; `stat` by default. */
  identifyDevice?: (path: string) => Promise<string | undefined>;
}

const DEFAULT_MAX_SAMPLES_PER_FRAME = 100;
/**
 * How often an open port's path is checked for the device it was opened on. serialport on Linux
 * does not always report a yanked USB adapter (node-serialport issues #2043, #1465): the read
 * just stops, and the port would look open forever.
 */
const DEVICE_CHECK_INTERVAL_MS = 1000;
/** Queries are a few bytes a second: more than this waiting means the port is not draining, so further sends are dropped rather than queued without bound. */
const MAX_PENDING_WRITE_BYTES = 4096;

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

/** Device number and inode of the node a path resolves to (following by-id links): a re-plugged adapter gets a new node. */
async function identifyDeviceNode(path: string): Promise<string | undefined> {
  try {
    const node = await stat(path);
    return `${node.dev}:${node.ino}:${node.rdev}`;
  } catch {
    return undefined;
  }
}

/**
 * Reads pump telemetry from one serial port in the port's protocol (src/protocols). JSON lines
 * are read only; polled protocols are sent their status queries every poll interval while the
 * port is open, and nothing that changes an infusion.
 * When the port fails to open, closes, errors or ends, it is reopened with exponential backoff
 * (`reopenInitialSeconds` doubling up to `reopenMaxSeconds`, back to the start after an open
 * succeeds). Each attempt uses a fresh stream and a fresh protocol session, so nothing from a
 * dead link leaks into the next.
 */
export class SerialSource implements TelemetrySource {
  readonly name: string;
  readonly config: SerialPortConfig;
  readonly #binding: BindingInterface;
  readonly #logger: Logger;
  readonly #timers: TimeoutTimers;
  readonly #session: HostSession;
  readonly #listeners = new Set<SerialLinkListener>();
  #into: SourceTarget | undefined;
  #state: SerialLinkState = 'stopped';
  #stream: SerialPortStream | undefined;
  /** Bumped whenever a stream is abandoned, so late events from it are ignored. */
  #generation = 0;
  #pendingOpen: Promise<void> | undefined;
  /** Closing a lost link's stream; stop() waits for it so no descriptor outlives the source. */
  #pendingClose: Promise<void> | undefined;
  #reopenTimer: unknown;
  #pollTimer: unknown;
  #deviceCheckTimer: unknown;
  readonly #identifyDevice: (path: string) => Promise<string | undefined>;
  #nextDelayMs: number;
  #failedAttempts = 0;

  constructor(config: SerialPortConfig, deps: SerialSourceDeps) {
    this.config = config;
    this.name = `serial:${config.path}`;
    this.#binding = deps.binding;
    this.#logger = deps.logger.child({ source: this.name });
    this.#timers = deps.timers ?? systemTimers;
    this.#identifyDevice = deps.identifyDevice ?? identifyDeviceNode;
    this.#nextDelayMs = config.reopenInitialSeconds * 1000;
    const deadlineMs = linkDeadlineMs(config);
    const into: DecodeTarget = {
      sample: (sample) => {
        // A JSON-lines port may name its own pumps: each one heard is held to the port's deadline.
        if (deadlineMs !== undefined) this.#into?.watchChannel?.(sample.pumpId, sample.channel, deadlineMs);
        this.#into?.sample(sample);
      },
      reject: (rejection) => this.#into?.reject(rejection),
    };
    this.#session = createHostSession(
      config,
      { into, send: (bytes) => this.#send(bytes), clock: deps.clock ?? systemClock, logger: this.#logger },
      deps.maxSamplesPerFrame ?? DEFAULT_MAX_SAMPLES_PER_FRAME,
    );
  }

  get linkState(): SerialLinkState {
    return this.#state;
  }

  /** Framing figures (buffered, peak, discarded bytes) and what was sent to the pump. */
  get framerStats(): HostSessionStats {
    return this.#session.stats;
  }

  /** What the protocol session learnt about the pump: unknown mode words, variables a module reports. */
  get protocolObservations(): ProtocolObservations {
    return this.#session.observations;
  }

  /** The pump channels this port is configured for; empty for JSON lines that name their own pumps. */
  get channels(): readonly PumpChannelRef[] {
    return this.#session.channels;
  }

  /** Silence after which this port's pumps raise telemetry-lost; undefined: the detection-wide limit. */
  get linkDeadlineMs(): number | undefined {
    return linkDeadlineMs(this.config);
  }

  /** Calls `listener` on every link state change; returns a function that unsubscribes it. */
  onLinkStateChange(listener: SerialLinkListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves after the first open attempt, whether it succeeded or a reopen is now scheduled. */
  async start(into: SourceTarget): Promise<void> {
    if (this.#into !== undefined) throw new Error(`PW_SERIAL_ALREADY_STARTED: ${this.name} is already started`);
    this.#into = into;
    for (const { pumpId, channel } of this.#session.channels) into.watchChannel?.(pumpId, channel, this.linkDeadlineMs);
    await this.#open();
  }

  async stop(): Promise<void> {
    if (this.#into === undefined) return;
    this.#setState('stopped');
    this.#into = undefined;
    this.#timers.clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    this.#stopPolling();
    this.#stopDeviceCheck();
    this.#generation++;
    await this.#pendingOpen;
    await this.#pendingClose;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await this.#abandon(stream);
    this.#session.closed();
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
    const device = await this.#identifyDevice(path);
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
    this.#session.closed();
    this.#nextDelayMs = this.config.reopenInitialSeconds * 1000;
    this.#failedAttempts = 0;
    stream.on('data', (chunk: Buffer) => this.#session.receive(chunk));
    stream.on('close', (error: Error | null) => this.#linkLost(generation, 'closed', error));
    stream.on('end', () => this.#linkLost(generation, 'ended', null));
    stream.removeListener('error', ignoreError);
    stream.on('error', (error: Error) => this.#linkLost(generation, 'error', error));
    this.#logger.info({ code: 'PW_SERIAL_OPEN', path, baudRate, protocol: this.config.protocol }, 'serial port open');
    this.#setState('open');
    this.#session.opened();
    this.#schedulePoll(generation);
    // A path with no node behind it (a test binding's invented name) has nothing to watch.
    if (device !== undefined) this.#scheduleDeviceCheck(generation, device);
  }

  /** Hands bytes to the open port; refuses (and the session counts a drop) when it is closed or not draining. */
  #send(bytes: Uint8Array): boolean {
    const stream = this.#stream;
    if (stream === undefined || !stream.isOpen || stream.writableLength > MAX_PENDING_WRITE_BYTES) return false;
    stream.write(bytes);
    return true;
  }

  #schedulePoll(generation: number): void {
    const intervalMs = this.#session.pollIntervalMs;
    if (intervalMs === undefined) return;
    this.#pollTimer = this.#timers.setTimeout(() => {
      this.#pollTimer = undefined;
      if (generation !== this.#generation || this.#state !== 'open') return;
      this.#session.poll();
      this.#schedulePoll(generation);
    }, intervalMs);
  }

  #scheduleDeviceCheck(generation: number, device: string): void {
    this.#deviceCheckTimer = this.#timers.setTimeout(() => {
      this.#deviceCheckTimer = undefined;
      void this.#identifyDevice(this.config.path).then((now) => {
        if (generation !== this.#generation || this.#state !== 'open') return;
        if (now === device) this.#scheduleDeviceCheck(generation, device);
        else this.#linkLost(generation, 'vanished', new Error(now === undefined ? `${this.config.path} no longer exists` : `${this.config.path} now names another device`));
      });
    }, DEVICE_CHECK_INTERVAL_MS);
  }

  #stopDeviceCheck(): void {
    if (this.#deviceCheckTimer === undefined) return;
    this.#timers.clearTimeout(this.#deviceCheckTimer);
    this.#deviceCheckTimer = undefined;
  }

  #stopPolling(): void {
    if (this.#pollTimer === undefined) return;
    this.#timers.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  #openFailed(error: Error): void {
    this.#failedAttempts++;
    this.#logger.warn(
      { code: 'PW_SERIAL_OPEN_FAILED', path: this.config.path, attempt: this.#failedAttempts, err: error.message },
      'serial port could not be opened',
    );
    this.#scheduleReopen();
  }

  #linkLost(generation: number, how: 'closed' | 'ended' | 'error' | 'vanished', error: Error | null): void {
    if (generation !== this.#generation || this.#state === 'stopped') return;
    this.#generation++;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#stopPolling();
    this.#stopDeviceCheck();
    const dropped = this.#session.closed();
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
