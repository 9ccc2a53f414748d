import type { Readable } from 'node:stream';
import { decodeJsonFrame, type DecodeTarget } from '../telemetry/decode.js';
import { LineFramer } from '../protocols/line-framer.js';

export interface JsonlReadOptions {
  maxFrameBytes: number;
  maxSamplesPerFrame: number;
}

/**
 * Reads telemetry JSON lines from a stream to its end (a recorded file, or stdin). Bad lines are
 * rejected one by one; the rest still flow. A last line without a newline is still read.
 */
export async function readJsonlTelemetry(input: Readable, into: DecodeTarget, options: JsonlReadOptions): Promise<void> {
  const framer = new LineFramer(options.maxFrameBytes, {
    frame: (text) => decodeJsonFrame(text, into, { maxSamplesPerFrame: options.maxSamplesPerFrame }),
    reject: (rejection) => into.reject(rejection),
  });
  for await (const chunk of input) framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  framer.push(NEWLINE);
}

const NEWLINE = Buffer.from('\n');
