import { describe, expect, it } from 'vitest';
import {
  ALARIS_STATUS_QUERY,
  AlarisFramer,
  createAlarisDeviceSession,
  createAlarisHostSession,
  encodeAlarisFrame,
  encodeAlarisStatus,
  type AlarisHostOptions,
} from '../../src/protocols/alaris.js';
import type { HostSessionDeps } from '../../src/protocols/protocol.js';
import { createHostHarness, linkHostToDevice } from '../helpers/protocol-link.js';

const OPTIONS: AlarisHostOptions = { pumpId: 'NICU-07', channel: '1', pumpType: 'syringe', pollIntervalMs: 1000, maxFrameBytes: 256 };
const hostFactory = (options: Partial<AlarisHostOptions> = {}) => (deps: HostSessionDeps) => createAlarisHostSession({ ...OPTIONS, ...options }, deps);

/** A status reply as the pump sends it, fields in OpenICE's order. */
function statusReply(fields: { alarm?: string; mode?: string; rate?: string; rateUnit?: string; volume?: string; volumeUnit?: string; pressure?: string; pressureUnit?: string } = {}) {
  const body = [
    'INF',
    'S123',
    fields.alarm ?? 'NONE',
    fields.mode ?? 'INFUSING',
    fields.rate ?? '1.50',
    fields.rateUnit ?? 'ml/h',
    '',
    fields.volume ?? '3.250',
    fields.volumeUnit ?? 'ml',
    fields.pressure ?? '42',
    fields.pressureUnit ?? 'mmHg',
    '01:30',
    'L',
    '17',
  ].join('^');
  return encodeAlarisFrame(body);
}

describe('Alaris frames', () => {
  it('builds the status query OpenICE sends, byte for byte', () => {
    expect(Buffer.from(ALARIS_STATUS_QUERY).toString('latin1')).toBe('!INF|4961\r');
  });

  it('hands over the body of a frame whose CRC matches', () => {
    const bodies: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: () => undefined });
    framer.push(Buffer.from('!INF|4961\r'));
    expect(bodies).toEqual(['INF']);
  });

  it('accepts a frame split into single bytes', () => {
    const bodies: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: () => undefined });
    for (const byte of Buffer.from('!INF|4961\r')) framer.push(Uint8Array.of(byte));
    expect(bodies).toEqual(['INF']);
  });

  it('accepts a lower-case CRC and a CR LF ending', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!COMMS_PROTOCOL|e8da\r\n!INF|4961\r\n'));
    expect(bodies).toEqual(['COMMS_PROTOCOL', 'INF']);
    expect(rejections).toEqual([]);
  });

  it('refuses a frame whose CRC does not match as checksum, and reads the next one', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!INF|4962\r!INF|4961\r'));
    expect(rejections).toEqual(['checksum']);
    expect(bodies).toEqual(['INF']);
  });

  it('refuses a frame without |CRC as framing', () => {
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: () => undefined, reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!INF\r'));
    expect(rejections).toEqual(['framing']);
  });

  it('resyncs on "!" after garbage and reports the garbage once', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    const garbage = Buffer.from('garbage\u0000\u00ff more garbage');
    framer.push(Buffer.concat([garbage, Buffer.from('!INF|4961\r')]));
    expect(bodies).toEqual(['INF']);
    expect(rejections).toEqual(['framing']);
    expect(framer.discardedBytes).toBe(garbage.length);
  });

  it('restarts on a "!" inside a frame, refusing the cut-short frame', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!INF^half!INF|4961\r'));
    expect(rejections).toEqual(['framing']);
    expect(bodies).toEqual(['INF']);
  });

  it('drops a frame the pump aborts with ESC without calling it an error', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!INF^abc\u001b!INF|4961\r'));
    expect(rejections).toEqual([]);
    expect(bodies).toEqual(['INF']);
  });

  it('refuses an overlong frame once, never buffers past the cap, and reads the next frame', () => {
    const bodies: string[] = [];
    const rejections: string[] = [];
    const framer = new AlarisFramer(16, { frame: (body) => bodies.push(body), reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from(`!${'A'.repeat(100)}`));
    framer.push(Buffer.from(`${'A'.repeat(100)}\r!INF|4961\r`));
    expect(rejections).toEqual(['frame-too-long']);
    expect(bodies).toEqual(['INF']);
    expect(framer.peakBufferedBytes).toBe(16);
  });

  it('refuses a control byte inside a frame as framing', () => {
    const rejections: string[] = [];
    const framer = new AlarisFramer(64, { frame: () => undefined, reject: (r) => rejections.push(r.reason) });
    framer.push(Buffer.from('!IN\u0002F|4961\r'));
    expect(rejections).toEqual(['framing']);
  });
});

