import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialPortSchema, type SerialPortConfig } from '../../src/config/schema.js';
import { createSerialSources, SerialSource, type SerialLinkState } from '../../src/sources/serial.js';
import { createManualTimers } from '../helpers/manual-timers.js';
import { createMockSerial } from '../helpers/mock-serial.js';
import { waitForLinkState } from '../helpers/serial-link.js';
import { createCapturingLogger, createTelemetryRecorder, sampleLine } from '../helpers/telemetry-recorder.js';

const PATH = '/dev/serial/by-id/usb-pump-1';

function portConfig(fields: Partial<SerialPortConfig> = {}): SerialPortConfig {
  return SerialPortSchema.parse({ path: PATH, maxFrameBytes: 256, reopenInitialSeconds: 0.5, reopenMaxSeconds: 4, ...fields });
}

const started: SerialSource[] = [];

function setUp(fields: Partial<SerialPortConfig> = {}) {
  const serial = createMockSerial();
  const manual = createManualTimers();
  const log = createCapturingLogger();
  const recorder = createTelemetryRecorder();
  const source = new SerialSource(portConfig(fields), { binding: serial.binding, logger: log.logger, timers: manual.timers });
  started.push(source);
  return { serial, manual, log, recorder, source };
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((source) => source.stop()));
});

