import { execFile } from 'node:child_process';

/** How often the gateway's clock synchronisation is asked about. */
const CHECK_INTERVAL_MS = 60_000;
const COMMAND_TIMEOUT_MS = 2_000;

export interface ClockHealthStatus {
  /** NTP-synchronised per the system; null when it cannot be told (no timedatectl, no systemd). */
  synchronized: boolean | null;
  source: 'timedatectl' | 'unknown';
}

export type ClockSyncProbe = () => Promise<boolean | undefined>;

/** `timedatectl show -p NTPSynchronized --value` (systemd; reads the kernel's adjtimex state). */
export const timedatectlProbe: ClockSyncProbe = () =>
  new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: COMMAND_TIMEOUT_MS }, (error, stdout) => {
      const answer = stdout.trim();
      resolve(error === null && (answer === 'yes' || answer === 'no') ? answer === 'yes' : undefined);
    });
  });

/**
 * The gateway's own clock health, for /metrics and the status payload: pump sample times are
 * judged against this clock, so an unsynchronised gateway makes every pump look skewed.
 */
export class ClockHealth {
  #status: ClockHealthStatus = { synchronized: null, source: 'unknown' };
  readonly #probe: ClockSyncProbe;
  #timer: NodeJS.Timeout | undefined;

  constructor(probe: ClockSyncProbe = timedatectlProbe) {
    this.#probe = probe;
  }

  get status(): ClockHealthStatus {
    return this.#status;
  }

  /** Checks now and every minute; resolves after the first check. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  async check(): Promise<void> {
    const synchronized = await this.#probe();
    this.#status = synchronized === undefined ? { synchronized: null, source: 'unknown' } : { synchronized, source: 'timedatectl' };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
