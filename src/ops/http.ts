import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { HealthReport } from './health.js';

/** Extra routes on the same server (the ward page): true when the request was theirs. */
export interface ExtraRoutes {
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

export interface OpsHttpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** `/healthz`: the daemon is alive and making progress. */
  liveness: () => HealthReport;
  /** `/readyz`: every configured source and the broker are up. */
  readiness: () => HealthReport;
  /** The ward page (`/`, `/assets/*`, `/api/*`, `/login`), when enabled. */
  web?: ExtraRoutes | undefined;
  logger: Logger;
}

export interface OpsHttpServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Prometheus scrapes, curl, load balancers and a few open ward pages (two connections each); more is a misbehaving client. */
const MAX_CONNECTIONS = 64;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

function send(response: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(head ? undefined : body);
}

function sendHealth(response: ServerResponse, report: HealthReport, head: boolean): void {
  const body = `${JSON.stringify({ status: report.ok ? 'ok' : 'failing', checks: report.checks })}\n`;
  send(response, report.ok ? 200 : 503, 'application/json; charset=utf-8', body, head);
}

/**
 * `/metrics` (Prometheus text), `/healthz` and `/readyz` (200 or 503 with the checks as JSON):
 * read-only, no authentication, so bind it to loopback (the default) or a management network.
 * The ward page, when given, answers first for its own paths and checks its own token.
 */
export async function startOpsHttp(options: OpsHttpOptions): Promise<OpsHttpServer> {
  const logger = options.logger.child({ component: 'ops-http' });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (options.web !== undefined && (await options.web.handle(request, response))) return;
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
      return;
    }
    const path = (request.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await options.scrape();
        send(response, 200, contentType, body, head);
        return;
      }
      case '/healthz':
        sendHealth(response, options.liveness(), head);
        return;
      case '/readyz':
        sendHealth(response, options.readiness(), head);
        return;
      default:
        send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n', head);
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ code: 'PW_OPS_HTTP_FAILED', url: request.url, error: (error as Error).message }, 'ops endpoint failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else response.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ code: 'PW_OPS_HTTP_FAILED', error: error.message }, 'ops endpoint server error'));
  const { port } = server.address() as AddressInfo;
  logger.info({ code: 'PW_OPS_HTTP_LISTENING', host: options.host, port }, 'metrics and health endpoints listening');
  return {
    host: options.host,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
