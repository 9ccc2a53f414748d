/** What the bench's parent and its child processes say to each other over the IPC channel. */

export interface PublisherConfig {
  url: string;
  clientId: string;
  /** Telemetry goes to `<topicRoot>/<pumpId>/telemetry`. */
  topicRoot: string;
  /** Prefixed to every simulated pump id so publishers never share a channel. */
  pumpPrefix: string;
  pumps: number;
  channelsPerPump: number;
  seed: string;
  /** Simulated samples kept per publisher; channels cycle through theirs with time shifted on. */
  bankSamples: number;
  probes: ProbeConfig;
  /** The child exits on its own after this, whatever the parent does. */
  maxLifetimeSeconds: number;
}

/**
 * Latency probes: pump channels that raise and clear the pump's own occlusion code on every
 * sample, stamped with the wall clock when sent, so each alarm event the station receives
 * measures one sample-to-alarm latency through the whole chain.
 */
export interface ProbeConfig {
  count: number;
  intervalMs: number;
  pumpPrefix: string;
}

/** `blast`: publish `count` messages as fast as the socket takes them, then go back to the set rate. */
export type ParentMessage = { type: 'rate'; perSecond: number } | { type: 'blast'; count: number } | { type: 'stop' };

export interface PublisherStats {
  type: 'stats';
  published: number;
  probes: number;
  /** Messages the pacing owed but the socket or the core could not take (published late or never). */
  shortfall: number;
  /** When the counts were taken (epoch ms): they reach the parent up to one stats interval later. */
  atMs: number;
}

export type PublisherMessage = { type: 'ready'; channels: number; bankSamples: number } | PublisherStats;

export interface SubscriberConfig {
  url: string;
  clientId: string;
  topicFilter: string;
  maxLifetimeSeconds: number;
}

export type SubscriberMessage = { type: 'ready' } | { type: 'stats'; received: number; parsed: number };

/** What one `npm run bench -- cost` child process does per message. */
export const COST_MODES = ['mqtt.js only', 'plain: JSON.parse', 'pumpwatch: decode', 'pumpwatch: decode + detect', 'pumpwatch: decode + detect + chart'] as const;
export type CostMode = (typeof COST_MODES)[number];
