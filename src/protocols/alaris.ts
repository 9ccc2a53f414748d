import type { Logger } from '../log.js';
import { FrameBuffer } from './frame-buffer.js';
import { decodeSampleValue, type Rejection } from '../telemetry/decode.js';
import { crc16CcittFalse, readHex, toHex } from './crc.js';
import {
  ALARIS_ALARM_UNREAD,
  ALARIS_ALARMS,
  ALARIS_DEFAULT_STARTUP,
  ALARIS_HOST_COMMANDS,
  ALARIS_MODES,
  ALARIS_NO_ALARM_CODE,
  ALARIS_NO_ALARM_FLAG,
  ALARIS_RATE_UNITS,
  ALARIS_STATUS_FIELDS,
  ALARIS_STATUS_MIN_FIELDS,
  ALARIS_VOLUME_UNITS,
  PRESSURE_UNITS_TO_MMHG,
  type AlarisHostCommand,
  type AlarisStartupStep,
} from './mapping.js';
import type { FramerStats, HostSession, HostSessionDeps, PumpChannelRef } from './protocol.js';
import { HostCounters, Observations, parseDecimal, showBody } from './session-stats.js';

/**
 * Alaris Asena-family ASCII protocol, as reverse-documented by OpenICE (mdpnp/mdpnp and its fork
 * mickeywstahl/MDDT, `Asena.java`, `AlarisMITM.java`) and infupy (jaj42/infupy `alaris.py`):
 * 38400 8N1, frames `!` + body + `|` + CRC-16/CCITT-FALSE of the body in four hex digits + CR,
 * body fields separated by `^`. The gateway asks, the pump answers; a reply echoes the command.
 *
 * pumpwatch sends only the queries in ALARIS_HOST_COMMANDS: the start-up steps a port is
 * configured for (default: INST_SERIALNO, COMMS_PROTOCOL), the status query `!INF|4961` every
 * poll interval, and `!ALARM|50B2` when a status reply's alarm flag is not `-`. REMOTE_CTRL is
 * sent only when the port's `startup` names it (docs/protocols.md says what it permits).
 */

const START = 0x21; // !
const BAR = 0x7c; // |
const CR = 0x0d;
const LF = 0x0a;
const ESC = 0x1b; // the pump aborts a frame it has started
const CRC_DIGITS = 4;
/** `|` and the CRC after the body. */
const TRAILER_BYTES = 1 + CRC_DIGITS;

const IDLE = 0;
const IN_FRAME = 1;
const DISCARDING = 2;

export interface AlarisFrameTarget {
  /** The body of a frame whose CRC matched, without `!`, `|CRC` and CR. */
  frame(body: string): void;
  reject(rejection: Rejection): void;
}

/** Builds one frame around `body` (printable ASCII without `!` or `|`). */
export function encodeAlarisFrame(body: string): Uint8Array {
  const bytes = Buffer.from(body, 'latin1');
  return Buffer.from(`!${body}|${toHex(crc16CcittFalse(bytes), CRC_DIGITS)}\r`, 'latin1');
}

const ALLOWED_COMMANDS: ReadonlySet<string> = new Set(ALARIS_HOST_COMMANDS);

/**
 * A frame the gateway may send: only a command of ALARIS_HOST_COMMANDS, and REMOTE_CTRL only to
 * enable the session with its security code. Anything else is a programming error and throws, so
 * no path through the host can put a command that changes an infusion on the wire.
 */
export function encodeAlarisQuery(command: AlarisHostCommand, args: readonly string[] = []): Uint8Array {
  if (!ALLOWED_COMMANDS.has(command)) throw new Error(`PW_ALARIS_FORBIDDEN_COMMAND: ${String(command)} is not a query pumpwatch may send`);
  if (command === 'REMOTE_CTRL' ? !(args.length === 2 && args[0] === 'ENABLED' && /^[0-9A-F]{4}$/.test(args[1]!)) : args.length > 0) {
    throw new Error(`PW_ALARIS_FORBIDDEN_COMMAND: ${command} with arguments ${args.join('^')} is not a query pumpwatch may send`);
  }
  return encodeAlarisFrame([command, ...args].join('^'));
}

/** The status query, `!INF|4961\r` (OpenICE Asena.java `INFSTATUS`). */
export const ALARIS_STATUS_QUERY = encodeAlarisQuery('INF');
/** The alarm query, `!ALARM|50B2\r` (MDDT AlarisMITM.java). */
export const ALARIS_ALARM_QUERY = encodeAlarisQuery('ALARM');

