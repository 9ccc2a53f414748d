import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AlarmEvent } from '../alarms/event.js';
import type { TechnicalReport } from '../alarms/manager.js';
import { COMMITTED, STOPPED, connectionLost, refused, type AlarmTransport, type DeliveryOutcome } from '../alarms/transport.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { parseAck } from './hl7.js';
import { buildKeepAlive, buildReportAlert, type ReportAlertSettings } from './message.js';
import { frame, MllpReader } from './mllp.js';

/** The journal cursor of the PCD-04 transport. */
export const PCD04_TRANSPORT = 'pcd04';
/** MLLP carries one message at a time: the next goes once the last is acknowledged. */
export const PCD04_WINDOW = 1;

/** HL7 table 0008: commit accept (enhanced mode) or application accept (original mode) mean the Alert Manager has it. */
const ACCEPTED = new Set(['CA', 'AA']);

export interface Pcd04Counters {
  sent: number;
  committed: number;
  refused: number;
  ackTimeouts: number;
  connectionsLost: number;
  connects: number;
  keepAlivesSent: number;
  keepAlivesMissed: number;
  /** ACKs that matched no message in flight (late, or for another control id). */
  strayAcks: number;
}

export interface Pcd04ReporterOptions {
  settings: ReportAlertSettings;
  logger: Logger;
  clock: Clock;
  /** The keep-alive's technical alarm goes back into the alarm manager through this. */
  report: (report: TechnicalReport) => void;
  /** Replaces the TCP/TLS connect, for tests. */
  connect?: () => net.Socket;
}

interface InFlight {
  controlId: string;
  settle: (outcome: DeliveryOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * The IHE ACM Alert Reporter side of PCD-04 over MLLP (TF-2 3.4, Appendix I): one connection to
 * the Alert Manager, one message at a time, each committed only by an ACK whose MSA-2 echoes its
 * MSH-10 with MSA-1 `CA` or `AA`; `CE`/`CR`/`AE`/`AR` are refusals the outbox retries. No ACK
 * within `ackTimeoutSeconds` drops the connection (the stream can no longer be trusted to pair ACKs
 * with messages) and the message is sent again, byte-identical, after the reconnect. Reconnects
 * back off from `reconnectMinSeconds` to `reconnectMaxSeconds`; TCP keepalive finds a dead peer
 * on an idle link; the optional Appendix L keep-alive proves the Alert Manager itself answers.
 */
export class Pcd04AlertReporter implements AlarmTransport {
  readonly name = PCD04_TRANSPORT;
  readonly counters: Pcd04Counters = { sent: 0, committed: 0, refused: 0, ackTimeouts: 0, connectionsLost: 0, connects: 0, keepAlivesSent: 0, keepAlivesMissed: 0, strayAcks: 0 };
  readonly #options: Pcd04ReporterOptions;
  readonly #logger: Logger;
  readonly #listeners = new Set<() => void>();
  #socket: net.Socket | undefined;
  #reader: MllpReader | undefined;
  #connected = false;
  #stopped = false;
  #started = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectDelayMs: number;
  #inFlight: InFlight | undefined;
  /** A delivery waiting for the keep-alive (or another delivery) to finish on the one link. */
  #queue: (() => void)[] = [];
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #keepAliveSeq = 0;
  #keepAliveFailing: boolean | undefined;
  #lastTrafficMs = 0;

  constructor(options: Pcd04ReporterOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'pcd04' });
    this.#reconnectDelayMs = options.settings.pcd04.reconnectMinSeconds * 1000;
  }

  get connected(): boolean {
    return this.#connected && !this.#stopped;
  }

