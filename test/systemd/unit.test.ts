import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const UNIT = join(import.meta.dirname, '..', '..', 'systemd', 'pumpwatch.service');
/** The exposure score the unit must keep (docs/operations.md); lower is better. */
const MAX_EXPOSURE = 2.0;

const systemdAnalyzeMissing = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error !== undefined;

async function settings(): Promise<Map<string, string[]>> {
  const text = await readFile(UNIT, 'utf8');
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    values.set(match[1]!, [...(values.get(match[1]!) ?? []), match[2]!]);
  }
  return values;
}

describe('systemd/pumpwatch.service', () => {
  it('waits for READY=1, accepted from the systemd-notify child process', async () => {
    const unit = await settings();
    expect([unit.get('Type'), unit.get('NotifyAccess')]).toEqual([['notify'], ['all']]);
  });

  it('arms the watchdog and reloads with SIGHUP', async () => {
    const unit = await settings();
    expect(unit.get('WatchdogSec')).toEqual(['20s']);
    expect(unit.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
  });

  it('never sets MemoryDenyWriteExecute, which makes V8 abort at start', async () => {
    expect((await settings()).get('MemoryDenyWriteExecute')).toBeUndefined();
  });

  it.skipIf(systemdAnalyzeMissing)(`scores ${MAX_EXPOSURE} or better on systemd-analyze security`, async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT]);
    const score = Number(/Overall exposure level for pumpwatch\.service: ([\d.]+)/.exec(stdout)?.[1]);
    expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it.skipIf(systemdAnalyzeMissing)('passes systemd-analyze verify', async () => {
    const { stderr } = await run('systemd-analyze', ['verify', '--man=no', UNIT]);
    expect(stderr).toBe('');
  });
});
