// The portal session token, read without verifying it: only its times, to renew it in time. The
// edge verifies every token; nothing here decides what a token may do.

/** The times of a session token, in Unix seconds. */
export interface Times {
  exp: number;
  iat?: number;
}

/** The shape the app accepts: three base64url parts, under 4096 characters. */
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Renewal starts this long before expiry at least (ms), ... */
const MIN_LEAD = 10_000;
/** ... and at most, ... */
const MAX_LEAD = 300_000;
/** ... and never sooner than this after a token arrived: a token closer to its end is refused. */
const MIN_DELAY = 5_000;
/** The longest delay `setTimeout` keeps (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER = 2_147_483_647;

function base64UrlDecode(part: string): string | null {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  } catch {
    return null;
  }
}

function isTime(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

/** The token's `exp` and `iat`; `null` when it is not a JWT the app would take or has no `exp`. */
export function readTimes(token: unknown): Times | null {
  if (typeof token !== "string" || token.length >= 4096 || !SHAPE.test(token)) return null;
  const json = base64UrlDecode(token.split(".")[1]);
  if (json === null) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof claims !== "object" || claims === null) return null;
  const { exp, iat } = claims as Record<string, unknown>;
  if (!isTime(exp)) return null;
  return isTime(iat) && iat <= exp ? { exp, iat } : { exp };
}

/**
 * How long to wait (ms) before fetching the next token, from a token that arrived at `nowMs`:
 * a fifth of its lifetime before it ends, between 10 seconds and 5 minutes. The lifetime
 * (`exp - iat`) bounds the wait too, so that a browser clock that is behind does not let the
 * token run out. `null` when that moment is less than 5 seconds away: renewing again at once
 * would loop on a token that is always about to end.
 */
export function renewalDelay(t: Times, nowMs: number): number | null {
  const remaining = t.exp * 1000 - nowMs;
  const lifetime = t.iat !== undefined ? (t.exp - t.iat) * 1000 : remaining;
  const lead = Math.min(MAX_LEAD, Math.max(MIN_LEAD, lifetime / 5));
  const delay = Math.min(remaining, lifetime) - lead;
  if (!(delay >= MIN_DELAY)) return null;
  return Math.min(Math.round(delay), MAX_TIMER);
}

/**
 * How long to wait (ms) before fetching a token again after `failures` failed fetches in a row:
 * 5 seconds, doubling to 1 minute, and only while the token the app has (`t`) is still valid.
 * `null` once it has ended: fetching then waits for `renew()` or the app's next `ready`.
 */
export function retryDelay(failures: number, t: Times, nowMs: number): number | null {
  const wait = Math.min(60_000, 5_000 * 2 ** Math.min(Math.max(failures - 1, 0), 4));
  return nowMs + wait < t.exp * 1000 ? wait : null;
}
