import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { replayTelemetry } from '../../src/cli/replay.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createWard } from '../../src/simulate/index.js';
import { H } from './helpers.js';

describe('simulated telemetry through pumpwatch replay', () => {
  it('replays a mixed ward, faults included, without a single rejected sample', async () => {
    const ward = createWard({ family: 'mixed', pumps: 4, seed: 7, durationMs: 4 * H });
    const lines = [...ward].map((emission) => `${JSON.stringify(emission.sample)}\n`);
    const alarms = new Writable({ write: (_chunk, _encoding, done) => done() });
    const summary = await replayTelemetry(Readable.from(lines), alarms, ConfigSchema.parse({}), createLogger('silent'));
    expect(summary.rejected).toEqual({});
    expect(summary.accepted).toBe(lines.length);
  });
});
