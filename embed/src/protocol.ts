// The app's postMessage protocol (docs/integrating.md, "Messages"), read and written as plain data.
// Nothing here touches the browser: the tests run it in Node.

/** Every message of the protocol has a `type` starting with this. */
export const PREFIX = "m365-onboarding:";

/** `light` or `dark`; until one is sent the app follows the browser's `prefers-color-scheme`. */
export type Theme = "light" | "dark";

/** The portal's look, validated by the app (docs/integrating.md, "Design tokens"). */
export interface Design {
  /** A colour as `#rgb` or `#rrggbb`. */
  accent?: string;
  /** Up to 8 font family names separated by commas. */
  font_family?: string;
  /** A whole number of pixels from 0 to 16. */
  radius?: number;
}

/** What the app shows: its theme, language and the portal's design tokens. */
export interface Look {
  theme?: Theme;
  /** A BCP 47 tag such as `de-CH`. */
  locale?: string;
  design?: Design;
}

/** An organization's health state. */
export type HealthState = "unchecked" | "healthy" | "needs_attention" | "failing";

/** Why the library itself could not keep the app's session. */
export type ErrorCode =
  /** `getToken()` failed or gave something that is not a token. */
  | "token_unavailable"
  /** `getToken()` gave a token that expires too soon to be renewed in time. */
  | "token_expiring";

/** What the app tells the portal, as the library hands it to `onEvent`. */
export type OnboardingEvent =
  /** The app has its session and is usable. */
  | { type: "ready" }
  /** `0` the organization list, `1` to `3` the wizard's steps. */
  | { type: "step"; step: 0 | 1 | 2 | 3 }
  | { type: "organization.added"; id: string }
  | { type: "organization.updated"; id: string }
  | { type: "organization.deleted"; id: string }
  /** After "Check now". */
  | { type: "organization.health"; id: string; state: HealthState; reason: string | null; checked_at: string | null }
  /** The administrator left the wizard without adding an organization. */
  | { type: "cancelled" }
  /** Design tokens the app did not take, each with what to send instead. */
  | { type: "design.refused"; refused: { token: string; message: string }[] }
  /** The library could not keep the session; `message` says what to do. */
  | { type: "error"; code: ErrorCode; message: string };

/** A message from the app, as the library acts on it. */
export type Inbound =
  | { kind: "ready" }
  | { kind: "height"; height: number }
  | { kind: "event"; event: OnboardingEvent };

const HEALTH_STATES: readonly string[] = ["unchecked", "healthy", "needs_attention", "failing"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nullableString(v: unknown): v is string | null {
  return v === null || typeof v === "string";
}

function id(m: Record<string, unknown>): string | null {
  return typeof m.id === "string" && m.id.length > 0 && m.id.length <= 200 ? m.id : null;
}

/**
 * Reads a message's data. `null` for anything that is not one of the app's messages in its
 * documented shape: other protocols, unknown types (from a newer app) and malformed fields.
 */
export function readInbound(data: unknown): Inbound | null {
  if (!isRecord(data) || typeof data.type !== "string" || !data.type.startsWith(PREFIX)) return null;
  const m = data;
  switch (data.type.slice(PREFIX.length)) {
    case "ready":
      return { kind: "ready" };
    case "height": {
      const h = m.height;
      return typeof h === "number" && Number.isInteger(h) && h >= 0 && h <= 100_000 ? { kind: "height", height: h } : null;
    }
    case "step": {
      const s = m.step;
      return s === 0 || s === 1 || s === 2 || s === 3 ? { kind: "event", event: { type: "step", step: s } } : null;
    }
    case "organization-added":
    case "organization-updated":
    case "organization-deleted": {
      const o = id(m);
      const type = `organization.${data.type.slice(PREFIX.length + "organization-".length)}` as
        | "organization.added"
        | "organization.updated"
        | "organization.deleted";
      return o === null ? null : { kind: "event", event: { type, id: o } };
    }
    case "organization-health": {
      const o = id(m);
      const { state, reason, checked_at } = m;
      if (o === null || typeof state !== "string" || !HEALTH_STATES.includes(state)) return null;
      if (!nullableString(reason) || !nullableString(checked_at)) return null;
      return { kind: "event", event: { type: "organization.health", id: o, state: state as HealthState, reason, checked_at } };
    }
    case "cancelled":
      return { kind: "event", event: { type: "cancelled" } };
    case "design-refused": {
      const r = m.refused;
      if (!Array.isArray(r)) return null;
      const refused = r.filter(
        (x): x is { token: string; message: string } =>
          isRecord(x) && typeof x.token === "string" && typeof x.message === "string",
      );
      if (refused.length !== r.length) return null;
      return { kind: "event", event: { type: "design.refused", refused: refused.map(({ token, message }) => ({ token, message })) } };
    }
    default:
      return null;
  }
}

/** The `session` message: the token and the look (what is not set is left out). */
export function sessionMessage(token: string, look: Look): Record<string, unknown> {
  const m: Record<string, unknown> = { type: `${PREFIX}session`, token };
  if (look.theme !== undefined) m.theme = look.theme;
  if (look.locale !== undefined) m.locale = look.locale;
  if (look.design !== undefined) m.design = { ...look.design };
  return m;
}
