import { describe, expect, it } from 'vitest';
import { AckHandler, MAX_ACK_BYTES } from '../../src/alarms/ack.js';
import type { AckOutcome } from '../../src/alarms/manager.js';
import { createSettableClock } from '../../src/clock.js';
import { captureLog } from '../helpers/log-capture.js';

function setup(outcome: AckOutcome = 'accepted') {
  const calls: [string, string, string][] = [];
  const log = captureLog();
  const handler = new AckHandler({
    identity: { gatewayId: 'gw-7', site: 'st-mary', ward: 'nicu' },
    acknowledge: (alarmId, by, at) => {
      calls.push([alarmId, by, at]);
      return outcome;
    },
    logger: log.logger,
    clock: createSettableClock(0),
  });
  const handle = (value: unknown, retained = false) => handler.handle(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), retained);
  return { handler, calls, handle, log };
}

const good = { v: 1, alarmId: 'a1', by: 'station-2/nurse-k', at: '2026-01-05T08:00:00Z', ward: 'nicu', site: 'st-mary', gatewayId: 'gw-7' };

describe('station acknowledgements', () => {
  it('passes a valid ack to the alarm manager', () => {
    const s = setup();
    expect(s.handle(good)).toBe('accepted');
    expect(s.calls).toEqual([['a1', 'station-2/nurse-k', '2026-01-05T08:00:00Z']]);
  });

  it('accepts an ack that names no ward', () => {
    const s = setup();
    expect(s.handle({ alarmId: 'a1', by: 's', at: '2026-01-05T08:00:00Z' })).toBe('accepted');
  });

  it.each([
    ['not JSON', '{"alarmId": '],
    ['an empty payload', ''],
    ['a missing alarmId', { by: 's', at: '2026-01-05T08:00:00Z' }],
    ['a time without zone', { alarmId: 'a1', by: 's', at: '2026-01-05T08:00:00' }],
    ['a number for by', { alarmId: 'a1', by: 7, at: '2026-01-05T08:00:00Z' }],
    ['a control character in by', { alarmId: 'a1', by: 'nurse\u0007', at: '2026-01-05T08:00:00Z' }],
    ['a wrong version', { ...good, v: 2 }],
    ['an array', [good]],
    ['a prototype-polluting key', '{"__proto__":{"polluted":true},"alarmId":"a1","by":"s"}'],
  ])('ignores and counts as malformed: %s', (_label, value) => {
    const s = setup();
    expect(s.handle(value)).toBe('malformed');
    expect(s.calls).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('ignores an oversized payload without parsing it', () => {
    const s = setup();
    expect(s.handle({ ...good, by: 'x'.repeat(MAX_ACK_BYTES) })).toBe('malformed');
  });

  it.each([
    ['another ward', { ...good, ward: 'picu' }],
    ['another site', { ...good, site: 'st-elsewhere' }],
    ['another gateway', { ...good, gatewayId: 'gw-8' }],
  ])('ignores and counts as cross-ward an ack for %s', (_label, value) => {
    const s = setup();
    expect(s.handle(value)).toBe('cross-ward');
    expect(s.calls).toEqual([]);
  });

  it('ignores a retained ack as replayed: the broker kept it from some earlier time', () => {
    const s = setup();
    expect(s.handle(good, true)).toBe('replayed');
    expect(s.calls).toEqual([]);
  });

  it('reports what the alarm manager says about unknown and repeated acks', () => {
    expect(setup('unknown').handle(good)).toBe('unknown');
    expect(setup('replayed').handle(good)).toBe('replayed');
  });

  it('counts every verdict and rate-limits the log lines', () => {
    const s = setup();
    for (let i = 0; i < 5; i++) s.handle('nope');
    s.handle(good);
    expect(s.handler.counts()).toEqual({ accepted: 1, malformed: 5, unknown: 0, replayed: 0, 'cross-ward': 0 });
    expect(s.log.withCode('PW_ACK_IGNORED')).toHaveLength(1);
    expect(s.log.withCode('PW_ACK_ACCEPTED')).toHaveLength(1);
  });
});
