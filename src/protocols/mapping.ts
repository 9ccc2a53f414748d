import type { InfusionState } from '../telemetry/sample.js';

/**
 * How pump protocol fields map to telemetry v1: every table in one place, so a biomedical
 * engineer holding the manufacturer's interface specification can check and correct them
 * here. Sources are the public, reverse-documented drivers named in docs/protocols.md
 * (OpenICE `Asena.java`, infupy `alaris.py` / `fresenius.py`).
 *
 * Certainty is stated per entry:
 * - `verified`: byte layout or scale seen in a public driver.
 * - `UNVERIFIED`: no public source gives the value set; the entry is an assumption that the
 *   codecs, the emulator and the tests agree on. Confirm it against the pump before clinical use.
 */
export type Certainty = 'verified' | 'UNVERIFIED';

// ---------------------------------------------------------------------------------------------
// Alaris Asena family (GH, CC, PK syringe drivers): reply to the `INF` status query.
// ---------------------------------------------------------------------------------------------

export interface AlarisStatusField {
  /** Position after splitting the frame body on `^`; position 0 is the echoed command `INF`. */
  index: number;
  meaning: string;
  certainty: Certainty;
}

/** Field positions as OpenICE's `pumpStatus()` reads them; pumpwatch maps the ones with a telemetry field. */
export const ALARIS_STATUS_FIELDS = {
  command: { index: 0, meaning: 'echo of the query, INF', certainty: 'verified' },
  instrument: { index: 1, meaning: 'named InstSerial by OpenICE; not used', certainty: 'UNVERIFIED' },
  alarm: { index: 2, meaning: 'alarm notification → pumpAlarms', certainty: 'verified' },
  mode: { index: 3, meaning: 'infusion mode → state', certainty: 'verified' },
  rate: { index: 4, meaning: 'rate → rateMlPerH', certainty: 'verified' },
  rateUnit: { index: 5, meaning: 'unit of the rate', certainty: 'verified' },
  unknown6: { index: 6, meaning: 'skipped by OpenICE; not used', certainty: 'UNVERIFIED' },
  volume: { index: 7, meaning: 'volume infused → volumeInfusedMl', certainty: 'verified' },
  volumeUnit: { index: 8, meaning: 'unit of the volume', certainty: 'verified' },
  pressure: { index: 9, meaning: 'line pressure → downstreamPressureMmHg', certainty: 'verified' },
  pressureUnit: { index: 10, meaning: 'unit of the pressure', certainty: 'verified' },
  timeRemaining: { index: 11, meaning: 'time remaining; not used', certainty: 'verified' },
  logType: { index: 12, meaning: 'log type; not used', certainty: 'verified' },
  logEntry: { index: 13, meaning: 'log entry id; not used', certainty: 'verified' },
} as const satisfies Record<string, AlarisStatusField>;

/** A status reply must reach the pressure unit; later fields are optional. */
export const ALARIS_STATUS_MIN_FIELDS = ALARIS_STATUS_FIELDS.pressureUnit.index + 1;

/**
 * Mode tokens → state. UNVERIFIED: the drivers store the mode field without naming its values.
 * The first token of each row is what the emulator sends. An unknown token rejects the frame as
 * `unsupported` (better a counted rejection and a telemetry-lost alarm than a guessed state).
 */
export const ALARIS_MODES: readonly { state: InfusionState; tokens: readonly string[] }[] = [
  { state: 'infusing', tokens: ['INFUSING', 'RUNNING', 'INFUSE'] },
  { state: 'paused', tokens: ['PAUSED', 'ON_HOLD', 'HOLD'] },
  { state: 'stopped', tokens: ['STOPPED', 'STANDBY', 'IDLE', 'SETUP'] },
  { state: 'bolus', tokens: ['BOLUS'] },
  { state: 'kvo', tokens: ['KVO'] },
  { state: 'priming', tokens: ['PURGE', 'PRIMING', 'PRIME'] },
  { state: 'alarm', tokens: ['ALARM', 'ALARMING'] },
];

/** Alarm-field tokens that mean "no alarm". UNVERIFIED. The first is what the emulator sends. */
export const ALARIS_NO_ALARM_TOKENS: readonly string[] = ['NONE', '', 'NO_ALARM', 'OFF', '0'];

/**
 * Alarm tokens → pumpwatch's canonical pump alarm codes (what `detection.occlusionAlarmCodes`
 * matches). UNVERIFIED. Several tokens may share the field, separated by `,` (also an assumption).
 * A token not listed here is passed on upper-cased with anything outside A-Z 0-9 _ turned into
 * `_`, so a new code is visible in the alarm evidence and can be added to the occlusion codes.
 */
export const ALARIS_ALARMS: readonly { code: string; tokens: readonly string[] }[] = [
  { code: 'OCCLUSION_DOWNSTREAM', tokens: ['OCCLUSION', 'DOWNSTREAM_OCCLUSION', 'OCCLUSION_DOWNSTREAM', 'OCCL', 'PATIENT_SIDE_OCCLUSION'] },
  { code: 'OCCLUSION_UPSTREAM', tokens: ['UPSTREAM_OCCLUSION', 'OCCLUSION_UPSTREAM'] },
  { code: 'AIR_IN_LINE', tokens: ['AIR_IN_LINE', 'AIR'] },
  { code: 'END_OF_INFUSION', tokens: ['END_OF_INFUSION', 'SYRINGE_EMPTY', 'INFUSION_COMPLETE'] },
  { code: 'NEAR_END_OF_INFUSION', tokens: ['NEAR_END', 'NEAR_EMPTY', 'NEAR_END_OF_INFUSION'] },
  { code: 'LOW_BATTERY', tokens: ['BATTERY_LOW', 'LOW_BATTERY'] },
];