describe('SerialSource with the mock binding', () => {
  it('turns each valid line into a sample', async () => {
    const { serial, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);
    expect(source.linkState).toBe('open');

    serial.send(PATH, sampleLine({ seq: 1 }) + sampleLine({ seq: 2 }));
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(2));
    expect(recorder.samples.map((sample) => [sample.pumpId, sample.channel, sample.seq])).toEqual([
      ['P1', '1', 1],
      ['P1', '1', 2],
    ]);
    expect(recorder.rejections).toEqual([]);
  });

  it('counts bad lines as rejections and still delivers the good lines after them', async () => {
    const { serial, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);

    serial.send(PATH, '{"pumpId":"P1", broken\n');
    serial.send(PATH, sampleLine({ rateMlPerH: '5' }));
    serial.send(PATH, sampleLine({ pumpId: 'ward/P+1' }));
    serial.send(PATH, `${'x'.repeat(1000)}\n`);
    serial.send(PATH, sampleLine({ seq: 7 }));
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));

    expect(recorder.samples[0]!.seq).toBe(7);
    expect(recorder.rejections.map((rejection) => rejection.reason)).toEqual(['invalid-json', 'schema', 'bad-id', 'frame-too-long']);
  });

  it('uses the configured pumpId and channel instead of the frame’s own, also when the frame has none', async () => {
    const { serial, recorder, source } = setUp({ pumpId: 'BED-12', channel: 'B' });
    serial.plugIn(PATH);
    await source.start(recorder.target);

    serial.send(PATH, sampleLine({ pumpId: 'P1', channel: '1' }));
    serial.send(PATH, `${JSON.stringify({ ts: 1_700_000_001_000, state: 'infusing' })}\n`);
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(2));
    expect(recorder.samples.map((sample) => `${sample.pumpId}/${sample.channel}`)).toEqual(['BED-12/B', 'BED-12/B']);
  });

  it('still validates the rest of a frame when the ids are overridden', async () => {
    const { serial, recorder, source } = setUp({ pumpId: 'BED-12' });
    serial.plugIn(PATH);
    await source.start(recorder.target);

    serial.send(PATH, sampleLine({ rateMlPerH: -1 }));
    await vi.waitFor(() => expect(recorder.rejections).toHaveLength(1));
    expect(recorder.rejections[0]!.reason).toBe('schema');
    expect(recorder.samples).toEqual([]);
  });

  it('never writes to the pump', async () => {
    const { serial, recorder, source } = setUp();
    serial.plugIn(PATH, { record: true });
    await source.start(recorder.target);
    serial.send(PATH, sampleLine());
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
    expect(serial.written(PATH)).toHaveLength(0);
  });

  it('keeps trying with backoff while the port is missing at start, and opens when it appears', async () => {
    const { serial, manual, log, recorder, source } = setUp();
    await source.start(recorder.target);
    expect(source.linkState).toBe('waiting-to-reopen');
    expect(log.codes()).toContain('PW_SERIAL_OPEN_FAILED');

    expect(manual.fireNext()).toBe(500);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(manual.pendingDelaysMs()).toEqual([1000]);

    serial.plugIn(PATH);
    manual.fireNext();
    await waitForLinkState(source, 'open');
    serial.send(PATH, sampleLine());
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
  });

  it('reopens with doubling delays capped at reopenMaxSeconds after the port vanishes, and data flows again', async () => {
    const { serial, manual, log, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);

    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(log.codes()).toContain('PW_SERIAL_LINK_LOST');

    const delaysMs: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      delaysMs.push(manual.fireNext());
      await waitForLinkState(source, 'waiting-to-reopen');
    }
    expect(delaysMs).toEqual([500, 1000, 2000, 4000, 4000]);

    serial.plugIn(PATH);
    manual.fireNext();
    await waitForLinkState(source, 'open');
    serial.send(PATH, sampleLine({ seq: 42 }));
    await vi.waitFor(() => expect(recorder.samples.map((sample) => sample.seq)).toEqual([42]));
  });

  it('starts the backoff over after a successful open', async () => {
    const { serial, manual, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);
    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    manual.fireNext();
    await waitForLinkState(source, 'waiting-to-reopen');
    serial.plugIn(PATH);
    manual.fireNext();
    await waitForLinkState(source, 'open');

    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(manual.pendingDelaysMs()).toEqual([500]);
  });

  it('treats end of file on the port as a lost link and reopens', async () => {
    const { serial, manual, log, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);

    serial.hangUp(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(log.records.find((record) => record.code === 'PW_SERIAL_LINK_LOST')?.how).toBe('ended');
    manual.fireNext();
    await waitForLinkState(source, 'open');
    serial.send(PATH, sampleLine());
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
  });

  it('treats a path that vanishes or names another device as a lost link, even while the binding still reports the port open', async () => {
    const serial = createMockSerial();
    const manual = createManualTimers();
    const log = createCapturingLogger();
    const recorder = createTelemetryRecorder();
    let deviceNode: string | undefined = 'usb-adapter-1';
    const source = new SerialSource(portConfig(), {
      binding: serial.binding,
      logger: log.logger,
      timers: manual.timers,
      identifyDevice: () => Promise.resolve(deviceNode),
    });
    started.push(source);
    serial.plugIn(PATH);
    await source.start(recorder.target);
    expect(manual.pendingDelaysMs()).toEqual([1000]);

    manual.fireNext();
    await vi.waitFor(() => expect(manual.pendingDelaysMs()).toEqual([1000]));
    expect(source.linkState).toBe('open');

    deviceNode = 'usb-adapter-2';
    manual.fireNext();
    await waitForLinkState(source, 'waiting-to-reopen');
    const lost = log.records.find((record) => record.code === 'PW_SERIAL_LINK_LOST');
    expect(lost?.how).toBe('vanished');
    expect(lost?.err).toBe(`${PATH} now names another device`);

    manual.fireNext();
    await waitForLinkState(source, 'open');
    serial.send(PATH, sampleLine({ seq: 7 }));
    await vi.waitFor(() => expect(recorder.samples.map((sample) => sample.seq)).toEqual([7]));

    deviceNode = undefined;
    manual.fireNext();
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(log.records.filter((record) => record.code === 'PW_SERIAL_LINK_LOST').at(-1)?.err).toBe(`${PATH} no longer exists`);
  });

  it('drops a partial frame from a lost link instead of gluing it to the first bytes of the new one', async () => {
    const { serial, manual, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);
    serial.send(PATH, '{"pumpId":"P1","ts":1700000000000,');
    await vi.waitFor(() => expect(source.framerStats.bufferedBytes).toBeGreaterThan(0));

    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    expect(source.framerStats.bufferedBytes).toBe(0);
    serial.plugIn(PATH);
    manual.fireNext();
    await waitForLinkState(source, 'open');
    serial.send(PATH, '"state":"infusing"}\n');
    serial.send(PATH, sampleLine({ seq: 3 }));
    await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));
    expect(recorder.samples[0]!.seq).toBe(3);
    expect(recorder.rejections.map((rejection) => rejection.reason)).toEqual(['invalid-json']);
  });

  it('reports every link state change to its listeners', async () => {
    const { serial, manual, recorder, source } = setUp();
    const states: SerialLinkState[] = [];
    source.onLinkStateChange((state) => states.push(state));
    serial.plugIn(PATH);
    await source.start(recorder.target);
    serial.unplug(PATH);
    await waitForLinkState(source, 'waiting-to-reopen');
    serial.plugIn(PATH);
    manual.fireNext();
    await waitForLinkState(source, 'open');
    await source.stop();
    expect(states).toEqual(['opening', 'open', 'waiting-to-reopen', 'opening', 'open', 'stopped']);
  });

  it('closes the port on stop, so another reader can open it', async () => {
    const { serial, log, recorder, source } = setUp();
    serial.plugIn(PATH);
    await source.start(recorder.target);
    await source.stop();
    expect(source.linkState).toBe('stopped');
    expect(serial.isOpen(PATH)).toBe(false);
    expect(log.codes()).toContain('PW_SERIAL_STOPPED');

    const other = new SerialSource(portConfig(), { binding: serial.binding, logger: log.logger, timers: createManualTimers().timers });
    started.push(other);
    await other.start(recorder.target);
    expect(other.linkState).toBe('open');
  });

  it('cancels a pending reopen on stop', async () => {
    const { serial, manual, recorder, source } = setUp();
    await source.start(recorder.target);
    expect(manual.pendingDelaysMs()).toHaveLength(1);
    await source.stop();
    expect(manual.pendingDelaysMs()).toEqual([]);
    expect(serial.openAttempts(PATH)).toBe(1);
  });

  it('closes a port that finishes opening after stop was called', async () => {
    const { serial, recorder, source } = setUp();
    serial.plugIn(PATH);
    const starting = source.start(recorder.target);
    await source.stop();
    await starting;
    expect(source.linkState).toBe('stopped');
    expect(serial.isOpen(PATH)).toBe(false);
  });
});

describe('createSerialSources', () => {
  it('makes one independent source per configured port', async () => {
    const serial = createMockSerial();
    const recorder = createTelemetryRecorder();
    const ports = [portConfig({ path: '/dev/ttyUSB0', pumpId: 'A' }), portConfig({ path: '/dev/ttyUSB1', pumpId: 'B' })];
    const sources = createSerialSources(ports, { binding: serial.binding, logger: createCapturingLogger().logger, timers: createManualTimers().timers });
    started.push(...sources);
    serial.plugIn('/dev/ttyUSB0');
    serial.plugIn('/dev/ttyUSB1');
    await Promise.all(sources.map((source) => source.start(recorder.target)));
    expect(sources.map((source) => source.name)).toEqual(['serial:/dev/ttyUSB0', 'serial:/dev/ttyUSB1']);

    serial.unplug('/dev/ttyUSB0');
    serial.send('/dev/ttyUSB1', sampleLine());
    await vi.waitFor(() => expect(recorder.samples.map((sample) => sample.pumpId)).toEqual(['B']));
    expect(sources.map((source) => source.linkState)).toEqual(['waiting-to-reopen', 'open']);
  });
});
