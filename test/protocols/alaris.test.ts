import { describe, expect, it } from 'vitest';
import { createAlarisDeviceSession, encodeAlarisAlarm, encodeAlarisStatus } from '../../src/emulate/alaris-device.js';
import {
  ALARIS_ALARM_QUERY,
  ALARIS_STATUS_QUERY,
  AlarisFramer,
  alarisAlarmCodes,
  createAlarisHostSession,
  encodeAlarisFrame,
  encodeAlarisQuery,
  type AlarisHostOptions,
} from '../../src/protocols/alaris.js';
import { ALARIS_HOST_COMMANDS, type AlarisHostCommand } from '../../src/protocols/mapping.js';
import type { HostSessionDeps } from '../../src/protocols/protocol.js';
import { createHostHarness, linkHostToDevice } from '../helpers/protocol-link.js';

const OPTIONS: AlarisHostOptions = { pumpId: 'NICU-07', channel: '1', pumpType: 'syringe', pollIntervalMs: 1000, maxFrameBytes: 256, startup: [] };
const hostFactory = (options: Partial<AlarisHostOptions> = {}) => (deps: HostSessionDeps) => createAlarisHostSession({ ...OPTIONS, ...options }, deps);

/** A status reply laid out like the captured GH reply (MDDT AlarisMITM.java), fields in OpenICE's order. */
function statusReply(fields: { alarm?: string; mode?: string; rate?: string; rateUnit?: string; volume?: string; volumeUnit?: string; pressure?: string; pressureUnit?: string } = {}) {
  const body = [
    'INF',
    '8002-51733',
    fields.alarm ?? '-',
    fields.mode ?? 'SET',
    fields.rate ?? '1.50',
    fields.rateUnit ?? 'ml/h',
    '',
    fields.volume ?? '3.250',
    fields.volumeUnit ?? 'ml',
    fields.pressure ?? '42',
    fields.pressureUnit ?? 'mmHg',
    '00:04:09',
    'EVENT',
    '214725',
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
  it('sends the status query when the link opens and at every poll, one outstanding at a time, and nothing else', () => {
    const { host, wire, clock } = createHostHarness(hostFactory());
    host.opened();
    host.poll();
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r');
    host.receive(statusReply());
    host.poll();
    clock.set(clock.now() + 1000);
    host.poll();
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r'.repeat(2));
    expect(host.pollIntervalMs).toBe(1000);
  });

  it('runs the default start-up queries once, one at a time, before the first INF', () => {
    const { host, wire } = createHostHarness((deps) => createAlarisHostSession({ pumpId: 'NICU-07', channel: '1', pollIntervalMs: 1000, maxFrameBytes: 256 }, deps));
    host.opened();
    expect(wire.take().toString('latin1')).toBe('!INST_SERIALNO|457D\r');
    host.receive(Buffer.from('!INST_SERIALNO^8002-51733|ACFF\r'));
    expect(wire.take().toString('latin1')).toBe('!COMMS_PROTOCOL|E8DA\r');
    host.receive(Buffer.from('!COMMS_PROTOCOL^Asena Rev 2.1.5|661A\r'));
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r');
  });

  it('gives up on an unanswered start-up query at the next poll and polls INF', () => {
    const { host, wire, clock } = createHostHarness(hostFactory({ startup: ['COMMS_PROTOCOL'] }));
    host.opened();
    expect(wire.take().toString('latin1')).toBe('!COMMS_PROTOCOL|E8DA\r');
    clock.set(clock.now() + 1000);
    host.poll();
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r');
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

  it('holds a flagged reply until ALARM names the alarm, then sends one sample with its code', () => {
    const { host, recorder, wire } = createHostHarness(hostFactory());
    host.opened();
    wire.take();
    host.receive(statusReply({ alarm: 'A', mode: 'HLD', rate: '0.00', pressure: '530.15' }));
    expect(recorder.samples).toEqual([]);
    expect(wire.take()).toEqual(Buffer.from(ALARIS_ALARM_QUERY));
    host.receive(encodeAlarisFrame('ALARM^AL_OCCLU^OCCLUSION^'));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'paused', rateMlPerH: 0, downstreamPressureMmHg: 530.15, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] })]);
  });

  it('sends a flagged sample with ALARIS_ALARM_UNREAD when ALARM goes unanswered for a poll interval', () => {
    const { host, recorder, clock } = createHostHarness(hostFactory());
    host.opened();
    host.receive(statusReply({ alarm: 'A' }));
    clock.set(clock.now() + 1000);
    host.poll();
    expect(recorder.samples).toEqual([expect.objectContaining({ pumpAlarms: ['ALARIS_ALARM_UNREAD'] })]);
  });

  it('reads AL_OCCLU as a downstream occlusion only on a syringe driver, and passes other codes on', () => {
    expect(alarisAlarmCodes('AL_OCCLU', 'syringe')).toEqual(['OCCLUSION_DOWNSTREAM']);
    expect(alarisAlarmCodes('AL_OCCLU', 'volumetric')).toEqual(['AL_OCCLU']);
    expect(alarisAlarmCodes('AL_NOALM', 'syringe')).toEqual([]);
    expect(alarisAlarmCodes('AL DRDIS', 'syringe')).toEqual(['AL_DRDIS']);
    expect(alarisAlarmCodes('AL_SYRCO', 'syringe')).toEqual(['AL_SYRCO']);
  });

  it('keeps the sample of an unknown mode word as state unknown, counts the word and logs it once', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (record: unknown) => warnings.push(record), info: () => undefined } as unknown as NonNullable<HostSessionDeps['logger']>;
    const { host, recorder } = createHostHarness((deps) => createAlarisHostSession(OPTIONS, { ...deps, logger }));
    host.receive(statusReply({ mode: 'VTB', pressure: '61.5' }));
    host.receive(statusReply({ mode: 'VTB' }));
    expect(recorder.samples).toHaveLength(2);
    expect(recorder.samples[0]).toMatchObject({ state: 'unknown', pumpMode: 'VTB', downstreamPressureMmHg: 61.5, rateMlPerH: 1.5 });
    expect(recorder.rejections).toEqual([]);
    expect(host.observations.unknownModes.get('VTB')).toBe(2);
    expect(warnings).toEqual([expect.objectContaining({ code: 'PW_ALARIS_UNKNOWN_MODE', mode: 'VTB' })]);
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

  it('refuses a reply to something it never asks, or a status reply too short', () => {
    const { host, recorder } = createHostHarness(hostFactory());
    host.receive(encodeAlarisFrame('INF_RATE^0.10^ml/h'));
    host.receive(encodeAlarisFrame('INF^S1^-^SET'));
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

describe('Alaris commands pumpwatch may send', () => {
  it('refuses to encode any command outside the query allow-list', () => {
    for (const command of ['INF_RATE', 'INF_START', 'INF_STOP', 'INF_VTBI', 'INF_BOLUS', 'REMQUERY', 'INF_VI_CLEAR']) {
      expect(() => encodeAlarisQuery(command as AlarisHostCommand)).toThrow(/PW_ALARIS_FORBIDDEN_COMMAND/);
    }
    expect(() => encodeAlarisQuery('INF', ['ACTIV'])).toThrow(/PW_ALARIS_FORBIDDEN_COMMAND/);
    expect(() => encodeAlarisQuery('REMOTE_CTRL', ['DISABLED'])).toThrow(/PW_ALARIS_FORBIDDEN_COMMAND/);
  });

  it('with REMOTE_CTRL configured, enables the session with the CRC of the serial number and repeats it every poll', () => {
    const { host, wire } = createHostHarness(hostFactory({ startup: ['INST_SERIALNO', 'REMOTE_CTRL'] }));
    host.opened();
    wire.take();
    // OpenICE's commented-out constant for pump 8002-51740 (mdpnp/mdpnp Asena.java): !REMOTE_CTRL^ENABLED^3CC1|B1F1
    host.receive(Buffer.from('!INST_SERIALNO^8002-51740|050B\r'));
    expect(wire.take().toString('latin1')).toBe('!REMOTE_CTRL^ENABLED^3CC1|B1F1\r');
    host.receive(Buffer.from('!REMOTE_CTRL^ENABLED^****^PERMIT^0^ms|7BB0\r'));
    expect(wire.take().toString('latin1')).toBe('!INF|4961\r');
    host.receive(statusReply());
    host.poll();
    expect(wire.take().toString('latin1')).toBe('!REMOTE_CTRL^ENABLED^3CC1|B1F1\r');
  });

  it('sends only allow-listed commands through a whole session with every start-up step', () => {
    const link = linkHostToDevice(hostFactory({ startup: ['INST_SERIALNO', 'COMMS_PROTOCOL', 'COMMS_RESPONSE_MAX', 'REMOTE_CTRL'] }), (send) => createAlarisDeviceSession(send));
    link.device.update({ pumpId: 'SIM-1', state: 'infusing', rateMlPerH: 2, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    link.host.opened();
    for (let poll = 0; poll < 5; poll++) {
      link.settle();
      link.clock.set(link.clock.now() + 1000);
      link.host.poll();
    }
    link.settle();
    const heads = new Set(link.hostSent().toString('latin1').split('\r').filter(Boolean).map((frame) => frame.slice(1).split(/[|^]/)[0]));
    for (const head of heads) expect(ALARIS_HOST_COMMANDS).toContain(head);
  });
});

describe('Alaris device session (emulator)', () => {
  it('answers INF with the latest reading in the public format, read back by the host', () => {
    const link = linkHostToDevice(hostFactory(), (send) => createAlarisDeviceSession(send));
    link.device.update({ pumpId: 'SIM-1', channel: '1', state: 'infusing', rateMlPerH: 0.8, volumeInfusedMl: 1.234, downstreamPressureMmHg: 17.5, pumpAlarms: [] });
    link.device.update({ pumpId: 'SIM-1', channel: '1', state: 'paused', rateMlPerH: 0.8, volumeInfusedMl: 1.3, downstreamPressureMmHg: 18 });
    link.host.opened();
    link.settle();
    expect(link.recorder.samples).toEqual([expect.objectContaining({ pumpId: 'NICU-07', state: 'paused', rateMlPerH: 0.8, volumeInfusedMl: 1.3, downstreamPressureMmHg: 18 })]);
  });

  it('flags an alarm with A and names it when asked ALARM, so the host reads the code', () => {
    const link = linkHostToDevice(hostFactory(), (send) => createAlarisDeviceSession(send));
    link.device.update({ pumpId: 'SIM-1', state: 'paused', rateMlPerH: 0, downstreamPressureMmHg: 530, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    link.host.opened();
    link.settle();
    expect(link.hostSent().toString('latin1')).toBe('!INF|4961\r!ALARM|50B2\r');
    expect(link.recorder.samples).toEqual([expect.objectContaining({ state: 'paused', pumpAlarms: ['OCCLUSION_DOWNSTREAM'] })]);
  });

  it('stays silent to INF before its first reading', () => {
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

  it('encodes a status reply field for field like the captured GH reply', () => {
    const text = Buffer.from(encodeAlarisStatus({ pumpId: 'x', state: 'kvo', rateMlPerH: 1 / 3, volumeInfusedMl: 2, downstreamPressureMmHg: -3.25 })).toString('latin1');
    expect(text).toMatch(/^!INF\^8002-00000\^-\^SET\^0\.33\^ml\/h\^\^2\.000\^ml\^-3\.25\^mmHg\^24\+\^EVENT\^1\|[0-9A-F]{4}\r$/);
    expect(Buffer.from(encodeAlarisAlarm(undefined)).toString('latin1')).toBe('!ALARM^AL_NOALM^ ^ |C73B\r');
  });
});
