import { FrameBuffer } from './frame-buffer.js';
import { decodeSampleValue, type Rejection } from '../telemetry/decode.js';
import type { InfusionState } from '../telemetry/sample.js';
import { crc16CcittFalse, readHex, toHex } from './crc.js';
import {
  ALARIS_ALARMS,
  ALARIS_MODES,
  ALARIS_NO_ALARM_TOKENS,
  ALARIS_RATE_UNITS,
  ALARIS_STATUS_FIELDS,
  ALARIS_STATUS_MIN_FIELDS,
  ALARIS_VOLUME_UNITS,
  PRESSURE_UNITS_TO_MMHG,
} from './mapping.js';
import type { DeviceSession, FramerStats, HostSession, HostSessionDeps, PumpChannelRef, PumpReading, SendBytes } from './protocol.js';
import { HostCounters, parseDecimal, showBody } from './session-stats.js';

/**
 * Alaris Asena-family ASCII protocol, as reverse-documented by OpenICE (`Asena.java`) and infupy
 * (`alaris.py`): 38400 8N1, frames `!` + body + `|` + CRC-16/CCITT-FALSE of the body in four
 * hex digits + CR, body fields separated by `^`. The gateway asks, the pump answers.
 *
 * pumpwatch sends exactly one thing: the status query `!INF|4961\r`, every poll interval. It
 * never enables remote control (`REMOTE_CTRL`), whose keep-alive exists to let a host change the
 * infusion; whether a pump answers `INF` without it is an open question (docs/protocols.md).
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

/** The one frame pumpwatch sends to an Alaris pump. */
export const ALARIS_STATUS_QUERY = encodeAlarisFrame('INF');

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
const MODE_TOKEN_BY_STATE = new Map(ALARIS_MODES.map(({ state, tokens }) => [state, tokens[0]!] as const));
const NO_ALARM = new Set(ALARIS_NO_ALARM_TOKENS);
const ALARM_BY_TOKEN = new Map(ALARIS_ALARMS.flatMap(({ code, tokens }) => tokens.map((token) => [token, code] as const)));
const ALARM_TOKEN_BY_CODE = new Map(ALARIS_ALARMS.map(({ code, tokens }) => [code, tokens[0]!] as const));
const MAX_ALARM_CODE_CHARS = 64;

function alarmCodes(field: string): string[] {
  const codes: string[] = [];
  for (const raw of field.split(',')) {
    const token = raw.trim().toUpperCase();
    if (NO_ALARM.has(token)) continue;
    codes.push(ALARM_BY_TOKEN.get(token) ?? token.replace(/[^A-Z0-9_]/g, '_').slice(0, MAX_ALARM_CODE_CHARS));
  }
  return codes;
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
}

