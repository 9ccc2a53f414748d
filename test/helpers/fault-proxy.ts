import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'blackhole' | 'refuse';

/**
 * A TCP proxy between a client and the broker that a test can break on command, like toxiproxy
 * (which needs Docker). `blackhole` stops reading on both sides, so nothing is lost but nothing
 * moves and no FIN or RST is sent: a pulled cable or a dead router, which only keepalive notices.
 * `reset` destroys every connection at once; `refuse` closes new connections as they arrive.
 */
export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  readonly mode: FaultMode;
  readonly connectionCount: number;
  /** Connections accepted so far, including closed ones. */
  readonly acceptedCount: number;
  set(mode: FaultMode): void;
  /** Delays every chunk by this much each way (order is kept), like a slow WAN link. */
  setLatency(ms: number): void;
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  let latencyMs = 0;
  let accepted = 0;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((downstream) => {
    accepted++;
    if (mode === 'refuse') {
      downstream.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (latencyMs === 0) to.write(chunk);
      else setTimeout(() => !to.destroyed && to.write(chunk), latencyMs);
    };
    downstream.on('data', forward(upstream));
    upstream.on('data', forward(downstream));
    for (const socket of pair) {
      socket.on('error', close);
      socket.on('close', close);
      if (mode === 'blackhole') socket.pause();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const reset = () => {
    for (const [downstream, upstream] of [...pairs]) {
      downstream.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    get connectionCount() {
      return pairs.size;
    },
    get acceptedCount() {
      return accepted;
    },
    set(next) {
      mode = next;
      for (const pair of pairs) for (const socket of pair) if (next === 'blackhole') socket.pause();
      else socket.resume();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    reset,
    async stop() {
      reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
