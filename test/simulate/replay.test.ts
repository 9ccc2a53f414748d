import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { replayTelemetry } from '../../src/cli/replay.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createWard } from '../../src/simulate/index.js';
import { H } from './helpers.js';

describe('simulated telemetry through pumpwatch replay', () => {
  it('replays a mixed ward, faults included, refusing nothing but samples older than their channel\'s last (out-of-order)', async () => {
    const ward = createWard({ family: 'mixed', pumps: 4, seed: 7, durationMs: 4 * H });
    const emissions = [...ward];
    const lines = emissions.map((emission) => `${JSON.stringify(emission.sample)}\n`);
    // What the simulator sent late: older than the latest sample of its channel before it (a duplicate passes; the detector skips it).
    const latest = new Map<string, number>();
    let stale = 0;
    for (const { sample } of emissions) {
      const key = `${sample.pumpId}/${sample.channel}`;
      const ts = typeof sample.ts === 'number' ? sample.ts : Date.parse(sample.ts);
      if (ts < (latest.get(key) ?? Number.NEGATIVE_INFINITY)) stale++;
      else latest.set(key, ts);
    }
    const alarms = new Writable({ write: (_chunk, _encoding, done) => done() });
    const summary = await replayTelemetry(Readable.from(lines), alarms, ConfigSchema.parse({}), createLogger('silent'));
    expect(summary.rejected).toEqual(stale > 0 ? { 'out-of-order': stale } : {});
    expect(summary.accepted).toBe(lines.length - stale);
  });
});
