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

/**
 * Field positions as OpenICE's `pumpStatus()` reads them (mdpnp/mdpnp:
 * interop-lab/demo-devices/src/main/java/org/mdpnp/devices/alaris/Asena.java); pumpwatch maps the
 * ones with a telemetry field. A reply captured from a real Alaris GH (mickeywstahl/MDDT:
 * interop-lab/demo-devices/src/main/java/org/mdpnp/devices/alaris/AlarisMITM.java) fills them as
 * `INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725`.
 */
export const ALARIS_STATUS_FIELDS = {
  command: { index: 0, meaning: 'echo of the query, INF', certainty: 'verified' },
  instrument: { index: 1, meaning: 'the pump serial number (8002-51733 in the capture, as INST_SERIALNO answers); not used', certainty: 'verified' },
  alarm: { index: 2, meaning: 'alarm flag: "-" none, "A" an alarm is present (named by the ALARM query) → pumpAlarms', certainty: 'verified' },
  mode: { index: 3, meaning: 'infusion mode word (SET, HLD) → state', certainty: 'verified' },
  rate: { index: 4, meaning: 'rate → rateMlPerH', certainty: 'verified' },
  rateUnit: { index: 5, meaning: 'unit of the rate', certainty: 'verified' },
  drug: { index: 6, meaning: 'empty in every public reply; "drug name seems to be empty" (MDDT AlarisToNeurowave.java); not used', certainty: 'UNVERIFIED' },
  volume: { index: 7, meaning: 'volume infused → volumeInfusedMl', certainty: 'verified' },
  volumeUnit: { index: 8, meaning: 'unit of the volume', certainty: 'verified' },
  pressure: { index: 9, meaning: 'line pressure → downstreamPressureMmHg', certainty: 'verified' },
  pressureUnit: { index: 10, meaning: 'unit of the pressure', certainty: 'verified' },
  timeRemaining: { index: 11, meaning: 'time remaining, HH:MM:SS or "24+"; not used', certainty: 'verified' },
  logType: { index: 12, meaning: 'log type (EVENT); not used', certainty: 'verified' },
  logEntry: { index: 13, meaning: 'latest log entry id; not used', certainty: 'verified' },
} as const satisfies Record<string, AlarisStatusField>;

/** A status reply must reach the pressure unit; later fields are optional. */
export const ALARIS_STATUS_MIN_FIELDS = ALARIS_STATUS_FIELDS.pressureUnit.index + 1;

/**
 * Mode words → state, only those the public record shows. A word not listed is not a reason to
 * drop the sample: it is reported as state `unknown` with the word in `pumpMode`, counted and
 * logged once, so a capture can add it here.
 * - `SET`: every running pump in the public simulators answers SET with its rate (mdpnp/mdpnp:
 *   interop-lab/demo-apps/src/main/java/org/mdpnp/apps/testapp/alaris/SingleSimAlaris.java;
 *   mickeywstahl/MDDT: .../devices/neurowave/AlarisToNeurowave.java "This is the infusion mode").
 *   UNVERIFIED that SET means running rather than "rate mode": a capture of a pump stopped by the
 *   nurse settles it.
 * - `HLD`: the real GH capture on hold after an occlusion, rate 0.00, flag A (MDDT AlarisMITM.java).
 */
export const ALARIS_MODES: readonly { state: InfusionState; tokens: readonly string[]; certainty: Certainty }[] = [
  { state: 'infusing', tokens: ['SET'], certainty: 'UNVERIFIED' },
  { state: 'paused', tokens: ['HLD'], certainty: 'verified' },
];

/** The alarm flag that means "no alarm" (every public reply of a pump without alarm). */
export const ALARIS_NO_ALARM_FLAG = '-';
/** The ALARM reply code that means "no alarm" (SingleSimAlaris.java, AlarisToNeurowave.java). */
export const ALARIS_NO_ALARM_CODE = 'AL_NOALM';
/** Put in pumpAlarms when the flag said "alarm" but the ALARM query went unanswered for a poll interval. */
export const ALARIS_ALARM_UNREAD = 'ALARIS_ALARM_UNREAD';

