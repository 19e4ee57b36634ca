import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER, readTimes, renewalDelay, retryDelay } from "../src/token.js";

const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const jwt = (claims: unknown) => `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;

test("a token's times are read without verifying it", () => {
  assert.deepEqual(readTimes(jwt({ sub: "a", iat: 1000, exp: 1900 })), { iat: 1000, exp: 1900 });
  assert.deepEqual(readTimes(jwt({ exp: 1900 })), { exp: 1900 });
  assert.deepEqual(readTimes(jwt({ exp: 1900, iat: 2000 })), { exp: 1900 }, "an iat after exp is not used");
  // base64url characters that differ from base64 ('-' and '_') decode.
  const odd = jwt({ exp: 1900, sub: "?>?>~~~" });
  assert.match(odd.split(".")[1], /[-_]/);
  assert.deepEqual(readTimes(odd), { exp: 1900 });
});

test("anything that is not a token the app takes has no times", () => {
  const bad: unknown[] = [
    undefined,
    42,
    "",
    "a.b",
    "<script>.a.b",
    jwt({ iat: 1000 }),
    jwt({ exp: "1900" }),
    jwt({ exp: -1 }),
    jwt({ exp: null }),
    jwt("just a string"),
    `${part({ alg: "HS256" })}.bm90IGpzb24.sig`,
    `${part({ alg: "HS256" })}.${part({ exp: 1900, pad: "x".repeat(4096) })}.sig`,
  ];
  for (const t of bad) assert.equal(readTimes(t), null, String(t));
});

test("a token is renewed a fifth of its lifetime before its end, 10 s to 5 min", () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  assert.equal(renewalDelay({ iat: s, exp: s + 60 }, now), 48_000);
  assert.equal(renewalDelay({ iat: s, exp: s + 900 }, now), 720_000);
  assert.equal(renewalDelay({ iat: s, exp: s + 3600 }, now), 3_300_000);
  assert.equal(renewalDelay({ iat: s, exp: s + 20 }, now), 10_000);
  assert.equal(renewalDelay({ exp: s + 60 }, now), 48_000, "without iat, from what is left");
});

test("a browser clock that is behind does not let the token run out", () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  // The browser's clock is 10 minutes behind the portal's: the token seems to live 25 minutes.
  assert.equal(renewalDelay({ iat: s + 600, exp: s + 1500 }, now), 720_000, "the 15-minute lifetime bounds it");
});

test("a token too close to its end is not renewed over and over", () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  assert.equal(renewalDelay({ iat: s - 3590, exp: s + 10 }, now), null);
  assert.equal(renewalDelay({ iat: s - 100, exp: s - 1 }, now), null, "already over");
  assert.equal(renewalDelay({ iat: s, exp: s + 14 }, now), null);
});

test("a far expiry waits no longer than a timer can", () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  assert.equal(renewalDelay({ iat: s, exp: s + 365 * 86400 }, now), MAX_TIMER);
  assert.equal(renewalDelay({ exp: Number.MAX_VALUE }, now), MAX_TIMER);
});

test("a failed fetch is tried again after 5 s, doubling to a minute, only while the token lasts", () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  const lasting = { iat: s - 600, exp: s + 3600 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((n) => retryDelay(n, lasting, now)), [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
  assert.equal(retryDelay(1, { iat: s - 890, exp: s + 10 }, now), 5_000);
  assert.equal(retryDelay(2, { iat: s - 890, exp: s + 10 }, now), null, "the token ends before the next try");
  assert.equal(retryDelay(1, { iat: s - 900, exp: s - 1 }, now), null, "the token has ended");
});
