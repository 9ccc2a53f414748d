import { describe, expect, it } from 'vitest';
import { FrameBuffer } from '../../src/protocols/frame-buffer.js';

describe('FrameBuffer', () => {
  it('refuses a cap that is not a positive integer with PW_FRAMER_MAX', () => {
    expect(() => new FrameBuffer(0)).toThrow('PW_FRAMER_MAX: maxFrameBytes must be a positive integer (got 0)');
    expect(() => new FrameBuffer(1.5)).toThrow(RangeError);
  });

  it('refuses a cap at or under the bytes a frame needs besides its body', () => {
    expect(() => new FrameBuffer(5, 5)).toThrow('PW_FRAMER_MAX: maxFrameBytes must be an integer above 5 (got 5)');
    expect(new FrameBuffer(6, 5).maxFrameBytes).toBe(6);
  });

  it('holds pushed and appended bytes in order and reports when it is full', () => {
    const frame = new FrameBuffer(4);
    frame.push(0x41);
    frame.append(Buffer.from('xBCx'), 1, 3);
    expect(frame.view().toString('latin1')).toBe('ABC');
    expect(frame.full).toBe(false);
    frame.push(0x44);
    expect(frame.full).toBe(true);
  });

  it('keeps the peak length after the frame is cleared', () => {
    const frame = new FrameBuffer(8);
    frame.append(Buffer.from('abcde'), 0, 5);
    frame.clear();
    frame.push(0x61);
    expect(frame.length).toBe(1);
    expect(frame.peakBufferedBytes).toBe(5);
  });

  it('counts the held frame and the extra bytes as discarded on discard', () => {
    const frame = new FrameBuffer(8);
    frame.append(Buffer.from('abc'), 0, 3);
    frame.discard(1);
    frame.countDiscarded(2);
    expect(frame.length).toBe(0);
    expect(frame.discardedBytes).toBe(3 + 1 + 2);
  });

  it('returns the bytes dropped by clear without counting them as discarded', () => {
    const frame = new FrameBuffer(8);
    frame.append(Buffer.from('abc'), 0, 3);
    expect(frame.clear()).toBe(3);
    expect(frame.discardedBytes).toBe(0);
  });
});
