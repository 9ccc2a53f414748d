import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alarms/event.js';
import type { JournalEntry } from '../../src/alarms/journal.js';
import { COMMITTED, type AlarmTransport } from '../../src/alarms/transport.js';
import { MqttError } from '../../src/mqtt/errors.js';
import { journalStatus, observeDeliveries } from '../../src/ops/delivery.js';
import { outcomeOf } from '../../src/sinks/mqtt-alarms.js';

const EMITTED_MS = Date.parse('2026-01-01T00:00:00.000Z');
const event = { eventId: 'e1', emittedAt: new Date(EMITTED_MS).toISOString() } as AlarmEvent;
const clockAt = (ms: number) => ({ now: () => ms });

function transport(deliver: AlarmTransport['deliver'], connected = true): AlarmTransport {
  return { name: 'mqtt', connected, deliver, onConnected: () => () => undefined };
}

describe('observeDeliveries', () => {
  it('times a delivery from the event being emitted to the PUBACK', async () => {
    const latencies: number[] = [];
    const observed = observeDeliveries(transport(() => Promise.resolve(COMMITTED)), { acknowledged: (ms) => latencies.push(ms), failed: () => undefined }, clockAt(EMITTED_MS + 1250));
    expect(await observed.deliver(event)).toEqual(COMMITTED);
    expect(latencies).toEqual([1250]);
  });

  it('counts a refused delivery by its code and still lets the outbox see the error', async () => {
    const failures: string[] = [];
    const refused = new MqttError('PW_MQTT_PUBLISH_FAILED', 'Not authorized', { reasonCode: 135 });
    const observed = observeDeliveries(transport(() => Promise.resolve(outcomeOf(refused))), { acknowledged: () => undefined, failed: (code) => failures.push(code) }, clockAt(EMITTED_MS));
    expect(await observed.deliver(event)).toEqual(outcomeOf(refused));
    expect(failures).toEqual(['PW_MQTT_PUBLISH_FAILED']);
  });

  it('reads the connection state from the real transport each time', () => {
    const real = transport(() => Promise.resolve(COMMITTED), false);
    const observed = observeDeliveries(real, { acknowledged: () => undefined, failed: () => undefined }, clockAt(0));
    const before = observed.connected;
    (real as { connected: boolean }).connected = true;
    expect([before, observed.connected]).toEqual([false, true]);
  });
});

describe('journalStatus', () => {
  it('reports the backlog and the age of the oldest undelivered event', () => {
    const entries = [{ n: 1, event, snapshot: null }] as JournalEntry[];
    const status = journalStatus(
      { stats: () => ({ pending: 3, inFlight: 1, delivered: 0, quarantined: 0, expired: 0, nonDurable: 2, slowFsyncs: 1 }) },
      { undelivered: () => entries },
      clockAt(EMITTED_MS + 4000),
    );
    expect(status).toEqual({ depth: 3, oldestUndeliveredAgeMs: 4000, nonDurableEvents: 2, slowFsyncs: 1 });
  });

  it('has no age when nothing waits', () => {
    const status = journalStatus({ stats: () => ({ pending: 0, inFlight: 0, delivered: 5, quarantined: 0, expired: 0, nonDurable: 0, slowFsyncs: 0 }) }, { undelivered: () => [] }, clockAt(0));
    expect(status).toEqual({ depth: 0, oldestUndeliveredAgeMs: undefined, nonDurableEvents: 0, slowFsyncs: 0 });
  });
});
