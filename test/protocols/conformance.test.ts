import { describe, expect, it } from 'vitest';
import { ALARIS_ALARM_QUERY, ALARIS_STATUS_QUERY, alarisSecurityCode, createAlarisHostSession, encodeAlarisQuery, type AlarisHostOptions } from '../../src/protocols/alaris.js';
import { createFreseniusHostSession, encodeFreseniusFrame, type FreseniusHostOptions } from '../../src/protocols/fresenius.js';
import type { HostSessionDeps } from '../../src/protocols/protocol.js';
import { createHostHarness } from '../helpers/protocol-link.js';
import { crcOf } from '../helpers/public-frames.js';

/**
 * Conformance against the public record, separate from the emulator tests: every frame here is
 * copied from a public repository (source cited per test), not produced by pumpwatch's own
 * emulator, and goes through the real host session. Where a source builds a frame at run time
 * (a rate formatted with "%.2f"), the test fills the format the way that code does and says so.
 */

const MDDT_MITM = 'mickeywstahl/MDDT: interop-lab/demo-devices/src/main/java/org/mdpnp/devices/alaris/AlarisMITM.java';
const OPENICE_SIM = 'mdpnp/mdpnp: interop-lab/demo-apps/src/main/java/org/mdpnp/apps/testapp/alaris/SingleSimAlaris.java';
const MDDT_NEUROWAVE = 'mickeywstahl/MDDT: interop-lab/demo-devices/src/main/java/org/mdpnp/devices/neurowave/AlarisToNeurowave.java';
const OPENICE_ASENA = 'mdpnp/mdpnp: interop-lab/demo-devices/src/main/java/org/mdpnp/devices/alaris/Asena.java';

const ALARIS: AlarisHostOptions = { pumpId: 'GH-1', channel: '1', pumpType: 'syringe', pollIntervalMs: 1000, maxFrameBytes: 512, startup: [] };
const alarisHost = (options: Partial<AlarisHostOptions> = {}) => createHostHarness((deps: HostSessionDeps) => createAlarisHostSession({ ...ALARIS, ...options }, deps));
const wireText = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

