import { performance } from 'node:perf_hooks';
import type { ChannelStatus } from '../view/trace.js';
import { channelKey, wardAlarms, wardEvents, wardRow, wardSnapshotHead, type ChannelAlarmState, type WardSource } from './ward.js';

/** What the feed writes to: an open event stream (a ServerResponse in the daemon). */
export interface FeedStream {
  write(chunk: Buffer): boolean;
  /** Bytes the socket has not taken yet: a page that cannot keep up. */
  readonly writableLength: number;
  end(): void;
}

export interface WardFeedOptions {
  /** How often the rows are scanned and a frame sent (ms). */
  intervalMs: number;
  /** After an alarm frame, the next waits at least this long, so a storm of events costs a few frames a second (ms). */
  alarmFrameGapMs: number;
  /** The scan of the channels yields to the event loop after this long (ms). */
  sliceMs: number;
}

export const DEFAULT_FEED: WardFeedOptions = { intervalMs: 1000, alarmFrameGapMs: 250, sliceMs: 1 };

/** SSE comment lines keep proxies from timing the stream out. */
const KEEPALIVE_EVERY_FRAMES = 15;
/** Rows between two looks at the clock while scanning. */
const ROWS_PER_CLOCK_CHECK = 32;

/** What the pages were last sent of a row: numbers and shared strings, changed in place, so the scan leaves little for the collector. */
interface ShownRow {
  pumpId: string;
  channel: string;
  version: number;
  alarm: ChannelAlarmState | undefined;
  bed: string | null;
}

interface Page {
  stream: FeedStream;
  /** It missed a frame while its socket was full: it gets the whole ward when it has caught up. */
  resync: boolean;
}

const sameAlarm = (a: ChannelAlarmState | undefined, b: ChannelAlarmState | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.link === b.link && a.priority === b.priority && a.condition === b.condition);

/**
 * The ward page's live feed over server-sent events. A page gets the whole ward once when it
 * connects (`ward`), then `delta` frames: the rows whose content changed, the alarm list and
 * event log when an alarm event changed them, and the health. The row's sample time travels as a
 * timestamp, so the page ages a silent channel itself and its row is not sent again.
 *
 * At 1,000 channels the whole ward is ~120 KiB of JSON; built and serialised in one go, on every
 * alarm event, it stood in front of the alarms themselves (probe alarm p99 12 → 25 ms with 5
 * pages). So the daemon's thread is spared:
 * - a row is serialised only when its channel's version, alarm or bed moved since it was sent;
 * - the scan of the channels yields to the event loop every `sliceMs`;
 * - an alarm event sends a small frame (alarms, events, the rows they touch) at once, and a burst
 *   of them at most one per `alarmFrameGapMs`;
 * - a frame is serialised once, to one Buffer, for every page.
 */
export class WardFeed {
  readonly #source: WardSource;
  readonly #options: WardFeedOptions;
  readonly #pages = new Map<FeedStream, Page>();
  readonly #shown = new Map<string, ShownRow>();
  /** Rows for the next frame, serialised, by channelKey. */
  readonly #pending = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  #alarmOf = new Map<string, ChannelAlarmState>();
  #alarmsJson = '[]';
  #eventsJson = '[]';
  #alarmVersion = 0;
  #alarmsBuiltVersion = -1;
  /** The alarm list or event log changed since the last frame. */
  #alarmsUnsent = false;
  #scan: Iterator<ChannelStatus> | undefined;
  #alarmFrameTimer: NodeJS.Timeout | undefined;
  #alarmFrameQueued = false;
  #lastAlarmFrameMs = Number.NEGATIVE_INFINITY;
  #frames = 0;
  #stopped = false;

  constructor(source: WardSource, options: WardFeedOptions = DEFAULT_FEED) {
    this.#source = source;
    this.#options = options;
    this.#timer = setInterval(() => this.#startScan(), options.intervalMs);
    this.#timer.unref();
  }

  get openStreams(): number {
    return this.#pages.size;
  }

  /** A page connects: it gets the whole ward now, then every frame. */
  open(stream: FeedStream, preamble = ''): void {
    this.#refreshAlarms();
    const first = this.#pages.size === 0;
    // Nobody was watching: what was last sent is no baseline; this page's whole ward is the new one.
    if (first) this.#shown.clear();
    stream.write(Buffer.from(`${preamble}${this.#wardFrame()}`));
    if (first) {
      this.#pending.clear();
      this.#alarmsUnsent = false;
    }
    this.#pages.set(stream, { stream, resync: false });
  }

  close(stream: FeedStream): void {
    this.#pages.delete(stream);
  }