/**
 * `AL_*` codes of the ALARM reply → pumpwatch's canonical pump alarm codes (what
 * `detection.occlusionAlarmCodes` matches). The code list is MDDT AlarisMITM.java's `alarmCodes`;
 * no public source defines them, so every meaning below is read from the name and UNVERIFIED
 * except that AL_OCCLU is the occlusion code (AlarisMITM.java fakes "ALARM^AL_OCCLU^OCCLUSION^",
 * neurowave-alaris-alarm-map.txt maps the AP4000 occlusion alarms to it).
 * `syringeOnly`: the mapping holds for a syringe driver only (a syringe driver has no upstream
 * line, so its occlusion is downstream); on a volumetric pump the code passes through as sent.
 * Codes not listed (AL_ACDIS, AL_CALLB, AL_COMTO, AL_DRDIS, AL_SYRCO, AL_VTBIC, …) pass through as
 * sent, so they are visible in alarm evidence.
 */
export const ALARIS_ALARMS: readonly { token: string; code: string; syringeOnly?: true; certainty: Certainty }[] = [
  { token: 'AL_OCCLU', code: 'OCCLUSION_DOWNSTREAM', syringeOnly: true, certainty: 'verified' },
  { token: 'AL_LWBAT', code: 'LOW_BATTERY', certainty: 'UNVERIFIED' },
  { token: 'AL_NEOIN', code: 'NEAR_END_OF_INFUSION', certainty: 'UNVERIFIED' },
  { token: 'AL_EOIST', code: 'END_OF_INFUSION', certainty: 'UNVERIFIED' },
];

/**
 * Every frame pumpwatch may send to an Alaris pump, by command word: all are queries or the
 * remote-control session itself. The host refuses to encode anything else (alaris.ts), so no
 * configuration can make it send INF_RATE, INF_START, INF_STOP, INF_VTBI, INF_BOLUS, … .
 */
export const ALARIS_HOST_COMMANDS = ['INF', 'ALARM', 'INST_SERIALNO', 'COMMS_PROTOCOL', 'COMMS_RESPONSE_MAX', 'REMOTE_CTRL'] as const;
export type AlarisHostCommand = (typeof ALARIS_HOST_COMMANDS)[number];
/** Steps a port may run once when it opens, before polling INF (config `startup`). */
export const ALARIS_STARTUP_STEPS = ['INST_SERIALNO', 'COMMS_PROTOCOL', 'COMMS_RESPONSE_MAX', 'REMOTE_CTRL'] as const;
export type AlarisStartupStep = (typeof ALARIS_STARTUP_STEPS)[number];
/** Read-only identity queries: what a port runs when its config says nothing. */
export const ALARIS_DEFAULT_STARTUP: readonly AlarisStartupStep[] = ['INST_SERIALNO', 'COMMS_PROTOCOL'];

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

/**
 * The variable sets one `LE`/`DE` read asks a module for, tried in order: when a module refuses a
 * read (an `I` reply other than a closed session), the next, smaller set is tried. `aemdrp` is
 * everything pumpwatch maps; `aemdr` drops the pressure `p` no public source names; `mdr` keeps
 * mode, rate and volume; `dr` is what infupy itself reads (jaj42/infupy:
 * infupy/backends/fresenius.py `readRate`/`readVolume`). UNVERIFIED that a rack refuses a whole
 * read for one unknown id (rather than leaving the id out): a capture settles it.
 */
export const FRESENIUS_READ_LADDER = ['aemdrp', 'aemdr', 'mdr', 'dr'] as const;

/** `I` reply codes (infupy ERRcmd): the base session is closed (open `0DC`, then the module), or the module's is. */
export const FRESENIUS_BASE_CLOSED_ERROR = '0D';
export const FRESENIUS_MODULE_CLOSED_ERROR = '1E';
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