/** The REMOTE_CTRL security code: the CRC of the serial number, as OpenICE and infupy compute it. */
export function alarisSecurityCode(serialNumber: string): string {
  return toHex(crc16CcittFalse(Buffer.from(serialNumber, 'latin1')), CRC_DIGITS);
}

/**
 * Splits a byte stream into verified Alaris frames with a hard cap, one byte at a time into one
 * buffer allocated up front (no re-concatenation, so no quadratic cost on garbage).
 * Resync rules: `!` always starts a new frame (an unfinished one is refused as `framing`); a
 * control or non-ASCII byte inside a frame, or a frame longer than `maxFrameBytes`, throws the
 * frame away up to the next `!` or CR. Bytes outside frames are refused once per run as
 * `framing`; CR and LF between frames are tolerated.
 */
export class AlarisFramer implements FramerStats {
  readonly maxFrameBytes: number;
  readonly #target: AlarisFrameTarget;
  readonly #frame: FrameBuffer;
  #state = IDLE;
  #inGarbage = false;

  constructor(maxFrameBytes: number, target: AlarisFrameTarget) {
    this.#frame = new FrameBuffer(maxFrameBytes, TRAILER_BYTES);
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
      if (byte === START) {
        this.#start();
        continue;
      }
      if (this.#state === IN_FRAME) this.#inFrame(byte);
      else if (this.#state === DISCARDING) {
        this.#frame.countDiscarded(1);
        if (byte === CR) this.#state = IDLE;
      } else if (byte !== CR && byte !== LF) {
        this.#frame.countDiscarded(1);
        if (!this.#inGarbage) {
          this.#inGarbage = true;
          this.#target.reject({ reason: 'framing', detail: `byte 0x${toHex(byte, 2)} outside any frame; skipping to the next "!"` });
        }
      }
    }
  }

  /** Drops a partial frame (the link was lost). Returns the bytes dropped. */
  reset(): number {
    this.#state = IDLE;
    this.#inGarbage = false;
    return this.#frame.clear();
  }

  #start(): void {
    if (this.#state === IN_FRAME && this.#frame.length > 0) {
      this.#frame.countDiscarded(this.#frame.length);
      this.#target.reject({ reason: 'framing', detail: `frame cut short by a new "!" after ${this.#frame.length} bytes` });
    }
    this.#state = IN_FRAME;
    this.#frame.clear();
    this.#inGarbage = false;
  }

  #inFrame(byte: number): void {
    if (byte === CR) {
      this.#state = IDLE;
      this.#complete();
      this.#frame.clear();
      return;
    }
    if (byte === ESC) {
      this.#frame.discard(1);
      this.#state = IDLE;
      return;
    }
    if (byte < 0x20 || byte > 0x7e) {
      this.#discard({ reason: 'framing', detail: `byte 0x${toHex(byte, 2)} inside a frame; skipping to the next "!"` });
      return;
    }
    if (this.#frame.full) {
      this.#discard({ reason: 'frame-too-long', detail: `frame exceeds ${this.maxFrameBytes} bytes without a CR; skipping to the next "!"` });
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
    const barAt = length - TRAILER_BYTES;
    if (barAt < 0 || buffer[barAt] !== BAR) {
      this.#frame.countDiscarded(length);
      this.#target.reject({ reason: 'framing', detail: `frame ${showBody(buffer.toString('latin1', 0, length))} does not end in |CRC` });
      return;
    }
    const carried = readHex(this.#frame.view(), barAt + 1, CRC_DIGITS);
    const computed = crc16CcittFalse(buffer, 0, barAt);
    if (carried !== computed) {
      this.#frame.countDiscarded(length);
      const shown = showBody(buffer.toString('latin1', 0, barAt));
      this.#target.reject({
        reason: 'checksum',
        detail: `frame ${shown} carries CRC ${buffer.toString('latin1', barAt + 1, length)}, computed ${toHex(computed, CRC_DIGITS)}`,
      });
      return;
    }
    this.#target.frame(buffer.toString('latin1', 0, barAt));
  }
}

const MODE_BY_TOKEN = new Map(ALARIS_MODES.flatMap(({ state, tokens }) => tokens.map((token) => [token, state] as const)));
const ALARM_BY_TOKEN = new Map(ALARIS_ALARMS.map((entry) => [entry.token, entry] as const));
const MAX_ALARM_CODE_CHARS = 64;
const MAX_MODE_CHARS = 32;
const MAX_IDENTITY_CHARS = 64;

