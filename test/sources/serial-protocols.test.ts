import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialPortSchema } from '../../src/config/schema.js';
import { encodeAlarisStatus } from '../../src/emulate/alaris-device.js';
import { ALARIS_STATUS_QUERY } from '../../src/protocols/alaris.js';
import { encodeFreseniusFrame } from '../../src/protocols/fresenius.js';
import { SerialSource } from '../../src/sources/serial.js';
import { createManualTimers } from '../helpers/manual-timers.js';
import { createMockSerial } from '../helpers/mock-serial.js';
import { waitForLinkState } from '../helpers/serial-link.js';
import { createCapturingLogger, createTelemetryRecorder, sampleLine } from '../helpers/telemetry-recorder.js';

const PATH = '/dev/serial/by-id/usb-pump-rack';
const started: SerialSource[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((source) => source.stop()));
});

function setUp(port: Record<string, unknown>) {
  const serial = createMockSerial();
  const manual = createManualTimers();
  const recorder = createTelemetryRecorder();
  const config = SerialPortSchema.parse({ path: PATH, reopenInitialSeconds: 0.5, reopenMaxSeconds: 4, ...port });
  const source = new SerialSource(config, { binding: serial.binding, logger: createCapturingLogger().logger, timers: manual.timers });
  started.push(source);
  return { serial, manual, recorder, source, watched: recorder.watched };
}

const ALARIS = { protocol: 'alaris', pumpId: 'NICU-07', pollIntervalSeconds: 2, startup: [] };

describe('SerialSource speaking a polled pump protocol', () => {
  it('sends the Alaris status query when the port opens and at every poll interval, and nothing else', async () => {
    const { serial, manual, recorder, source } = setUp(ALARIS);
    serial.plugIn(PATH, { record: true });
    await source.start(recorder.target);
    await vi.waitFor(() => expect(serial.written(PATH)).toEqual(Buffer.from(ALARIS_STATUS_QUERY)));

    expect(manual.pendingDelaysMs()).toEqual([2000]);
    const reply = Buffer.from(encodeAlarisStatus({ pumpId: 'x', state: 'infusing', rateMlPerH: 2 }));
    serial.send(PATH, reply);
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
    manual.fireNext();
    serial.send(PATH, reply);
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(2));
    manual.fireNext();
    await vi.waitFor(() => expect(serial.written(PATH).toString('latin1')).toBe('!INF|4961\r'.repeat(3)));
    expect(source.framerStats.bytesSent).toBe(3 * ALARIS_STATUS_QUERY.length);
  });

  it("turns the pump's reply into a sample for the configured pump", async () => {
    const { serial, recorder, source } = setUp(ALARIS);
    serial.plugIn(PATH);
    await source.start(recorder.target);
    serial.send(PATH, Buffer.from(encodeAlarisStatus({ pumpId: 'whatever', state: 'infusing', rateMlPerH: 2, downstreamPressureMmHg: 30 })));
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
    expect(recorder.samples[0]).toMatchObject({ pumpId: 'NICU-07', channel: '1', pumpType: 'syringe', rateMlPerH: 2, downstreamPressureMmHg: 30 });
  });

  it('stops polling while the port is gone and polls again once it reopens', async () => {
    const { serial, manual, recorder, source } = setUp(ALARIS);
    serial.plugIn(PATH, { record: true });
    await source.start(recorder.target);
    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(manual.pendingDelaysMs()).toEqual([500]);

    serial.plugIn(PATH, { record: true });
    manual.fireNext();
    await waitForLinkState(source, 'open');
    await vi.waitFor(() => expect(serial.written(PATH)).toEqual(Buffer.from(ALARIS_STATUS_QUERY)));
    expect(manual.pendingDelaysMs()).toEqual([2000]);
  });

  it('opens the Fresenius base session first', async () => {
    const { serial, recorder, source } = setUp({ protocol: 'fresenius', modules: [{ module: 2, pumpId: 'NICU-11' }] });
    serial.plugIn(PATH, { record: true });
    await source.start(recorder.target);
    await vi.waitFor(() => expect(serial.written(PATH)).toEqual(Buffer.from(encodeFreseniusFrame('0DC'))));
  });
});

describe('SerialSource link supervision', () => {
  it("hands the port's configured pumps and deadline to the link watch at start, before any data", async () => {
    const { recorder, source, watched } = setUp({ protocol: 'fresenius', linkDeadlineSeconds: 4, modules: [{ module: 1, pumpId: 'A' }, { module: 2, pumpId: 'A', channel: '2' }] });
    await source.start(recorder.target);
    expect(watched).toEqual([
      ['A', '1', 4000],
      ['A', '2', 4000],
    ]);
  });

  it('holds every pump heard on a JSON-lines port with a deadline to that deadline', async () => {
    const { serial, recorder, source, watched } = setUp({ linkDeadlineSeconds: 3 });
    serial.plugIn(PATH);
    await source.start(recorder.target);
    expect(watched).toEqual([]);
    serial.send(PATH, sampleLine({ pumpId: 'P9', channel: '4' }));
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
    expect(watched).toEqual([['P9', '4', 3000]]);
  });

  it('leaves a JSON-lines port without a deadline to the detection-wide limit', async () => {
    const { recorder, source, watched } = setUp({ pumpId: 'BED-1' });
    await source.start(recorder.target);
    expect(watched).toEqual([['BED-1', '1', undefined]]);
    expect(source.linkDeadlineMs).toBeUndefined();
  });
});
