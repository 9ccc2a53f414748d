import type { BindingInterface } from '@serialport/bindings-cpp';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../clock.js';
import { openPumpEmulator, type PumpEmulator } from '../emulate/emulator.js';
import { PROTOCOL_IDS, type ProtocolId, type PumpReading } from '../protocols/protocol.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const EMULATE_PUMP_USAGE = `Usage: pumpwatch emulate-pump --protocol ${PROTOCOL_IDS.join('|')} --serial PATH [--module N=PUMP[/CHANNEL]]...

Plays a pump (or a Fresenius rack) on a serial port in its own protocol, for gateway tests and
demos: reads telemetry v1 JSON lines on standard input and answers pumpwatch's queries with the
latest reading of each pump channel. Never connect it to a real pump or a real gateway on a ward.

  --protocol P          alaris (one pump: the first channel read), fresenius (a rack: modules
                        1, 2, … in the order channels first appear), json-lines (every line as is)
  --serial PATH         the port, e.g. the pump end of a socat pty pair
  --module N=PUMP[/CH]  fresenius: put pump channel PUMP/CH (default channel 1) in module N

  socat -d -d pty,raw,echo=0,link=/tmp/pw/pump pty,raw,echo=0,link=/tmp/pw/gateway &
  pumpwatch simulate --scenario NAME --out - | pumpwatch emulate-pump --protocol alaris --serial /tmp/pw/pump
  (and pumpwatch run with a port on /tmp/pw/gateway speaking the same protocol)

It keeps answering with the last readings after the input ends, until SIGINT or SIGTERM.
Exit codes: 0 stopped on request, 1 the port could not be opened, 2 usage error.`;

export interface EmulatePumpDeps {
  loadBinding: () => Promise<BindingInterface>;
  clock: Clock;
}

const DEFAULT_DEPS: EmulatePumpDeps = { loadBinding: loadSystemSerialBinding, clock: systemClock };

function parseModule(text: string): { module: number; pumpId: string; channel: string } | undefined {
  const match = /^([1-9])=([A-Za-z0-9._:-]{1,64})(?:\/([A-Za-z0-9._-]{1,16}))?$/.exec(text);
  if (match === null) return undefined;
  return { module: Number(match[1]), pumpId: match[2]!, channel: match[3] ?? '1' };
}

function looksLikeReading(value: unknown): value is PumpReading {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return typeof record.pumpId === 'string' && typeof record.state === 'string';
}

export async function emulatePumpCommand(argv: string[], io: CliIo, overrides: Partial<EmulatePumpDeps> = {}): Promise<number> {
  const deps = { ...DEFAULT_DEPS, ...overrides };
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { protocol: { type: 'string' }, serial: { type: 'string' }, module: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    writeLine(io.stderr, `pumpwatch emulate-pump: ${(error as Error).message}\n\n${EMULATE_PUMP_USAGE}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    writeLine(io.stdout, EMULATE_PUMP_USAGE);
    return EXIT.ok;
  }
  const protocol = values.protocol as ProtocolId | undefined;
  const modules = (values.module ?? []).map(parseModule);
  const usageProblem =
    protocol === undefined || !PROTOCOL_IDS.includes(protocol)
      ? `--protocol must be one of ${PROTOCOL_IDS.join(', ')}`
      : values.serial === undefined
        ? '--serial PATH is required'
        : modules.includes(undefined)
          ? '--module must look like 2=NICU-07 or 2=NICU-07/1'
          : modules.length > 0 && protocol !== 'fresenius'
            ? '--module only applies to --protocol fresenius'
            : undefined;
  if (usageProblem !== undefined) {
    writeLine(io.stderr, `pumpwatch emulate-pump: ${usageProblem}\n\n${EMULATE_PUMP_USAGE}`);
    return EXIT.usage;
  }

  let emulator: PumpEmulator;
  try {
    emulator = await openPumpEmulator({
      path: values.serial!,
      protocol: protocol!,
      binding: await deps.loadBinding(),
      clock: deps.clock,
      ...(modules.length === 0 ? {} : { modules: modules as { module: number; pumpId: string; channel: string }[] }),
    });
  } catch (error) {
    writeLine(io.stderr, `pumpwatch emulate-pump: cannot open ${values.serial}: ${(error as Error).message}`);
    return EXIT.failure;
  }
  writeLine(io.stderr, `pumpwatch emulate-pump: ${protocol} pump on ${values.serial}; reading telemetry JSON lines on stdin`);

  let skipped = 0;
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (looksLikeReading(value)) emulator.update(value);
      else skipped++;
    } catch {
      skipped++;
    }
  });
  if (!io.stopSignal.aborted) await new Promise((resolve) => io.stopSignal.addEventListener('abort', resolve, { once: true }));
  lines.close();
  await emulator.close();
  writeLine(io.stderr, `pumpwatch emulate-pump: stopped${skipped > 0 ? `; ${skipped} input lines were not readings` : ''}`);
  return EXIT.ok;
}
