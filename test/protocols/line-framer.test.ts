import { describe, expect, it } from 'vitest';
import { LineFramer } from '../../src/protocols/line-framer.js';
import type { Rejection } from '../../src/telemetry/decode.js';

function collect(maxFrameBytes: number) {
  const frames: string[] = [];
  const rejections: Rejection[] = [];
  const framer = new LineFramer(maxFrameBytes, { frame: (text) => frames.push(text), reject: (r) => rejections.push(r) });
  const push = (text: string | Uint8Array) => framer.push(typeof text === 'string' ? Buffer.from(text) : text);
  return { framer, frames, rejections, push };
}

/** A deterministic byte soup (no Math.random, so a failure reproduces). */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

describe('LineFramer', () => {
  it('emits each newline-terminated line as one frame without the newline', () => {
    const { frames, push } = collect(64);
    push('{"a":1}\n{"b":2}\n');
    expect(frames).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('joins a frame split across chunks, down to one byte per chunk', () => {
    const { frames, push } = collect(64);
    for (const byte of Buffer.from('{"pumpId":"P1"}\n')) push(Uint8Array.of(byte));
    push('{"x"');
    push(':2}\n{"y"');
    push(':3}\n');
    expect(frames).toEqual(['{"pumpId":"P1"}', '{"x":2}', '{"y":3}']);
  });

  it('drops the carriage return of a CRLF line ending, also when it arrives in a separate chunk', () => {
    const { frames, push } = collect(64);
    push('one\r\ntwo\r');
    push('\n');
    expect(frames).toEqual(['one', 'two']);
  });

  it('skips empty lines', () => {
    const { frames, rejections, push } = collect(64);
    push('\n\r\n\nframe\n\n');
    expect(frames).toEqual(['frame']);
    expect(rejections).toEqual([]);
  });

  it('keeps a partial frame buffered until its newline arrives', () => {
    const { framer, frames, push } = collect(64);
    push('partial');
    expect(frames).toEqual([]);
    expect(framer.bufferedBytes).toBe(7);
    push('\n');
    expect(frames).toEqual(['partial']);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('accepts a frame of exactly the maximum size', () => {
    const { frames, rejections, push } = collect(8);
    push('12345678\n');
    push('1234');
    push('5678\n');
    expect(frames).toEqual(['12345678', '12345678']);
    expect(rejections).toEqual([]);
  });

  it('reports an overlong frame once as frame-too-long, then resyncs at the next newline', () => {
    const { framer, frames, rejections, push } = collect(8);
    push('123456');
    push('789');
    push('abcdefghijklmnop');
    push('qrstuvw\nok\n');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.reason).toBe('frame-too-long');
    expect(frames).toEqual(['ok']);
    expect(framer.discardedBytes).toBe(9 + 16 + 7);
  });

  it('reports an overlong frame inside a single chunk once and keeps the frames around it', () => {
    const { frames, rejections, push } = collect(8);
    push('first\n0123456789abcdef\nlast\n');
    expect(frames).toEqual(['first', 'last']);
    expect(rejections.map((r) => r.reason)).toEqual(['frame-too-long']);
  });

  it('never buffers more than the cap while 1 MB arrives without a newline', () => {
    const { framer, frames, rejections, push } = collect(4096);
    const chunk = Buffer.alloc(1024, 'x');
    for (let i = 0; i < 1024; i++) push(chunk);
    expect(framer.bufferedBytes).toBeLessThanOrEqual(4096);
    expect(framer.peakBufferedBytes).toBeLessThanOrEqual(4096);
    expect(framer.discardedBytes).toBe(1024 * 1024);
    push('\n{"after":true}\n');
    expect(rejections.map((r) => r.reason)).toEqual(['frame-too-long']);
    expect(frames).toEqual(['{"after":true}']);
  });

  it('refuses a frame that is not valid UTF-8 as invalid-json and keeps going', () => {
    const { frames, rejections, push } = collect(64);
    push(Buffer.concat([Buffer.from('{"drug":{"name":"Ca'), Buffer.of(0xff, 0xfe), Buffer.from('"}}\nnext\n')]));
    expect(rejections.map((r) => r.reason)).toEqual(['invalid-json']);
    expect(frames).toEqual(['next']);
  });

  it('decodes multi-byte UTF-8 characters split across chunks', () => {
    const { frames, push } = collect(64);
    const bytes = Buffer.from('µg/kg\n');
    push(bytes.subarray(0, 1));
    push(bytes.subarray(1));
    expect(frames).toEqual(['µg/kg']);
  });

  it('survives arbitrary binary garbage without throwing and frames the next good line', () => {
    const { framer, frames, push } = collect(256);
    for (let seed = 1; seed <= 50; seed++) {
      const garbage = pseudoRandomBytes(4096, seed);
      expect(() => framer.push(garbage)).not.toThrow();
      expect(framer.bufferedBytes).toBeLessThanOrEqual(256);
    }
    frames.length = 0;
    push('\n{"good":1}\n');
    expect(frames).toEqual(['{"good":1}']);
  });

  it('forgets a partial frame on reset so it is not glued to the next bytes', () => {
    const { framer, frames, push } = collect(64);
    push('{"half":');
    expect(framer.reset()).toBe(8);
    push('{"whole":1}\n');
    expect(frames).toEqual(['{"whole":1}']);
  });

  it('ends the discard on reset, so a new link starts with a fresh frame', () => {
    const { framer, frames, push } = collect(4);
    push('toolong');
    framer.reset();
    push('ok\n');
    expect(frames).toEqual(['ok']);
  });
});
