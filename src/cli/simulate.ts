import { createWriteStream, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../simulate/duration.js';
import {
  buildWardSpec,
  compareLabels,
  FAMILY_DESCRIPTIONS,
  FAMILY_NAMES,
  labelLine,
  listScenarios,
  loadScenario,
  paceWard,
  systemPaceClock,
  Ward,
  type CreateWardOptions,
  type FamilyName,
  type PaceClock,
  type SimEmission,
} from '../simulate/index.js';
import { openEmulatorOutput, type EmulatorOutput, type PumpEmulatorOptions } from '../emulate/emulator.js';
import { PROTOCOL_IDS, type ProtocolId } from '../protocols/protocol.js';
import { connectMqtt, createMqttOutput, createSerialOutput, createStreamOutput, serialOpener, type MqttConnect, type SerialOpen, type TelemetryOutput } from '../simulate/outputs.js';
import { createProgress } from '../simulate/progress.js';
import { SCENARIO_DIR } from '../simulate/scenario.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const SIMULATE_USAGE = `Usage: pumpwatch simulate (--scenario NAME|FILE | --family NAME) [options]

Simulates infusion pumps from their hydraulics and writes telemetry v1 as JSON lines, with a
separate file of labels (the ground truth). The same seed gives the same bytes.

What to simulate:
  --scenario NAME|FILE  a scenario from scenarios/ (see --list) or a YAML/JSON file
  --family NAME         a random ward: ${FAMILY_NAMES.join(', ')}
  --pumps N             pumps in a random ward (default 20)
  --channels N          channels per pump (default 1–3 at random)
  --care-area NAME      careArea of random pumps (default NICU)
  --seed S              seed, a number or text (default: the scenario's, or 1)
  --duration D          simulated time: 24h, 90m, 1h30m, 45s (default: the scenario's, or 24h)
  --start ISO           simulated start time (default: the scenario's, or 2026-01-01T00:00:00Z)

Where it goes (several at once are fine; nothing chosen = telemetry to stdout):
  --out FILE|-          telemetry JSONL, - for stdout
  --labels FILE         labels JSONL: a run record, then one line per event
  --mqtt URL            publish each sample to <prefix>/<pumpId>/telemetry (QoS 0)
  --topic-prefix P      topic prefix for --mqtt (default pumps, matching pumps/+/telemetry)
  --serial PATH         write JSON lines to a serial device or pty
  --baud N              baud rate for --serial (default 115200)
  --protocol P          what --serial speaks: json-lines (default), alaris or fresenius (at its
                        own line settings; a pump emulator answers the gateway, docs/protocols.md)
  --speed N             N× real time (default 1 with --mqtt or --serial, else flat out; 0 = flat out)
  --progress            progress bar on stderr even when it is not a terminal
  --list                list the scenarios and families, then exit

Exit codes: 0 done (also when stopped by a signal), 1 output failed, 2 usage error,
3 invalid scenario, 4 scenario unreadable.`;

export interface SimulateDeps {
  connectMqtt: MqttConnect;
  openSerial: SerialOpen;
  /** A pump emulator speaking `protocol` on a serial port, for --protocol alaris|fresenius. */
  openPumpEmulator: (path: string, protocol: ProtocolId, modules?: PumpEmulatorOptions['modules']) => Promise<EmulatorOutput>;
  /** Paces runs against wall time. */
  clock: PaceClock;
  scenarioDir: string;
}

const DEFAULT_DEPS: SimulateDeps = {
  connectMqtt,
  openSerial: serialOpener(),
  openPumpEmulator: (path, protocol, modules) => openEmulatorOutput(path, protocol, modules),
  clock: systemPaceClock,
  scenarioDir: SCENARIO_DIR,
};

const OPTIONS = {
  scenario: { type: 'string' },
  family: { type: 'string' },
  pumps: { type: 'string' },
  channels: { type: 'string' },
  'care-area': { type: 'string' },
  seed: { type: 'string' },
  duration: { type: 'string' },
  start: { type: 'string' },
  out: { type: 'string' },
  labels: { type: 'string' },
  mqtt: { type: 'string' },
  'topic-prefix': { type: 'string' },
  serial: { type: 'string' },
  baud: { type: 'string' },
  protocol: { type: 'string' },
  speed: { type: 'string' },
  progress: { type: 'boolean' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function integerOption(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got ${text})`);
  return value;
}

function seedOption(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** Topic levels must not be empty or carry wildcards; the pump id level is validated by the telemetry schema. */
function topicPrefixOption(text: string | undefined): string {
  const prefix = text ?? 'pumps';
  if (prefix.split('/').some((level) => level === '' || level.includes('+') || level.includes('#') || level.includes('\u0000'))) {
    throw new UsageError(`--topic-prefix must be topic levels without wildcards or empty levels (got ${JSON.stringify(prefix)})`);
  }
  return prefix;
}

/** Fresenius rack slots for the ward's channels, in ward order (a rack holds up to 9 modules). */
function rackModules(ward: Ward): PumpEmulatorOptions['modules'] {
  return ward.channels.slice(0, 9).map((channel, index) => ({ module: index + 1, pumpId: channel.pumpId, channel: channel.channel }));
}

function openFile(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve(stream));
    stream.once('error', reject);
  });
}

