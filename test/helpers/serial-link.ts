import type { SerialLinkState, SerialSource } from '../../src/sources/serial.js';

/** Resolves when the source reaches `state` (at once if it is there already); fails after `timeoutMs`. */
export function waitForLinkState(source: SerialSource, state: SerialLinkState, timeoutMs = 5000): Promise<void> {
  if (source.linkState === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${source.name} did not reach '${state}' within ${timeoutMs} ms (it is '${source.linkState}')`));
    }, timeoutMs);
    const unsubscribe = source.onLinkStateChange((reached) => {
      if (reached !== state) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}
