import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import type { TechnicalReport } from '../../src/alarms/manager.js';
import { systemClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { TestAlertManager } from '../../src/pcd04/alert-manager.js';
import { Pcd04AlertReporter } from '../../src/pcd04/reporter.js';
import { captureLog } from '../helpers/log-capture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let counter = 0;
function alarmEvent(overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  counter++;
  return {
    v: 1,
    eventId: `ev-${counter}`,
    alarmId: `al-${counter}`,
    event: 'raised',
    condition: 'downstream-occlusion',
    priority: 'high',
    kind: 'technical',
    pumpId: 'P1',
    channel: '1',
    site: 'site',
    ward: 'ward',
    gatewayId: 'gw',
    at: '2026-12-03T08:00:00.000Z',
    emittedAt: '2026-12-03T08:00:01.000Z',
    message: 'check the line',
    evidence: {},
    ...overrides,
  };
}

async function setup(pcd04: Record<string, unknown> = {}) {
  const manager = new TestAlertManager({ port: 0 });
  await manager.start();
  cleanups.push(() => manager.stop());
  const config = ConfigSchema.parse({ pcd04: { enabled: true, port: manager.port, ackTimeoutSeconds: 0.5, reconnectMinSeconds: 0.05, reconnectMaxSeconds: 0.2, ...pcd04 } });
  const reports: TechnicalReport[] = [];
  const log = captureLog();
  const reporter = new Pcd04AlertReporter({ settings: { pcd04: config.pcd04, gateway: config.gateway }, logger: log.logger, clock: systemClock, report: (report) => reports.push(report) });
  cleanups.push(() => reporter.stop());
  const connects: number[] = [];
  reporter.onConnected(() => connects.push(Date.now()));
  reporter.start();
  await expect.poll(() => reporter.connected).toBe(true);
  return { manager, reporter, reports, log, connects };
}

describe('PCD-04 Alert Reporter over MLLP', () => {
  it('commits an event when the Alert Manager answers CA to its control id', async () => {
    const s = await setup();
    const event = alarmEvent();
    expect(await s.reporter.deliver(event)).toEqual({ kind: 'committed' });
    expect(s.manager.committed()).toEqual([event.eventId]);
  });

  it.each(['CE', 'CR', 'AE', 'AR'])('reports %s as a refusal the outbox retries, with the code', async (code) => {
    const s = await setup();
    s.manager.mode = 'refuse';
    s.manager.refuseCode = code;
    expect(await s.reporter.deliver(alarmEvent())).toMatchObject({ kind: 'refused', refusal: 'rejected', detail: { code: 'PW_PCD04_REFUSED', reason: code } });
  });

  it('gives up on a silent Alert Manager after the ACK timeout, reconnects, and re-sends the same bytes under the same control id', async () => {
    const s = await setup();
    s.manager.mode = 'hang';
    const event = alarmEvent();
    expect(await s.reporter.deliver(event)).toMatchObject({ kind: 'connection-lost', detail: { code: 'PW_PCD04_ACK_TIMEOUT' } });
    s.manager.mode = 'ack';
    await expect.poll(() => s.connects.length).toBe(2);
    expect(await s.reporter.deliver(event)).toEqual({ kind: 'committed' });
    expect(s.manager.received.get(event.eventId)).toMatchObject({ copies: 2, sameContent: true, answered: 'CA' });
    expect(s.reporter.counters.ackTimeouts).toBe(1);
  });

  it.each(['drop', 'half'] as const)('treats an Alert Manager that answers %s as a lost connection and reconnects', async (mode) => {
    const s = await setup();
    s.manager.mode = mode;
    expect(await s.reporter.deliver(alarmEvent())).toMatchObject({ kind: 'connection-lost' });
    s.manager.mode = 'ack';
    await expect.poll(() => s.reporter.connected).toBe(true);
    expect(await s.reporter.deliver(alarmEvent())).toEqual({ kind: 'committed' });
  });

  it('reconnects after the Alert Manager is killed and restarted on the same port', async () => {
    const s = await setup();
    const port = s.manager.port;
    await s.manager.stop();
    await expect.poll(() => s.reporter.connected).toBe(false);
    expect(await s.reporter.deliver(alarmEvent())).toMatchObject({ kind: 'connection-lost' });
    const again = new TestAlertManager({ port });
    await again.start();
    cleanups.push(() => again.stop());
    await expect.poll(() => s.reporter.connected, { timeout: 5_000 }).toBe(true);
    const event = alarmEvent();
    expect(await s.reporter.deliver(event)).toEqual({ kind: 'committed' });
    expect(again.committed()).toEqual([event.eventId]);
  });

  it('raises a technical alarm when the Appendix L keep-alive goes unanswered, and ends it when answers return', async () => {
    const s = await setup({ keepAlive: { enabled: true, intervalSeconds: 1 } });
    await expect.poll(() => s.reporter.counters.keepAlivesSent, { timeout: 4_000 }).toBeGreaterThan(0);
    s.manager.mode = 'hang';
    await expect.poll(() => s.reports.filter((r) => r.part === 'pcd04-keepalive').map((r) => r.active), { timeout: 8_000 }).toContain(true);
    s.manager.mode = 'ack';
    await expect.poll(() => s.reports.filter((r) => r.part === 'pcd04-keepalive').map((r) => r.active).at(-1), { timeout: 8_000 }).toBe(false);
    const keepAlive = [...s.manager.received.values()].find((report) => report.controlId.startsWith('KA-'));
    expect(keepAlive?.summary.phase).toBe('present');
  });
});
