import type { Clock } from '../clock.js';
import { FrameBuffer } from './frame-buffer.js';
import { decodeSampleValue, type Rejection } from '../telemetry/decode.js';
import type { InfusionState } from '../telemetry/sample.js';
import { complementSum8, readHex, toHex } from './crc.js';
import {
  FRESENIUS_ALARM_BITS,
  FRESENIUS_ERRORS,
  FRESENIUS_MODES,
  FRESENIUS_RATE_ML_PER_H_PER_UNIT,
  FRESENIUS_SESSION_CLOSED_ERRORS,
  FRESENIUS_VARIABLES,
  FRESENIUS_VOLUME_ML_PER_UNIT,
} from './mapping.js';
import type { DeviceSession, FramerStats, HostSession, HostSessionDeps, PumpChannelRef, PumpReading, SendBytes } from './protocol.js';
import { HostCounters, showBody } from './session-stats.js';

/**
 * Fresenius Base A-family protocol, as reverse-documented by infupy (`fresenius.py`): 19200 7E1,
 * frames STX + body + two hex digits of 0xFF − (byte sum mod 256) + ETX. A body from the host is
 * `<module digit><command>[;args]`; from the rack `<origin digit><status>[;<var><hex>]…` with
 * status C (reply), I (error reply, `;<code>`), E or M (spontaneous report). Every frame is
 * acknowledged with ACK (or NAK + error digit); the rack polls the link with ENQ, the host
 * answers DC4.
 *
 * What pumpwatch sends, and nothing else (docs/protocols.md): `DC` (open the communication
 * session) to the base (module 0) and to each configured module, `DE;<vars>` (report these
 * variables spontaneously), `LE;<vars>` (read them, every poll interval), ACK / NAK for every
 * frame received, DC4 for ENQ, and the acknowledgement frame infupy sends for spontaneous
 * reports (`<origin><status>`). Never `MO` (remote-control mode) or any `P…` command.
 */


const STX = 0x02;
const ETX = 0x03;
const ENQ = 0x05;
const ACK = 0x06;
const DC4 = 0x14;
const NAK = 0x15;
const CHECKSUM_DIGITS = 2;

export const FRESENIUS_ACK = Uint8Array.of(ACK);
export const FRESENIUS_KEEPALIVE_ANSWER = Uint8Array.of(DC4);
export const FRESENIUS_ENQ = Uint8Array.of(ENQ);
/** NAK + '2': "incorrect checksum" in the rack's link error table. */
export const FRESENIUS_NAK_CHECKSUM = Uint8Array.of(NAK, 0x32);

const IDLE = 0;
const IN_FRAME = 1;
const DISCARDING = 2;
const AFTER_NAK = 3;

export type FreseniusLinkEvent = 'enq' | 'ack' | 'dc4' | 'nak';

export interface FreseniusFrameTarget {
  /** The body of a frame whose checksum matched, without STX, checksum and ETX. */
  frame(body: string): void;
  /** A frame that was complete but whose checksum did not match; the sender wants a NAK. */
  badChecksum(rejection: Rejection): void;
  reject(rejection: Rejection): void;
  /** A link-level byte between frames; `nak` carries its error digit. */
  link(event: FreseniusLinkEvent, code?: number): void;
}

export function encodeFreseniusFrame(body: string): Uint8Array {
  const bytes = Buffer.from(body, 'latin1');
  const frame = Buffer.allocUnsafe(bytes.length + CHECKSUM_DIGITS + 2);
  frame[0] = STX;
  bytes.copy(frame, 1);
  frame.write(toHex(complementSum8(bytes), CHECKSUM_DIGITS), bytes.length + 1, 'latin1');
  frame[frame.length - 1] = ETX;
  return frame;
}

/**
 * Splits the rack's byte stream into verified frames and link events with a hard cap, one byte
 * at a time into one buffer allocated up front. ENQ is a link event wherever it appears, so a
 * keep-alive is never missed. STX always starts a new frame; another control byte or a non-ASCII
 * byte inside a frame, or a frame longer than `maxFrameBytes`, throws it away up to the next STX
 * or ETX. Bytes outside frames that are not link bytes are refused once per run as `framing`.
 */
export class FreseniusFramer implements FramerStats {
  readonly maxFrameBytes: number;
  readonly #target: FreseniusFrameTarget;
  readonly #frame: FrameBuffer;
  #state = IDLE;
  #inGarbage = false;

