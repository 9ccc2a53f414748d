import type { Clock } from '../clock.js';
import type { InfusionState } from '../telemetry/sample.js';
import {
  BASE_MODULE,
  encodeFreseniusFrame,
  FRESENIUS_ACK,
  FRESENIUS_ENQ,
  FRESENIUS_NAK_CHECKSUM,
  FRESENIUS_READ_VARIABLES,
  FreseniusFramer,
} from '../protocols/fresenius.js';
import {
  FRESENIUS_ALARM_BITS,
  FRESENIUS_BASE_CLOSED_ERROR,
  FRESENIUS_MODES,
  FRESENIUS_RATE_ML_PER_H_PER_UNIT,
  FRESENIUS_VARIABLES,
  FRESENIUS_VOLUME_ML_PER_UNIT,
} from '../protocols/mapping.js';
import type { DeviceSession, PumpReading, SendBytes } from '../protocols/protocol.js';

/**
 * The rack side of the Fresenius protocol, for the emulator behind `simulate --serial` and
 * `emulate-pump`, and for tests that need a rack with a real rack's refusals (a closed base
 * session, a variable it does not know). Test and demo code only; production reads racks through
 * fresenius.ts.
 */

const V = FRESENIUS_VARIABLES;
const MODE_BY_STATE = new Map(FRESENIUS_MODES.map(({ code, state }) => [state, code] as const));
const ALARM_BIT_BY_CODE = new Map(FRESENIUS_ALARM_BITS.map(({ bit, code }) => [code, bit] as const));
/** "Identifier incorrect" (infupy ERRcmd): what the emulated rack answers to a read of a variable it does not know. */
const UNKNOWN_VARIABLE_ERROR = '0B';

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
  /** Variable ids this rack does not know: a `DE`/`LE` naming one is refused whole with `I;0B`. */
  unknownVariables?: string;
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
  /** Closes every session, as a rack that restarted: module commands are answered `I;0D` until `0DC`. */
  closeSessions(): void;
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
    if (module !== BASE_MODULE && !byModule.get(BASE_MODULE)!.sessionOpen) {
      reply(module, 'I', [FRESENIUS_BASE_CLOSED_ERROR]);
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
        if ([...(options.unknownVariables ?? '')].some((id) => argument.includes(id))) {
          reply(module, 'I', [UNKNOWN_VARIABLE_ERROR]);
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
    closeSessions() {
      for (const state of byModule.values()) {
        state.sessionOpen = false;
        state.spontaneous = '';
      }
    },
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
