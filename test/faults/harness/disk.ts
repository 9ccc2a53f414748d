import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Fills the file system until it refuses another byte; returns the filler file. */
export function fillUp(directory: string): string {
  const path = join(directory, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(512, 0x66);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Mounts a tmpfs of `bytes` at `mountPoint`; returns why it could not (no root), or undefined. */
export function mountTmpfs(mountPoint: string, bytes: number): string | undefined {
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', mountPoint], { encoding: 'utf8' });
  return mount.status === 0 ? undefined : `mount -t tmpfs refused (needs root): ${(mount.stderr || String(mount.error)).trim()}`;
}

export function unmountLazily(mountPoint: string): void {
  spawnSync('umount', ['-l', mountPoint]);
}
