import type { FaultProxy } from '../../helpers/fault-proxy.js';
import type { Rng } from './random.js';
import { sleep } from './scenario.js';

export const LINK_FAULTS = ['reset', 'flap', 'refuse', 'blackhole'] as const;
export type LinkFault = (typeof LINK_FAULTS)[number];

/** Breaks the link the way `fault` names and mends it; resolves once it passes traffic again. */
export async function injectLinkFault(fault: LinkFault, link: FaultProxy, rng: Rng, keepaliveSeconds: number): Promise<void> {
  switch (fault) {
    case 'reset':
      link.reset();
      return;
    case 'flap': {
      // Up a moment, down again: reconnects that die during their own re-drive.
      const flaps = Math.round(rng.between(3, 6));
      for (let i = 0; i < flaps; i++) {
        link.reset();
        await sleep(rng.between(100, 600));
      }
      return;
    }
    case 'refuse':
      link.set('refuse');
      link.reset();
      await sleep(rng.between(1_000, 2_000));
      link.set('pass');
      return;
    case 'blackhole':
      // Shorter and longer than keepalive: some end unnoticed, some only keepalive can detect.
      link.set('blackhole');
      await sleep(rng.between(2_000, 1.5 * keepaliveSeconds * 1000));
      link.set('pass');
      return;
  }
}