  constructor(maxFrameBytes: number, target: FreseniusFrameTarget) {
    this.#frame = new FrameBuffer(maxFrameBytes, CHECKSUM_DIGITS);
    this.maxFrameBytes = maxFrameBytes;
    this.#target = target;
  }

  get bufferedBytes(): number {
    return this.#frame.length;
  }

  get peakBufferedBytes(): number {
    return this.#frame.peakBufferedBytes;
  }

  get discardedBytes(): number {
    return this.#frame.discardedBytes;
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === ENQ) {
        this.#target.link('enq');
        continue;
      }
      if (byte === STX) {
        this.#start();
        continue;
      }
      switch (this.#state) {
        case IN_FRAME:
          this.#inFrame(byte);
          break;
        case DISCARDING:
          this.#frame.countDiscarded(1);
          if (byte === ETX) this.#state = IDLE;
          break;
        case AFTER_NAK:
          this.#state = IDLE;
          this.#target.link('nak', byte);
          break;
        default:
          this.#idle(byte);
      }
    }
  }

  reset(): number {
    this.#state = IDLE;
    this.#inGarbage = false;
    return this.#frame.clear();
  }

  #idle(byte: number): void {
    if (byte === ACK) this.#target.link('ack');
    else if (byte === DC4) this.#target.link('dc4');
    else if (byte === NAK) this.#state = AFTER_NAK;
    else {
      this.#frame.countDiscarded(1);
      if (!this.#inGarbage) {
        this.#inGarbage = true;
        this.#target.reject({ reason: 'framing', detail: `byte 0x${toHex(byte, 2)} outside any frame; skipping to the next STX` });
      }
    }
  }

  #start(): void {
    if (this.#state === IN_FRAME && this.#frame.length > 0) {
      this.#frame.countDiscarded(this.#frame.length);
      this.#target.reject({ reason: 'framing', detail: `frame cut short by a new STX after ${this.#frame.length} bytes` });
    }
    this.#state = IN_FRAME;
    this.#frame.clear();
    this.#inGarbage = false;
  }

  #inFrame(byte: number): void {
    if (byte === ETX) {
      this.#state = IDLE;
      this.#complete();
      this.#frame.clear();
      return;
    }
    if (byte < 0x20 || byte > 0x7e) {
      this.#discard({ reason: 'framing', detail: `byte 0x${toHex(byte, 2)} inside a frame; skipping to the next STX` });
      return;
    }
    if (this.#frame.full) {
      this.#discard({ reason: 'frame-too-long', detail: `frame exceeds ${this.maxFrameBytes} bytes without an ETX; skipping to the next STX` });
      return;
    }
    this.#frame.push(byte);
  }

  #discard(rejection: Rejection): void {
    this.#frame.discard(1);
    this.#state = DISCARDING;
    this.#target.reject(rejection);
  }

  #complete(): void {
    const length = this.#frame.length;
    const buffer = this.#frame.bytes;
    const bodyEnd = length - CHECKSUM_DIGITS;
    if (bodyEnd < 1) {
      this.#frame.countDiscarded(length);
      this.#target.reject({ reason: 'framing', detail: `frame of ${length} bytes is too short for a body and a checksum` });
      return;
    }
    const carried = readHex(this.#frame.view(), bodyEnd, CHECKSUM_DIGITS);
    const computed = complementSum8(buffer, 0, bodyEnd);
    if (carried !== computed) {
      this.#frame.countDiscarded(length);
      const detail = `frame ${showBody(buffer.toString('latin1', 0, bodyEnd))} carries checksum ${buffer.toString('latin1', bodyEnd, length)}, computed ${toHex(computed, CHECKSUM_DIGITS)}`;
      this.#target.badChecksum({ reason: 'checksum', detail });
      return;
    }
    this.#target.frame(buffer.toString('latin1', 0, bodyEnd));
  }
}