describe('Alaris host session', () => {
  it('sends the status query when the link opens and at every poll, and nothing else', () => {
    const { host, wire } = createHostHarness(hostFactory());
    host.opened();
    host.poll();
    host.poll();
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r'.repeat(3));
    expect(host.pollIntervalMs).toBe(1000);
  });

  it('turns a status reply into a sample stamped with the gateway clock', () => {
    const { host, recorder, clock } = createHostHarness(hostFactory());
    host.receive(statusReply());
    expect(recorder.samples).toEqual([
      {
        pumpId: 'NICU-07',
        channel: '1',
        ts: clock.now(),
        state: 'infusing',
        pumpType: 'syringe',
        rateMlPerH: 1.5,
        volumeInfusedMl: 3.25,
        downstreamPressureMmHg: 42,
        pumpAlarms: [],
      },
    ]);
  });

  it("maps the pump's occlusion token to OCCLUSION_DOWNSTREAM and keeps unknown tokens visible", () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ alarm: 'occlusion,Door open', mode: 'ALARM' }));
    expect(recorder.samples[0]).toMatchObject({ state: 'alarm', pumpAlarms: ['OCCLUSION_DOWNSTREAM', 'DOOR_OPEN'] });
  });

  it('converts pressure reported in kPa to mmHg', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ pressure: '4', pressureUnit: 'kPa' }));
    expect(recorder.samples[0]!.downstreamPressureMmHg).toBeCloseTo(30.0, 1);
  });

  it('leaves out a value the pump sends empty', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ pressure: '' }));
    expect(recorder.samples[0]).not.toHaveProperty('downstreamPressureMmHg');
  });

  it('refuses an unknown mode as unsupported rather than guessing a state', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ mode: 'WARP_SPEED' }));
    expect(recorder.samples).toEqual([]);
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['unsupported']);
  });

  it('refuses an unknown pressure unit as schema', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ pressureUnit: 'furlongs' }));
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['schema']);
  });

  it('refuses a number with an exponent or spaces', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ rate: '1e3' }));
    host.receive(statusReply({ volume: ' 2' }));
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['schema', 'schema']);
  });

  it('refuses a negative rate through the telemetry schema', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(statusReply({ rate: '-1' }));
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['schema']);
  });

  it('refuses a reply that is not to INF, or too short', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(encodeAlarisFrame('INST_SERIALNO^1234'));
    host.receive(encodeAlarisFrame('INF^S1^NONE^INFUSING'));
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['unsupported', 'unsupported']);
  });

  it('counts accepted frames and sent bytes', () => {
    const { host } = createHostHarness(hostFactory());
    host.opened();
    host.receive(statusReply());
    expect(host.stats.framesAccepted).toBe(1);
    expect(host.stats.bytesSent).toBe(ALARIS_STATUS_QUERY.length);
  });

  it('counts a query the port would not take as dropped', () => {
    const { host, wire } = createHostHarness(hostFactory());
    wire.refuse(true);
    host.poll();
    expect(host.stats.sendsDropped).toBe(1);
    expect(host.stats.bytesSent).toBe(0);
  });

  it('drops a partial frame when the link closes, so it is not glued to the next link', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    const reply = statusReply();
    host.receive(reply.subarray(0, 20));
    expect(host.closed()).toBe(19);
    host.receive(reply.subarray(20));
    host.receive(reply);
    expect(recorder.samples).toHaveLength(1);
  });
});

describe('Alaris device session (emulator)', () => {
  it('answers INF with the latest reading, read back by the host', () => {
    const link = linkHostToDevice(hostFactory(), (send) => createAlarisDeviceSession(send));
    link.device.update({ pumpId: 'SIM-1', channel: '1', state: 'infusing', rateMlPerH: 0.8, volumeInfusedMl: 1.234, downstreamPressureMmHg: 17.5, pumpAlarms: [] });
    link.device.update({ pumpId: 'SIM-1', channel: '1', state: 'paused', rateMlPerH: 0.8, volumeInfusedMl: 1.3, downstreamPressureMmHg: 18 });
    link.host.opened();
    link.settle();
    expect(link.recorder.samples).toEqual([expect.objectContaining({ pumpId: 'NICU-07', state: 'paused', rateMlPerH: 0.8, volumeInfusedMl: 1.3, downstreamPressureMmHg: 18 })]);
  });

  it('stays silent before its first reading', () => {
    const link = linkHostToDevice(hostFactory(), (send) => createAlarisDeviceSession(send));
    link.host.opened();
    link.settle();
    expect(link.deviceWire.chunks).toEqual([]);
    expect(link.recorder.samples).toEqual([]);
  });

  it('answers for the first pump channel it sees and ignores the others', () => {
    const link = linkHostToDevice(hostFactory(), (send) => createAlarisDeviceSession(send));
    link.device.update({ pumpId: 'SIM-1', channel: '1', state: 'infusing', rateMlPerH: 1 });
    link.device.update({ pumpId: 'SIM-2', channel: '1', state: 'stopped', rateMlPerH: 9 });
    link.host.poll();
    link.settle();
    expect(link.recorder.samples.map((sample) => sample.rateMlPerH)).toEqual([1]);
  });

  it('encodes values with the documented precision', () => {
    const text = Buffer.from(encodeAlarisStatus({ pumpId: 'x', state: 'kvo', rateMlPerH: 1 / 3, volumeInfusedMl: 2, downstreamPressureMmHg: -3.25 })).toString('latin1');
    expect(text).toMatch(/^!INF\^PWSIM\^NONE\^KVO\^0\.33\^ml\/h\^\^2\.000\^ml\^-3\.3\^mmHg\^\^\^\|[0-9A-F]{4}\r$/);
  });
});
