import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readInbound, sessionMessage } from "../src/protocol.js";

// Every message the app sends, as the common crate's own test writes them (shared/src/embed.rs).
const appMessages: unknown[] = JSON.parse(readFileSync(new URL("app-messages.json", import.meta.url), "utf8"));

test("every message the app sends is read, none dropped", () => {
  for (const m of appMessages) assert.notEqual(readInbound(m), null, JSON.stringify(m));
});

test("the app's messages become the documented events", () => {
  assert.deepEqual(readInbound({ type: "m365-onboarding:ready" }), { kind: "ready" });
  assert.deepEqual(readInbound({ type: "m365-onboarding:height", height: 640 }), { kind: "height", height: 640 });
  assert.deepEqual(readInbound({ type: "m365-onboarding:step", step: 2 }), { kind: "event", event: { type: "step", step: 2 } });
  for (const what of ["added", "updated", "deleted"]) {
    assert.deepEqual(readInbound({ type: `m365-onboarding:organization-${what}`, id: "o1" }), {
      kind: "event",
      event: { type: `organization.${what}`, id: "o1" },
    });
  }
  assert.deepEqual(
    readInbound({ type: "m365-onboarding:organization-health", id: "o1", state: "failing", reason: "application_deleted", checked_at: null }),
    { kind: "event", event: { type: "organization.health", id: "o1", state: "failing", reason: "application_deleted", checked_at: null } },
  );
  assert.deepEqual(readInbound({ type: "m365-onboarding:cancelled", extra: 1 }), { kind: "event", event: { type: "cancelled" } });
  assert.deepEqual(
    readInbound({ type: "m365-onboarding:design-refused", refused: [{ token: "accent", message: "m", extra: 1 }] }),
    { kind: "event", event: { type: "design.refused", refused: [{ token: "accent", message: "m" }] } },
  );
});

test("other protocols, unknown types and malformed fields are not events", () => {
  const ignored: unknown[] = [
    null,
    "m365-onboarding:ready",
    [],
    { type: "other:ready" },
    { type: "m365-onboarding:session", token: "a.b.c" },
    { type: "m365-onboarding:something-new" },
    { type: "m365-onboarding:step", step: 4 },
    { type: "m365-onboarding:step", step: "1" },
    { type: "m365-onboarding:height", height: -1 },
    { type: "m365-onboarding:height", height: 1.5 },
    { type: "m365-onboarding:height", height: 1e9 },
    { type: "m365-onboarding:organization-added" },
    { type: "m365-onboarding:organization-added", id: "" },
    { type: "m365-onboarding:organization-added", id: "x".repeat(201) },
    { type: "m365-onboarding:organization-health", id: "o1", state: "great", reason: null, checked_at: null },
    { type: "m365-onboarding:organization-health", id: "o1", state: "healthy", reason: 3, checked_at: null },
    { type: "m365-onboarding:design-refused", refused: "accent" },
    { type: "m365-onboarding:design-refused", refused: [{ token: "accent" }] },
  ];
  for (const m of ignored) assert.equal(readInbound(m), null, JSON.stringify(m));
});

test("the session message carries the token and only the look that is set", () => {
  assert.deepEqual(sessionMessage("a.b.c", {}), { type: "m365-onboarding:session", token: "a.b.c" });
  const design = { accent: "#7b2cbf", radius: 8 };
  const m = sessionMessage("a.b.c", { theme: "dark", locale: "de-CH", design });
  assert.deepEqual(m, { type: "m365-onboarding:session", token: "a.b.c", theme: "dark", locale: "de-CH", design });
  assert.notEqual(m.design, design, "a copy: the portal's object is not posted by reference");
});
