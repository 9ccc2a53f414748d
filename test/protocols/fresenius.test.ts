import { describe, expect, it } from 'vitest';
import { createFreseniusDeviceSession, encodeFreseniusReport } from '../../src/emulate/fresenius-device.js';
import {
  createFreseniusHostSession,
  encodeFreseniusFrame,
  FRESENIUS_READ_VARIABLES,
  FreseniusFramer,
  type FreseniusHostOptions,
  type FreseniusLinkEvent,
} from '../../src/protocols/fresenius.js';
import type { HostSessionDeps } from '../../src/protocols/protocol.js';
import { createHostHarness, linkHostToDevice } from '../helpers/protocol-link.js';

const STX = '\u0002';
const ETX = '\u0003';
const ENQ = '\u0005';
const ACK = '\u0006';
const DC4 = '\u0014';
const NAK = '\u0015';

const OPTIONS: FreseniusHostOptions = {
  modules: [
    { module: 1, pumpId: 'NICU-11', channel: '1', pumpType: 'syringe' },
    { module: 3, pumpId: 'NICU-11', channel: '2' },
  ],
  pollIntervalMs: 1000,
  maxFrameBytes: 128,
};
const hostFactory = (deps: HostSessionDeps) => createFreseniusHostSession(OPTIONS, deps);

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
/** The frame bodies in a byte string, in order. */
const bodies = (wire: string) =>
  wire
    .split(STX)
    .slice(1)
    .map((rest) => rest.slice(0, rest.indexOf(ETX) - 2));

function framerWith() {
  const frames: string[] = [];
  const reasons: string[] = [];
  const links: [FreseniusLinkEvent, number | undefined][] = [];
  const framer = new FreseniusFramer(32, {
    frame: (body) => frames.push(body),
    badChecksum: (r) => reasons.push(r.reason),
    reject: (r) => reasons.push(r.reason),
    link: (event, code) => links.push([event, code]),
  });
  return { framer, frames, reasons, links };
}

describe('Fresenius frames', () => {
  it('puts the complement checksum in two hex digits between body and ETX', () => {
    expect(text(encodeFreseniusFrame('1DC'))).toBe(`${STX}1DC47${ETX}`);
  });

  it('hands over the body of a frame whose checksum matches', () => {
    const { framer, frames } = framerWith();
    framer.push(encodeFreseniusFrame('1C;d000F'));
    expect(frames).toEqual(['1C;d000F']);
  });

  it('refuses a wrong checksum through badChecksum, so the host can NAK it', () => {
    const { framer, frames, reasons } = framerWith();
    framer.push(Buffer.from(`${STX}1DC48${ETX}`, 'latin1'));
    expect(frames).toEqual([]);
    expect(reasons).toEqual(['checksum']);
  });

  it('reports ENQ even in the middle of a frame, and the frame still arrives', () => {
    const { framer, frames, links } = framerWith();
    const frame = text(encodeFreseniusFrame('1C'));
    framer.push(Buffer.from(`${frame.slice(0, 2)}${ENQ}${frame.slice(2)}`, 'latin1'));
    expect(links).toEqual([['enq', undefined]]);
    expect(frames).toEqual(['1C']);
  });

  it('reports ACK, DC4 and NAK with its error digit between frames', () => {
    const { framer, links, reasons } = framerWith();
    framer.push(Buffer.from(`${ACK}${DC4}${NAK}2`, 'latin1'));
    expect(links).toEqual([
      ['ack', undefined],
      ['dc4', undefined],
      ['nak', 0x32],
    ]);
    expect(reasons).toEqual([]);
  });

  it('resyncs on STX after garbage and reports the garbage once', () => {
    const { framer, frames, reasons } = framerWith();
    framer.push(Buffer.concat([Buffer.from('noise\u00ff\u0001noise', 'latin1'), encodeFreseniusFrame('2C')]));
    expect(frames).toEqual(['2C']);
    expect(reasons).toEqual(['framing']);
  });

  it('refuses an overlong frame once and keeps at most maxFrameBytes', () => {
    const { framer, frames, reasons } = framerWith();
    framer.push(Buffer.from(`${STX}${'x'.repeat(500)}${ETX}`, 'latin1'));
    framer.push(encodeFreseniusFrame('1C'));
    expect(reasons).toEqual(['frame-too-long']);
    expect(frames).toEqual(['1C']);
    expect(framer.peakBufferedBytes).toBe(32);
  });

  it('refuses a frame too short to hold a checksum', () => {
    const { framer, reasons } = framerWith();
    framer.push(Buffer.from(`${STX}4${ETX}`, 'latin1'));
    expect(reasons).toEqual(['framing']);
  });
});

