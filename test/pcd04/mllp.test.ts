import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, MllpReader } from '../../src/pcd04/mllp.js';

const text = (frames: Buffer[]) => frames.map((f) => f.toString('utf8'));

describe('MLLP framing', () => {
  it('wraps a message in VT … FS CR, as python3-hl7 and the HL7 guide define it', () => {
    expect([...frame('MSH|^~\\&|A')]).toEqual([0x0b, ...Buffer.from('MSH|^~\\&|A'), 0x1c, 0x0d]);
  });

  it('reads frames split across chunks at every byte, including between FS and CR', () => {
    const stream = Buffer.concat([frame('MSH|one\rMSA|CA|1'), frame('MSH|two äöü\rMSA|CA|2')]);
    for (let cut = 1; cut < stream.byteLength; cut++) {
      const reader = new MllpReader(1024);
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(text(frames), `cut at ${cut}`).toEqual(['MSH|one\rMSA|CA|1', 'MSH|two äöü\rMSA|CA|2']);
    }
  });

  it('drops bytes outside frames and counts them', () => {
    const reader = new MllpReader(1024);
    const frames = reader.push(Buffer.concat([Buffer.from('junk'), frame('MSH|a'), Buffer.from('\r\n')]));
    expect(text(frames)).toEqual(['MSH|a']);
    expect(reader.stats).toEqual({ frames: 1, strayBytes: 6, oversizedFrames: 0 });
  });

  it('drops a frame over the cap without holding more than the cap, and reads the next one', () => {
    const reader = new MllpReader(16);
    const frames = reader.push(Buffer.concat([frame('MSH|'.padEnd(100, 'x')), frame('MSH|ok')]));
    expect(text(frames)).toEqual(['MSH|ok']);
    expect(reader.stats.oversizedFrames).toBe(1);
  });

  it('abandons a half-written frame when a new one starts, and keeps a half frame waiting otherwise', () => {
    const reader = new MllpReader(1024);
    const half = frame('MSH|half').subarray(0, 6);
    expect(reader.push(half)).toEqual([]);
    expect(reader.partialBytes).toBe(5);
    expect(text(reader.push(frame('MSH|whole')))).toEqual(['MSH|whole']);
    expect(reader.stats.strayBytes).toBe(6);
  });

  it('keeps an FS not followed by CR as data', () => {
    const reader = new MllpReader(1024);
    expect(text(reader.push(Buffer.from([0x0b, 0x41, 0x1c, 0x42, 0x1c, 0x0d])))).toEqual(['A\u001cB']);
  });

  it('returns every message of any chunking unchanged (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }).map((s) => s.replaceAll(String.fromCharCode(0x0b), '').replaceAll(String.fromCharCode(0x1c), '')), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(60), { maxLength: 8 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map(frame));
        const points = [...new Set(cuts.map((cut) => cut % (stream.byteLength + 1)))].sort((a, b) => a - b);
        const reader = new MllpReader(4096);
        const out: Buffer[] = [];
        let last = 0;
        for (const point of [...points, stream.byteLength]) {
          out.push(...reader.push(stream.subarray(last, point)));
          last = point;
        }
        expect(text(out)).toEqual(messages);
      }),
    );
  });
});
