/**
 * One named condition the daemon can vouch for. `check` returns undefined when it holds, or why
 * it does not, in plain words for `/healthz`, `/readyz`, logs and `systemctl status`.
 */
export interface HealthCheck {
  readonly name: string;
  check(): string | undefined;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HealthReport {
  ok: boolean;
  checks: CheckResult[];
}

/** Runs every check; a check that throws counts as failed rather than taking the caller down. */
export function evaluateHealth(checks: readonly HealthCheck[]): HealthReport {
  const results: CheckResult[] = [];
  let ok = true;
  for (const healthCheck of checks) {
    const { name } = healthCheck;
    let problem: string | undefined;
    try {
      problem = healthCheck.check();
    } catch (error) {
      problem = `check failed: ${(error as Error).message}`;
    }
    if (problem === undefined) {
      results.push({ name, ok: true });
    } else {
      ok = false;
      results.push({ name, ok: false, detail: problem });
    }
  }
  return { ok, checks: results };
}

/** "event-loop: lag 812 ms over 500 ms; pipeline: …" — the failed checks of a report. */
export function describeFailures(report: HealthReport): string {
  return report.checks
    .filter((result) => !result.ok)
    .map((result) => `${result.name}: ${result.detail ?? 'failed'}`)
    .join('; ');
}