describe('Fresenius host session', () => {
  it('opens the base session first, then one command at a time in reply order', () => {
    const { host, wire } = createHostHarness(hostFactory);
    host.opened();
    expect(bodies(wire.take().toString('latin1'))).toEqual(['0DC']);
    host.receive(encodeFreseniusFrame('0C'));
    expect(bodies(wire.take().toString('latin1'))).toEqual(['1DC']);
  });

  it('after a module accepts DC, asks for spontaneous reports and reads its variables', () => {
    const { host, wire } = createHostHarness(hostFactory);
    host.opened();
    for (const reply of ['0C', '1C', '3C', '1C', '1C', '3C', '3C']) host.receive(encodeFreseniusFrame(reply));
    const vars = FRESENIUS_READ_VARIABLES;
    expect(bodies(wire.take().toString('latin1'))).toEqual(['0DC', '1DC', '3DC', `1DE;${vars}`, `1LE;${vars}`, `3DE;${vars}`, `3LE;${vars}`]);
  });

  it('acknowledges every good frame with ACK and answers a bad checksum with NAK 2', () => {
    const { host, wire, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('0C'));
    host.receive(Buffer.from(`${STX}0C00${ETX}`, 'latin1'));
    expect(wire.take().toString('latin1')).toBe(`${ACK}${NAK}2`);
    expect(recorder.count('checksum')).toBe(1);
  });

  it('answers the keep-alive ENQ with DC4, at most once per 100 ms', () => {
    const { host, wire, clock } = createHostHarness(hostFactory);
    host.receive(Buffer.from(`${ENQ}${ENQ}`, 'latin1'));
    clock.set(clock.now() + 150);
    host.receive(Buffer.from(ENQ, 'latin1'));
    expect(wire.take().toString('latin1')).toBe(`${DC4}${DC4}`);
  });

  it('turns a read reply into a sample, scaled as infupy reads it', () => {
    const { host, recorder, clock } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('1C;a0;e0;m1;d000F;r04D2;p1C'));
    expect(recorder.samples).toEqual([
      {
        pumpId: 'NICU-11',
        channel: '1',
        ts: clock.now(),
        state: 'infusing',
        pumpType: 'syringe',
        rateMlPerH: 1.5,
        volumeInfusedMl: 1.234,
        downstreamPressureMmHg: 28,
        pumpAlarms: [],
      },
    ]);
  });

  it('acknowledges a spontaneous report with ACK and an echo frame, and merges it into the last values', () => {
    const { host, wire, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('3C;a0;e0;m1;d000A;r0;p5'));
    wire.take();
    host.receive(encodeFreseniusFrame('3E;a1;p190'));
    const sent = wire.take().toString('latin1');
    expect(sent.startsWith(ACK)).toBe(true);
    expect(bodies(sent)).toEqual(['3E']);
    expect(recorder.samples.at(-1)).toMatchObject({ pumpId: 'NICU-11', channel: '2', rateMlPerH: 1, downstreamPressureMmHg: 400, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
  });

  it('waits for the mode before it reports a module', () => {
    const { host, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('1E;d000A'));
    expect(recorder.samples).toEqual([]);
    host.receive(encodeFreseniusFrame('1E;m2'));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'paused', rateMlPerH: 1 })]);
  });

  it('names unknown alarm bits and error codes instead of dropping them', () => {
    const { host, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('1C;m6;a81;e1F'));
    expect(recorder.samples[0]!.pumpAlarms).toEqual(['OCCLUSION_DOWNSTREAM', 'FRESENIUS_ALARM_BIT_7', 'FRESENIUS_ERROR_1F']);
  });

  it('reports an unknown mode code as state unknown with the code kept, and refuses a non-hex value as schema', () => {
    const { host, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('1C;m7F;d0A'));
    host.receive(encodeFreseniusFrame('1C;m1;dZZ'));
    expect(recorder.rejections.map((r) => r.reason)).toEqual(['schema']);
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'unknown', pumpMode: 'm7F', rateMlPerH: 1 })]);
    expect(host.observations.unknownModes.get('m7F')).toBe(1);
  });

  it('ignores modules it was not configured for', () => {
    const { host, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('5E;m1;d1'));
    expect(recorder.samples).toEqual([]);
    expect(recorder.rejections).toEqual([]);
  });

  it('opens the session again when the rack says it is closed', () => {
    const { host, wire, recorder } = createHostHarness(hostFactory);
    host.opened();
    // 0DC, 1DC, 3DC accepted; 1DE accepted; 1LE refused: the module's session is not open.
    for (const reply of ['0C', '1C', '3C', '1C', '1I;1E', '3C', '3C']) host.receive(encodeFreseniusFrame(reply));
    expect(bodies(wire.take().toString('latin1')).slice(-4)).toEqual(['1LE;aemdrp', '3DE;aemdrp', '3LE;aemdrp', '1DC']);
    // A closed session is the rack's state, not bad input: reopened, not counted as a rejection.
    expect(recorder.rejections).toEqual([]);
  });

  it('on 0D (base session not open) reopens the base first, then the module, instead of asking the module forever', () => {
    const { host, wire } = createHostHarness(hostFactory);
    host.opened();
    for (const reply of ['0C', '1C', '3C', '1C', '1I;0D']) host.receive(encodeFreseniusFrame(reply));
    wire.take();
    for (const reply of ['3C', '3C']) host.receive(encodeFreseniusFrame(reply));
    expect(bodies(wire.take().toString('latin1'))).toEqual(['3LE;aemdrp', '0DC']);
    host.receive(encodeFreseniusFrame('0C'));
    expect(bodies(wire.take().toString('latin1'))).toEqual(['1DC']);
  });

  it('reads a module that refuses a read containing p with the documented variables, then fewer, and says what it reports', () => {
    const records: Record<string, unknown>[] = [];
    const logger = { warn: (record: Record<string, unknown>) => records.push(record), info: (record: Record<string, unknown>) => records.push(record) } as unknown as NonNullable<HostSessionDeps['logger']>;
    const { host, wire, recorder } = createHostHarness((deps) => createFreseniusHostSession({ ...OPTIONS, modules: [OPTIONS.modules[0]!] }, { ...deps, logger }));
    host.opened();
    for (const reply of ['0C', '1C', '1I;0B']) host.receive(encodeFreseniusFrame(reply));
    // The queued LE with the refused set is dropped, not sent to be refused again.
    expect(bodies(wire.take().toString('latin1'))).toEqual(['0DC', '1DC', '1DE;aemdrp', '1DE;aemdr']);
    host.receive(encodeFreseniusFrame('1I;0B'));
    expect(bodies(wire.take().toString('latin1'))).toEqual(['1DE;mdr']);
    host.receive(encodeFreseniusFrame('1C'));
    host.receive(encodeFreseniusFrame('1C;m1;d0C8'));
    expect(bodies(wire.take().toString('latin1'))).toEqual(['1LE;mdr']);
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'infusing', rateMlPerH: 20 })]);
    expect(host.observations.variables.get('1')).toEqual({ requested: 'mdr', reported: 'md' });
    expect(records.map((record) => record.code)).toEqual(['PW_FRESENIUS_READ_REFUSED', 'PW_FRESENIUS_READ_REFUSED', 'PW_FRESENIUS_MODULE_VARIABLES']);
  });

  it('reports a module read without m as state unknown rather than waiting for a mode that never comes', () => {
    const { host, recorder } = createHostHarness((deps) => createFreseniusHostSession({ ...OPTIONS, modules: [OPTIONS.modules[0]!] }, deps));
    host.opened();
    for (const reply of ['0C', '1C', '1I;0B', '1I;0B', '1I;0B', '1C', '1C;d0C8;r10']) host.receive(encodeFreseniusFrame(reply));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'unknown', rateMlPerH: 20, volumeInfusedMl: 0.016 })]);
    expect(recorder.samples[0]).not.toHaveProperty('pumpMode');
  });

  it('acknowledges an origin-less report with its head alone, as infupy does (E, not 0E)', () => {
    const { host, wire } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusFrame('E;b3'));
    const sent = wire.take().toString('latin1');
    expect(sent.startsWith(ACK)).toBe(true);
    expect(bodies(sent)).toEqual(['E']);
  });

  it('gives up on a command unanswered for a poll interval and sends the next', () => {
    const { host, wire, clock } = createHostHarness(hostFactory);
    host.opened();
    wire.take();
    clock.set(clock.now() + 1000);
    host.poll();
    expect(bodies(wire.take().toString('latin1'))).toEqual(['1DC']);
  });

  it('never queues the same command twice however often it polls', () => {
    const { host, wire } = createHostHarness(hostFactory);
    host.opened();
    for (let i = 0; i < 50; i++) host.poll();
    expect(bodies(wire.take().toString('latin1'))).toEqual(['0DC']);
  });
});

