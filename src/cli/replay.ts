import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { AlarmEvent } from '../alarms/event.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../log.js';
import { ReplayLoop } from '../pipeline.js';
import { JsonlAlarmWriter } from '../sinks/jsonl.js';
import { readJsonlTelemetry } from '../sources/jsonl-file.js';
import { CaptureError, replayCapture } from '../sources/capture.js';
import type { ProtocolId } from '../protocols/protocol.js';
import { REJECT_REASONS } from '../telemetry/decode.js';
import { replayPage, REPLAY_TRACE } from '../view/replay-page.js';
import type { ChannelTraces, TraceSettings } from '../view/trace.js';
import { loadConfigArg } from './config-arg.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const REPLAY_USAGE = `Usage: pumpwatch replay FILE|- [--protocol alaris|fresenius] [--config FILE] [--out FILE] [--html FILE [--channel PUMP[/CH]]...] [--quiet]

Runs recorded telemetry (JSON lines, telemetry v1) through the same detector and alarm manager as
the daemon, with each sample's own time as the clock. Alarm events go to stdout (or --out) as JSON
lines; logs and the summary go to stderr. The same input and config give byte-identical output.

  FILE|-          telemetry JSONL file, or - for standard input
  --protocol P    FILE is a raw pump session from \`pumpwatch capture\` in protocol P: its bytes go
                  through the same host session as on the gateway first (docs/protocols.md)
  --config FILE   detection and gateway settings (default: built-in defaults)
  --out FILE      write alarm events here instead of stdout
  --html FILE     also write a self-contained HTML page for an incident review: each channel's
                  pressure against time and volume, the learned baseline, learning restarts and
                  alarms, and every alarm event (opens offline; nothing is fetched)
  --channel NAME  with --html: only this pump or pump/channel (repeatable); default: every
                  channel that alarmed, or every channel when none did
  --quiet         no summary on stderr

Exit codes: 0 replayed (rejected lines are counted in the summary), 1 the --html page could not
be written, 2 usage error, 3 invalid configuration, 4 input unreadable.`;

/** Lines longer than this in a recording are refused as frame-too-long. */
const MAX_RECORDED_LINE_BYTES = 1 << 20;
const SOURCE_NAME = 'replay';

export interface ReplaySummary {
  accepted: number;
  rejected: Partial<Record<string, number>>;
  alarmEvents: number;
  /** With `keepCharts`: the chart history and every alarm event. */
  charts?: { traces: ChannelTraces; events: AlarmEvent[] };
}

export interface CaptureReplaySummary extends ReplaySummary {
  /** Capture lines that were not events, with where and why (the first few). */
  badLines: number;
  badLineDetails: string[];
}

/** A raw capture through its protocol's host session, then the same pipeline as recorded telemetry. */
export async function replayCaptureTelemetry(input: Readable, protocol: ProtocolId, output: Writable, config: Config, logger: Logger): Promise<CaptureReplaySummary> {
  const writer = new JsonlAlarmWriter(output);
  // The capture's own event times drive the clock here, not the samples' timestamps.
  const { clock, pipeline } = new ReplayLoop({ config, logger, sinks: [writer], source: SOURCE_NAME });
  const replay = await replayCapture(input, protocol, clock, { sample: (sample) => pipeline.accept(sample), reject: (rejection) => pipeline.reject(SOURCE_NAME, rejection) });
  return { accepted: pipeline.acceptedCount, rejected: pipeline.rejects.totals(), alarmEvents: writer.writtenCount, badLines: replay.badLines, badLineDetails: replay.badLineDetails };
}

/** The replay core: no files, no process; used by the command and by the evaluator. */
export async function replayTelemetry(input: Readable, output: Writable, config: Config, logger: Logger, options: { keepCharts?: TraceSettings } = {}): Promise<ReplaySummary> {
  const writer = new JsonlAlarmWriter(output);
  const events: AlarmEvent[] = [];
  const sinks = options.keepCharts === undefined ? [writer] : [writer, { deliver: (event: AlarmEvent) => void events.push(event) }];
  // The time guard advances the clock with each sample it accepts: a sample dated 2099 must not.
  const replay = new ReplayLoop({ config, logger, sinks, source: SOURCE_NAME, trace: options.keepCharts, judgeSampleTimes: true });
  await readJsonlTelemetry(input, replay, {
    maxFrameBytes: MAX_RECORDED_LINE_BYTES,
    maxSamplesPerFrame: config.sources.mqtt?.maxSamplesPerMessage ?? 100,
  });
  const { pipeline } = replay;
  const summary: ReplaySummary = { accepted: pipeline.acceptedCount, rejected: pipeline.rejects.totals(), alarmEvents: writer.writtenCount };
  if (pipeline.traces !== undefined) summary.charts = { traces: pipeline.traces, events };
  return summary;
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
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        protocol: { type: 'string' },
        html: { type: 'string' },
        channel: { type: 'string', multiple: true },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
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
  const protocol = values.protocol;
  if (protocol !== undefined && protocol !== 'alaris' && protocol !== 'fresenius') {
    writeLine(io.stderr, `pumpwatch replay: --protocol must be alaris or fresenius, not ${JSON.stringify(protocol)}\n\n${REPLAY_USAGE}`);
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
  let summary: ReplaySummary & Partial<Pick<CaptureReplaySummary, 'badLines' | 'badLineDetails'>>;
  try {
    summary = protocol === undefined ? await replayTelemetry(input, output, config, logger, values.html === undefined ? {} : { keepCharts: REPLAY_TRACE }) : await replayCaptureTelemetry(input, protocol, output, config, logger);
  } catch (error) {
    if (!(error instanceof CaptureError)) throw error;
    writeLine(io.stderr, `pumpwatch replay: ${inputPath}: ${error.message}`);
    return EXIT.inputUnreadable;
  }
  if (output !== io.stdout) {
    output.end();
    await finished(output);
  }
  if (values.html !== undefined && summary.charts !== undefined) {
    const page = replayPage({ source: inputPath === '-' ? 'standard input' : basename(inputPath), ...summary.charts, channels: values.channel ?? [], accepted: summary.accepted });
    try {
      await writeFile(values.html, page);
    } catch (error) {
      writeLine(io.stderr, `pumpwatch replay: cannot write ${values.html} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return EXIT.failure;
    }
    if (values.quiet !== true) writeLine(io.stderr, `incident page written to ${values.html} (${Math.round(Buffer.byteLength(page) / 1024)} KiB)`);
  }
  if (values.quiet !== true) {
    const rejected = REJECT_REASONS.filter((reason) => (summary.rejected[reason] ?? 0) > 0)
      .map((reason) => `${reason}=${summary.rejected[reason]}`)
      .join(' ');
    writeLine(io.stderr, `replayed ${summary.accepted} samples, ${summary.alarmEvents} alarm events; rejected: ${rejected === '' ? 'none' : rejected}`);
    if ((summary.badLines ?? 0) > 0) writeLine(io.stderr, `skipped ${summary.badLines} capture lines that are not events: ${summary.badLineDetails?.join('; ')}`);
  }
  return EXIT.ok;
}

function stderrDestination(io: CliIo) {
  return { write: (line: string) => io.stderr.write(line) };
}