  get connectionState(): 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped' {
    if (this.#stopped) return 'stopped';
    if (this.#connected) return 'connected';
    if (!this.#started) return 'idle';
    return this.#socket === undefined ? 'disconnected' : 'connecting';
  }

  onConnected(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#open();
    const { keepAlive } = this.#options.settings.pcd04;
    if (keepAlive.enabled) {
      this.#keepAliveTimer = setInterval(() => this.#keepAlive(), keepAlive.intervalSeconds * 1000);
      this.#keepAliveTimer.unref();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#keepAliveTimer);
    this.#settle(STOPPED);
    for (const waiting of this.#queue.splice(0)) waiting();
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#connected = false;
  }

  async deliver(event: AlarmEvent): Promise<DeliveryOutcome> {
    let message: string;
    try {
      message = buildReportAlert(event, this.#options.settings);
    } catch (error) {
      return refused('invalid', { code: 'PW_PCD04_MESSAGE_INVALID', message: error instanceof Error ? error.message : String(error) });
    }
    return this.#exchange(event.eventId, message);
  }

  /** Sends one message and waits for its ACK; one exchange at a time on the link. */
  async #exchange(controlId: string, message: string): Promise<DeliveryOutcome> {
    while (this.#inFlight !== undefined && !this.#stopped) await new Promise<void>((resolve) => this.#queue.push(resolve));
    if (this.#stopped) return STOPPED;
    const socket = this.#socket;
    if (!this.#connected || socket === undefined) return this.#lost('not connected to the Alert Manager');
    return new Promise<DeliveryOutcome>((resolve) => {
      const timer = setTimeout(() => this.#onAckTimeout(controlId), this.#options.settings.pcd04.ackTimeoutSeconds * 1000);
      this.#inFlight = {
        controlId,
        timer,
        settle: (outcome) => {
          clearTimeout(timer);
          this.#inFlight = undefined;
          this.#queue.shift()?.();
          resolve(outcome);
        },
      };
      this.counters.sent++;
      this.#lastTrafficMs = this.#options.clock.now();
      socket.write(frame(message));
    });
  }

  #lost(message: string): DeliveryOutcome {
    return connectionLost({ code: 'PW_PCD04_CONNECTION_LOST', message });
  }

  #settle(outcome: DeliveryOutcome): void {
    this.#inFlight?.settle(outcome);
  }

  #open(): void {
    if (this.#stopped) return;
    const { pcd04 } = this.#options.settings;
    const socket = this.#options.connect?.() ?? this.#dial();
    this.#socket = socket;
    this.#reader = new MllpReader(pcd04.maxFrameBytes);
    const onConnect = () => {
      if (this.#socket !== socket || this.#stopped) return;
      socket.setKeepAlive(true, pcd04.tcpKeepAliveSeconds * 1000);
      socket.setNoDelay(true);
      this.#connected = true;
      this.counters.connects++;
      this.#reconnectDelayMs = pcd04.reconnectMinSeconds * 1000;
      this.#logger.info({ code: 'PW_PCD04_CONNECTED', host: pcd04.host, port: pcd04.port }, 'connected to the Alert Manager');
      for (const listener of this.#listeners) listener();
    };
    if (socket instanceof tls.TLSSocket) socket.once('secureConnect', onConnect);
    else socket.once('connect', onConnect);
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#logger.warn({ code: 'PW_PCD04_SOCKET_ERROR', error: error.message, errno: error.code }, 'Alert Manager connection error');
    });
    socket.on('close', () => this.#onClose(socket));
  }

  #dial(): net.Socket {
    const { pcd04 } = this.#options.settings;
    if (pcd04.tls === undefined) return net.connect({ host: pcd04.host, port: pcd04.port });
    const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
    return tls.connect({
      host: pcd04.host,
      port: pcd04.port,
      ca: read(pcd04.tls.caFile),
      cert: read(pcd04.tls.certFile),
      key: read(pcd04.tls.keyFile),
      servername: pcd04.tls.serverName ?? pcd04.host,
    });
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    if (this.#socket !== socket || this.#reader === undefined) return;
    for (const received of this.#reader.push(chunk)) {
      const ack = parseAck(received.toString('utf8'));
      const inFlight = this.#inFlight;
      if (ack === undefined || inFlight === undefined || ack.controlId !== inFlight.controlId) {
        this.counters.strayAcks++;
        this.#logger.warn({ code: 'PW_PCD04_STRAY_ACK', controlId: ack?.controlId, expected: inFlight?.controlId }, 'a frame from the Alert Manager that acknowledges nothing in flight');
        continue;
      }
      if (ACCEPTED.has(ack.code)) {
        this.counters.committed++;
        inFlight.settle(COMMITTED);
      } else {
        this.counters.refused++;
        inFlight.settle(refused('rejected', { code: 'PW_PCD04_REFUSED', reason: ack.code, message: ack.text === '' ? `the Alert Manager answered ${ack.code}` : ack.text }));
      }
    }
  }

  #onAckTimeout(controlId: string): void {
    if (this.#inFlight?.controlId !== controlId) return;
    this.counters.ackTimeouts++;
    this.#logger.warn({ code: 'PW_PCD04_ACK_TIMEOUT', controlId, waitedSeconds: this.#options.settings.pcd04.ackTimeoutSeconds }, 'no ACK from the Alert Manager: reconnecting to send again');
    // A late ACK could not be told from the next message's: start over on a fresh connection.
    this.#settle(connectionLost({ code: 'PW_PCD04_ACK_TIMEOUT', message: 'no ACK from the Alert Manager in time' }));
    this.#socket?.destroy();
  }

  #onClose(socket: net.Socket): void {
    if (this.#socket !== socket) return;
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#socket = undefined;
    if (wasConnected) {
      this.counters.connectionsLost++;
      if (this.#reader !== undefined && this.#reader.partialBytes > 0) {
        this.#logger.warn({ code: 'PW_PCD04_PARTIAL_FRAME', bytes: this.#reader.partialBytes }, 'the Alert Manager closed in the middle of a frame');
      }
      this.#logger.warn({ code: 'PW_PCD04_DISCONNECTED' }, 'the Alert Manager connection closed');
    }
    this.#settle(this.#lost('the connection to the Alert Manager closed before it acknowledged'));
    if (this.#stopped) return;
    const delay = this.#reconnectDelayMs;
    this.#reconnectDelayMs = Math.min(delay * 2, this.#options.settings.pcd04.reconnectMaxSeconds * 1000);
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
    this.#reconnectTimer.unref();
  }

  /** TF-2 Appendix L: when the link has been quiet for an interval, a minimal PCD-04 the Alert Manager must acknowledge. */
  #keepAlive(): void {
    const { clock, settings } = this.#options;
    const now = clock.now();
    if (this.#inFlight !== undefined || now - this.#lastTrafficMs < settings.pcd04.keepAlive.intervalSeconds * 1000 * 0.9) return;
    if (!this.connected) {
      this.#keepAliveResult(false, 'not connected to the Alert Manager');
      return;
    }
    this.#keepAliveSeq++;
    this.counters.keepAlivesSent++;
    const controlId = `KA-${settings.gateway.id}-${now}-${this.#keepAliveSeq}`;
    void this.#exchange(controlId, buildKeepAlive(controlId, now, settings)).then((outcome) => {
      if (outcome.kind === 'stopped') return;
      this.#keepAliveResult(outcome.kind === 'committed', outcome.kind === 'committed' ? '' : outcome.detail.message);
    });
  }

  #keepAliveResult(answered: boolean, detail: string): void {
    if (!answered) this.counters.keepAlivesMissed++;
    const failing = !answered;
    if (failing === this.#keepAliveFailing) return;
    this.#keepAliveFailing = failing;
    if (failing) this.#logger.error({ code: 'PW_PCD04_KEEPALIVE_MISSED', detail }, 'the Alert Manager did not acknowledge the keep-alive');
    this.#options.report({
      condition: 'delivery-failure',
      part: 'pcd04-keepalive',
      active: failing,
      message: 'The hospital Alert Manager does not acknowledge this gateway: alarms may not reach nurses\u2019 phones. Check the Alert Manager and the network.',
      evidence: { detail: failing ? detail : null, missed: this.counters.keepAlivesMissed },
    });
  }
}