/** The `AL_*` code of an ALARM reply as pumpwatch codes; [] for AL_NOALM. */
export function alarisAlarmCodes(token: string, pumpType: 'syringe' | 'volumetric' | undefined): string[] {
  // MDDT's code list spells one code "AL DRDIS": a space is read as the underscore it stands for.
  const code = token.trim().toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, MAX_ALARM_CODE_CHARS);
  if (code === '' || code === ALARIS_NO_ALARM_CODE) return [];
  const mapped = ALARM_BY_TOKEN.get(code);
  if (mapped === undefined || (mapped.syringeOnly === true && pumpType !== 'syringe')) return [code];
  return [mapped.code];
}

type Quantity = { ok: true; value: number | undefined } | { ok: false; detail: string };

/** A value field and its unit field; an empty value means the pump does not report it now. */
function quantity(name: string, valueText: string, unitText: string, units: ReadonlyMap<string, number>): Quantity {
  if (valueText === '') return { ok: true, value: undefined };
  const value = parseDecimal(valueText);
  if (value === undefined) return { ok: false, detail: `${name} ${showBody(valueText)} is not a decimal number` };
  const factor = units.get(unitText.trim().toLowerCase());
  if (factor === undefined) return { ok: false, detail: `${name} unit ${showBody(unitText)} is not one of ${[...units.keys()].join(', ')}` };
  return { ok: true, value: value * factor };
}

export interface AlarisHostOptions {
  pumpId: string;
  channel: string;
  pumpType?: 'syringe' | 'volumetric';
  pollIntervalMs: number;
  maxFrameBytes: number;
  /** Sent once when the port opens, in order, before the first INF (default ALARIS_DEFAULT_STARTUP). */
  startup?: readonly AlarisStartupStep[];
}

interface Outstanding {
  command: AlarisHostCommand;
  sentAtMs: number;
}

/**
 * The gateway side. One query is outstanding at a time (the pump answers in order; OpenICE and
 * infupy wait for each reply); a query unanswered for a poll interval is given up. A status reply
 * whose alarm flag is not `-` is held until the ALARM query names the alarm, then becomes one
 * sample; if that answer does not come within a poll interval, the sample goes out with
 * ALARIS_ALARM_UNREAD rather than be lost.
 */
