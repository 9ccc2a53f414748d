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
}

export function onlineStatus(gateway: Config['gateway'], sinceMs: number): GatewayStatus {
  return { v: GATEWAY_STATUS_VERSION, state: 'online', gatewayId: gateway.id, site: gateway.site, ward: gateway.ward, since: new Date(sinceMs).toISOString() };
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
