import type { Config } from '../config/schema.js';

export const GATEWAY_STATUS_VERSION = 1;

/**
 * Retained on `<prefix>/status`. `since` is when the state began as the gateway saw it; the Last
 * Will has none because the broker, not the gateway, decides when it fires.
 */
export interface GatewayStatus {
  v: typeof GATEWAY_STATUS_VERSION;
  state: 'online' | 'offline';
  gatewayId: string;
  site: string;
  ward: string;
  since?: string;
  /** Only on `offline`: a clean stop, or the broker noticing the connection died (Last Will). */
  reason?: 'stopped' | 'connection-lost';
  /**
   * Only on `online`: the status is republished this often. A station that hears nothing for
   * 1.5 × this shows the gateway offline, sooner than a broker may fire the Last Will.
   */
  heartbeatSeconds?: number;
  /** Only on `online`: when this heartbeat was sent. */
  at?: string;
  /** Only on `online`: the pumpwatch version running. */
  version?: string;
  /** Only on `online`: whether the gateway clock is NTP-synchronised (null: cannot tell). */
  clock?: { synchronized: boolean | null; source: string };
}

export function onlineStatus(gateway: Config['gateway'], sinceMs: number, heartbeat?: { atMs: number; heartbeatSeconds: number }): GatewayStatus {
  const status: GatewayStatus = { v: GATEWAY_STATUS_VERSION, state: 'online', gatewayId: gateway.id, site: gateway.site, ward: gateway.ward, since: new Date(sinceMs).toISOString() };
  if (heartbeat !== undefined) {
    status.heartbeatSeconds = heartbeat.heartbeatSeconds;
    status.at = new Date(heartbeat.atMs).toISOString();
  }
  return status;
}

export function stoppedStatus(gateway: Config['gateway'], sinceMs: number): GatewayStatus {
  return {
    v: GATEWAY_STATUS_VERSION,
    state: 'offline',
    gatewayId: gateway.id,
    site: gateway.site,
    ward: gateway.ward,
    since: new Date(sinceMs).toISOString(),
    reason: 'stopped',
  };
}

export function lastWillStatus(gateway: Config['gateway']): GatewayStatus {
  return { v: GATEWAY_STATUS_VERSION, state: 'offline', gatewayId: gateway.id, site: gateway.site, ward: gateway.ward, reason: 'connection-lost' };
}