describe('Alaris: frames from the public record through the host session', () => {
  it(`the real GH reply on hold after an occlusion (${MDDT_MITM}) with ALARM^AL_OCCLU gives a paused sample with OCCLUSION_DOWNSTREAM`, () => {
    const { host, recorder, wire } = alarisHost();
    host.opened();
    wire.take();
    host.receive(Buffer.from('!INF^8002-51733^A^HLD^0.00^ml/h^^0.969^ml^530.15^mmHg^00:04:09^EVENT^214725|DB9D\r', 'latin1'));
    // Flag A: the host asks which alarm with the exact query of the capture, `!ALARM|50B2`.
    expect(wireText(wire.take())).toBe('!ALARM|50B2\r');
    expect(recorder.samples).toEqual([]);
    // MDDT AlarisMITM.java fakes the occlusion answer as crc("ALARM^AL_OCCLU^OCCLUSION^").
    host.receive(Buffer.from('!ALARM^AL_OCCLU^OCCLUSION^|' + crcOf('ALARM^AL_OCCLU^OCCLUSION^') + '\r', 'latin1'));
    expect(recorder.rejections).toEqual([]);
    expect(recorder.samples).toEqual([
      { pumpId: 'GH-1', channel: '1', ts: expect.any(Number), state: 'paused', pumpType: 'syringe', rateMlPerH: 0, volumeInfusedMl: 0.969, downstreamPressureMmHg: 530.15, pumpAlarms: ['OCCLUSION_DOWNSTREAM'] },
    ]);
  });

  it(`the simulated running pump (${OPENICE_SIM}: "INF^"+serNum+"^-^SET^"+%.2f rate+"^ml/h^^"+%.3f volume+"^ml^17.91^mmHg^24+^EVENT^127904") gives an infusing sample, no alarm, no ALARM query`, () => {
    const { host, recorder, wire } = alarisHost();
    host.opened();
    wire.take();
    const body = 'INF^8002-51740^-^SET^2.50^ml/h^^0.000^ml^17.91^mmHg^24+^EVENT^127904';
    host.receive(Buffer.from(`!${body}|${crcOf(body)}\r`, 'latin1'));
    expect(wire.take().length).toBe(0);
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'infusing', rateMlPerH: 2.5, volumeInfusedMl: 0, downstreamPressureMmHg: 17.91, pumpAlarms: [] })]);
  });

  it(`the translator's reply (${MDDT_NEUROWAVE}: "^-^SET^" rate "^ml/h^^" volume "^ml^-50.00^mmHg^" time "^EVENT^185995") keeps a negative pressure`, () => {
    const { host, recorder } = alarisHost();
    const body = 'INF^8002-51733^-^SET^12.0^ml/h^^3.25^ml^-50.00^mmHg^00:10:00^EVENT^185995';
    host.receive(Buffer.from(`!${body}|${crcOf(body)}\r`, 'latin1'));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'infusing', rateMlPerH: 12, volumeInfusedMl: 3.25, downstreamPressureMmHg: -50, pumpAlarms: [] })]);
  });

  it(`the simulator's no-alarm answer, byte for byte "!ALARM^AL_NOALM^ ^ |C73B" (${OPENICE_SIM}), clears the alarm`, () => {
    const { host, recorder } = alarisHost();
    host.opened();
    const body = 'INF^8002-51740^A^SET^2.50^ml/h^^0.000^ml^17.91^mmHg^24+^EVENT^127904';
    host.receive(Buffer.from(`!${body}|${crcOf(body)}\r`, 'latin1'));
    host.receive(Buffer.from('!ALARM^AL_NOALM^ ^ |C73B\r', 'latin1'));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'infusing', pumpAlarms: [] })]);
  });

  it(`the MITM's timed alarm (${MDDT_MITM}: flag A, mode SET, rate 0.00, then crc("ALARM^AL_VTBIS^^")) passes the AL_ code on as sent`, () => {
    const { host, recorder } = alarisHost();
    host.opened();
    const body = 'INF^8002-51733^A^SET^0.00^ml/h^^0.969^ml^17.91^mmHg^00:04:09^EVENT^214725';
    host.receive(Buffer.from(`!${body}|${crcOf(body)}\r`, 'latin1'));
    host.receive(Buffer.from(`!ALARM^AL_VTBIS^^|${crcOf('ALARM^AL_VTBIS^^')}\r`, 'latin1'));
    expect(recorder.samples).toEqual([expect.objectContaining({ state: 'infusing', rateMlPerH: 0, pumpAlarms: ['AL_VTBIS'] })]);
  });

  it(`identity replies quoted from a real pump (${OPENICE_SIM}, ${MDDT_NEUROWAVE}) are read without a rejection or a sample`, () => {
    const { host, recorder } = alarisHost({ startup: ['INST_SERIALNO', 'COMMS_PROTOCOL', 'COMMS_RESPONSE_MAX'] });
    host.opened();
    for (const frame of [
      '!INST_SERIALNO^8002-51733|ACFF\r',
      '!INST_SERIALNO^8002-51740|050B\r',
      '!COMMS_PROTOCOL^Asena Rev 2.1.5|661A\r',
      '!COMMS_RESPONSE_MAX^4000^ms|DFDF\r',
      '!REMOTE_CTRL^ENABLED^****^PERMIT^0^ms|7BB0\r',
    ]) {
      host.receive(Buffer.from(frame, 'latin1'));
    }
    expect(recorder.rejections).toEqual([]);
    expect(recorder.samples).toEqual([]);
    expect(host.stats.framesAccepted).toBe(5);
  });

  it(`the queries pumpwatch sends are byte for byte the public ones (${OPENICE_ASENA}, ${MDDT_MITM}, ${MDDT_NEUROWAVE})`, () => {
    expect(wireText(ALARIS_STATUS_QUERY)).toBe('!INF|4961\r');
    expect(wireText(ALARIS_ALARM_QUERY)).toBe('!ALARM|50B2\r');
    expect(wireText(encodeAlarisQuery('INST_SERIALNO'))).toBe('!INST_SERIALNO|457D\r');
    expect(wireText(encodeAlarisQuery('COMMS_PROTOCOL'))).toBe('!COMMS_PROTOCOL|E8DA\r');
    expect(wireText(encodeAlarisQuery('COMMS_RESPONSE_MAX'))).toBe('!COMMS_RESPONSE_MAX|7E29\r');
    // Asena.java's commented-out REMOTEENABLE for the pump whose INST_SERIALNO is 8002-51740.
    expect(alarisSecurityCode('8002-51740')).toBe('3CC1');
    expect(wireText(encodeAlarisQuery('REMOTE_CTRL', ['ENABLED', '3CC1']))).toBe('!REMOTE_CTRL^ENABLED^3CC1|B1F1\r');
  });
});

