import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createDaemonOps, sourceLinkStatus, type DaemonOps, type OpsParts } from '../../src/ops/daemon-ops.js';
import type { TelemetrySource } from '../../src/sources/source.js';

const opsToStop: DaemonOps[] = [];
afterEach(() => {
  for (const ops of opsToStop.splice(0)) ops.stop();
});

function source(name: string, shape: Record<string, string>): TelemetrySource {
  return { name, start: () => Promise.resolve(), stop: () => Promise.resolve(), ...shape };
}

function setup(parts: Partial<OpsParts> = {}, yaml: Record<string, unknown> = {}) {
  let nowMs = 0;
  const ops = createDaemonOps({ config: ConfigSchema.parse(yaml), monotonic: { elapsedMs: () => nowMs } });
  opsToStop.push(ops);
  ops.attach({
    pipeline: { channelCount: 0, alarms: { activeAlarms: () => [] } },
    publisher: { connectionState: 'connected' },
    sources: [],
    ...parts,
  });
  return { ops, advance: (ms: number) => (nowMs += ms) };
}

describe('sourceLinkStatus', () => {
  it('reads a serial port by its linkState', () => {
    expect(sourceLinkStatus(source('serial:/dev/ttyUSB0', { linkState: 'open' }))).toMatchObject({ kind: 'serial', state: 'open', up: true });
  });

  it('reads an MQTT source by its connectionState', () => {
    expect(sourceLinkStatus(source('mqtt', { connectionState: 'disconnected' }))).toMatchObject({ kind: 'mqtt', state: 'disconnected', up: false });
  });

  it('keeps a state it does not know in the one-hot list', () => {
    expect(sourceLinkStatus(source('serial:x', { linkState: 'polling' })).states).toContain('polling');
  });
});

describe('createDaemonOps', () => {
  it('is alive while the detector ticks within the limit', () => {
    const { ops, advance } = setup();
    advance(9_000);
    expect(ops.liveness().ok).toBe(true);
  });

  it('fails liveness when the detector has not ticked for longer than ops.watchdog.maxTickAgeSeconds', () => {
    const { ops, advance } = setup();
    advance(11_000);
    expect(ops.liveness().checks).toEqual([{ name: 'detector', ok: false, detail: 'last tick 11 s ago (limit 10 s)' }]);
  });

  it('is alive again after a tick', () => {
    const { ops, advance } = setup();
    advance(11_000);
    ops.ticked();
    expect(ops.liveness().ok).toBe(true);
  });

  it('is ready only when every source and the broker are up', () => {
    const { ops } = setup({ sources: [source('serial:/dev/ttyUSB0', { linkState: 'waiting-to-reopen' }), source('mqtt', { connectionState: 'connected' })] });
    expect(ops.readiness()).toEqual({
      ok: false,
      checks: [
        { name: 'source:serial:/dev/ttyUSB0', ok: false, detail: 'serial link waiting-to-reopen' },
        { name: 'source:mqtt', ok: true },
        { name: 'broker', ok: true },
      ],
    });
  });

  it('is not ready while the alarm connection to the broker is down', () => {
    const { ops } = setup({ publisher: { connectionState: 'connecting' } });
    expect(ops.readiness().checks).toEqual([{ name: 'broker', ok: false, detail: 'alarm connection connecting' }]);
  });

  it('counts channels by detector state from the active alarms', async () => {
    const alarm = (pumpId: string, condition: AlarmEvent['condition'], kind: AlarmEvent['kind']) => ({ pumpId, channel: '1', condition, kind, priority: 'high' }) as AlarmEvent;
    const { ops } = setup({
      pipeline: {
        channelCount: 5,
        alarms: { activeAlarms: () => [alarm('P1', 'telemetry-lost', 'technical'), alarm('P2', 'downstream-occlusion', 'physiological'), alarm('P2', 'possible-infiltration', 'advisory')] },
      },
    });
    const { body } = await ops.metrics.scrape();
    expect(body).toContain('pumpwatch_channels{state="watched"} 5');
    expect(body).toContain('pumpwatch_channels{state="silent"} 1');
    expect(body).toContain('pumpwatch_channels{state="alarming"} 1');
  });

  it('shows the telemetry connection beside the alarm connection', async () => {
    const { ops } = setup({ sources: [source('mqtt', { connectionState: 'connecting' })] });
    const { body } = await ops.metrics.scrape();
    expect(body).toContain('pumpwatch_mqtt_connected{client="alarms"} 1');
    expect(body).toContain('pumpwatch_mqtt_connected{client="telemetry"} 0');
  });

  it('flags certificate checks turned off', async () => {
    const { ops } = setup({}, { mqtt: { url: 'mqtts://b:8883', tls: { rejectUnauthorized: false, allowInsecure: true } } });
    expect((await ops.metrics.scrape()).body).toMatch(/^pumpwatch_tls_insecure 1$/m);
  });
});