const V = FRESENIUS_VARIABLES;
/** Every variable pumpwatch reads, in one `LE`/`DE` argument. */
export const FRESENIUS_READ_VARIABLES = [V.alarm.id, V.error.id, V.mode.id, V.rate.id, V.volume.id, V.pressure.id].join('');
const STATE_BY_MODE = new Map(FRESENIUS_MODES.map(({ code, state }) => [code, state] as const));
const MODE_BY_STATE = new Map(FRESENIUS_MODES.map(({ code, state }) => [state, code] as const));
const ALARM_CODE_BY_BIT = new Map(FRESENIUS_ALARM_BITS.map(({ bit, code }) => [bit, code] as const));
const ALARM_BIT_BY_CODE = new Map(FRESENIUS_ALARM_BITS.map(({ bit, code }) => [code, bit] as const));
const HEX_VALUE = /^[0-9A-Fa-f]{1,8}$/;
const BASE_MODULE = 0;
/** Answer at most one ENQ per this long: a noisy line must not turn into a flood of DC4. */
const KEEPALIVE_MIN_GAP_MS = 100;

interface ParsedBody {
  origin: number;
  status: string;
  /** `;`-separated items after the status, e.g. `d00C8` or an error code. */
  items: string[];
}

/** `<origin digit>?<status letter>[;item]…`; undefined when the head is not that shape. */
function parseRackBody(body: string): ParsedBody | undefined {
  const parts = body.split(';');
  const head = parts[0]!;
  if (head.length === 1 && /^[A-Z]$/.test(head)) return { origin: BASE_MODULE, status: head, items: parts.slice(1) };
  if (head.length === 2 && /^[0-9][A-Z]$/.test(head)) return { origin: head.charCodeAt(0) - 0x30, status: head[1]!, items: parts.slice(1) };
  return undefined;
}

function alarmCodes(bitmap: number, error: number): string[] {
  const codes: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((bitmap >>> bit) & 1) codes.push(ALARM_CODE_BY_BIT.get(bit) ?? `FRESENIUS_ALARM_BIT_${bit}`);
  }
  if (error !== 0) codes.push(`FRESENIUS_ERROR_${toHex(error, 2)}`);
  return codes;
}

export interface FreseniusModuleMapping {
  module: number;
  pumpId: string;
  channel: string;
  pumpType?: 'syringe' | 'volumetric';
}

export interface FreseniusHostOptions {
  modules: readonly FreseniusModuleMapping[];
  pollIntervalMs: number;
  maxFrameBytes: number;
}

interface ModuleState {
  mapping: FreseniusModuleMapping | undefined;
  connected: boolean;
  mode: number | undefined;
  rate: number | undefined;
  volume: number | undefined;
  pressure: number | undefined;
  alarm: number;
  error: number;
}

interface Command {
  module: number;
  body: string;
  sentAtMs: number;
}

/**
 * The gateway side. One command is outstanding at a time (the rack answers in order); the queue
 * holds at most a few commands per module because a command already queued is never queued twice.
 * Every poll: a module whose session is not open gets `DC` (then `DE` and `LE` once it answers),
 * an open one gets `LE`; a command unanswered for a poll interval is given up.
 */
