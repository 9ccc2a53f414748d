import type { AckHandler } from '../alarms/ack.js';
import type { Roster } from '../alarms/roster.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { IngestStatus } from '../ingest/guard.js';
import type { Logger } from '../log.js';
import { sourceLinkStatus } from '../ops/daemon-ops.js';
import type { JournalStatus } from '../ops/metrics.js';
import type { Pipeline } from '../pipeline.js';
import type { TelemetrySource } from '../sources/source.js';
import { loadWebAssets } from '../view/assets.js';
import { WebAuth } from '../view/auth.js';
import { createWardRoutes, type WardRoutes } from './server.js';

export interface WardPageOptions {
  config: Pick<Config, 'gateway' | 'detection' | 'ops'>;
  /** From ops.http.web.tokenFile. */
  token: string | undefined;
  clock: Clock;
  logger: Logger;
  pipeline: Pipeline;
  publisher: { readonly connectionState: string };
  sources: readonly TelemetrySource[];
  journal: () => JournalStatus | undefined;
  ingest: () => IngestStatus;
  acks: Pick<AckHandler, 'handle'>;
  roster: Pick<Roster, 'placement'>;
}

/**
 * The daemon's ward page: what the pipeline's traces and alarm manager know, and the health of
 * sources and delivery. Acks from the page take the stations' path (the ack handler), so they are
 * validated, counted and logged the same way, with `by` naming the page and the person.
 */
export function createWardPage(options: WardPageOptions): WardRoutes {
  const { config, pipeline, clock } = options;
  const traces = pipeline.traces;
  if (traces === undefined) throw new Error('PW_WEB_NO_TRACES: the pipeline keeps no chart history (ops.http.web.enabled)');
  const { gateway } = config;
  const web = config.ops.http.web;
  const acknowledge = web.allowAck
    ? (alarmId: string, by: string) =>
        options.acks.handle(
          Buffer.from(JSON.stringify({ v: 1, alarmId, by, at: new Date(clock.now()).toISOString(), gatewayId: gateway.id, site: gateway.site, ward: gateway.ward })),
          false,
        )
    : undefined;
  const routes = createWardRoutes({
    auth: new WebAuth(options.token),
    assets: loadWebAssets(),
    acknowledge,
    logger: options.logger,
    series: (pumpId, channel, afterTsMs) => traces.series(pumpId, channel, afterTsMs),
    source: {
      nowMs: () => clock.now(),
      gateway: { id: gateway.id, site: gateway.site, ward: gateway.ward },
      allowAck: web.allowAck,
      telemetryLostAfterSeconds: config.detection.telemetryLostAfterSeconds,
      channels: () => traces.statuses(),
      channel: (pumpId, channel) => traces.status(pumpId, channel),
      placement: (pumpId, channel) => options.roster.placement(pumpId, channel),
      activeAlarms: () => pipeline.alarms.activeAlarms(),
      recentEvents: () => traces.recentEvents(),
      health: () => ({
        sources: options.sources.map(sourceLinkStatus),
        broker: options.publisher.connectionState,
        rejects: pipeline.rejects.totals(),
        journal: options.journal() ?? null,
        ingest: options.ingest(),
      }),
    },
  });
  traces.listen(() => routes.changed());
  return routes;
}
