import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { COST_MODES, type CostMode } from './lib/messages.js';
import { formatNumber, machineInfo, machineLine, percentile, table, type MachineInfo } from './lib/report.js';

/**
 * CPU per message through a real mqtt.js client, without a broker: what a plain subscriber
 * spends, what pumpwatch's decoding and its detector add. CPU time, so it holds on a shared
 * machine where wall-clock rates wander; the median of several fresh processes per mode.
 */

export interface CostOptions {
  messages: number;
  repeats: number;
}

export const DEFAULT_COST: CostOptions = { messages: 200_000, repeats: 3 };

export interface CostRow {
  mode: CostMode;
  cpuMicrosPerMessage: number;
  /** Messages per second one core could take at that cost. */
  perCoreSecond: number;
  runs: number[];
}

export interface CostResult {
  bench: 'cost';
  machine: MachineInfo;
  options: CostOptions;
  rows: CostRow[];
  /** pumpwatch's CPU per message over the plain subscriber's: decoding only, with detection, and with the ward page's chart ring too (the daemon's default). */
  ratioDecode: number;
  ratioFull: number;
  ratioChart: number;
}

async function measureOnce(mode: CostMode, messages: number): Promise<number> {
  const child = fork(join(import.meta.dirname, 'lib', 'cost-child.ts'), [mode, String(messages)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ cpuMicrosPerMessage: number }];
  await once(child, 'exit');
  return message.cpuMicrosPerMessage;
}

export async function runCostBench(options: CostOptions = DEFAULT_COST): Promise<CostResult> {
  const machine = machineInfo();
  const rows: CostRow[] = [];
  for (const mode of COST_MODES) {
    const runs: number[] = [];
    for (let repeat = 0; repeat < options.repeats; repeat++) runs.push(await measureOnce(mode, options.messages));
    const median = percentile(runs, 0.5);
    rows.push({ mode, cpuMicrosPerMessage: Number(median.toFixed(2)), perCoreSecond: Math.round(1e6 / median), runs: runs.map((run) => Number(run.toFixed(2))) });
  }
  const cost = (mode: CostMode) => rows.find((row) => row.mode === mode)!.cpuMicrosPerMessage;
  return {
    bench: 'cost',
    machine,
    options,
    rows,
    ratioDecode: Number((cost('pumpwatch: decode') / cost('plain: JSON.parse')).toFixed(2)),
    ratioFull: Number((cost('pumpwatch: decode + detect') / cost('plain: JSON.parse')).toFixed(2)),
    ratioChart: Number((cost('pumpwatch: decode + detect + chart') / cost('plain: JSON.parse')).toFixed(2)),
  };
}

export function formatCostBench(result: CostResult): string {
  return [
    `cost: CPU per message through mqtt.js from a loopback socket, ${formatNumber(result.options.messages)} simulated samples (the first tenth warms up, unmeasured), median of ${result.options.repeats} processes per mode`,
    table([
      ['mode', 'CPU µs/message', 'messages/s per core', 'runs (µs)'],
      ...result.rows.map((row) => [row.mode, row.cpuMicrosPerMessage.toFixed(2), formatNumber(row.perCoreSecond), row.runs.join(' ')]),
    ]),
    `pumpwatch ÷ plain (issue 15's target: ≤ 1.3 with every sample through the detector): ${result.ratioDecode} decoding only, ${result.ratioFull} through the detector, ${result.ratioChart} with the ward page's chart ring as well (the daemon's default)`,
    machineLine(result.machine),
  ].join('\n');
}
