import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';
import type { BindingInterface, OpenOptions } from '@serialport/bindings-cpp';

interface OpenLink {
  port: MockPortBinding;
  vanish(error: Error): void;
  hangUp(): void;
}

/**
 * `MockBinding` plus the faults a real port shows: a device that is not plugged in (open fails),
 * one that vanishes while open (the pending read fails with EIO, as bindings-cpp reports an
 * unplug) and one that hangs up (a read returns end of file). MockBinding keeps its ports in
 * module state, so create one MockSerial per test.
 */
export function createMockSerial() {
  MockBinding.reset();
  const plugged = new Set<string>();
  const created = new Set<string>();
  const links = new Map<string, OpenLink>();
  const opens = new Map<string, number>();

  const binding: BindingInterface = {
    list: () => MockBinding.list(),
    async open(options: OpenOptions) {
      opens.set(options.path, (opens.get(options.path) ?? 0) + 1);
      if (!plugged.has(options.path)) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${options.path}'`), { code: 'ENOENT' });
      }
      const port = await MockBinding.open(options);
      let fail: (error: Error) => void = () => undefined;
      let end: () => void = () => undefined;
      const fault = new Promise<{ buffer: Buffer; bytesRead: number }>((resolve, reject) => {
        fail = reject;
        end = () => resolve({ buffer: Buffer.alloc(0), bytesRead: 0 });
      });
      fault.catch(() => undefined);
      const read = port.read.bind(port);
      port.read = (buffer, offset, length) => Promise.race([read(buffer, offset, length), fault]);
      links.set(options.path, { port, vanish: fail, hangUp: end });
      return port;
    },
  };

  function link(path: string): OpenLink {
    const open = links.get(path);
    if (open === undefined || !open.port.isOpen) throw new Error(`mock serial: ${path} is not open`);
    return open;
  }

  return {
    binding,
    plugIn(path: string, options: { record?: boolean } = {}) {
      if (!created.has(path)) {
        MockBinding.createPort(path, { echo: false, record: options.record ?? false });
        created.add(path);
      }
      plugged.add(path);
    },
    /** The device disappears: later opens fail and the open port's read fails like an unplug. */
    unplug(path: string) {
      plugged.delete(path);
      links.get(path)?.vanish(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    },
    hangUp(path: string) {
      link(path).hangUp();
    },
    send(path: string, data: string | Buffer) {
      link(path).port.emitData(data);
    },
    isOpen(path: string): boolean {
      return links.get(path)?.port.isOpen ?? false;
    },
    /** Every byte pumpwatch wrote to the port (ports plugged in with `record: true`). */
    written(path: string): Buffer {
      return links.get(path)?.port.recording ?? Buffer.alloc(0);
    },
    openAttempts(path: string): number {
      return opens.get(path) ?? 0;
    },
  };
}
