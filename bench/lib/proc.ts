import { readFileSync } from 'node:fs';

/**
 * CPU time and resident memory of a process, read from Linux's /proc: the same figures for the
 * daemon, the plain subscriber, the publishers and Mosquitto, whatever they run on.
 */
export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  atMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux we run on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND, rssBytes: rssKb * 1024, atMs: Date.now() };
  } catch {
    return undefined;
  }
}

/** Share of one core used between two samples (1 = one core flat out). */
export function coreShare(from: ProcSample | undefined, to: ProcSample | undefined): number {
  if (from === undefined || to === undefined || to.atMs <= from.atMs) return Number.NaN;
  return (to.cpuSeconds - from.cpuSeconds) / ((to.atMs - from.atMs) / 1000);
}
