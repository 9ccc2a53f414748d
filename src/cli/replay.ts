import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createSettableClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log.js';
import { Pipeline } from '../pipeline.js';
import { JsonlAlarmWriter } from '../sinks/jsonl.js';
import { readJsonlTelemetry } from '../sources/jsonl-file.js';
import { REJECT_REASONS } from '../telemetry/decode.js';
import { loadConfigArg } from './config-arg.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const REPLAY_USAGE = `Usage: pumpwatch replay FILE|- [--config FILE] [--out FILE] [--quiet]

Runs recorded telemetry (JSON lines, telemetry v1) through the same detector and alarm manager as
the daemon, with each sample's own time as the clock. Alarm events go to stdout (or --out) as JSON
lines; logs and the summary go to stderr. The same input and config give byte-identical output.

  FILE|-          telemetry JSONL file, or - for standard input
  --config FILE   detection and gateway settings (default: built-in defaults)
  --out FILE      write alarm events here instead of stdout
  --quiet         no summary on stderr

Exit codes: 0 replayed (rejected lines are counted in the summary), 2 usage error,
3 invalid configuration, 4 input unreadable.`;

/** Lines longer than this in a recording are refused as frame-too-long. */
const MAX_RECORDED_LINE_BYTES = 1 << 20;
const SOURCE_NAME = 'replay';

export interface ReplaySummary {
  accepted: number;
  rejected: Partial<Record<string, number>>;
  alarmEvents: number;
}

/** The replay core: no files, no process; used by the command and by the evaluator. */
export async function replayTelemetry(input: Readable, output: Writable, config: Config, logger: Logger): Promise<ReplaySummary> {
  const clock = createSettableClock();
  const writer = new JsonlAlarmWriter(output);
  // The time guard advances the clock with each sample it accepts: a sample dated 2099 must not.
  const pipeline = new Pipeline({ config, clock, logger, sinks: [writer], sampleClock: clock });
  await readJsonlTelemetry(
    input,
    {
      sample: (sample) => pipeline.accept(sample),
      reject: (rejection) => pipeline.reject(SOURCE_NAME, rejection),
    },
    { maxFrameBytes: MAX_RECORDED_LINE_BYTES, maxSamplesPerFrame: config.sources.mqtt?.maxSamplesPerMessage ?? 100 },
  );
  return { accepted: pipeline.acceptedCount, rejected: pipeline.rejects.totals(), alarmEvents: writer.writtenCount };
}

async function openInput(path: string, io: CliIo): Promise<Readable> {
  if (path === '-') return io.stdin;
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

export async function replayCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (error) {
    writeLine(io.stderr, `pumpwatch replay: ${(error as Error).message}\n\n${REPLAY_USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    writeLine(io.stdout, REPLAY_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    writeLine(io.stderr, REPLAY_USAGE);
    return EXIT.usage;
  }
  const config = await loadConfigArg(values.config, io);
  if (config === undefined) return EXIT.configInvalid;
  const inputPath = positionals[0]!;
  let input: Readable;
  try {
    input = await openInput(inputPath, io);
  } catch (error) {
    writeLine(io.stderr, `pumpwatch replay: cannot read ${inputPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return EXIT.inputUnreadable;
  }
  const output = values.out === undefined ? io.stdout : createWriteStream(values.out);
  const logger = createLogger(config.logging.level, stderrDestination(io));
  const summary = await replayTelemetry(input, output, config, logger);
  if (output !== io.stdout) {
    output.end();
    await finished(output);
  }
  if (values.quiet !== true) {
    const rejected = REJECT_REASONS.filter((reason) => (summary.rejected[reason] ?? 0) > 0)
      .map((reason) => `${reason}=${summary.rejected[reason]}`)
      .join(' ');
    writeLine(io.stderr, `replayed ${summary.accepted} samples, ${summary.alarmEvents} alarm events; rejected: ${rejected === '' ? 'none' : rejected}`);
  }
  return EXIT.ok;
}

function stderrDestination(io: CliIo) {
  return { write: (line: string) => io.stderr.write(line) };
}
