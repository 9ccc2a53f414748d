import { FrameBuffer } from './frame-buffer.js';
import { decodeSampleValue, type Rejection } from '../telemetry/decode.js';
import { complementSum8, readHex, toHex } from './crc.js';
import {
  FRESENIUS_ALARM_BITS,
  FRESENIUS_BASE_CLOSED_ERROR,
  FRESENIUS_ERRORS,
  FRESENIUS_MODES,
  FRESENIUS_MODULE_CLOSED_ERROR,
  FRESENIUS_RATE_ML_PER_H_PER_UNIT,
  FRESENIUS_READ_LADDER,
  FRESENIUS_VARIABLES,
  FRESENIUS_VOLUME_ML_PER_UNIT,
} from './mapping.js';
import type { FramerStats, HostSession, HostSessionDeps, PumpChannelRef } from './protocol.js';
import { HostCounters, Observations, showBody } from './session-stats.js';

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
 * reports (the report's head as received: `1E`, or `E` from the base). Never `MO`
 * (remote-control mode) or any `P…` command.
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
/** Every variable pumpwatch reads, in one `LE`/`DE` argument: the first rung of FRESENIUS_READ_LADDER. */
export const FRESENIUS_READ_VARIABLES: string = FRESENIUS_READ_LADDER[0];
const STATE_BY_MODE = new Map(FRESENIUS_MODES.map(({ code, state }) => [code, state] as const));
const ALARM_CODE_BY_BIT = new Map(FRESENIUS_ALARM_BITS.map(({ bit, code }) => [bit, code] as const));
const HEX_VALUE = /^[0-9A-Fa-f]{1,8}$/;
export const BASE_MODULE = 0;
/** Answer at most one ENQ per this long: a noisy line must not turn into a flood of DC4. */
const KEEPALIVE_MIN_GAP_MS = 100;

interface ParsedBody {
  /** `<origin digit><status>` or, from the base, `<status>` alone: what an acknowledgement echoes. */
  head: string;
  origin: number;
  status: string;
  /** `;`-separated items after the status, e.g. `d00C8` or an error code. */
  items: string[];
}

/** `<origin digit>?<status letter>[;item]…`; undefined when the head is not that shape. */
function parseRackBody(body: string): ParsedBody | undefined {
  const parts = body.split(';');
  const head = parts[0]!;
  if (head.length === 1 && /^[A-Z]$/.test(head)) return { head, origin: BASE_MODULE, status: head, items: parts.slice(1) };
  if (head.length === 2 && /^[0-9][A-Z]$/.test(head)) return { head, origin: head.charCodeAt(0) - 0x30, status: head[1]!, items: parts.slice(1) };
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
  /** Index into FRESENIUS_READ_LADDER: the variable set this module is read with. */
  rung: number;
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
 * Every poll: a closed session gets `DC` (the base's first, so `0DC` always precedes a module's
 * `DC`), then `DE` and `LE` once it answers; an open one gets `LE`; a command unanswered for a poll
 * interval is given up. A module that refuses a read is read with the next, smaller variable set
 * of FRESENIUS_READ_LADDER, and what it reports is logged and kept in `observations`.
 */
export function createFreseniusHostSession(options: FreseniusHostOptions, deps: HostSessionDeps): HostSession {
  const { into, send, clock, logger } = deps;
  const modules = new Map<number, ModuleState>();
  const fresh = (mapping: FreseniusModuleMapping | undefined, rung = 0): ModuleState => ({
    mapping,
    connected: false,
    rung,
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
  const observations = new Observations();
  const queue: Command[] = [];
  let awaiting: Command | undefined;
  let lastKeepAliveMs = Number.NEGATIVE_INFINITY;

  const sendFrame = (body: string) => counters.send(send, encodeFreseniusFrame(body));
  const variablesOf = (state: ModuleState): string => FRESENIUS_READ_LADDER[state.rung]!;

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

  /** DC for every closed session, the base's first (map order), so a module never asks before the base is open. */
  const reopen = () => {
    for (const [module, state] of modules) if (!state.connected) enqueue(module, 'DC');
  };

  const openSessions = () => {
    reopen();
    for (const [module, state] of modules) {
      if (state.connected && module !== BASE_MODULE) enqueue(module, `LE;${variablesOf(state)}`);
    }
    pump();
  };

  const emit = (state: ModuleState) => {
    const mapping = state.mapping;
    if (mapping === undefined) return;
    let infusionState: string;
    let pumpMode: string | undefined;
    if (state.mode === undefined) {
      // Wait for the mode while the module is asked for it; a module read without `m` reports unknown.
      if (variablesOf(state).includes(V.mode.id)) return;
      infusionState = 'unknown';
    } else {
      infusionState = STATE_BY_MODE.get(state.mode) ?? 'unknown';
      if (infusionState === 'unknown') {
        pumpMode = `m${toHex(state.mode, 2)}`;
        if (observations.unknownMode(pumpMode)) {
          logger?.warn({ code: 'PW_FRESENIUS_UNKNOWN_MODE', module: mapping.module, pumpId: mapping.pumpId, mode: pumpMode }, 'Fresenius mode code not in the mode table: samples report state unknown (docs/protocols.md, send a capture)');
        }
      }
    }
    const sample: Record<string, unknown> = {
      pumpId: mapping.pumpId,
      channel: mapping.channel,
      ts: clock.now(),
      state: infusionState,
      pumpAlarms: alarmCodes(state.alarm, state.error),
    };
    if (pumpMode !== undefined) sample.pumpMode = pumpMode;
    if (mapping.pumpType !== undefined) sample.pumpType = mapping.pumpType;
    if (state.rate !== undefined) sample.rateMlPerH = state.rate * FRESENIUS_RATE_ML_PER_H_PER_UNIT;
    if (state.volume !== undefined) sample.volumeInfusedMl = state.volume * FRESENIUS_VOLUME_ML_PER_UNIT;
    if (state.pressure !== undefined) sample.downstreamPressureMmHg = state.pressure;
    decodeSampleValue(sample, into);
  };

  /** Applies `<id><hex>` items; undefined (after a rejection) when one is malformed, leaving the state untouched; else the ids seen. */
  const applyVariables = (state: ModuleState, items: readonly string[], body: string): string | undefined => {
    const values = new Map<string, number>();
    for (const item of items) {
      const id = item.slice(0, 1);
      const text = item.slice(1);
      if (!HEX_VALUE.test(text)) {
        into.reject({ reason: 'schema', detail: `variable ${showBody(id)} value ${showBody(text)} is not 1–8 hex digits in ${showBody(body)}` });
        return undefined;
      }
      values.set(id, Number.parseInt(text, 16));
    }
    state.alarm = values.get(V.alarm.id) ?? state.alarm;
    state.error = values.get(V.error.id) ?? state.error;
    state.mode = values.get(V.mode.id) ?? state.mode;
    state.rate = values.get(V.rate.id) ?? state.rate;
    state.volume = values.get(V.volume.id) ?? state.volume;
    state.pressure = values.get(V.pressure.id) ?? state.pressure;
    return [...values.keys()].join('');
  };

  /** A read reply: says (once per change) which of the asked variables this module really reports. */
  const noteReported = (module: number, state: ModuleState, reported: string) => {
    const requested = variablesOf(state);
    if (!observations.reported(String(module), requested, reported)) return;
    logger?.info({ code: 'PW_FRESENIUS_MODULE_VARIABLES', module, pumpId: state.mapping?.pumpId, requested, reported }, 'Fresenius module reports these variables');
  };

  /** The module refused `command`: a closed session is reopened; a refused read steps down the ladder. */
  const onRefusal = (origin: number, state: ModuleState, command: Command | undefined, code: string) => {
    if (code === FRESENIUS_BASE_CLOSED_ERROR) {
      modules.get(BASE_MODULE)!.connected = false;
      state.connected = false;
      reopen();
      return;
    }
    if (code === FRESENIUS_MODULE_CLOSED_ERROR) {
      state.connected = false;
      reopen();
      return;
    }
    const refused = /^[0-9](?:LE|DE);(.*)$/.exec(command?.body ?? '')?.[1];
    if (refused === undefined || refused !== variablesOf(state) || state.rung === FRESENIUS_READ_LADDER.length - 1) return;
    state.rung++;
    const next = variablesOf(state);
    logger?.warn({ code: 'PW_FRESENIUS_READ_REFUSED', module: origin, pumpId: state.mapping?.pumpId, refused, error: code, next }, 'Fresenius module refused a read; reading fewer variables');
    // Reads queued with the refused set would only be refused again.
    for (let index = queue.length - 1; index >= 0; index--) if (queue[index]!.module === origin && queue[index]!.body.endsWith(`;${refused}`)) queue.splice(index, 1);
    enqueue(origin, `DE;${next}`);
    enqueue(origin, `LE;${next}`);
  };

  const onReply = (parsed: ParsedBody, state: ModuleState, body: string) => {
    const command = awaiting !== undefined && awaiting.module === parsed.origin ? awaiting : undefined;
    if (command !== undefined) awaiting = undefined;
    if (parsed.status === 'I') {
      const code = (parsed.items[0] ?? '').toUpperCase();
      const detail = `module ${parsed.origin} refused ${showBody(command?.body ?? '?')}: ${code} ${FRESENIUS_ERRORS.get(code) ?? 'unknown error'}`;
      // A closed session is the rack's state, not bad input: it is reopened, and said once per refusal.
      if (code === FRESENIUS_BASE_CLOSED_ERROR || code === FRESENIUS_MODULE_CLOSED_ERROR) logger?.info({ code: 'PW_FRESENIUS_SESSION_CLOSED', module: parsed.origin, detail }, 'Fresenius session closed; reopening it');
      else into.reject({ reason: 'unsupported', detail });
      onRefusal(parsed.origin, state, command, code);
    } else if (command?.body.endsWith('DC') === true) {
      state.connected = true;
      if (parsed.origin !== BASE_MODULE) {
        enqueue(parsed.origin, `DE;${variablesOf(state)}`);
        enqueue(parsed.origin, `LE;${variablesOf(state)}`);
      }
    } else if (parsed.items.length > 0) {
      const reported = applyVariables(state, parsed.items, body);
      if (reported !== undefined) {
        if (command?.body.includes('LE;') === true) noteReported(parsed.origin, state, reported);
        emit(state);
      }
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
      // infupy answers a spontaneous report with a frame of its head as received (`1E`, or `E` from the base).
      sendFrame(parsed.head);
      if (state?.mapping !== undefined && applyVariables(state, parsed.items, body) !== undefined) emit(state);
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
    observations,
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
      // The variable set a module accepts is a property of the module, not of the link: keep it.
      for (const [module, state] of modules) modules.set(module, fresh(state.mapping, state.rung));
      return framer.reset();
    },
  };
}
