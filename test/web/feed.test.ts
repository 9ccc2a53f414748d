import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSettableClock } from '../../src/clock.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createAlarmManager, Pipeline } from '../../src/pipeline.js';
import type { TelemetrySample } from '../../src/telemetry/sample.js';
import { WardFeed, type FeedStream } from '../../src/web/feed.js';
import { wardSnapshot, type WardChannelRow, type WardSnapshot, type WardSource } from '../../src/web/ward.js';
import { captureLog } from '../helpers/log-capture.js';

const T0 = Date.UTC(2026, 0, 1, 8);

interface Frame {
  event: string;
  data: Record<string, unknown>;
}

/** An event stream that records what it is sent; `full` stands for a socket that has not taken the last write. */
class RecordingStream implements FeedStream {
  readonly frames: Frame[] = [];
  full = false;
  ended = false;

  get writableLength(): number {
    return this.full ? 1 : 0;
  }

  write(chunk: Buffer): boolean {
    for (const block of chunk.toString('utf8').split('\n\n')) {
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) this.frames.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
    return true;
  }

  end(): void {
    this.ended = true;
  }

  last(event: string): Frame | undefined {
    return this.frames.filter((frame) => frame.event === event).at(-1);
  }
}

const feeds: WardFeed[] = [];
afterEach(() => {
  for (const feed of feeds.splice(0)) feed.stop();
});

/** A real pipeline with chart traces, three channels fed once, and the page's view of it. */
function setUp(options: { alarmFrameGapMs?: number; intervalMs?: number } = {}) {
  const config = ConfigSchema.parse({ gateway: { id: 'gw-feed' } });
  const clock = createSettableClock(T0);
  const pipeline = new Pipeline({ config, clock, logger: captureLog('warn').logger, alarms: createAlarmManager({ config, clock, sinks: [] }), trace: { historyMinutes: 10, pointSeconds: 1 } });
  const traces = pipeline.traces!;
  const source: WardSource = {
    nowMs: () => clock.now(),
    gateway: { id: 'gw-feed', site: 'site', ward: 'nicu' },
    allowAck: false,
    telemetryLostAfterSeconds: 60,
    channels: () => traces.statuses(),
    channel: (pumpId, channel) => traces.status(pumpId, channel),
    placement: (pumpId) => (pumpId === 'P2' ? { bed: 'Bed 2' } : undefined),
    activeAlarms: () => pipeline.alarms.activeAlarms(),
    recentEvents: () => traces.recentEvents(),
    health: () => ({ sources: [], broker: 'connected', rejects: {}, journal: null, ingest: null }),
  };
  const feed = (pumpId: string, sample: Partial<TelemetrySample> = {}) => {
    pipeline.accept({ pumpId, channel: '1', ts: clock.now(), state: 'infusing', rateMlPerH: 2, downstreamPressureMmHg: 20, ...sample });
  };
  for (const pumpId of ['P1', 'P2', 'P3']) feed(pumpId);
  const ward = new WardFeed(source, { intervalMs: options.intervalMs ?? 40, alarmFrameGapMs: options.alarmFrameGapMs ?? 200, sliceMs: 1 });
  feeds.push(ward);
  traces.listen(() => ward.alarmChanged());
  return { clock, source, feed, ward };
}

const pumpsOf = (rows: unknown): string[] => (rows as WardChannelRow[]).map((row) => row[0]);

