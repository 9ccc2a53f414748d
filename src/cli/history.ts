import { parseArgs } from 'node:util';
import { readAuditTrail, type AuditRecord } from '../alarms/audit-log.js';
import { loadConfigFile } from '../config/load.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const HISTORY_USAGE = `Usage: pumpwatch history --config FILE --since TIME [--until TIME] [--format csv|jsonl]
       pumpwatch history --dir DIR --since TIME [--until TIME] [--format csv|jsonl]

For an incident review: writes every alarm event (raised, updated, escalated, acknowledged,
ended), every station command, every retired channel, every pause of a channel's alarms (start,
resume, expiry) and every roster update that the gateway recorded between
--since and --until (default: now), oldest first, from the audit trail in the journal directory
(journal.directory of --config, or --dir). TIME is ISO-8601, e.g. 2026-01-05 or
2026-01-05T08:00:00Z. jsonl (the default) writes the records as stored; csv one row per record.

Exit codes: 0 ok, 2 usage error, 3 invalid configuration, 4 trail unreadable.`;

const CSV_COLUMNS = ['time', 'kind', 'event', 'alarmId', 'condition', 'priority', 'pumpId', 'channel', 'by', 'at', 'detail'] as const;

function csvField(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(record: AuditRecord): string {
  let row: Partial<Record<(typeof CSV_COLUMNS)[number], string | number | undefined>>;
  if (record.kind === 'event') {
    const { event } = record;
    const by = event.evidence['acknowledgedBy'] ?? event.evidence['retiredBy'];
    row = {
      event: event.event,
      alarmId: event.alarmId,
      condition: event.condition,
      priority: event.priority,
      pumpId: event.pumpId,
      channel: event.channel,
      by: typeof by === 'string' ? by : undefined,
      at: event.at,
      detail: event.message,
    };
  } else if (record.kind === 'command') {
    const { command } = record;
    row = { event: `${command.command}:${command.verdict}`, pumpId: command.pumpId, channel: command.channel, by: command.by, at: command.at, detail: command.detail };
  } else if (record.kind === 'retire') {
    const { retirement } = record;
    row = { event: 'retired', pumpId: retirement.pumpId, channel: retirement.channel, by: retirement.by, at: retirement.at, detail: `${retirement.endedAlarms} alarm(s) ended` };
  } else if (record.kind === 'pause') {
    const { pause } = record;
    row = { event: `pause:${pause.event}`, pumpId: pause.pumpId, channel: pause.channel, by: pause.by, at: pause.at, detail: `until ${pause.until}` };
  } else {
    const { roster } = record;
    row = { event: `roster:${roster.verdict}`, by: roster.by, at: roster.at, detail: roster.detail };
  }
  const full: Record<string, string | number | undefined> = { ...row, time: record.t, kind: record.kind };
  return CSV_COLUMNS.map((column) => csvField(full[column])).join(',');
}

function parseTime(text: string | undefined, fallbackMs: number): number | undefined {
  if (text === undefined) return fallbackMs;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export async function historyCommand(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        dir: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        format: { type: 'string', default: 'jsonl' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    writeLine(io.stderr, `pumpwatch history: ${(error as Error).message}\n\n${HISTORY_USAGE}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    writeLine(io.stdout, HISTORY_USAGE);
    return EXIT.ok;
  }
  const sinceMs = parseTime(values.since, Number.NaN);
  const untilMs = parseTime(values.until, Date.now());
  const format = values.format;
  if (values.since === undefined || sinceMs === undefined || Number.isNaN(sinceMs) || untilMs === undefined || (format !== 'csv' && format !== 'jsonl') || (values.config === undefined) === (values.dir === undefined)) {
    writeLine(io.stderr, HISTORY_USAGE);
    return EXIT.usage;
  }
  let directory = values.dir;
  if (values.config !== undefined) {
    const loaded = await loadConfigFile(values.config, io.env);
    if (!loaded.ok) {
      for (const problem of loaded.problems) writeLine(io.stderr, `${values.config}: ${problem}`);
      return EXIT.configInvalid;
    }
    directory = loaded.value.config.journal.directory;
  }
  let trail;
  try {
    trail = readAuditTrail(directory!);
  } catch (error) {
    writeLine(io.stderr, `pumpwatch history: cannot read the audit trail in ${directory} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return EXIT.inputUnreadable;
  }
  if (format === 'csv') writeLine(io.stdout, CSV_COLUMNS.join(','));
  let written = 0;
  for (const record of trail.records) {
    const ms = Date.parse(record.t);
    if (ms < sinceMs || ms > untilMs) continue;
    writeLine(io.stdout, format === 'csv' ? csvRow(record) : JSON.stringify(record));
    written++;
  }
  writeLine(io.stderr, `${written} record(s) from ${new Date(sinceMs).toISOString()} to ${new Date(untilMs).toISOString()}${trail.unreadable > 0 ? `; ${trail.unreadable} unreadable line(s) skipped` : ''}`);
  return EXIT.ok;
}
