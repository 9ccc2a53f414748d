import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluate } from '../evaluate/evaluate.js';
import { formatCurves, formatSummary } from '../evaluate/format.js';
import { renderHtml } from '../evaluate/html.js';
import { DEFAULT_FAMILIES, defaultPlan, SEED_SETS, type EvaluationPlan, type SeedSetName } from '../evaluate/plan.js';
import { FAMILY_NAMES, type FamilyName } from '../simulate/index.js';
import { loadConfigArg } from './config-arg.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export const EVALUATE_USAGE = `Usage: pumpwatch evaluate [--set held-out|tuning] [--seeds LIST] [--families LIST] [--pumps N] [--hours H]
                         [--telemetry FILE --labels FILE]... [--config FILE] [--out DIR] [--quiet]

Runs labelled scenarios through the same decoder, detector and alarm manager as replay and scores
what pumpwatch raised against the truth, next to the pump's own threshold alarm: sensitivity,
median and p90 delay, infiltrated volume at detection, false alarms per pump-day, confusion, and
silence through artefacts, by rate band and site stiffness. Prints the tables; writes
evaluation.json and a self-contained evaluation.html (with example pressure traces) to --out.

  --set NAME        seed set: held-out (${SEED_SETS['held-out'].join(', ')}; default, the README figures) or tuning (${SEED_SETS.tuning.join(', ')})
  --seeds LIST      comma-separated seeds instead of a set
  --families LIST   simulator families (default ${DEFAULT_FAMILIES.map((f) => f.family).join(',')}; known: ${FAMILY_NAMES.join(', ')})
  --pumps N         pumps per family run (default: 40, artefacts 20)
  --hours H         simulated hours per run (default 24)
  --telemetry FILE  recorded telemetry JSONL (with --labels, as pumpwatch simulate writes them); repeatable
  --labels FILE     its labels JSONL
  --config FILE     detection settings to evaluate (default: built-in defaults)
  --out DIR         where to write evaluation.json and evaluation.html (default out/evaluate)
  --quiet           no progress on stderr

Exit codes: 0 evaluated (targets met or not), 2 usage error, 3 invalid configuration,
4 input unreadable.`;

function positiveNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number (got ${text})`);
  return value;
}

function buildPlan(values: { set?: string | undefined; seeds?: string | undefined; families?: string | undefined; pumps?: string | undefined; hours?: string | undefined }): EvaluationPlan {
  const setName = values.set ?? 'held-out';
  if (!(setName in SEED_SETS)) throw new Error(`--set must be one of ${Object.keys(SEED_SETS).join(', ')} (got ${setName})`);
  let plan = defaultPlan(setName as SeedSetName);
  if (values.seeds !== undefined) {
    const seeds = values.seeds.split(',').map((text) => Number(text.trim()));
    if (seeds.some((seed) => !Number.isInteger(seed) || seed < 0)) throw new Error(`--seeds must be comma-separated whole numbers (got ${values.seeds})`);
    plan = { ...plan, setName: 'custom', seeds };
  }
  if (values.families !== undefined) {
    const names = values.families.split(',').map((text) => text.trim());
    const unknown = names.filter((name) => !(FAMILY_NAMES as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`unknown families: ${unknown.join(', ')} (known: ${FAMILY_NAMES.join(', ')})`);
    plan = {
      ...plan,
      families: names.map((name) => DEFAULT_FAMILIES.find((family) => family.family === name) ?? { family: name as FamilyName, pumps: 40, hours: 24 }),
    };
  }
  const pumps = positiveNumber(values.pumps, 'pumps');
  const hours = positiveNumber(values.hours, 'hours');
  if (pumps !== undefined || hours !== undefined) {
    plan = { ...plan, families: plan.families.map((family) => ({ ...family, pumps: pumps === undefined ? family.pumps : Math.round(pumps), hours: hours ?? family.hours })) };
  }
  return plan;
}

export async function evaluateCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  let plan: EvaluationPlan;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        set: { type: 'string' },
        seeds: { type: 'string' },
        families: { type: 'string' },
        pumps: { type: 'string' },
        hours: { type: 'string' },
        telemetry: { type: 'string', multiple: true },
        labels: { type: 'string', multiple: true },
        config: { type: 'string' },
        out: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
    plan = buildPlan(parsed.values);
    if ((parsed.values.telemetry?.length ?? 0) !== (parsed.values.labels?.length ?? 0)) throw new Error('every --telemetry needs its --labels');
  } catch (error) {
    writeLine(io.stderr, `pumpwatch evaluate: ${(error as Error).message}\n\n${EVALUATE_USAGE}`);
    return EXIT.usage;
  }
  const { values } = parsed;
  if (values.help === true) {
    writeLine(io.stdout, EVALUATE_USAGE);
    return EXIT.ok;
  }
  const config = await loadConfigArg(values.config, io);
  if (config === undefined) return EXIT.configInvalid;
  const files = (values.telemetry ?? []).map((telemetry, index) => ({ telemetry, labels: values.labels![index]! }));
  for (const path of files.flatMap((pair) => [pair.telemetry, pair.labels])) {
    try {
      await access(path);
    } catch {
      writeLine(io.stderr, `pumpwatch evaluate: cannot read ${path}`);
      return EXIT.inputUnreadable;
    }
  }
  const progress = values.quiet === true ? undefined : (message: string) => writeLine(io.stderr, `evaluate: ${message}`);
  let result;
  try {
    result = await evaluate({ plan, config, files, ...(progress === undefined ? {} : { progress }) });
  } catch (error) {
    writeLine(io.stderr, `pumpwatch evaluate: ${(error as Error).message}`);
    return files.length > 0 ? EXIT.inputUnreadable : EXIT.failure;
  }
  const heading =
    files.length > 0
      ? `Recorded runs: ${files.map((pair) => pair.telemetry).join(', ')}`
      : `Seed set "${plan.setName}" (seeds ${plan.seeds.join(', ')}): ${plan.families.map((family) => `${family.family} ${family.pumps} pumps × ${family.hours} h`).join(', ')}; ${result.seconds.toFixed(0)} s`;
  writeLine(io.stdout, formatSummary(result.summary, heading));
  const marks = { wardNats: config.detection.infiltration.thresholdNats, vesicantNats: config.detection.sensitiveContext.thresholdNats };
  writeLine(io.stdout, `\n${formatCurves(result.curves, marks)}`);
  const outDir = values.out ?? join('out', 'evaluate');
  await mkdir(outDir, { recursive: true });
  const json = { heading, settings: config.detection, ...result, scores: { ...result.scores, falseAlarmList: result.scores.falseAlarmList.length } };
  await writeFile(join(outDir, 'evaluation.json'), `${JSON.stringify(json, null, 1)}\n`);
  await writeFile(join(outDir, 'evaluation.html'), renderHtml(result, heading, marks));
  if (progress !== undefined) progress(`wrote ${join(outDir, 'evaluation.json')} and ${join(outDir, 'evaluation.html')}`);
  return EXIT.ok;
}
