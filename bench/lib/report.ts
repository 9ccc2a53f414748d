import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/** The machine a figure came from: without it a figure means nothing. */
export interface MachineInfo {
  nproc: number;
  cpu: string;
  memory: string;
  node: string;
  mosquitto: string;
  at: string;
  /** 1, 5 and 15 minute load averages when the run began: anything above ~0.3 is someone else's work sharing the cores. */
  loadAverage: number[];
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (error) {
    // `mosquitto -h` prints its version and exits 3.
    const output = (error as { stdout?: string }).stdout ?? '';
    return output.split('\n')[0]?.trim() || 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  // `free -h`, second line: "Mem: <total> <used> …"; the total is what matters.
  const memLine = firstLine('sh', ['-c', 'free -h | sed -n 2p']);
  const total = memLine.split(/\s+/)[1];
  return {
    nproc: Number(firstLine('nproc', [])) || cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memory: total === undefined ? `${Math.round(totalmem() / 2 ** 30)}Gi` : total,
    node: process.version,
    mosquitto: firstLine('mosquitto', ['-h']),
    at: new Date().toISOString(),
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
  };
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : '–';
}

/** A plain-text table: the first row is the header; numbers are right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const numeric = (cell: string) => /^[-–≤≥<>~0-9.,% ]+[a-zA-Z/%×µ]*$/.test(cell);
  return rows
    .map((row, index) =>
      row
        .map((cell, column) => (index > 0 && numeric(cell) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function machineLine(machine: MachineInfo): string {
  return `machine: ${machine.nproc} cores (${machine.cpu}), memory ${machine.memory}, node ${machine.node}, ${machine.mosquitto}; load average at start ${machine.loadAverage.join(' ')}`;
}

/** Results go to out/bench/ (git-ignored); a reference run is committed under bench/reference/. */
export const RESULTS_DIRECTORY = join(import.meta.dirname, '..', '..', 'out', 'bench');

export async function writeResult(name: string, value: unknown): Promise<string> {
  await mkdir(RESULTS_DIRECTORY, { recursive: true });
  const path = join(RESULTS_DIRECTORY, name);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
