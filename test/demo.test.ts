import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('npm run demo', () => {
  it('shows a downstream-occlusion alarm at the console station and exits 0 by itself', { timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'dist', 'demo', 'main.js'), '--speed', '120', '--linger', '1'], { timeout: 50_000 });
    expect(stdout).toMatch(/RAISED +downstream-occlusion \[high technical\] nicu\/NICU-02\/1/);
    expect(stdout).toMatch(/gateway demo-gw is online/);
    expect(stdout).toMatch(/the station saw the first downstream-occlusion alarm [\d.]+ s after the ward started/);
  });
});
