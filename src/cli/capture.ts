import type { BindingInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../clock.js';
import { CaptureWriter } from '../sources/capture.js';
import { createHostSession } from '../sources/serial-sessions.js';
import { loadSystemSerialBinding } from '../sources/serial.js';
import { REJECT_REASONS, type RejectReason } from '../telemetry/decode.js';
import { loadConfigArg } from './config-arg.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const CAPTURE_USAGE = `Usage: pumpwatch capture --config FILE --port PATH --out FILE [--seconds N] [--max-bytes N]

Records a raw session with a real pump for the first day at a site: opens the configured serial
port PATH, talks to the pump exactly as \`pumpwatch run\` would (same start-up queries and polls,
nothing that changes an infusion), and writes every byte in both directions, timestamped and
undecoded, to FILE. Run it with the daemon stopped (the port is opened exclusively). Send FILE
back with the pump model and firmware; \`pumpwatch replay --protocol P FILE\` runs it offline.

  --config FILE    the gateway configuration; PATH must be one of its alaris/fresenius ports
  --port PATH      which port to record
  --out FILE       where to write the capture (JSON lines)
  --seconds N      stop after N seconds (default 600)
  --max-bytes N    stop after N wire bytes (default 5000000), so the file stays bounded

Stops early on SIGINT/SIGTERM. Prints what the session decoded to stderr.
Exit codes: 0 recorded, 1 the port could not be opened, 2 usage error, 3 invalid configuration.`;

export interface CaptureDeps {
  loadBinding: () => Promise<BindingInterface>;
  clock: Clock;
}

const DEFAULT_DEPS: CaptureDeps = { loadBinding: loadSystemSerialBinding, clock: systemClock };
const DEFAULT_SECONDS = 600;
const DEFAULT_MAX_BYTES = 5_000_000;

function positiveNumber(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export async function captureCommand(argv: string[], io: CliIo, overrides: Partial<CaptureDeps> = {}): Promise<number> {
  const deps = { ...DEFAULT_DEPS, ...overrides };
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        out: { type: 'string' },
        seconds: { type: 'string' },
        'max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    writeLine(io.stderr, `pumpwatch capture: ${(error as Error).message}\n\n${CAPTURE_USAGE}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    writeLine(io.stdout, CAPTURE_USAGE);
    return EXIT.ok;
  }
  const seconds = positiveNumber(values.seconds, DEFAULT_SECONDS);
  const maxBytes = positiveNumber(values['max-bytes'], DEFAULT_MAX_BYTES);
  if (values.config === undefined || values.port === undefined || values.out === undefined || seconds === undefined || maxBytes === undefined) {
    writeLine(io.stderr, `pumpwatch capture: --config, --port and --out are required; --seconds and --max-bytes must be positive numbers\n\n${CAPTURE_USAGE}`);
    return EXIT.usage;
  }
  const config = await loadConfigArg(values.config, io);
  if (config === undefined) return EXIT.configInvalid;
  const port = config.sources.serial.find((entry) => entry.path === values.port);
  if (port === undefined || port.protocol === 'json-lines') {
    const known = config.sources.serial.filter((entry) => entry.protocol !== 'json-lines').map((entry) => entry.path);
    writeLine(io.stderr, `pumpwatch capture: ${values.port} is not an alaris or fresenius port of ${values.config} (its ports: ${known.join(', ') || 'none'})`);
    return EXIT.usage;
  }

  const stream = new SerialPortStream({ binding: await deps.loadBinding(), path: port.path, baudRate: port.baudRate, dataBits: port.dataBits, parity: port.parity, stopBits: port.stopBits, autoOpen: false });
  const openError = await new Promise<Error | null>((resolve) => stream.open(resolve));
  if (openError !== null) {
    writeLine(io.stderr, `pumpwatch capture: cannot open ${port.path}: ${openError.message}`);
    return EXIT.failure;
  }
  stream.on('error', () => undefined);
  const out = createWriteStream(values.out);
  const writer = new CaptureWriter(out, { pumpwatchCapture: 1, protocol: port.protocol, startedAt: new Date(deps.clock.now()).toISOString(), port: { ...port } }, maxBytes);
  const counts = { samples: 0, rejected: new Map<RejectReason, number>() };
  const session = createHostSession(
    port,
    {
      into: {
        sample: () => void counts.samples++,
        reject: (rejection) => void counts.rejected.set(rejection.reason, (counts.rejected.get(rejection.reason) ?? 0) + 1),
      },
      send(bytes) {
        if (!stream.isOpen) return false;
        writer.bytesOf(deps.clock.now(), 'tx', bytes);
        stream.write(bytes);
        return true;
      },
      clock: deps.clock,
    },
    config.sources.mqtt?.maxSamplesPerMessage ?? 100,
  );

  const reason = await new Promise<string>((resolve) => {
    const done = (why: string) => {
      clearInterval(poller);
      clearTimeout(timer);
      io.stopSignal.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onAbort = () => done('stopped on request');
    stream.on('data', (chunk: Buffer) => {
      writer.bytesOf(deps.clock.now(), 'rx', chunk);
      session.receive(chunk);
      if (writer.full) done(`reached ${maxBytes} bytes`);
    });
    stream.on('close', () => done('the port closed'));
    io.stopSignal.addEventListener('abort', onAbort);
    const timer = setTimeout(() => done(`${seconds} s elapsed`), seconds * 1000);
    const poller = setInterval(() => {
      writer.event(deps.clock.now(), 'poll');
      session.poll();
      if (writer.full) done(`reached ${maxBytes} bytes`);
    }, port.pollIntervalSeconds * 1000);
    writer.event(deps.clock.now(), 'open');
    session.opened();
  });
  stream.removeAllListeners('data');
  if (stream.isOpen) await new Promise<void>((resolve) => stream.close(() => resolve()));
  out.end();
  await finished(out);
  const rejected = REJECT_REASONS.filter((why) => (counts.rejected.get(why) ?? 0) > 0)
    .map((why) => `${why}=${counts.rejected.get(why)}`)
    .join(' ');
  writeLine(io.stderr, `captured ${writer.bytes} bytes from ${port.path} to ${values.out} (${reason}); decoded ${counts.samples} samples; rejected: ${rejected === '' ? 'none' : rejected}`);
  return EXIT.ok;
}
