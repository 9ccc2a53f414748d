import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { connect } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import { runCli } from '../../src/cli/main.js';
import { ConsoleStation } from '../../src/station/console-station.js';
import { uniqueTopicPrefix, useTestBroker } from '../helpers/broker.js';
import { clearRetainedUnder, startRecorder, type Recorder } from '../helpers/recorder.js';

const { broker, cleanups } = useTestBroker();

function alarm(prefix: string, overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  return {
    v: 1,
    eventId: `ev-${randomBytes(6).toString('hex')}`,
    alarmId: 'alarm-1',
    event: 'raised',
    condition: 'downstream-occlusion',
    priority: 'high',
    kind: 'technical',
    pumpId: 'P-01',
    channel: '1',
    site: 'site',
    ward: 'ward',
    gatewayId: prefix.split('/').at(-1)!,
    at: '2026-03-01T09:00:00.000Z',
    emittedAt: '2026-03-01T09:00:00.050Z',
    raisedAt: '2026-03-01T09:00:00.050Z',
    message: 'Check the line.',
    evidence: {},
    seq: 1,
    state: { conditionPresent: true, latched: false, acknowledged: false, escalations: 0 },
    ...overrides,
  };
}

/** Plays the gateway's side of the topic tree by hand. */
async function gatewaySide(): Promise<{ prefix: string; gateway: Recorder; emit: (event: AlarmEvent, retained?: boolean) => Promise<void> }> {
  const prefix = uniqueTopicPrefix('station');
  const gateway = await startRecorder({ url: broker.url, protocolVersion: broker.protocolVersion, topics: [`${prefix}/ack`] });
  cleanups.push(async () => {
    await gateway.stop();
    await clearRetainedUnder(broker.url, broker.protocolVersion, prefix);
  });
  const emit = async (event: AlarmEvent, retained = true) => {
    const text = JSON.stringify(event);
    if (retained) await gateway.client.publishAsync(`${prefix}/alarms/${event.pumpId}/${event.channel}/${event.condition}`, event.event === 'ended' ? '' : text, { qos: 1, retain: true });
    await gateway.client.publishAsync(`${prefix}/events`, text, { qos: 1 });
  };
  return { prefix, gateway, emit };
}

async function station(prefix: string, ackRetryMs?: number) {
  const printed: string[] = [];
  const started = new ConsoleStation({
    url: broker.url,
    protocolVersion: broker.protocolVersion,
    prefix,
    connect,
    print: (line) => printed.push(line),
    stationId: 'station-test',
    ...(ackRetryMs === undefined ? {} : { ackRetryMs }),
  });
  await started.start();
  cleanups.push(() => started.stop());
  return { station: started, printed };
}