export function createFreseniusHostSession(options: FreseniusHostOptions, deps: HostSessionDeps): HostSession {
  const { into, send, clock } = deps;
  const modules = new Map<number, ModuleState>();
  const fresh = (mapping: FreseniusModuleMapping | undefined): ModuleState => ({
    mapping,
    connected: false,
    mode: undefined,
    rate: undefined,
    volume: undefined,
    pressure: undefined,
    alarm: 0,
    error: 0,
  });
  modules.set(BASE_MODULE, fresh(undefined));
  for (const mapping of options.modules) modules.set(mapping.module, fresh(mapping));
  const channels: readonly PumpChannelRef[] = options.modules.map(({ pumpId, channel }) => ({ pumpId, channel }));
  const queue: Command[] = [];
  let awaiting: Command | undefined;
  let lastKeepAliveMs = Number.NEGATIVE_INFINITY;

  const sendFrame = (body: string) => counters.send(send, encodeFreseniusFrame(body));

  const enqueue = (module: number, command: string) => {
    const body = `${module}${command}`;
    if (awaiting?.body === body || queue.some((queued) => queued.body === body)) return;
    queue.push({ module, body, sentAtMs: 0 });
  };

  const pump = () => {
    if (awaiting !== undefined) return;
    const next = queue.shift();
    if (next === undefined) return;
    next.sentAtMs = clock.now();
    awaiting = next;
    sendFrame(next.body);
  };

  const openSessions = () => {
    for (const [module, state] of modules) {
      if (!state.connected) enqueue(module, 'DC');
      else if (module !== BASE_MODULE) enqueue(module, `LE;${FRESENIUS_READ_VARIABLES}`);
    }
    pump();
  };

  const emit = (state: ModuleState) => {
    const mapping = state.mapping;
    if (mapping === undefined || state.mode === undefined) return;
    const infusionState = STATE_BY_MODE.get(state.mode);
    if (infusionState === undefined) {
      into.reject({ reason: 'unsupported', detail: `module ${mapping.module} mode ${toHex(state.mode, 2)} is not in the Fresenius mode table (src/protocols/mapping.ts)` });
      return;
    }
    const sample: Record<string, unknown> = {
      pumpId: mapping.pumpId,
      channel: mapping.channel,
      ts: clock.now(),
      state: infusionState,
      pumpAlarms: alarmCodes(state.alarm, state.error),
    };
    if (mapping.pumpType !== undefined) sample.pumpType = mapping.pumpType;
    if (state.rate !== undefined) sample.rateMlPerH = state.rate * FRESENIUS_RATE_ML_PER_H_PER_UNIT;
    if (state.volume !== undefined) sample.volumeInfusedMl = state.volume * FRESENIUS_VOLUME_ML_PER_UNIT;
    if (state.pressure !== undefined) sample.downstreamPressureMmHg = state.pressure;
    decodeSampleValue(sample, into);
  };

  /** Applies `<id><hex>` items; false (after a rejection) when one is malformed, leaving the state untouched. */
  const applyVariables = (state: ModuleState, items: readonly string[], body: string): boolean => {
    const values = new Map<string, number>();
    for (const item of items) {
      const id = item.slice(0, 1);
      const text = item.slice(1);
      if (!HEX_VALUE.test(text)) {
        into.reject({ reason: 'schema', detail: `variable ${showBody(id)} value ${showBody(text)} is not 1–8 hex digits in ${showBody(body)}` });
        return false;
      }
      values.set(id, Number.parseInt(text, 16));
    }
    state.alarm = values.get(V.alarm.id) ?? state.alarm;
    state.error = values.get(V.error.id) ?? state.error;
    state.mode = values.get(V.mode.id) ?? state.mode;
    state.rate = values.get(V.rate.id) ?? state.rate;
    state.volume = values.get(V.volume.id) ?? state.volume;
    state.pressure = values.get(V.pressure.id) ?? state.pressure;
    return values.size > 0;
  };

  const onReply = (parsed: ParsedBody, state: ModuleState, body: string) => {
    const command = awaiting !== undefined && awaiting.module === parsed.origin ? awaiting : undefined;
    if (command !== undefined) awaiting = undefined;
    if (parsed.status === 'I') {
      const code = (parsed.items[0] ?? '').toUpperCase();
      if (FRESENIUS_SESSION_CLOSED_ERRORS.has(code)) state.connected = false;
      const meaning = FRESENIUS_ERRORS.get(code) ?? 'unknown error';
      into.reject({ reason: 'unsupported', detail: `module ${parsed.origin} refused ${showBody(command?.body ?? '?')}: ${code} ${meaning}` });
    } else if (command?.body.endsWith('DC') === true) {
      state.connected = true;
      if (parsed.origin !== BASE_MODULE) {
        enqueue(parsed.origin, `DE;${FRESENIUS_READ_VARIABLES}`);
        enqueue(parsed.origin, `LE;${FRESENIUS_READ_VARIABLES}`);
      }
    } else if (parsed.items.length > 0 && applyVariables(state, parsed.items, body)) {
      emit(state);
    }
    pump();
  };

  const onFrame = (body: string) => {
    counters.framesAccepted++;
    counters.send(send, FRESENIUS_ACK);
    const parsed = parseRackBody(body);
    if (parsed === undefined) {
      into.reject({ reason: 'unsupported', detail: `frame ${showBody(body)} does not start with <module><status>` });
      return;
    }
    const state = modules.get(parsed.origin);
    if (parsed.status === 'E' || parsed.status === 'M') {
      // infupy answers a spontaneous report with a frame of its origin and status.
      sendFrame(`${parsed.origin}${parsed.status}`);
      if (state?.mapping !== undefined && applyVariables(state, parsed.items, body)) emit(state);
      return;
    }
    if (parsed.status !== 'C' && parsed.status !== 'I') {
      into.reject({ reason: 'unsupported', detail: `frame ${showBody(body)} has status ${parsed.status}, not C, I, E or M` });
      return;
    }
    if (state === undefined) return;
    onReply(parsed, state, body);
  };

  const framer = new FreseniusFramer(options.maxFrameBytes, {
    frame: onFrame,
    badChecksum(rejection) {
      counters.send(send, FRESENIUS_NAK_CHECKSUM);
      into.reject(rejection);
    },
    reject: (rejection) => into.reject(rejection),
    link(event) {
      if (event === 'enq') {
        const now = clock.now();
        if (now - lastKeepAliveMs < KEEPALIVE_MIN_GAP_MS) return;
        lastKeepAliveMs = now;
        counters.send(send, FRESENIUS_KEEPALIVE_ANSWER);
      } else if (event === 'nak' && awaiting !== undefined) {
        // The rack refused our frame at link level; the next poll asks again.
        awaiting = undefined;
        pump();
      }
    },
  });
  const counters = new HostCounters(framer);

  return {
    stats: counters,
    pollIntervalMs: options.pollIntervalMs,
    channels,
    opened() {
      for (const state of modules.values()) state.connected = false;
      openSessions();
    },
    receive: (chunk) => framer.push(chunk),
    poll() {
      if (awaiting !== undefined && clock.now() - awaiting.sentAtMs >= options.pollIntervalMs) awaiting = undefined;
      openSessions();
    },
    closed() {
      queue.length = 0;
      awaiting = undefined;
      for (const [module, state] of modules) modules.set(module, fresh(state.mapping));
      return framer.reset();
    },
  };
}

