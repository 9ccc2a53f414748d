import { describe, expect, it } from 'vitest';
import { ConfigSchema, SerialPortSchema } from '../../src/config/schema.js';
import { linkDeadlineMs } from '../../src/sources/serial-sessions.js';
import { createRecordingPipeline } from '../helpers/pipeline.js';

const PATH = '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5XYZ-if00-port0';

function problems(port: Record<string, unknown>): string[] {
  const result = ConfigSchema.safeParse({ sources: { serial: [{ path: PATH, ...port }] } });
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('serial port configuration', () => {
  it('reads a port without a protocol as JSON lines at 115200 8N1', () => {
    expect(SerialPortSchema.parse({ path: PATH })).toMatchObject({ protocol: 'json-lines', baudRate: 115_200, dataBits: 8, parity: 'none', stopBits: 1, maxFrameBytes: 4096 });
  });

  it('gives an Alaris port 38400 8N1, a 1 s poll and a 5 s link deadline', () => {
    expect(SerialPortSchema.parse({ path: PATH, protocol: 'alaris', pumpId: 'NICU-1' })).toMatchObject({
      baudRate: 38_400,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      channel: '1',
      pumpType: 'syringe',
      pollIntervalSeconds: 1,
      linkDeadlineSeconds: 5,
    });
  });

  it('gives a Fresenius port 19200 7E1 and fills each module channel', () => {
    const port = SerialPortSchema.parse({ path: PATH, protocol: 'fresenius', modules: [{ module: 2, pumpId: 'NICU-2' }] });
    expect(port).toMatchObject({ baudRate: 19_200, dataBits: 7, parity: 'even', stopBits: 1, modules: [{ module: 2, pumpId: 'NICU-2', channel: '1' }] });
  });

  it("lets a port override its protocol's line settings", () => {
    expect(SerialPortSchema.parse({ path: PATH, protocol: 'alaris', pumpId: 'NICU-1', baudRate: 9600 })).toMatchObject({ baudRate: 9600 });
  });

  it('requires the pump id on an Alaris port, whose frames carry none', () => {
    expect(problems({ protocol: 'alaris' })).toEqual(['sources.serial.0.pumpId: Invalid input: expected string, received undefined']);
  });

  it('refuses an unknown protocol', () => {
    expect(problems({ protocol: 'bbraun' })).toEqual(['sources.serial.0.protocol: must be json-lines (the default), alaris or fresenius']);
  });

  it('refuses options of another protocol', () => {
    expect(problems({ protocol: 'alaris', pumpId: 'A', modules: [] })[0]).toMatch(/Unrecognized key: "modules"/);
  });

  it('refuses a link deadline shorter than two poll intervals', () => {
    expect(problems({ protocol: 'alaris', pumpId: 'A', pollIntervalSeconds: 3, linkDeadlineSeconds: 5 })).toEqual([
      'sources.serial.0.linkDeadlineSeconds: must be at least twice pollIntervalSeconds, or one late reply raises telemetry-lost',
    ]);
  });

  it('refuses a Fresenius module number used twice', () => {
    expect(problems({ protocol: 'fresenius', modules: [{ module: 1, pumpId: 'A' }, { module: 1, pumpId: 'B' }] })).toEqual(['sources.serial.0.modules: each module number may appear once']);
  });

  it('with the default deadline, raises telemetry-lost within 10 s for the pump of a port that never answers', () => {
    const port = SerialPortSchema.parse({ path: PATH, protocol: 'alaris', pumpId: 'NICU-1' });
    const { pipeline, clock, events } = createRecordingPipeline();
    const startMs = 1_700_000_000_000;
    clock.set(startMs);
    pipeline.watchChannel('NICU-1', '1', linkDeadlineMs(port));
    for (let second = 1; second <= 10 && events.length === 0; second++) {
      clock.set(startMs + second * 1000);
      pipeline.tick();
    }
    expect(events).toEqual([expect.objectContaining({ event: 'raised', condition: 'telemetry-lost', pumpId: 'NICU-1' })]);
    expect(Date.parse(events[0]!.at) - startMs).toBeLessThanOrEqual(10_000);
  });
});
