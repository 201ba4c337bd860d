/**
 * The client's socket token: where it comes from, the one in use (and the socket URL its grant named), and its
 * refresh over the socket before it runs out.
 */
import type { ClientEnvironment } from "./environment.ts";

/** What a token source answers: the socket token and where to connect with it. */
export interface TokenGrant {
  token: string;
  connectionUrl?: string;
}

/** Where tokens come from: `getToken` if given, else a `POST` with credentials to `tokenUrl`. */
export interface TokenSource {
  tokenUrl?: string;
  getToken?: () => Promise<TokenGrant>;
  /** Socket URL when the token grant does not name one. */
  url?: string;
}

export interface TokenKeeperHooks {
  /** Sends the fresh token over the socket as an `auth` frame. */
  sendAuth(token: string): void;
  /** A refresh failed; it is tried again shortly. */
  onError(message: string): void;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Keeps the socket token. `renew()` fetches a grant and keeps its token and URL; `refreshBefore()` arranges
 * for a fresh token to go over the socket at three quarters of the current one's remaining life, and for the
 * refresh to be tried again (every 1–5 s) should the token source fail, until `stopRefresh()`.
 */
export function createTokenKeeper(source: TokenSource, env: ClientEnvironment, hooks: TokenKeeperHooks) {
  let token: string | null = null;
  let connectionUrl: string | null = source.url ?? null;
  let expiresAt = 0;
  let refreshTimer: unknown = null;

  async function request(): Promise<TokenGrant> {
    if (source.getToken) return await source.getToken();
    if (!source.tokenUrl) throw new Error("Either tokenUrl or getToken is required");
    const res = await env.fetch(source.tokenUrl, { method: "POST", credentials: "include" });
    if (!res.ok) throw new Error(`Token request failed with ${res.status}`);
    return await res.json();
  }

  async function renew(): Promise<string> {
    const grant = await request();
    token = grant.token;
    connectionUrl = grant.connectionUrl ?? connectionUrl;
    return grant.token;
  }

  function stopRefresh() {
    if (refreshTimer !== null) env.clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  function scheduleRefresh() {
    stopRefresh();
    const left = expiresAt - env.now();
    // Refresh at three quarters of the token's life, so a slow token endpoint still has time.
    const delay = Math.max(1000, Math.floor(left * 0.75));
    refreshTimer = env.setTimeout(async () => {
      refreshTimer = null;
      try {
        hooks.sendAuth(await renew());
      } catch (error) {
        hooks.onError(messageOf(error));
        // Try again soon; if the token runs out first the server closes 1008 and the reconnect gets a new one.
        refreshTimer = env.setTimeout(scheduleRefresh, Math.min(5000, Math.max(1000, left / 4)));
      }
    }, delay);
  }

  return {
    /** The token in use, or null before the first grant. */
    current: () => token,
    /** The socket URL of the latest grant (or the `url` option), or null if none named one. */
    connectionUrl: () => connectionUrl,
    /** Fetches a fresh grant and keeps its token and URL; returns the token. */
    renew,
    /** The server said when the token runs out (ISO 8601, from `welcome` or `auth_ok`). */
    refreshBefore(expiry: string) {
      expiresAt = Date.parse(expiry);
      scheduleRefresh();
    },
    stopRefresh,
  };
}

export type TokenKeeper = ReturnType<typeof createTokenKeeper>;