describe('the ward page feed', () => {
  it('sends the whole ward on connect, exactly what /api/state answers', () => {
    const { source, ward } = setUp();
    const stream = new RecordingStream();
    ward.open(stream);
    expect(stream.frames.map((frame) => frame.event)).toEqual(['ward']);
    const snapshot = JSON.parse(JSON.stringify(wardSnapshot(source))) as WardSnapshot;
    expect(stream.frames[0]!.data).toEqual(snapshot);
    expect(pumpsOf(snapshot.channels)).toEqual(['P1', 'P2', 'P3']);
  });

  it('then sends only the rows that changed, and the alarms only when an alarm event changed them', async () => {
    const { clock, feed, ward } = setUp();
    const stream = new RecordingStream();
    ward.open(stream);
    await vi.waitFor(() => expect(stream.last('delta')).toBeDefined());
    // Nothing changed: a frame with the time and health, no rows, no alarm list.
    expect(stream.last('delta')!.data).toMatchObject({ v: 1, rows: [], health: { broker: 'connected' } });
    expect(stream.last('delta')!.data).not.toHaveProperty('alarms');

    clock.set(T0 + 1000);
    feed('P2', { downstreamPressureMmHg: 23 });
    const seen = stream.frames.length;
    await vi.waitFor(() => expect(stream.frames.length).toBeGreaterThan(seen));
    const delta = stream.frames[seen]!.data;
    expect(delta.rows).toEqual([['P2', '1', T0 + 1000, 'infusing', 2, 23, null, false, null, false, 'live', null, null, 'Bed 2']]);
    expect(delta.nowMs).toBe(T0 + 1000);

    // Only the channel that had samples is sent, once with its latest.
    clock.set(T0 + 2000);
    feed('P3', { volumeInfusedMl: 5 });
    feed('P3', { volumeInfusedMl: 6, ts: T0 + 2500 });
    const before = stream.frames.length;
    await vi.waitFor(() => expect(stream.frames.length).toBeGreaterThan(before + 1));
    expect(stream.frames.slice(before).flatMap((frame) => pumpsOf(frame.data.rows))).toEqual(['P3']);
  });

  it('sends an alarm at once with the row it touches, and coalesces a burst of alarm events', async () => {
    // No scan in this test: every frame is an alarm frame.
    const { clock, feed, ward } = setUp({ alarmFrameGapMs: 400, intervalMs: 60_000 });
    const stream = new RecordingStream();
    ward.open(stream);
    const occlusion: Partial<TelemetrySample> = { state: 'alarm', downstreamPressureMmHg: 410, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] };
    clock.set(T0 + 1000);
    feed('P1', occlusion);
    // The frame goes on the next turn of the event loop, not with the next scan.
    await new Promise((resolve) => setImmediate(resolve));
    const alarmFrame = stream.last('delta')!.data as { rows: WardChannelRow[]; alarms: { pumpId: string; condition: string }[] };
    expect(alarmFrame.alarms.map((alarm) => [alarm.pumpId, alarm.condition])).toEqual([['P1', 'downstream-occlusion']]);
    expect(alarmFrame.rows.map((row) => [row[0], row[11], row[12]])).toEqual([['P1', 'high', 'downstream-occlusion']]);

    // Two more occlusions within the gap: one frame carries both, after the gap.
    const framesBefore = stream.frames.length;
    const withAlarms = () => stream.frames.slice(framesBefore).filter((frame) => frame.data.alarms !== undefined);
    feed('P2', occlusion);
    feed('P3', occlusion);
    await new Promise((resolve) => setImmediate(resolve));
    expect(withAlarms()).toEqual([]);
    await vi.waitFor(() => expect(withAlarms()).toHaveLength(1), { timeout: 2000 });
    expect((withAlarms()[0]!.data.alarms as unknown[]).length).toBe(3);
  });

  it('lets a page whose socket is full skip frames, then sends it the whole ward', async () => {
    const { clock, feed, ward } = setUp();
    const slow = new RecordingStream();
    const quick = new RecordingStream();
    ward.open(slow);
    ward.open(quick);
    slow.full = true;
    clock.set(T0 + 1000);
    feed('P1', { downstreamPressureMmHg: 30 });
    await vi.waitFor(() => expect(quick.frames.some((frame) => frame.event === 'delta' && pumpsOf(frame.data.rows).includes('P1'))).toBe(true));
    expect(slow.frames.map((frame) => frame.event)).toEqual(['ward']);
    slow.full = false;
    await vi.waitFor(() => expect(slow.frames.map((frame) => frame.event)).toEqual(['ward', 'ward']));
    const rows = slow.last('ward')!.data.channels as WardChannelRow[];
    expect(rows.find((row) => row[0] === 'P1')![5]).toBe(30);
    ward.stop();
    expect([slow.ended, quick.ended]).toEqual([true, true]);
  });
});
