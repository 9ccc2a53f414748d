import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SerialPortSchema } from '../../src/config/schema.js';
import { loadSystemSerialBinding, SerialSource } from '../../src/sources/serial.js';
import { createRecordingPipeline } from '../helpers/pipeline.js';
import { findSocat, startPtyPair, type PtyPair } from '../helpers/pty.js';
import { waitForLinkState } from '../helpers/serial-link.js';
import { createTelemetryRecorder, sampleLine } from '../helpers/telemetry-recorder.js';

const socat = findSocat();
const MAX_FRAME_BYTES = 4096;
const ONE_MEGABYTE = 1024 * 1024;

/** Bytes 0x00–0xFF except the newline, so the whole megabyte is one endless frame. */
function garbageWithoutNewline(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const byte = (i * 131 + 7) & 0xff;
    bytes[i] = byte === 0x0a ? 0x0b : byte;
  }
  return bytes;
}

describe.skipIf(socat === undefined)(
  `SerialSource on a real pty pair with the native binding${socat === undefined ? ' (skipped: socat is not installed; CI installs it)' : ''}`,
  () => {
    let dir: string;
    let pair: PtyPair | undefined;
    let source: SerialSource | undefined;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pumpwatch-pty-'));
    });

    afterEach(async () => {
      await source?.stop();
      await pair?.stop();
      source = undefined;
      pair = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    async function openSource(path: string): Promise<SerialSource> {
      const config = SerialPortSchema.parse({ path, maxFrameBytes: MAX_FRAME_BYTES, reopenInitialSeconds: 0.05, reopenMaxSeconds: 0.2 });
      return new SerialSource(config, { binding: await loadSystemSerialBinding(), logger: pino({ level: 'silent' }) });
    }

    it('delivers the lines a pump writes as samples', async () => {
      pair = await startPtyPair(socat!, dir);
      source = await openSource(pair.gatewayPath);
      const recorder = createTelemetryRecorder();
      await source.start(recorder.target);
      expect(source.linkState).toBe('open');

      await pair.writeFromPump(sampleLine({ seq: 1 }) + sampleLine({ seq: 2 }) + sampleLine({ seq: 3 }));
      await vi.waitFor(() => expect(recorder.samples.map((sample) => sample.seq)).toEqual([1, 2, 3]));
      expect(recorder.rejections).toEqual([]);
    });

    it('after 1 MB of garbage without a newline, processes the valid lines that follow, counts frame-too-long once and stays within the frame cap', async () => {
      pair = await startPtyPair(socat!, dir);
      source = await openSource(pair.gatewayPath);
      const run = createRecordingPipeline();
      const { pipeline } = run;
      const name = source.name;
      // The gateway clock stands at each sample's time, as replay runs it: the samples are dated 2023.
      await source.start({ sample: (sample) => run.feed(sample), reject: (rejection) => pipeline.reject(name, rejection) });

      await pair.writeFromPump(garbageWithoutNewline(ONE_MEGABYTE));
      await pair.writeFromPump(`\n${sampleLine({ seq: 1 })}${sampleLine({ seq: 2 })}${sampleLine({ seq: 3 })}`);
      await vi.waitFor(() => expect(pipeline.acceptedCount).toBe(3), { timeout: 10_000 });

      expect(pipeline.rejects.totals()).toEqual({ 'frame-too-long': 1 });
      expect(source.framerStats.discardedBytes).toBe(ONE_MEGABYTE);
      expect(source.framerStats.peakBufferedBytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(source.framerStats.bufferedBytes).toBe(0);
    });

    it('reopens by itself when the device vanishes and comes back at the same path, and data flows again', async () => {
      pair = await startPtyPair(socat!, dir);
      source = await openSource(pair.gatewayPath);
      const recorder = createTelemetryRecorder();
      await source.start(recorder.target);
      await pair.writeFromPump(sampleLine({ seq: 1 }));
      await vi.waitFor(() => expect(recorder.samples).toHaveLength(1));

      await pair.stop('SIGKILL');
      await waitForLinkState(source, 'waiting-to-reopen');
      pair = await startPtyPair(socat!, dir);
      await waitForLinkState(source, 'open');

      await pair.writeFromPump(sampleLine({ seq: 2 }));
      await vi.waitFor(() => expect(recorder.samples.map((sample) => sample.seq)).toEqual([1, 2]));
    });
  },
);