/** Units the pump may name, lower-cased, with the factor to pumpwatch's unit. The drivers show `ml/h`, `ml`; the pressure unit is a field, so the pump may use any of these. */
export const ALARIS_RATE_UNITS: ReadonlyMap<string, number> = new Map([
  ['ml/h', 1],
  ['ml/hr', 1],
  ['ml/min', 60],
]);
export const ALARIS_VOLUME_UNITS: ReadonlyMap<string, number> = new Map([
  ['ml', 1],
  ['l', 1000],
]);
export const PRESSURE_UNITS_TO_MMHG: ReadonlyMap<string, number> = new Map([
  ['mmhg', 1],
  ['kpa', 7.500_617],
  ['cmh2o', 0.735_559],
  ['psi', 51.714_93],
  ['mbar', 0.750_062],
]);

// ---------------------------------------------------------------------------------------------
// Fresenius Base A family (Base A / Orchestra / Agilia racks with Injectomat / Volumat modules).
// ---------------------------------------------------------------------------------------------

export interface FreseniusVariable {
  /** One-letter variable identifier in `LE`/`DE` commands and in reports. */
  id: string;
  meaning: string;
  certainty: Certainty;
}

/**
 * The variables pumpwatch reads from every module. Values are hexadecimal. Rate and volume
 * scales are infupy's (`extractRate`: ×0.1 mL/h, `extractVolume`: ×0.001 mL). No public source
 * names a pressure variable: `p` in mmHg is an assumption and the first thing to confirm.
 */
export const FRESENIUS_VARIABLES = {
  alarm: { id: 'a', meaning: 'alarm bitmap → pumpAlarms (bits: FRESENIUS_ALARM_BITS)', certainty: 'verified' },
  error: { id: 'e', meaning: 'error code, 0 = none → pumpAlarms FRESENIUS_ERROR_<hex>', certainty: 'verified' },
  mode: { id: 'm', meaning: 'mode → state (codes: FRESENIUS_MODES)', certainty: 'verified' },
  rate: { id: 'd', meaning: 'rate in 0.1 mL/h → rateMlPerH', certainty: 'verified' },
  volume: { id: 'r', meaning: 'volume infused in 0.001 mL → volumeInfusedMl', certainty: 'verified' },
  pressure: { id: 'p', meaning: 'line pressure in mmHg → downstreamPressureMmHg', certainty: 'UNVERIFIED' },
} as const satisfies Record<string, FreseniusVariable>;

export const FRESENIUS_RATE_ML_PER_H_PER_UNIT = 0.1;
export const FRESENIUS_VOLUME_ML_PER_UNIT = 0.001;

/**
 * Mode codes → state. UNVERIFIED: infupy reads `m` but names no values; it may even be the
 * remote-control mode that `MO` sets (1 manual, 2 PC control) rather than the infusion state.
 * Unknown codes reject the frame as `unsupported`.
 */
export const FRESENIUS_MODES: readonly { code: number; state: InfusionState }[] = [
  { code: 0, state: 'stopped' },
  { code: 1, state: 'infusing' },
  { code: 2, state: 'paused' },
  { code: 3, state: 'bolus' },
  { code: 4, state: 'kvo' },
  { code: 5, state: 'priming' },
  { code: 6, state: 'alarm' },
];

/** Alarm bitmap bit → canonical code. UNVERIFIED. A set bit not listed becomes FRESENIUS_ALARM_BIT_<n>. */
export const FRESENIUS_ALARM_BITS: readonly { bit: number; code: string }[] = [
  { bit: 0, code: 'OCCLUSION_DOWNSTREAM' },
  { bit: 1, code: 'OCCLUSION_UPSTREAM' },
  { bit: 2, code: 'END_OF_INFUSION' },
  { bit: 3, code: 'NEAR_END_OF_INFUSION' },
  { bit: 4, code: 'LOW_BATTERY' },
  { bit: 5, code: 'AIR_IN_LINE' },
];

/** Error replies (`<module>I;<code>`) as infupy lists them; the ones that mean "open the session again". */
export const FRESENIUS_SESSION_CLOSED_ERRORS: ReadonlySet<string> = new Set(['0D', '1E']);
export const FRESENIUS_ERRORS: ReadonlyMap<string, string> = new Map([
  ['01', 'unknown command'],
  ['02', 'command disabled in the current mode'],
  ['03', 'command disabled in this status'],
  ['04', 'syntax error'],
  ['0A', 'identifier not used'],
  ['0B', 'identifier incorrect'],
  ['0C', 'message too long'],
  ['0D', 'communication session with the base not open'],
  ['0E', 'communication with module impossible'],
  ['12', 'presence of an alarm'],
  ['1E', 'communication with the module is not open'],
  ['20', 'command not authorised with this port'],
]);