function hex(value: number): string {
  return Math.max(0, Math.round(value)).toString(16).toUpperCase();
}

function alarmBitmap(codes: readonly string[] | undefined): number {
  let bitmap = 0;
  for (const code of codes ?? []) {
    const bit = ALARM_BIT_BY_CODE.get(code);
    if (bit !== undefined) bitmap |= 1 << bit;
  }
  return bitmap >>> 0;
}

/**
 * The `<id><hex>` items for `reading`, in the order of `variables`. Rate and volume are rounded
 * to the protocol's 0.1 mL/h and 0.001 mL; pressure to whole mmHg, with sub-atmospheric values
 * sent as 0 (the assumed variable is unsigned). Alarm codes outside FRESENIUS_ALARM_BITS are
 * not sent. A value the reading lacks is left out.
 */
export function encodeFreseniusVariables(reading: PumpReading, variables: string): string[] {
  const items: string[] = [];
  for (const id of variables) {
    let value: number | undefined;
    if (id === V.alarm.id) value = alarmBitmap(reading.pumpAlarms);
    else if (id === V.error.id) value = 0;
    else if (id === V.mode.id) value = MODE_BY_STATE.get(reading.state satisfies InfusionState);
    else if (id === V.rate.id && reading.rateMlPerH !== undefined) value = reading.rateMlPerH / FRESENIUS_RATE_ML_PER_H_PER_UNIT;
    else if (id === V.volume.id && reading.volumeInfusedMl !== undefined) value = reading.volumeInfusedMl / FRESENIUS_VOLUME_ML_PER_UNIT;
    else if (id === V.pressure.id && reading.downstreamPressureMmHg !== undefined) value = reading.downstreamPressureMmHg;
    if (value !== undefined) items.push(`${id}${hex(value)}`);
  }
  return items;
}

/** A report frame from `module`: status C (reply to LE) or E (spontaneous). */
export function encodeFreseniusReport(module: number, status: 'C' | 'E', reading: PumpReading, variables = FRESENIUS_READ_VARIABLES): Uint8Array {
  return encodeFreseniusFrame([`${module}${status}`, ...encodeFreseniusVariables(reading, variables)].join(';'));
}

export interface FreseniusDeviceOptions {
  maxFrameBytes?: number;
  /** Which pump channel sits in which module; default: modules 1, 2, … in the order channels first appear. */
  modules?: readonly { module: number; pumpId: string; channel: string }[];
  clock: Clock;
  /** How often the rack sends ENQ. */
  keepAliveIntervalMs?: number;
  /** Every verified frame body from the gateway, for logs and tests. */
  onCommand?: (body: string) => void;
}

