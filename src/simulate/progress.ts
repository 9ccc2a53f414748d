import type { Writable } from 'node:stream';
import type { MonotonicClock } from '../clock.js';
import { formatDuration } from './duration.js';

export interface ProgressOptions {
  /** Terminal: one line redrawn in place. Otherwise: a line at every 10 %. */
  isTTY: boolean;
  monotonic: MonotonicClock;
  totalMs: number;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 200;

/** A progress bar on stderr for long file runs. */
export function createProgress(stream: Writable, options: ProgressOptions) {
  let lastDrawMs = -Infinity;
  let lastDecile = -1;
  const text = (fraction: number, samples: number) => {
    const filled = Math.round(fraction * BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${formatDuration(fraction * options.totalMs)}/${formatDuration(options.totalMs)} ${samples} samples`;
  };
  return {
    update(fraction: number, samples: number): void {
      if (options.isTTY) {
        const now = options.monotonic.elapsedMs();
        if (now - lastDrawMs < REDRAW_MS) return;
        lastDrawMs = now;
        stream.write(`\r${text(fraction, samples)}`);
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile <= lastDecile || decile >= 10) return;
      lastDecile = decile;
      stream.write(`${text(fraction, samples)}\n`);
    },
    done(samples: number): void {
      stream.write(options.isTTY ? `\r${text(1, samples)}\n` : `${text(1, samples)}\n`);
    },
  };
}