describe('the reference station', () => {
  it('rebuilds the active alarms from the retained topics when it starts late', async () => {
    const side = await gatewaySide();
    await side.emit(alarm(side.prefix, { alarmId: 'a1', pumpId: 'P-01' }));
    await side.emit(alarm(side.prefix, { alarmId: 'a2', pumpId: 'P-02' }));
    await side.emit(alarm(side.prefix, { alarmId: 'a3', pumpId: 'P-03' }));
    await side.emit(alarm(side.prefix, { alarmId: 'a3', pumpId: 'P-03', event: 'ended', seq: 2 }));
    const { station: s } = await station(side.prefix);
    await expect.poll(() => s.activeAlarms().map((a) => a.alarmId).sort()).toEqual(['a1', 'a2']);
  });

  it('shows each event once, however often it arrives', async () => {
    const side = await gatewaySide();
    const { printed } = await station(side.prefix);
    const event = alarm(side.prefix);
    await side.emit(event);
    await side.emit(event);
    await expect.poll(() => printed.filter((line) => line.includes('RAISED')).length).toBe(1);
  });

  it('keeps the newest state of an alarm when an older event arrives after it', async () => {
    const side = await gatewaySide();
    const { station: s } = await station(side.prefix);
    await side.emit(alarm(side.prefix, { seq: 3, event: 'escalated', priority: 'high' }), false);
    await side.emit(alarm(side.prefix, { seq: 1, priority: 'low' }), false);
    await expect.poll(() => s.activeAlarms().map((a) => [a.event, a.seq])).toEqual([['escalated', 3]]);
  });

  it('does not bring back an ended alarm when one of its older events arrives late', async () => {
    const side = await gatewaySide();
    const { station: s, printed } = await station(side.prefix);
    await side.emit(alarm(side.prefix, { seq: 2, event: 'ended' }), false);
    await side.emit(alarm(side.prefix, { seq: 1 }), false);
    await expect.poll(() => printed.length).toBeGreaterThanOrEqual(2);
    expect(s.activeAlarms()).toEqual([]);
  });

  it("shows the gateway offline when its status says so (the broker's Last Will)", async () => {
    const side = await gatewaySide();
    const { station: s, printed } = await station(side.prefix);
    await side.gateway.client.publishAsync(`${side.prefix}/status`, JSON.stringify({ v: 1, state: 'offline', gatewayId: 'gw', reason: 'connection-lost' }), { qos: 1, retain: true });
    await expect.poll(() => s.gatewayState).toBe('offline');
    expect(printed.at(-1)).toBe('— gateway gw is offline (connection-lost)');
  });

  it('shows the gateway offline when its heartbeats stop, without waiting for the Last Will', async () => {
    const side = await gatewaySide();
    const { station: s, printed } = await station(side.prefix);
    await side.gateway.client.publishAsync(`${side.prefix}/status`, JSON.stringify({ v: 1, state: 'online', gatewayId: 'gw', heartbeatSeconds: 0.2 }), { qos: 1, retain: true });
    await expect.poll(() => s.gatewayState).toBe('online');
    await expect.poll(() => s.gatewayState, { timeout: 2_000 }).toBe('offline');
    expect(printed.at(-1)).toBe('— gateway gw is offline (no heartbeat for 0.3 s)');
  });

  it('acknowledges an alarm and sends the ack again until the gateway answers', async () => {
    const side = await gatewaySide();
    const { station: s } = await station(side.prefix, 150);
    const event = alarm(side.prefix);
    await side.emit(event);
    await expect.poll(() => s.activeAlarms()).toHaveLength(1);
    expect(s.acknowledge(event.alarmId)).toBe(true);
    await side.gateway.waitFor((m) => m.topic === `${side.prefix}/ack`, { description: 'first ack' });
    await expect.poll(() => side.gateway.on(`${side.prefix}/ack`).length).toBeGreaterThanOrEqual(2);
    const ack = JSON.parse(side.gateway.on(`${side.prefix}/ack`)[0]!.text) as Record<string, unknown>;
    expect(ack).toMatchObject({ v: 1, alarmId: event.alarmId, by: 'station-test', ward: 'ward', site: 'site' });
    await side.emit(alarm(side.prefix, { event: 'acknowledged', seq: 2, state: { conditionPresent: true, latched: false, acknowledged: true, escalations: 0 } }));
    await expect.poll(() => s.activeAlarms()[0]?.state?.acknowledged).toBe(true);
    const sends = side.gateway.on(`${side.prefix}/ack`).length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(side.gateway.on(`${side.prefix}/ack`).length).toBe(sends);
  });

  it('refuses to acknowledge an alarm it does not show', async () => {
    const side = await gatewaySide();
    const { station: s } = await station(side.prefix);
    expect(s.acknowledge('nope')).toBe(false);
  });
});

describe('pumpwatch watch', () => {
  function run(argv: string[]) {
    const stdout = new PassThrough();
    const out: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const input = new PassThrough();
    const code = runCli(['watch', ...argv], { stdin: input, stdout, stderr: new PassThrough(), env: {}, stopSignal: new AbortController().signal });
    return { code, output: () => Buffer.concat(out).toString('utf8'), send: (line: string) => input.write(`${line}\n`) };
  }

  it('lists the active alarms once with --list', async () => {
    const side = await gatewaySide();
    await side.emit(alarm(side.prefix, { alarmId: 'listed-alarm' }));
    const watch = run(['--url', broker.url, '--protocol', String(broker.protocolVersion), '--prefix', side.prefix, '--list']);
    expect(await watch.code).toBe(0);
    expect(watch.output()).toContain('active alarms: 1');
    expect(watch.output()).toContain('id listed-alarm');
  });

  it('acknowledges alarm number N from its list', async () => {
    const side = await gatewaySide();
    await side.emit(alarm(side.prefix, { alarmId: 'to-ack' }));
    const watch = run(['--url', broker.url, '--protocol', String(broker.protocolVersion), '--prefix', side.prefix, '--station', 'nurse-station-4']);
    await expect.poll(() => watch.output()).toContain('RAISED');
    watch.send('list');
    await expect.poll(() => watch.output()).toContain('1. ');
    watch.send('ack 1');
    const ack = await side.gateway.waitFor((m) => m.topic === `${side.prefix}/ack`, { description: 'ack' });
    expect(JSON.parse(ack.text)).toMatchObject({ alarmId: 'to-ack', by: 'nurse-station-4' });
    watch.send('quit');
    expect(await watch.code).toBe(0);
  });

  it('answers a list typed at once only after the retained state is in', async () => {
    const side = await gatewaySide();
    await side.emit(alarm(side.prefix, { alarmId: 'already-active' }));
    const watch = run(['--url', broker.url, '--protocol', String(broker.protocolVersion), '--prefix', side.prefix]);
    watch.send('list');
    await expect.poll(() => watch.output().match(/active alarms: \d+/g)?.length ?? 0).toBe(2);
    expect(watch.output()).not.toContain('active alarms: 0');
    watch.send('quit');
    expect(await watch.code).toBe(0);
  });

  it('exits 2 without a broker to watch', async () => {
    const watch = run([]);
    expect(await watch.code).toBe(2);
  });
});
