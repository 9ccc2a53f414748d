import { connect as tcpConnect } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alertManagerCommand } from '../../src/cli/alert-manager.js';
import { frame, MllpReader } from '../../src/pcd04/mllp.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const stop = new AbortController();
  return { io: { stdin: new PassThrough(), stdout, stderr, env: {}, stopSignal: stop.signal }, stop, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('pumpwatch alert-manager', () => {
  it('refuses a bad mode, refusal code or port with a usage error that says which', async () => {
    const t = io();
    expect(await alertManagerCommand(['--port', '70000', '--mode', 'sulk', '--refuse-code', 'XX'], t.io)).toBe(2);
    expect(t.stderr()).toContain('--port must be 0..65535, got 70000');
    expect(t.stderr()).toContain('--mode must be one of ack, refuse, hang, drop, half, got sulk');
    expect(t.stderr()).toContain('--refuse-code must be CE, CR, AE or AR, got XX');
  });

  it('acknowledges a PCD-04 with CA and prints what it received', async () => {
    const t = io();
    const running = alertManagerCommand(['--port', '0'], t.io);
    await expect.poll(() => t.stderr()).toMatch(/listening on 127\.0\.0\.1:\d+/);
    const port = Number(/:(\d+) /.exec(t.stderr())![1]);
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const reader = new MllpReader(65_536);
    const acks: string[] = [];
    socket.on('data', (chunk: Buffer) => acks.push(...reader.push(chunk).map((f) => f.toString())));
    socket.write(frame('MSH|^~\\&|PW||AM||20261203091502+0100||ORU^R40^ORU_R40|ctl-1|P|2.6\rOBR|1||A1|196616^MDC_EVT_ALARM^MDC\rOBX|1|CWE|196616^MDC_EVT_ALARM^MDC|1.0.0.0.1|x||||||F\rOBX|2|x\rOBX|3|ST|68481|1.0.0.0.3|start||||||F'));
    await expect.poll(() => acks).toHaveLength(1);
    expect(acks[0]).toMatch(/\rMSA\|CA\|ctl-1$/);
    await expect.poll(() => t.stdout()).toContain('"controlId":"ctl-1"');
    expect(JSON.parse(t.stdout().trim())).toMatchObject({ controlId: 'ctl-1', copies: 1, answered: 'CA', summary: { phase: 'start' } });
    socket.destroy();
    t.stop.abort();
    expect(await running).toBe(0);
  });
});