export interface FreseniusDeviceSession extends DeviceSession {
  /** DC4 answers seen to our ENQ. */
  readonly keepAliveAnswers: number;
  /** Commands the emulated rack refused because they are not monitoring commands (e.g. `PR`, `MO`). */
  readonly refusedCommands: readonly string[];
}

interface EmulatedModule {
  sessionOpen: boolean;
  spontaneous: string;
  latest: PumpReading | undefined;
}

const MAX_MODULES = 9;
const MAX_REFUSED_KEPT = 100;

/** The rack side, for the emulator: answers DC, DE, AE, LE and FC; refuses everything else. */
export function createFreseniusDeviceSession(send: SendBytes, options: FreseniusDeviceOptions): FreseniusDeviceSession {
  const byModule = new Map<number, EmulatedModule>([[BASE_MODULE, { sessionOpen: false, spontaneous: '', latest: undefined }]]);
  const moduleOf = new Map<string, number>();
  for (const { module, pumpId, channel } of options.modules ?? []) {
    moduleOf.set(`${pumpId}\u0000${channel}`, module);
    byModule.set(module, { sessionOpen: false, spontaneous: '', latest: undefined });
  }
  const keepAliveIntervalMs = options.keepAliveIntervalMs ?? 1000;
  let lastEnqMs = Number.NEGATIVE_INFINITY;
  let keepAliveAnswers = 0;
  const refusedCommands: string[] = [];

  const reply = (module: number, status: 'C' | 'I', items: readonly string[] = []) =>
    send(encodeFreseniusFrame([`${module}${status}`, ...items].join(';')));

  const onCommand = (body: string) => {
    options.onCommand?.(body);
    send(FRESENIUS_ACK);
    const match = /^([0-9])([A-Z]{2})(?:;(.*))?$/.exec(body);
    if (match === null) return; // the host's acknowledgement of our spontaneous report, or noise
    const module = Number(match[1]);
    const command = match[2]!;
    const argument = match[3] ?? '';
    const state = byModule.get(module);
    if (state === undefined) {
      reply(module, 'I', ['0E']);
      return;
    }
    switch (command) {
      case 'DC':
        state.sessionOpen = true;
        reply(module, 'C');
        return;
      case 'FC':
        state.sessionOpen = false;
        state.spontaneous = '';
        reply(module, 'C');
        return;
      case 'DE':
      case 'AE':
      case 'LE':
        if (!state.sessionOpen) {
          reply(module, 'I', ['1E']);
          return;
        }
        if (command === 'DE') state.spontaneous = argument;
        if (command === 'AE') state.spontaneous = '';
        if (command === 'LE' && state.latest !== undefined) {
          reply(module, 'C', encodeFreseniusVariables(state.latest, argument));
          return;
        }
        reply(module, 'C');
        return;
      default:
        if (refusedCommands.length < MAX_REFUSED_KEPT) refusedCommands.push(body);
        reply(module, 'I', ['02']);
    }
  };

  const framer = new FreseniusFramer(options.maxFrameBytes ?? 256, {
    frame: onCommand,
    badChecksum: () => void send(FRESENIUS_NAK_CHECKSUM),
    reject: () => undefined,
    link(event) {
      if (event === 'dc4') keepAliveAnswers++;
    },
  });

  return {
    get keepAliveAnswers() {
      return keepAliveAnswers;
    },
    refusedCommands,
    receive: (chunk) => framer.push(chunk),
    update(reading) {
      const key = `${reading.pumpId}\u0000${reading.channel ?? '1'}`;
      let module = moduleOf.get(key);
      if (module === undefined) {
        if (options.modules !== undefined || byModule.size > MAX_MODULES) return;
        module = byModule.size;
        moduleOf.set(key, module);
        byModule.set(module, { sessionOpen: false, spontaneous: '', latest: undefined });
      }
      const state = byModule.get(module)!;
      state.latest = reading;
      if (state.sessionOpen && state.spontaneous !== '') send(encodeFreseniusReport(module, 'E', reading, state.spontaneous));
    },
    tick() {
      const now = options.clock.now();
      if (now - lastEnqMs < keepAliveIntervalMs) return;
      lastEnqMs = now;
      send(FRESENIUS_ENQ);
    },
  };
}
