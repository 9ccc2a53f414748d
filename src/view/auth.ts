import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A token shorter than this is guessable over the network. */
export const MIN_WEB_TOKEN_LENGTH = 16;
export const TOKEN_COOKIE = 'pumpwatch_token';

/** Loopback only: anything else (a ward interface, 0.0.0.0, ::) reaches other machines. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Digests compare in constant time whatever the lengths, so timing says nothing about the token. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * Who may see the ward page. Without a token (config allows that only on loopback) everyone who
 * reaches the socket may; with one, a request must carry it as `Authorization: Bearer` or in the
 * cookie the login form sets.
 */
export class WebAuth {
  readonly #digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.#digest = token === undefined ? undefined : digest(token);
  }

  get required(): boolean {
    return this.#digest !== undefined;
  }

  matches(candidate: string): boolean {
    return this.#digest !== undefined && timingSafeEqual(digest(candidate), this.#digest);
  }

  allows(request: IncomingMessage): boolean {
    if (this.#digest === undefined) return true;
    const authorization = request.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') === true ? authorization.slice('Bearer '.length) : undefined;
    const presented = bearer ?? cookieValue(request.headers.cookie, TOKEN_COOKIE);
    return presented !== undefined && this.matches(presented);
  }
}
