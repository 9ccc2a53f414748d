import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { capacitySvg, DEFAULT_CAPACITY, formatCapacityBench, runCapacityBench } from './capacity.js';
import { parseArgs } from 'node:util';
import { DEFAULT_COST, formatCostBench, runCostBench } from './cost.js';
import { DEFAULT_DETECTOR_BENCH, formatDetectorBench, runDetectorBench } from './detector.js';
import { DEFAULT_E2E, formatE2eBench, runE2eBench } from './e2e.js';
import type { DaemonRuntime } from './lib/daemon-process.js';
import { RESULTS_DIRECTORY, writeResult } from './lib/report.js';
import { DEFAULT_MEMORY, formatMemoryBench, runMemoryBench } from './memory.js';
import { DEFAULT_OVERLOAD, formatOverloadBench, runOverloadBench } from './overload.js';
import { DEFAULT_WEB_BENCH, formatWebBench, runWebBench } from './web.js';

const USAGE = `Usage: npm run bench -- [detector] [cost] [e2e] [memory] [overload] [capacity] [web] [options]

With no name, runs them all (about twelve minutes). Each prints a table and writes JSON to
out/bench/<name>.json; capacity also writes out/bench/capacity.svg. Needs mosquitto on the PATH
(or --broker) and Linux (/proc); capacity installs Node-RED into out/peers/ on first use.

  --broker URL        use a running broker instead of starting an own Mosquitto
  --runtime dist|tsx  run the daemon as built (default; the bench runs npm run build first) or from
                      source through tsx (no build; tsx adds ~25 MiB RSS and start-up time)
  --rates A,B,…       e2e: offered samples/s per step (default ${DEFAULT_E2E.rates.join(',')})
  --channels N        e2e: simulated channels (default ${DEFAULT_E2E.channels})
  --measure S         e2e and web: measured seconds per step (defaults ${DEFAULT_E2E.measureSeconds} and ${DEFAULT_WEB_BENCH.measureSeconds})
  --pages N           e2e: ward pages kept open in headless Chromium during the steps (default 0);
                      web: pages opened (default ${DEFAULT_WEB_BENCH.pages})
  --page-streams N    e2e: measure each step twice, without and with the event streams and chart
                      fetches of N ward pages (no browser), side by side (default 0: once, without)
  --sizes A,B,…       memory: channel counts (default ${DEFAULT_MEMORY.channelCounts.join(',')})
  --factors A,B,…     overload: flood factors over nominal (default ${DEFAULT_OVERLOAD.factors.join(',')})
  --seconds S         memory and overload: seconds per size or per flood (defaults ${DEFAULT_MEMORY.seconds} and ${DEFAULT_OVERLOAD.seconds})
  --repetitions N     capacity: blasts of ${DEFAULT_CAPACITY.blastMessages} messages (default ${DEFAULT_CAPACITY.repetitions})
  --curve A,B,…       capacity: offered load steps as multiples of capacity (default ${DEFAULT_CAPACITY.factors.join(',')})`;

const BENCHES = ['detector', 'cost', 'e2e', 'memory', 'overload', 'capacity', 'web'] as const;
type BenchName = (typeof BENCHES)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    broker: { type: 'string' },
    runtime: { type: 'string' },
    rates: { type: 'string' },
    channels: { type: 'string' },
    measure: { type: 'string' },
    sizes: { type: 'string' },
    factors: { type: 'string' },
    seconds: { type: 'string' },
    repetitions: { type: 'string' },
    curve: { type: 'string' },
    pages: { type: 'string' },
    'page-streams': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

function numbers(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const parsed = text.split(',').map(Number);
  if (parsed.some((value) => !Number.isFinite(value) || value <= 0)) throw new Error(`PW_BENCH_USAGE: not a list of positive numbers: ${text}`);
  return parsed;
}

function number(text: string | undefined, fallback: number): number {
  return numbers(text, [fallback])[0]!;
}

if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = positionals.filter((name) => !(BENCHES as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
const runtime = (values.runtime ?? 'dist') as DaemonRuntime;
if (runtime !== 'tsx' && runtime !== 'dist') {
  console.error(`--runtime must be tsx or dist\n\n${USAGE}`);
  process.exit(2);
}
const selected: BenchName[] = positionals.length === 0 ? [...BENCHES] : (positionals as BenchName[]);
const brokerUrl = values.broker;
if (runtime === 'dist' && selected.some((name) => name !== 'detector' && name !== 'cost')) {
  console.log('building (npm run build) so the daemon runs as shipped …');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
}

for (const name of selected) {
  console.log(`\n== ${name}`);
  let text: string;
  let result: unknown;
  if (name === 'detector') {
    const detector = runDetectorBench(DEFAULT_DETECTOR_BENCH);
    [text, result] = [formatDetectorBench(detector), detector];
  } else if (name === 'cost') {
    const cost = await runCostBench(DEFAULT_COST);
    [text, result] = [formatCostBench(cost), cost];
  } else if (name === 'e2e') {
    const e2e = await runE2eBench({
      ...DEFAULT_E2E,
      brokerUrl,
      runtime,
      rates: numbers(values.rates, DEFAULT_E2E.rates),
      channels: number(values.channels, DEFAULT_E2E.channels),
      measureSeconds: number(values.measure, DEFAULT_E2E.measureSeconds),
      pages: values.pages === undefined ? 0 : number(values.pages, 0),
      pageStreams: values['page-streams'] === undefined ? 0 : number(values['page-streams'], 0),
    });
    [text, result] = [formatE2eBench(e2e), e2e];
  } else if (name === 'web') {
    const web = await runWebBench({
      ...DEFAULT_WEB_BENCH,
      brokerUrl,
      runtime,
      channels: number(values.channels, DEFAULT_WEB_BENCH.channels),
      measureSeconds: number(values.measure, DEFAULT_WEB_BENCH.measureSeconds),
      pages: number(values.pages, DEFAULT_WEB_BENCH.pages),
    });
    [text, result] = [formatWebBench(web), web];
  } else if (name === 'memory') {
    const memory = await runMemoryBench({
      ...DEFAULT_MEMORY,
      brokerUrl,
      runtime,
      channelCounts: numbers(values.sizes, DEFAULT_MEMORY.channelCounts),
      seconds: number(values.seconds, DEFAULT_MEMORY.seconds),
    });
    [text, result] = [formatMemoryBench(memory), memory];
  } else if (name === 'capacity') {
    const capacity = await runCapacityBench({
      ...DEFAULT_CAPACITY,
      brokerUrl,
      runtime,
      repetitions: number(values.repetitions, DEFAULT_CAPACITY.repetitions),
      factors: numbers(values.curve, DEFAULT_CAPACITY.factors),
    });
    [text, result] = [formatCapacityBench(capacity), capacity];
    const svgPath = join(RESULTS_DIRECTORY, 'capacity.svg');
    await mkdir(RESULTS_DIRECTORY, { recursive: true });
    await writeFile(svgPath, capacitySvg(capacity));
    console.log(`wrote ${svgPath}`);
  } else {
    const overload = await runOverloadBench({
      ...DEFAULT_OVERLOAD,
      brokerUrl,
      runtime,
      factors: numbers(values.factors, DEFAULT_OVERLOAD.factors),
      seconds: number(values.seconds, DEFAULT_OVERLOAD.seconds),
    });
    [text, result] = [formatOverloadBench(overload), overload];
  }
  console.log(text);
  console.log(`wrote ${await writeResult(`${name}.json`, result)}`);
}
