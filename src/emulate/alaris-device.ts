import type { InfusionState } from '../telemetry/sample.js';
import { AlarisFramer, encodeAlarisFrame } from '../protocols/alaris.js';
import { ALARIS_ALARMS, ALARIS_NO_ALARM_CODE, ALARIS_NO_ALARM_FLAG, ALARIS_STATUS_FIELDS } from '../protocols/mapping.js';
import type { DeviceSession, PumpReading, SendBytes } from '../protocols/protocol.js';

/**
 * The pump side of the Alaris protocol, for the emulator behind `simulate --serial` and
 * `emulate-pump`: it answers in the words the public record shows a real pump use, so the
 * gateway meets the same replies as on a ward. Test and demo code only; production reads pumps
 * through alaris.ts.
 */

/** What the emulated pump answers to INST_SERIALNO and puts in field 1 of every status reply. */
export const EMULATED_ALARIS_SERIAL = '8002-00000';
/** The protocol revision a real GH answers to COMMS_PROTOCOL (OpenICE SingleSimAlaris.java). */
const EMULATED_PROTOCOL_REVISION = 'Asena Rev 2.1.5';

/**
 * The mode word for a state, in the only two words the public record shows: SET while the pump
 * delivers, HLD otherwise. A state the pump has no public word for takes the nearer of the two.
 */
const MODE_WORD: Readonly<Record<InfusionState, 'SET' | 'HLD'>> = {
  infusing: 'SET',
  bolus: 'SET',
  kvo: 'SET',
  paused: 'HLD',
  stopped: 'HLD',
  priming: 'HLD',
  alarm: 'HLD',
  unknown: 'HLD',
};

const TOKEN_BY_CODE = new Map(ALARIS_ALARMS.map(({ token, code }) => [code, token] as const));

function decimal(value: number | undefined, digits: number): string {
  return value === undefined ? '' : value.toFixed(digits);
}

/**
 * One `INF` status reply for `reading`, laid out like the captured GH reply
 * `INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725` (MDDT
 * AlarisMITM.java): flag `-` or `A`, rate with two decimals, volume with three, pressure with two.
 */
export function encodeAlarisStatus(reading: PumpReading): Uint8Array {
  const F = ALARIS_STATUS_FIELDS;
  const parts = new Array<string>(F.logEntry.index + 1).fill('');
  parts[F.command.index] = 'INF';
  parts[F.instrument.index] = EMULATED_ALARIS_SERIAL;
  parts[F.alarm.index] = (reading.pumpAlarms?.length ?? 0) === 0 ? ALARIS_NO_ALARM_FLAG : 'A';
  parts[F.mode.index] = MODE_WORD[reading.state];
  parts[F.rate.index] = decimal(reading.rateMlPerH, 2);
  parts[F.rateUnit.index] = 'ml/h';
  parts[F.volume.index] = decimal(reading.volumeInfusedMl, 3);
  parts[F.volumeUnit.index] = 'ml';
  parts[F.pressure.index] = decimal(reading.downstreamPressureMmHg, 2);
  parts[F.pressureUnit.index] = 'mmHg';
  parts[F.timeRemaining.index] = '24+';
  parts[F.logType.index] = 'EVENT';
  parts[F.logEntry.index] = '1';
  return encodeAlarisFrame(parts.join('^'));
}

/**
 * The ALARM reply for `reading`: its first alarm as an `AL_*` code (a code with no `AL_*` name is
 * sent as it is), or AL_NOALM, in the shape `ALARM^AL_NOALM^ ^ ` of the public simulators
 * (OpenICE SingleSimAlaris.java answers exactly `!ALARM^AL_NOALM^ ^ |C73B`).
 */
export function encodeAlarisAlarm(reading: PumpReading | undefined): Uint8Array {
  const first = reading?.pumpAlarms?.[0];
  const token = first === undefined ? ALARIS_NO_ALARM_CODE : (TOKEN_BY_CODE.get(first) ?? first);
  return encodeAlarisFrame(`ALARM^${token}^ ^ `);
}

export interface AlarisDeviceOptions {
  maxFrameBytes?: number;
  /** Answer for this pump only; default: the first pump channel that `update` sees. */
  pumpId?: string;
  channel?: string;
  /** Every verified frame body from the gateway, for logs and tests. */
  onCommand?: (body: string) => void;
}

/**
 * Answers INF, ALARM and the identity queries with the latest reading; stays silent to anything
 * else, as the emulator has no infusion to change (and records it through `onCommand`).
 */
export function createAlarisDeviceSession(send: SendBytes, options: AlarisDeviceOptions = {}): DeviceSession {
  let boundPumpId = options.pumpId;
  let boundChannel = options.channel;
  let latest: PumpReading | undefined;
  const framer = new AlarisFramer(options.maxFrameBytes ?? 512, {
    frame(body) {
      options.onCommand?.(body);
      const command = body.split('^')[0];
      if (command === 'INF' && latest !== undefined) send(encodeAlarisStatus(latest));
      else if (command === 'ALARM') send(encodeAlarisAlarm(latest));
      else if (command === 'INST_SERIALNO') send(encodeAlarisFrame(`INST_SERIALNO^${EMULATED_ALARIS_SERIAL}`));
      else if (command === 'COMMS_PROTOCOL') send(encodeAlarisFrame(`COMMS_PROTOCOL^${EMULATED_PROTOCOL_REVISION}`));
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
