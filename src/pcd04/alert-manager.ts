import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { escapeText, formatDtm, parseAck, SEGMENT_SEPARATOR } from './hl7.js';
import { frame, MllpReader } from './mllp.js';

/**
 * How the test Alert Manager answers. `ack`: `MSA|CA`. `refuse`: the refusal code. `hang`: reads
 * and never answers. `drop`: closes the connection on receipt. `half`: writes half an ACK frame,
 * then closes.
 */
export type AlertManagerMode = 'ack' | 'refuse' | 'hang' | 'drop' | 'half';
export const ALERT_MANAGER_MODES: readonly AlertManagerMode[] = ['ack', 'refuse', 'hang', 'drop', 'half'];

export interface ReceivedReport {
  controlId: string;
  /** How often this control id arrived, this one included. */
  copies: number;
  /** False when a copy of this control id differed from the first in anything but MSH-7 (it must not). */
  sameContent: boolean;
  /** CA, the refusal code, or hang / drop / half. */
  answered: string;
  message: string;
  /** A few fields for the console: OBR-3, phase (facet 3), condition text (facet 1 OBX-5). */
  summary: { alert: string; phase: string; state: string; priority: string; event: string };
}

export interface TestAlertManagerOptions {
  port: number;
  host?: string;
  mode?: AlertManagerMode;
  /** MSA-1 for `refuse`: CE, CR, AE or AR. */
  refuseCode?: string;
  /** When set, each message is refused with this probability (0..1) in `ack` mode, from a seeded generator. */
  refuseRate?: number;
  seed?: number;
  onReport?: (report: ReceivedReport) => void;
}

function fieldsOf(message: string, id: string): string[] | undefined {
  return message
    .split(SEGMENT_SEPARATOR)
    .find((line) => line.startsWith(`${id}|`))
    ?.split('|');
}

function facet(message: string, index: number): string {
  const obx = message.split(SEGMENT_SEPARATOR).find((line) => line.startsWith(`OBX|${index}|`));
  return obx?.split('|')[5] ?? '';
}

/** Everything but MSH-7, which a re-send may renew (TF-2 Rev 10 B.8.5). */
function contentDigest(message: string): string {
  const msh = fieldsOf(message, 'MSH') ?? [];
  const rest = message.split(SEGMENT_SEPARATOR).slice(1).join(SEGMENT_SEPARATOR);
  return createHash('sha256').update([...msh.slice(0, 6), ...msh.slice(7)].join('|')).update(rest).digest('hex');
}

/** A small seeded generator (mulberry32), so a refusal pattern can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A bench Alert Manager: an MLLP listener that acknowledges PCD-04 messages (`ACK^R40^ACK`,
 * `MSA|CA|<MSH-10>`), or refuses, hangs, drops or half-answers them when told to, and keeps what
 * it received by control id (copies, and whether every copy had the same content).
 */
export class TestAlertManager {
  readonly received = new Map<string, ReceivedReport>();
  readonly #options: TestAlertManagerOptions;
  readonly #digests = new Map<string, string>();
  readonly #sockets = new Set<net.Socket>();
  readonly #random: () => number;
  #server: net.Server | undefined;
  mode: AlertManagerMode;
  refuseCode: string;
  refuseRate: number;

  constructor(options: TestAlertManagerOptions) {
    this.#options = options;
    this.mode = options.mode ?? 'ack';
    this.refuseCode = options.refuseCode ?? 'CE';
    this.refuseRate = options.refuseRate ?? 0;
    this.#random = random(options.seed ?? 1);
  }

  get port(): number {
    const address = this.#server?.address();
    return typeof address === 'object' && address !== null ? address.port : this.#options.port;
  }

  /** Control ids committed with CA, in arrival order of their first commit. */
  committed(): string[] {
    return [...this.received.values()].filter((report) => report.answered === 'CA').map((report) => report.controlId);
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.#serve(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host ?? '127.0.0.1', () => resolve());
    });
  }

  /** Closes the listener and every connection (a kill, as the reporter sees it). */
  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #serve(socket: net.Socket): void {
    this.#sockets.add(socket);
    const reader = new MllpReader(1_048_576);
    socket.on('data', (chunk: Buffer) => {
      for (const received of reader.push(chunk)) this.#answer(socket, received.toString('utf8'));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #answer(socket: net.Socket, message: string): void {
    // Some HL7 clients acknowledge our ACKs; an ACK is never answered.
    if (parseAck(message) !== undefined) return;
    const msh = fieldsOf(message, 'MSH') ?? [];
    const controlId = msh[9] ?? '';
    let mode = this.mode;
    if (mode === 'ack' && this.refuseRate > 0 && this.#random() < this.refuseRate) mode = 'refuse';
    const answered = mode === 'ack' ? 'CA' : mode === 'refuse' ? this.refuseCode : mode;
    const digest = contentDigest(message);
    const first = this.#digests.get(controlId);
    if (first === undefined) this.#digests.set(controlId, digest);
    const previous = this.received.get(controlId);
    const report: ReceivedReport = {
      controlId,
      copies: (previous?.copies ?? 0) + 1,
      sameContent: (previous?.sameContent ?? true) && (first === undefined || first === digest),
      // A control id once committed stays committed, whatever a later duplicate got.
      answered: previous?.answered === 'CA' ? 'CA' : answered,
      message,
      summary: {
        alert: fieldsOf(message, 'OBR')?.[3] ?? '',
        event: facet(message, 1),
        phase: facet(message, 3),
        state: facet(message, 4),
        priority: facet(message, 6),
      },
    };
    this.received.set(controlId, report);
    this.#options.onReport?.(report);
    switch (mode) {
      case 'hang':
        return;
      case 'drop':
        socket.destroy();
        return;
      case 'half': {
        const ack = frame(this.#ack(msh, 'CA'));
        socket.end(ack.subarray(0, Math.floor(ack.byteLength / 2)));
        return;
      }
      default:
        socket.write(frame(this.#ack(msh, answered)));
    }
  }

  #ack(msh: readonly string[], code: string): string {
    const now = Date.now();
    return [
      ['MSH', '^~\\&', msh[4] ?? '', msh[5] ?? '', msh[2] ?? '', msh[3] ?? '', formatDtm(now, '+0000'), '', 'ACK^R40^ACK', `AM${now}`, 'P', '2.6'].join('|'),
      ['MSA', code, msh[9] ?? '', code === 'CA' ? '' : escapeText(`test Alert Manager answers ${code}`)].join('|').replace(/\|$/, ''),
    ].join(SEGMENT_SEPARATOR);
  }
}