  /** An alarm event (raised, updated, acknowledged, ended…): the pages hear of it at once, a burst coalesced. */
  alarmChanged(): void {
    this.#alarmVersion++;
    if (this.#alarmFrameQueued || this.#stopped) return;
    this.#alarmFrameQueued = true;
    const waitMs = this.#lastAlarmFrameMs + this.#options.alarmFrameGapMs - performance.now();
    if (waitMs <= 0) setImmediate(() => this.#alarmFrame());
    else {
      this.#alarmFrameTimer = setTimeout(() => this.#alarmFrame(), waitMs);
      this.#alarmFrameTimer.unref();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#alarmFrameTimer);
    for (const stream of this.#pages.keys()) stream.end();
    this.#pages.clear();
  }

  #alarmFrame(): void {
    this.#alarmFrameQueued = false;
    this.#lastAlarmFrameMs = performance.now();
    if (this.#pages.size === 0 || this.#stopped) return;
    this.#refreshAlarms();
    this.#send(false);
  }

  #startScan(): void {
    // A scan still running on a busy gateway finishes first; its frame goes when it does.
    if (this.#pages.size === 0 || this.#scan !== undefined) return;
    this.#refreshAlarms();
    this.#scan = this.#source.channels()[Symbol.iterator]();
    this.#scanSlice();
  }

  #scanSlice(): void {
    const scan = this.#scan;
    if (scan === undefined || this.#stopped) return;
    const untilMs = performance.now() + this.#options.sliceMs;
    for (let rows = 1; ; rows++) {
      const next = scan.next();
      if (next.done === true) {
        this.#scan = undefined;
        this.#send(true);
        return;
      }
      this.#updateRow(next.value);
      if (rows % ROWS_PER_CLOCK_CHECK === 0 && performance.now() > untilMs) {
        setImmediate(() => this.#scanSlice());
        return;
      }
    }
  }

  #updateRow(status: ChannelStatus): void {
    const key = channelKey(status.pumpId, status.channel);
    const alarm = this.#alarmOf.get(key);
    const bed = this.#source.placement(status.pumpId, status.channel)?.bed ?? null;
    const shown = this.#shown.get(key);
    if (shown === undefined) this.#shown.set(key, { pumpId: status.pumpId, channel: status.channel, version: status.version, alarm, bed });
    else if (shown.version !== status.version || !sameAlarm(shown.alarm, alarm) || shown.bed !== bed) {
      shown.version = status.version;
      shown.alarm = alarm;
      shown.bed = bed;
    } else return;
    this.#pending.set(key, JSON.stringify(wardRow(status, alarm, bed)));
  }

  /** After alarm events: the alarm list, the event log, and the rows whose alarm or link changed. */
  #refreshAlarms(): void {
    if (this.#alarmsBuiltVersion === this.#alarmVersion) return;
    this.#alarmsBuiltVersion = this.#alarmVersion;
    const { alarms, channels } = wardAlarms(this.#source.activeAlarms());
    const before = this.#alarmOf;
    this.#alarmOf = channels;
    for (const key of new Set([...before.keys(), ...channels.keys()])) {
      const shown = this.#shown.get(key);
      if (shown === undefined || sameAlarm(shown.alarm, channels.get(key))) continue;
      const status = this.#source.channel(shown.pumpId, shown.channel);
      if (status !== undefined) this.#updateRow(status);
    }
    this.#alarmsJson = JSON.stringify(alarms);
    this.#eventsJson = JSON.stringify(wardEvents(this.#source.recentEvents()));
    this.#alarmsUnsent = true;
  }

  /**
   * The whole ward, as /api/state has it (a WardSnapshot): a page's first frame, or after it fell
   * behind. Built afresh, and the rows become what the pages were shown.
   */
  #wardFrame(): string {
    const source = this.#source;
    const rows: string[] = [];
    for (const status of source.channels()) {
      this.#updateRow(status);
      const key = channelKey(status.pumpId, status.channel);
      rows.push(this.#pending.get(key) ?? JSON.stringify(wardRow(status, this.#alarmOf.get(key), this.#shown.get(key)!.bed)));
    }
    // The head is the same object /api/state sends; the rows are spliced in already serialised.
    const head = JSON.stringify(wardSnapshotHead(source)).slice(0, -1);
    const body = `${head},"channels":[${rows.join(',')}],"alarms":${this.#alarmsJson},"events":${this.#eventsJson},"health":${JSON.stringify(source.health())}}`;
    return `event: ward\ndata: ${body}\n\n`;
  }

  #send(periodic: boolean): void {
    const alarms = this.#alarmsUnsent ? `,"alarms":${this.#alarmsJson},"events":${this.#eventsJson}` : '';
    const delta = `{"v":1,"nowMs":${this.#source.nowMs()},"rows":[${[...this.#pending.values()].join(',')}]${alarms},"health":${JSON.stringify(this.#source.health())}}`;
    this.#pending.clear();
    this.#alarmsUnsent = false;
    const keepalive = periodic && ++this.#frames % KEEPALIVE_EVERY_FRAMES === 0 ? ': keepalive\n' : '';
    const frame = Buffer.from(`${keepalive}event: delta\ndata: ${delta}\n\n`);
    let whole: Buffer | undefined;
    for (const page of this.#pages.values()) {
      if (page.stream.writableLength > 0) {
        // A page that cannot keep up skips frames, and gets the whole ward once it has caught up, not a growing backlog.
        page.resync = true;
        continue;
      }
      if (page.resync) {
        whole ??= Buffer.from(this.#wardFrame());
        page.stream.write(whole);
        page.resync = false;
      } else page.stream.write(frame);
    }
  }
}
