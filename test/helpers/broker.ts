import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface TestBroker {
  url: string;
  /** 5 for Mosquitto, 4 (MQTT 3.1.1) for aedes, which does not speak MQTT 5. */
  protocolVersion: 4 | 5;
  kind: 'external' | 'aedes';
  stop(): Promise<void>;
}

/**
 * The broker integration tests run against: the one in `MQTT_URL` (CI points it at Mosquitto),
 * otherwise an in-process aedes on an ephemeral loopback port.
 */
export async function startTestBroker(): Promise<TestBroker> {
  const external = process.env.MQTT_URL;
  if (external !== undefined && external !== '') {
    return { url: external, protocolVersion: 5, kind: 'external', stop: () => Promise.resolve() };
  }
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    protocolVersion: 4,
    kind: 'aedes',
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A topic prefix no other test (or other engineer's run on a shared Mosquitto) uses. */
export function uniqueTopicPrefix(label: string): string {
  return `pwtest/${label}-${randomBytes(4).toString('hex')}`;
}
