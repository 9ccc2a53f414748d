import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../src/alarms/event.js';
import { createSettableClock, type Timers } from '../src/clock.js';
import { ConfigSchema } from '../src/config/schema.js';
import { startDaemon } from '../src/daemon.js';
import { loadSystemSerialBinding } from '../src/sources/serial.js';
import { startTestBroker, uniqueTopicPrefix, type TestBroker } from './helpers/broker.js';
import { captureLog } from './helpers/log-capture.js';
import { clearRetainedUnder } from './helpers/recorder.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

/** Interval timers the test fires by hand: the daemon's detector tick runs only when told. */
function steppedTimers() {
  const intervals: (() => void)[] = [];
  const timers: Timers = {
    setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    setInterval: (callback) => intervals.push(callback),
    clearInterval: () => undefined,
  };
  return { timers, fire: () => intervals.forEach((callback) => callback()) };
}

describe('a retired serial pump after a daemon restart', () => {
  it('stays retired: its configured port does not bring it back with telemetry-lost, while an unretired pump on another port alarms', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pumpwatch-retired-restart-'));
    const prefix = uniqueTopicPrefix('retired-restart');
    // Ports that never open: their configured pumps raise telemetry-lost once past the link deadline.
    const config = ConfigSchema.parse({
      gateway: { id: 'gw-retired' },
      mqtt: { url: broker.url, protocolVersion: broker.protocolVersion, topicPrefix: prefix, clientId: `pw-${prefix.slice(-8)}`, sessionExpirySeconds: 0 },
      journal: { directory: join(dir, 'journal') },
      sources: {
        serial: [
          { path: join(dir, 'no-such-tty-1'), protocol: 'json-lines', pumpId: 'SER-1', linkDeadlineSeconds: 5 },
          { path: join(dir, 'no-such-tty-2'), protocol: 'json-lines', pumpId: 'SER-2', linkDeadlineSeconds: 5 },
        ],
      },
      ops: { http: { enabled: false } },
    });
    const clock = createSettableClock(Date.now());
    const run = async () => {
      const stepped = steppedTimers();
      const events: AlarmEvent[] = [];
      const daemon = await startDaemon({ config, secrets: {}, overriddenFromEnv: [] }, { clock, timers: stepped.timers, logger: captureLog('info').logger, connect, loadSerialBinding: loadSystemSerialBinding });
      daemon.pipeline.alarms.addSink({ deliver: (event) => events.push(event) });
      const after = (seconds: number) => {
        clock.set(clock.now() + seconds * 1000);
        stepped.fire();
      };
      return { daemon, events, after };
    };
    try {
      const first = await run();
      first.after(10);
      expect(first.events.filter((e) => e.event === 'raised').map((e) => e.pumpId).sort()).toEqual(['SER-1', 'SER-2']);
      expect(first.daemon.pipeline.retire('SER-1', '1', 'station-3')).toBe(true);
      await first.daemon.stop();

      const second = await run();
      second.after(10);
      second.after(10);
      // SER-2's alarm came back from the journal and is confirmed by silence; SER-1 raises nothing.
      expect(second.daemon.pipeline.alarms.activeAlarms().map((e) => e.pumpId)).toEqual(['SER-2']);
      expect(second.events.filter((e) => e.pumpId === 'SER-1')).toEqual([]);
      await second.daemon.stop();
    } finally {
      await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