function closeFile(stream: WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(text, () => resolve());
  });
}

export async function simulateCommand(argv: string[], io: CliIo, overrides: Partial<SimulateDeps> = {}): Promise<number> {
  const deps: SimulateDeps = { ...DEFAULT_DEPS, ...overrides };
  const fail = (message: string, code: number) => {
    writeLine(io.stderr, `pumpwatch simulate: ${message}`);
    return code;
  };
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${SIMULATE_USAGE}`, EXIT.usage);
  }
  if (values.help === true) {
    writeLine(io.stdout, SIMULATE_USAGE);
    return EXIT.ok;
  }
  if (values.list === true) {
    const scenarios = await listScenarios(deps.scenarioDir);
    writeLine(io.stdout, `Scenarios (--scenario):\n${scenarios.map((name) => `  ${name}`).join('\n') || '  (none)'}\n\nFamilies (--family):`);
    for (const family of FAMILY_NAMES) writeLine(io.stdout, `  ${family.padEnd(13)} ${FAMILY_DESCRIPTIONS[family]}`);
    return EXIT.ok;
  }

  let options: CreateWardOptions;
  let speed: number;
  let baud: number;
  let protocol: ProtocolId;
  let topicPrefix: string;
  try {
    if ((values.scenario === undefined) === (values.family === undefined)) throw new UsageError('give exactly one of --scenario or --family');
    if (values.family !== undefined && !FAMILY_NAMES.includes(values.family as FamilyName)) {
      throw new UsageError(`unknown family "${values.family}" (known: ${FAMILY_NAMES.join(', ')})`);
    }
    if (values.scenario !== undefined && (values.pumps !== undefined || values.channels !== undefined || values['care-area'] !== undefined)) {
      throw new UsageError('--pumps, --channels and --care-area shape a random ward; a scenario file sets its own pumps');
    }
    const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    if (durationMs !== undefined && durationMs <= 0) throw new UsageError(`--duration must be longer than 0 (got ${values.duration})`);
    if (values.duration !== undefined && durationMs === undefined) throw new UsageError(`--duration must look like 24h, 90m, 1h30m or 45s (got ${values.duration})`);
    const startMs = values.start === undefined ? undefined : Date.parse(values.start);
    if (startMs !== undefined && (Number.isNaN(startMs) || !/(Z|[+-]\d\d:?\d\d)$/.test(values.start!))) {
      throw new UsageError(`--start must be ISO-8601 with a zone, e.g. 2026-01-01T08:00:00Z (got ${values.start})`);
    }
    speed = values.speed === undefined ? (values.mqtt !== undefined || values.serial !== undefined ? 1 : 0) : Number(values.speed);
    if (!Number.isFinite(speed) || speed < 0) throw new UsageError(`--speed must be a number ≥ 0 (got ${values.speed})`);
    baud = integerOption(values.baud, 'baud', 50, 4_000_000) ?? 115_200;
    if (values.protocol !== undefined && !PROTOCOL_IDS.includes(values.protocol as ProtocolId)) {
      throw new UsageError(`--protocol must be one of ${PROTOCOL_IDS.join(', ')} (got ${values.protocol})`);
    }
    if (values.protocol !== undefined && values.serial === undefined) throw new UsageError('--protocol applies to --serial');
    protocol = (values.protocol ?? 'json-lines') as ProtocolId;
    topicPrefix = topicPrefixOption(values['topic-prefix']);
    const seed = seedOption(values.seed);
    const pumps = integerOption(values.pumps, 'pumps', 1, 500);
    const channelsPerPump = integerOption(values.channels, 'channels', 1, 8);
    options = {
      ...(seed === undefined ? {} : { seed }),
      ...(durationMs === undefined ? {} : { durationMs }),
      ...(startMs === undefined ? {} : { startMs }),
      ...(values.family === undefined ? {} : { family: values.family as FamilyName }),
      ...(pumps === undefined ? {} : { pumps }),
      ...(channelsPerPump === undefined ? {} : { channelsPerPump }),
      ...(values['care-area'] === undefined ? {} : { careArea: values['care-area'] }),
    };
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message}\n\n${SIMULATE_USAGE}`, EXIT.usage);
    throw error;
  }

  if (values.scenario !== undefined) {
    const loaded = await loadScenario(values.scenario, deps.scenarioDir);
    if (!loaded.ok) {
      for (const problem of loaded.problems) writeLine(io.stderr, problem);
      return loaded.reason === 'invalid' ? EXIT.configInvalid : loaded.reason === 'not-found' && !values.scenario.includes('/') && !values.scenario.includes('.') ? EXIT.usage : EXIT.inputUnreadable;
    }
    options.scenario = loaded.scenario;
  }
  const ward = new Ward(buildWardSpec(options));

  const outputs: TelemetryOutput[] = [];
  let labelsFile: WriteStream | undefined;
  const closeAll = async () => {
    for (const output of outputs.splice(0)) await output.close().catch(() => undefined);
    labelsFile?.destroy();
  };
  try {
    const toStdout = values.out === '-' || (values.out === undefined && values.mqtt === undefined && values.serial === undefined);
    if (toStdout) outputs.push(createStreamOutput(io.stdout, 'stdout', { end: false }));
    else if (values.out !== undefined) outputs.push(createStreamOutput(await openFile(values.out), values.out, { end: true }));
    if (values.labels !== undefined) labelsFile = await openFile(values.labels);
    if (values.mqtt !== undefined) outputs.push(await createMqttOutput(values.mqtt, topicPrefix, deps.connectMqtt, `pumpwatch-sim-${process.pid}`));
    if (values.serial !== undefined) {
      outputs.push(protocol === 'json-lines' ? await createSerialOutput(values.serial, baud, deps.openSerial) : await deps.openPumpEmulator(values.serial, protocol, protocol === 'fresenius' ? rackModules(ward) : undefined));
    }
  } catch (error) {
    await closeAll();
    return fail(`cannot open an output: ${(error as Error).message}`, EXIT.failure);
  }

  const showProgress = speed === 0 && (values.progress === true || (io.stderr as { isTTY?: boolean }).isTTY === true);
  const progress = showProgress
    ? createProgress(io.stderr, { isTTY: (io.stderr as { isTTY?: boolean }).isTTY === true, monotonic: deps.clock, totalMs: ward.endMs - ward.startMs })
    : undefined;
  const wallStart = deps.clock.elapsedMs();
  const single = outputs.length === 1 ? outputs[0]! : undefined;
  const emit = (emission: SimEmission): void | Promise<void> => {
    const line = JSON.stringify(emission.sample);
    if (progress !== undefined && (ward.emittedCount & 1023) === 0) progress.update(ward.progress, ward.emittedCount);
    if (single !== undefined) return single.write(emission, line);
    const pending: Promise<void>[] = [];
    for (const output of outputs) {
      const result = output.write(emission, line);
      if (result !== undefined) pending.push(result);
    }
    return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
  };

  let result;
  try {
    result = await paceWard(ward, { speed, clock: deps.clock, signal: io.stopSignal, beforeWait: () => Promise.all(outputs.map((output) => Promise.resolve(output.flush()))).then(() => undefined) }, emit);
    const dropped = outputs.reduce((sum, output) => sum + output.dropped, 0);
    for (const output of outputs.splice(0)) await output.close();
    progress?.done(ward.emittedCount);
    const labels = ward.takeLabels().sort(compareLabels);
    if (labelsFile !== undefined) {
      const text = [JSON.stringify(ward.runRecord()), ...labels.map(labelLine)].join('\n');
      await closeFile(labelsFile, `${text}\n`);
      labelsFile = undefined;
    }
    const wallS = (deps.clock.elapsedMs() - wallStart) / 1000;
    writeLine(
      io.stderr,
      `simulated ${ward.spec.name} (seed ${ward.spec.seed}): ${result.emitted} samples from ${ward.channels.length} channels over ${formatDuration(ward.endMs - ward.startMs)}, ` +
        `${labels.length} labels, in ${wallS.toFixed(1)} s${dropped > 0 ? `; ${dropped} samples not delivered` : ''}${result.stopped ? '; stopped early' : ''}`,
    );
  } catch (error) {
    await closeAll();
    return fail(`output failed: ${(error as Error).message}`, EXIT.failure);
  }
  return EXIT.ok;
}