export function createAlarisHostSession(options: AlarisHostOptions, deps: HostSessionDeps): HostSession {
  const { into, send, clock } = deps;
  const logger: Logger | undefined = deps.logger;
  const channels: readonly PumpChannelRef[] = [{ pumpId: options.pumpId, channel: options.channel }];
  const startup = options.startup ?? ALARIS_DEFAULT_STARTUP;
  const remoteControl = startup.includes('REMOTE_CTRL');
  const fields = ALARIS_STATUS_FIELDS;
  const observations = new Observations();
  const queue: AlarisHostCommand[] = [];
  let awaiting: Outstanding | undefined;
  let held: Record<string, unknown> | undefined;
  let serialNumber: string | undefined;

  const emit = (sample: Record<string, unknown>) => decodeSampleValue(sample, into);

  const releaseHeld = (codes: string[]) => {
    if (held === undefined) return;
    held.pumpAlarms = codes;
    const sample = held;
    held = undefined;
    emit(sample);
  };

  const frameFor = (command: AlarisHostCommand): Uint8Array | undefined => {
    if (command !== 'REMOTE_CTRL') return encodeAlarisQuery(command);
    if (serialNumber === undefined) {
      logger?.warn({ code: 'PW_ALARIS_REMOTE_CTRL_SKIPPED', pumpId: options.pumpId }, 'REMOTE_CTRL needs the serial number first: add INST_SERIALNO before it in startup');
      return undefined;
    }
    return encodeAlarisQuery('REMOTE_CTRL', ['ENABLED', alarisSecurityCode(serialNumber)]);
  };

  const pump = () => {
    while (awaiting === undefined && queue.length > 0) {
      const command = queue.shift()!;
      const frame = frameFor(command);
      if (frame === undefined) continue;
      awaiting = { command, sentAtMs: clock.now() };
      counters.send(send, frame);
    }
  };

  const enqueue = (command: AlarisHostCommand) => {
    if (awaiting?.command === command || queue.includes(command)) return;
    queue.push(command);
  };

  const onStatus = (body: string, parts: string[]) => {
    if (parts.length < ALARIS_STATUS_MIN_FIELDS) {
      into.reject({ reason: 'unsupported', detail: `INF reply ${showBody(body)} has ${parts.length} fields, expected at least ${ALARIS_STATUS_MIN_FIELDS}` });
      return;
    }
    const rate = quantity('rate', parts[fields.rate.index]!, parts[fields.rateUnit.index]!, ALARIS_RATE_UNITS);
    const volume = quantity('volume', parts[fields.volume.index]!, parts[fields.volumeUnit.index]!, ALARIS_VOLUME_UNITS);
    const pressure = quantity('pressure', parts[fields.pressure.index]!, parts[fields.pressureUnit.index]!, PRESSURE_UNITS_TO_MMHG);
    for (const parsed of [rate, volume, pressure]) {
      if (!parsed.ok) {
        into.reject({ reason: 'schema', detail: `INF reply ${parsed.detail}` });
        return;
      }
    }
    const mode = parts[fields.mode.index]!.trim().toUpperCase().slice(0, MAX_MODE_CHARS);
    const sample: Record<string, unknown> = { pumpId: options.pumpId, channel: options.channel, ts: clock.now(), state: MODE_BY_TOKEN.get(mode) ?? 'unknown' };
    if (sample.state === 'unknown') {
      if (mode !== '') sample.pumpMode = mode;
      if (observations.unknownMode(mode)) {
        logger?.warn({ code: 'PW_ALARIS_UNKNOWN_MODE', pumpId: options.pumpId, mode }, 'Alaris mode word not in the mode table: samples report state unknown (docs/protocols.md, send a capture)');
      }
    }
    if (options.pumpType !== undefined) sample.pumpType = options.pumpType;
    if (rate.ok && rate.value !== undefined) sample.rateMlPerH = rate.value;
    if (volume.ok && volume.value !== undefined) sample.volumeInfusedMl = volume.value;
    if (pressure.ok && pressure.value !== undefined) sample.downstreamPressureMmHg = pressure.value;
    // A second flagged reply before the first was named: the first goes out as it stands.
    releaseHeld([ALARIS_ALARM_UNREAD]);
    if (parts[fields.alarm.index]!.trim() === ALARIS_NO_ALARM_FLAG) {
      sample.pumpAlarms = [];
      emit(sample);
      return;
    }
    held = sample;
    enqueue('ALARM');
  };

  const identity = (command: string, parts: string[]) => {
    const value = parts.slice(1).join('^').slice(0, MAX_IDENTITY_CHARS);
    if (command === 'INST_SERIALNO' && value !== '') serialNumber = value;
    logger?.info({ code: 'PW_ALARIS_REPLY', pumpId: options.pumpId, command, value }, 'Alaris pump answered a start-up query');
  };

  const onFrame = (body: string): void => {
    counters.framesAccepted++;
    const parts = body.split('^');
    const command = parts[0]!;
    if (awaiting?.command === command) awaiting = undefined;
    switch (command) {
      case 'INF':
        onStatus(body, parts);
        break;
      case 'ALARM':
        releaseHeld(alarisAlarmCodes(parts[1] ?? '', options.pumpType));
        break;
      case 'INST_SERIALNO':
      case 'COMMS_PROTOCOL':
      case 'COMMS_RESPONSE_MAX':
      case 'REMOTE_CTRL':
        identity(command, parts);
        break;
      default:
        into.reject({ reason: 'unsupported', detail: `frame ${showBody(body)} is not a reply to a query pumpwatch sends (${ALARIS_HOST_COMMANDS.join(', ')})` });
    }
    pump();
  };

  const framer = new AlarisFramer(options.maxFrameBytes, { frame: onFrame, reject: (rejection) => into.reject(rejection) });
  const counters = new HostCounters(framer);
  const reset = () => {
    queue.length = 0;
    awaiting = undefined;
    held = undefined;
  };
  return {
    stats: counters,
    pollIntervalMs: options.pollIntervalMs,
    channels,
    observations,
    opened() {
      reset();
      for (const step of startup) enqueue(step);
      enqueue('INF');
      pump();
    },
    receive: (chunk) => framer.push(chunk),
    poll() {
      // Half an interval, not a whole one: a poll timer may fire a millisecond early by the clock.
      if (awaiting !== undefined && clock.now() - awaiting.sentAtMs >= options.pollIntervalMs / 2) {
        if (awaiting.command === 'ALARM') releaseHeld([ALARIS_ALARM_UNREAD]);
        awaiting = undefined;
      }
      // infupy repeats the enable every second as a keep-alive; OpenICE before every status query.
      if (remoteControl) enqueue('REMOTE_CTRL');
      enqueue('INF');
      pump();
    },
    closed() {
      reset();
      return framer.reset();
    },
  };
}