describe('Fresenius rack emulator with the host session', () => {
  function rack() {
    return linkHostToDevice(hostFactory, (send, clock) =>
      createFreseniusDeviceSession(send, {
        clock,
        modules: [
          { module: 1, pumpId: 'SIM-A', channel: '1' },
          { module: 3, pumpId: 'SIM-A', channel: '2' },
        ],
      }),
    );
  }

  it('connects, reads every module and receives spontaneous reports', () => {
    const link = rack();
    link.device.update({ pumpId: 'SIM-A', channel: '1', state: 'infusing', rateMlPerH: 2.5, volumeInfusedMl: 0.5, downstreamPressureMmHg: 12 });
    link.device.update({ pumpId: 'SIM-A', channel: '2', state: 'stopped', rateMlPerH: 0, volumeInfusedMl: 0 });
    link.host.opened();
    link.settle();
    expect(link.recorder.samples.map((s) => [s.channel, s.state, s.rateMlPerH])).toEqual([
      ['1', 'infusing', 2.5],
      ['2', 'stopped', 0],
    ]);
    link.device.update({ pumpId: 'SIM-A', channel: '1', state: 'alarm', rateMlPerH: 2.5, volumeInfusedMl: 0.6, downstreamPressureMmHg: 350, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    link.settle();
    expect(link.recorder.samples.at(-1)).toMatchObject({ channel: '1', state: 'alarm', downstreamPressureMmHg: 350, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] });
    expect(link.recorder.rejections).toEqual([]);
  });

  it('hears only monitoring commands from the host: DC, DE, LE and the echo of its reports', () => {
    const link = rack();
    link.device.update({ pumpId: 'SIM-A', channel: '1', state: 'infusing', rateMlPerH: 1 });
    link.host.opened();
    link.settle();
    for (let i = 0; i < 5; i++) {
      link.clock.set(link.clock.now() + 1000);
      link.device.update({ pumpId: 'SIM-A', channel: '1', state: 'infusing', rateMlPerH: 1, volumeInfusedMl: i / 100 });
      link.host.poll();
      link.settle();
    }
    const commands = new Set(bodies(link.hostSent().toString('latin1')).map((body) => body.replace(/^[0-9]/, '').replace(/;.*$/, '')));
    expect([...commands].sort()).toEqual(['DC', 'DE', 'E', 'LE']);
    expect(link.device.refusedCommands).toEqual([]);
  });

  it('answers the rack keep-alive', () => {
    const link = rack();
    link.device.tick();
    link.settle();
    expect(link.device.keepAliveAnswers).toBe(1);
  });

  it('refuses a command that would change an infusion', () => {
    const link = rack();
    link.device.receive(encodeFreseniusFrame('0DC'));
    link.device.receive(encodeFreseniusFrame('1DC'));
    link.device.receive(encodeFreseniusFrame('1PR;00C8'));
    expect(link.device.refusedCommands).toEqual(['1PR;00C8']);
    expect(bodies(link.deviceWire.take().toString('latin1'))).toEqual(['0C', '1C', '1I;02']);
  });

  it('acceptance: a rack that answers 0D, then refuses any read containing p, still gives telemetry within a few polls', () => {
    const link = linkHostToDevice(
      (deps) => createFreseniusHostSession({ ...OPTIONS, modules: [OPTIONS.modules[0]!] }, deps),
      (send, clock) => createFreseniusDeviceSession(send, { clock, unknownVariables: 'p', modules: [{ module: 1, pumpId: 'SIM-A', channel: '1' }] }),
    );
    link.device.update({ pumpId: 'SIM-A', channel: '1', state: 'infusing', rateMlPerH: 2.5, volumeInfusedMl: 0.5, downstreamPressureMmHg: 12 });
    link.host.opened();
    // The rack takes 0DC but its answer is lost and it restarts: the gateway gives up on 0DC and asks the module.
    link.device.receive(link.wire.take());
    link.deviceWire.take();
    link.device.closeSessions();
    let polls = 0;
    while (link.recorder.samples.length === 0 && polls < 10) {
      link.clock.set(link.clock.now() + 1000);
      link.host.poll();
      link.settle();
      polls++;
    }
    expect(bodies(link.hostSent().toString('latin1'))).toEqual(['1DC', '0DC', '1DC', '1DE;aemdrp', '1DE;aemdr', '1LE;aemdr']);
    expect(polls).toBe(1);
    expect(link.recorder.samples).toEqual([expect.objectContaining({ pumpId: 'NICU-11', state: 'infusing', rateMlPerH: 2.5, volumeInfusedMl: 0.5, pumpAlarms: [] })]);
    expect(link.recorder.samples[0]).not.toHaveProperty('downstreamPressureMmHg');
    expect(link.host.observations.variables.get('1')).toEqual({ requested: 'aemdr', reported: 'aemdr' });
    for (let poll = 0; poll < 3; poll++) {
      link.clock.set(link.clock.now() + 1000);
      link.host.poll();
      link.settle();
    }
    expect(link.recorder.samples).toHaveLength(4);
  });

  it('encodes a report the host reads back', () => {
    const { host, recorder } = createHostHarness(hostFactory);
    host.receive(encodeFreseniusReport(3, 'E', { pumpId: 'x', state: 'bolus', rateMlPerH: 120, volumeInfusedMl: 15.5, downstreamPressureMmHg: 63.4, pumpAlarms: ['LOW_BATTERY'] }));
    expect(recorder.samples).toEqual([expect.objectContaining({ channel: '2', state: 'bolus', rateMlPerH: 120, volumeInfusedMl: 15.5, downstreamPressureMmHg: 63, pumpAlarms: ['LOW_BATTERY'] })]);
  });
});
