import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { startDaemon } from '../../src/daemon.js';
import { loadSystemSerialBinding } from '../../src/sources/serial.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from '../helpers/broker.js';
import { captureLog } from '../helpers/log-capture.js';
import { findSocat, startPtyPair } from '../helpers/pty.js';
import { clearRetainedUnder } from '../helpers/recorder.js';

const socat = findSocat();
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

describe.skipIf(socat === undefined)('a json-lines serial port at the largest allowed frame (1 MiB)', () => {
  it('survives a 100k-deep nested line through a real pty: counted as too-deep, and the next sample is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pumpwatch-deep-serial-'));
    const pair = await startPtyPair(socat!, dir);
    const prefix = uniqueTopicPrefix('deep-serial');
    const config = ConfigSchema.parse({
      gateway: { id: 'gw-deep' },
      mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
      journal: { directory: join(dir, 'journal') },
      sources: { serial: [{ path: pair.gatewayPath, protocol: 'json-lines', pumpId: 'NICU-DEEP-1', maxFrameBytes: 1_048_576 }] },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, { clock: systemClock, logger: captureLog('info').logger, connect, loadSerialBinding: loadSystemSerialBinding });
    // Written asynchronously: a synchronous write into a full pty would block the loop the daemon reads it on.
    const pump = await open(pair.pumpPath, 'w');
    try {
      const sample = (offsetMs: number) => `${JSON.stringify({ ts: Date.now() + offsetMs, state: 'infusing', rateMlPerH: 1, downstreamPressureMmHg: 10 })}\n`;
      await pump.write(sample(0));
      await vi.waitFor(() => expect(daemon.pipeline.acceptedCount).toBe(1), { timeout: 5000 });
      const deep = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
      await pump.write(deep);
      await pump.write(sample(1));
      await vi.waitFor(() => expect(daemon.pipeline.acceptedCount).toBe(2), { timeout: 10_000 });
      expect(daemon.pipeline.rejects.totals()).toEqual({ 'too-deep': 1 });
      const metrics = (await daemon.ops.metrics.scrape()).body;
      expect(metrics).toMatch(/pumpwatch_samples_rejected_total\{source="serial:[^"]+",reason="too-deep"\} 1/);
      expect(unhandled).toEqual([]);
    } finally {
      await pump.close();
      process.off('unhandledRejection', onUnhandled);
      await daemon.stop();
      await pair.stop('SIGTERM');
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