/** The gateway side: polls `INF` and turns each status reply into one sample. */
export function createAlarisHostSession(options: AlarisHostOptions, deps: HostSessionDeps): HostSession {
  const { into, send, clock } = deps;
  const channels: readonly PumpChannelRef[] = [{ pumpId: options.pumpId, channel: options.channel }];
  const fields = ALARIS_STATUS_FIELDS;

  const onFrame = (body: string): void => {
    counters.framesAccepted++;
    const parts = body.split('^');
    if (parts[0] !== 'INF') {
      into.reject({ reason: 'unsupported', detail: `frame ${showBody(body)} is not a reply to INF, the only query pumpwatch sends` });
      return;
    }
    if (parts.length < ALARIS_STATUS_MIN_FIELDS) {
      into.reject({ reason: 'unsupported', detail: `INF reply ${showBody(body)} has ${parts.length} fields, expected at least ${ALARIS_STATUS_MIN_FIELDS}` });
      return;
    }
    const modeToken = parts[fields.mode.index]!.trim().toUpperCase();
    const state = MODE_BY_TOKEN.get(modeToken);
    if (state === undefined) {
      into.reject({ reason: 'unsupported', detail: `INF reply mode ${showBody(modeToken)} is not in the Alaris mode table (src/protocols/mapping.ts)` });
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
    const sample: Record<string, unknown> = {
      pumpId: options.pumpId,
      channel: options.channel,
      ts: clock.now(),
      state,
      pumpAlarms: alarmCodes(parts[fields.alarm.index]!),
    };
    if (options.pumpType !== undefined) sample.pumpType = options.pumpType;
    if (rate.ok && rate.value !== undefined) sample.rateMlPerH = rate.value;
    if (volume.ok && volume.value !== undefined) sample.volumeInfusedMl = volume.value;
    if (pressure.ok && pressure.value !== undefined) sample.downstreamPressureMmHg = pressure.value;
    decodeSampleValue(sample, into);
  };

  const framer = new AlarisFramer(options.maxFrameBytes, { frame: onFrame, reject: (rejection) => into.reject(rejection) });
  const counters = new HostCounters(framer);
  const poll = () => void counters.send(send, ALARIS_STATUS_QUERY);
  return {
    stats: counters,
    pollIntervalMs: options.pollIntervalMs,
    channels,
    opened: poll,
    receive: (chunk) => framer.push(chunk),
    poll,
    closed: () => framer.reset(),
  };
}

function decimal(value: number | undefined, digits: number): string {
  return value === undefined ? '' : value.toFixed(digits);
}

/**
 * One `INF` status reply for `reading`, laid out as ALARIS_STATUS_FIELDS says. Rates go out with
 * two decimals, volumes with three, pressures with one, in ml/h, ml and mmHg.
 */
export function encodeAlarisStatus(reading: PumpReading): Uint8Array {
  const alarms = reading.pumpAlarms ?? [];
  const alarmField = alarms.length === 0 ? ALARIS_NO_ALARM_TOKENS[0]! : alarms.map((code) => ALARM_TOKEN_BY_CODE.get(code) ?? code).join(',');
  const modeToken: string = MODE_TOKEN_BY_STATE.get(reading.state satisfies InfusionState)!;
  const parts = new Array<string>(ALARIS_STATUS_FIELDS.logEntry.index + 1).fill('');
  parts[ALARIS_STATUS_FIELDS.command.index] = 'INF';
  parts[ALARIS_STATUS_FIELDS.instrument.index] = 'PWSIM';
  parts[ALARIS_STATUS_FIELDS.alarm.index] = alarmField;
  parts[ALARIS_STATUS_FIELDS.mode.index] = modeToken;
  parts[ALARIS_STATUS_FIELDS.rate.index] = decimal(reading.rateMlPerH, 2);
  parts[ALARIS_STATUS_FIELDS.rateUnit.index] = 'ml/h';
  parts[ALARIS_STATUS_FIELDS.volume.index] = decimal(reading.volumeInfusedMl, 3);
  parts[ALARIS_STATUS_FIELDS.volumeUnit.index] = 'ml';
  parts[ALARIS_STATUS_FIELDS.pressure.index] = decimal(reading.downstreamPressureMmHg, 1);
  parts[ALARIS_STATUS_FIELDS.pressureUnit.index] = 'mmHg';
  return encodeAlarisFrame(parts.join('^'));
}

export interface AlarisDeviceOptions {
  maxFrameBytes?: number;
  /** Answer for this pump only; default: the first pump channel that `update` sees. */
  pumpId?: string;
  channel?: string;
  /** Every verified frame body from the gateway, for logs and tests. */
  onCommand?: (body: string) => void;
}

/** The pump side, for the emulator: answers `INF` with the latest reading and nothing else. */
export function createAlarisDeviceSession(send: SendBytes, options: AlarisDeviceOptions = {}): DeviceSession {
  let boundPumpId = options.pumpId;
  let boundChannel = options.channel;
  let latest: PumpReading | undefined;
  const framer = new AlarisFramer(options.maxFrameBytes ?? 512, {
    frame(body) {
      options.onCommand?.(body);
      if (body === 'INF' && latest !== undefined) send(encodeAlarisStatus(latest));
    },
    reject: () => undefined,
  });
  return {
    receive: (chunk) => framer.push(chunk),
    update(reading) {
      boundPumpId ??= reading.pumpId;
      boundChannel ??= reading.channel ?? '1';
      if (reading.pumpId === boundPumpId && (reading.channel ?? '1') === boundChannel) latest = reading;
    },
    tick: () => undefined,
  };
}
