import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AckVerdict } from '../alarms/ack.js';
import type { Logger } from '../log.js';
import type { StaticAsset } from '../view/assets.js';
import { TOKEN_COOKIE, type WebAuth } from '../view/auth.js';
import type { ChannelSeries } from '../view/series.js';
import { DEFAULT_FEED, WardFeed, type WardFeedOptions } from './feed.js';
import { wardSnapshot, type WardSource } from './ward.js';

export interface WardRoutesOptions {
  auth: WebAuth;
  assets: ReadonlyMap<string, StaticAsset>;
  source: WardSource;
  /** With afterTsMs, only the points after it (see ChannelTraces.series). */
  series: (pumpId: string, channel: string, afterTsMs?: number) => ChannelSeries | undefined;
  /** Undefined: the page is read-only. */
  acknowledge: ((alarmId: string, by: string) => AckVerdict) | undefined;
  logger: Logger;
  feed?: Partial<WardFeedOptions>;
}

/** The ward page's part of the ops HTTP server. */
export interface WardRoutes {
  /** True when the request was the page's; false leaves it to the other routes. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** An alarm event: the open pages hear of it at once (a burst coalesced; see WardFeed). */
  changed(): void;
  readonly openStreams: number;
  stop(): void;
}

/** Ack bodies are a few hundred bytes. */
const MAX_BODY_BYTES = 4096;

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  // Everything comes from the daemon; inline code only in the self-contained replay pages, never here.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
} as const;

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>pumpwatch: sign in</title><link rel="stylesheet" href="/assets/ward.css"></head>
<body class="pw-login"><main><h1>pumpwatch ward view</h1><p>This gateway's page needs its access token (ask biomedical engineering).</p>
<form method="post" action="/login"><label>Access token <input name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Open the ward view</button></form></main></body></html>
`;

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A cross-site page cannot forge a POST that passes: it needs JSON (a preflight) and our own origin. */
function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * `/` (the ward page and its assets), `/api/state` (the ward as JSON), `/api/channel` (one
 * channel's chart; `after=<ms>` for only the newer points), `/api/events` (server-sent events: the whole ward, then what changes, every
 * second and at once on alarm events; see WardFeed), `POST /api/ack` when acks are allowed, and `/login` when a token is set.
 */
export function createWardRoutes(options: WardRoutesOptions): WardRoutes {
  const logger = options.logger.child({ component: 'ward-page' });
  const { auth, assets } = options;
  const feed = new WardFeed(options.source, { ...DEFAULT_FEED, ...options.feed });

  const openStream = (request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    feed.open(response, 'retry: 2000\n');
    request.socket.setKeepAlive(true);
    response.on('close', () => feed.close(response));
  };

  const login = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'POST') {
      send(response, 200, 'text/html; charset=utf-8', LOGIN_PAGE);
      return;
    }
    const body = await readBody(request);
    const token = body === undefined ? undefined : new URLSearchParams(body).get('token');
    if (token === null || token === undefined || !auth.matches(token)) {
      logger.warn({ code: 'PW_WEB_LOGIN_REFUSED', remote: request.socket.remoteAddress }, 'ward page: wrong access token');
      send(response, 401, 'text/html; charset=utf-8', LOGIN_PAGE.replace('<form', '<p class="pw-error">That token is not right.</p><form'));
      return;
    }
    response.writeHead(303, {
      ...SECURITY_HEADERS,
      Location: '/',
      'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      'Content-Length': 0,
    });
    response.end();
  };

  const ack = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (options.acknowledge === undefined) {
      sendJson(response, 403, { error: 'acknowledging from the page is off (ops.http.web.allowAck)' });
      return;
    }
    if (!sameOrigin(request) || !(request.headers['content-type'] ?? '').startsWith('application/json')) {
      sendJson(response, 403, { error: 'acks must be JSON from this page' });
      return;
    }
    const body = await readBody(request);
    let parsed: unknown;
    try {
      parsed = body === undefined ? undefined : JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const { alarmId, by } = (parsed ?? {}) as { alarmId?: unknown; by?: unknown };
    if (typeof alarmId !== 'string' || typeof by !== 'string' || by.trim() === '') {
      sendJson(response, 400, { error: 'send {"alarmId": "...", "by": "your name"}' });
      return;
    }
    const verdict = options.acknowledge(alarmId, `ward page: ${by.trim()}`);
    sendJson(response, verdict === 'accepted' ? 200 : 409, { verdict });
    if (verdict === 'accepted') api.changed();
  };

  const api: WardRoutes = {
    async handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://gateway');
      const path = url.pathname;
      const ours = path === '/' || path === '/login' || path.startsWith('/assets/') || path.startsWith('/api/');
      if (!ours) return false;
      if (path === '/login' && auth.required) {
        await login(request, response);
        return true;
      }
      if (!auth.allows(request)) {
        if (path === '/') send(response, 401, 'text/html; charset=utf-8', LOGIN_PAGE);
        else if (path.startsWith('/assets/')) send(response, 401, 'text/plain; charset=utf-8', 'access token required\n');
        else sendJson(response, 401, { error: 'access token required (Authorization: Bearer, or sign in at /login)' });
        return true;
      }
      if (path === '/api/ack' && request.method === 'POST') {
        await ack(request, response);
        return true;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
        return true;
      }
      const asset = assets.get(path);
      if (asset !== undefined) {
        send(response, 200, asset.contentType, asset.body);
        return true;
      }
      switch (path) {
        case '/api/state':
          sendJson(response, 200, wardSnapshot(options.source));
          return true;
        case '/api/events':
          openStream(request, response);
          return true;
        case '/api/channel': {
          const after = Number(url.searchParams.get('after') ?? Number.NaN);
          const series = options.series(url.searchParams.get('pumpId') ?? '', url.searchParams.get('channel') ?? '', Number.isFinite(after) ? after : undefined);
          if (series === undefined) sendJson(response, 404, { error: 'no such channel' });
          else sendJson(response, 200, series);
          return true;
        }
        default:
          sendJson(response, 404, { error: 'not found' });
          return true;
      }
    },
    changed() {
      feed.alarmChanged();
    },
    get openStreams() {
      return feed.openStreams;
    },
    stop() {
      feed.stop();
    },
  };
  return api;
}