const FRESENIUS: FreseniusHostOptions = { modules: [{ module: 1, pumpId: 'BASE-A', channel: '1' }], pollIntervalMs: 1000, maxFrameBytes: 128 };
const STX = '\u0002';
const ETX = '\u0003';
const frameBodies = (wire: string) =>
  wire
    .split(STX)
    .slice(1)
    .map((rest) => rest.slice(0, rest.indexOf(ETX) - 2));

describe('Fresenius: the public record through the host session', () => {
  it('frames with the checksum of the vector "[STX]PR;1F4047[ETX]" (jaj42/infupy: fresenius.py, early history)', () => {
    expect(wireText(encodeFreseniusFrame('PR;1F40'))).toBe(`${STX}PR;1F4047${ETX}`);
  });

  it("opens the base session before the module, as infupy's logging script does (jaj42/infupy: logperfu.py, history: 0DC, 1DC, 1DE;dg, 1LE;dg)", () => {
    const { host, wire } = createHostHarness((deps: HostSessionDeps) => createFreseniusHostSession(FRESENIUS, deps));
    host.opened();
    host.receive(encodeFreseniusFrame('0C'));
    host.receive(encodeFreseniusFrame('1C'));
    host.receive(encodeFreseniusFrame('1C'));
    const sent = frameBodies(wireText(wire.take()));
    expect(sent.slice(0, 2)).toEqual(['0DC', '1DC']);
    expect(sent[2]).toMatch(/^1DE;[a-z]+$/);
    expect(sent[3]).toMatch(/^1LE;[a-z]+$/);
  });

  it('reads rate in 0.1 mL/h and volume in 0.001 mL, as infupy extractRate/extractVolume do (jaj42/infupy: infupy/backends/fresenius.py)', () => {
    const { host, recorder } = createHostHarness((deps: HostSessionDeps) => createFreseniusHostSession(FRESENIUS, deps));
    host.receive(encodeFreseniusFrame('1C;m1;d0C8;r3E8'));
    expect(recorder.samples).toEqual([expect.objectContaining({ rateMlPerH: 20, volumeInfusedMl: 1 })]);
  });

  it('acknowledges a spontaneous report with a frame of the head it came with: "1E" and, without origin, "E" (jaj42/infupy: fresenius.py sendSpontReply(origin))', () => {
    const { host, wire } = createHostHarness((deps: HostSessionDeps) => createFreseniusHostSession(FRESENIUS, deps));
    host.receive(encodeFreseniusFrame('1E;d0C8'));
    host.receive(encodeFreseniusFrame('E;b1'));
    host.receive(encodeFreseniusFrame('1M;d0C8'));
    expect(frameBodies(wireText(wire.take()))).toEqual(['1E', 'E', '1M']);
  });

  it('names the base-session error 0D as infupy ERRcmd does and reopens the base, then the module (jaj42/infupy: infupy/backends/fresenius.py ERRcmd)', () => {
    const logged: Record<string, unknown>[] = [];
    const logger = { info: (record: Record<string, unknown>) => logged.push(record), warn: () => undefined } as unknown as NonNullable<HostSessionDeps['logger']>;
    const { host, wire } = createHostHarness((deps: HostSessionDeps) => createFreseniusHostSession(FRESENIUS, { ...deps, logger }));
    host.opened();
    for (const reply of ['0C', '1C', '1C', '1I;0D']) host.receive(encodeFreseniusFrame(reply));
    expect(logged.find((record) => record.code === 'PW_FRESENIUS_SESSION_CLOSED')?.detail).toContain('0D communication session with the base not open');
    expect(frameBodies(wireText(wire.take())).slice(-1)).toEqual(['0DC']);
    host.receive(encodeFreseniusFrame('0C'));
    expect(frameBodies(wireText(wire.take()))).toEqual(['1DC']);
  });
});
