// M365Onboarding.mount: the onboarding app in a portal's page, in one call. The library creates
// the app's iframe, answers the app's `ready` with a session from the portal's `getToken()`,
// renews the session before the token ends, resizes the iframe, and hands the app's messages to
// `onEvent` as typed events. It reads messages only from the app's origin and the iframe's own
// window, and posts only to the app's origin. The protocol itself is in protocol.ts.

import { readInbound, sessionMessage } from "./protocol.js";
import type { Design, ErrorCode, Look, OnboardingEvent, Theme } from "./protocol.js";
import { readTimes, renewalDelay, retryDelay } from "./token.js";
import type { Times } from "./token.js";

export type { Design, ErrorCode, HealthState, Look, OnboardingEvent, Theme } from "./protocol.js";

/** What `mount` takes. */
export interface MountOptions {
  /** The app's root URL, e.g. `"https://onboarding.example.com/"` (`https://`, or `http://` on localhost). */
  appUrl: string;
  /**
   * Fetches a fresh portal session token from your backend (which signs it). Called when the app
   * is ready and again before each token ends.
   */
  getToken: () => Promise<string>;
  /** `light` or `dark`; without one the app follows the browser's `prefers-color-scheme`. */
  theme?: Theme;
  /** A BCP 47 tag such as `de-CH`; English when absent. */
  locale?: string;
  /** Your accent colour, font and corner radius. */
  design?: Design;
  /** Each event of the app, and the library's `error`s. */
  onEvent?: (event: OnboardingEvent) => void;
  /** The iframe's accessible name; `"Microsoft 365 organizations"` when absent. */
  title?: string;
}

/** The mounted app. */
export interface Onboarding {
  /** The app's iframe (`null` once destroyed). */
  readonly iframe: HTMLIFrameElement | null;
  /** Changes the theme at once. */
  setTheme(theme: Theme): void;
  /** Changes the language at once, without a reload. */
  setLocale(locale: string): void;
  /** Changes the design tokens; `undefined` gives the app its own look back. */
  setDesign(design: Design | undefined): void;
  /** Fetches a token and sends a new session now, e.g. after an `error` event once your backend is back. */
  renew(): void;
  /** Removes the iframe, its listeners and its timer. */
  destroy(): void;
}

/**
 * The sandbox the app needs: its scripts and forms, the Credential method's Microsoft sign-in
 * window (outside the sandbox) and the device code's verification link, and the certificate's
 * download.
 */
export const SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads";

/** Copying the device code and the values of the Manual method. */
export const ALLOW = "clipboard-write";

function fail(what: string): never {
  throw new TypeError(`M365Onboarding.mount: ${what}`);
}

function checkTheme(theme: unknown) {
  if (theme !== undefined && theme !== "light" && theme !== "dark") fail('theme must be "light" or "dark".');
}

function checkLocale(locale: unknown) {
  if (locale !== undefined && typeof locale !== "string") fail('locale must be a BCP 47 tag as a string, e.g. "de-CH".');
}

function checkDesign(design: unknown) {
  if (design !== undefined && (typeof design !== "object" || design === null || Array.isArray(design))) {
    fail("design must be an object such as { accent: \"#7b2cbf\", font_family: \"Inter, sans-serif\", radius: 8 }.");
  }
}

/** The app's origin from `appUrl`; throws with what to pass instead. */
function appOrigin(appUrl: unknown): string {
  if (typeof appUrl !== "string") fail('appUrl must be the app\'s URL as a string, e.g. "https://onboarding.example.com/".');
  let url: URL;
  try {
    // No base: a URL without a scheme ("onboarding.example.com") would be read as a path of the
    // portal's own origin, which would then be taken for the app's.
    url = new URL(appUrl);
  } catch {
    fail(`appUrl ${JSON.stringify(appUrl)} is not an absolute URL; pass e.g. "https://onboarding.example.com/".`);
  }
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    fail("appUrl must start with https:// (http:// only for localhost, 127.0.0.1 and [::1]).");
  }
  return url.origin;
}

/** Mounts the app in `element` (which it fills), and answers its `ready` with a session. */
export function mount(element: HTMLElement, options: MountOptions): Onboarding {
  if (!(element instanceof HTMLElement)) fail("element must be the HTML element to put the app in.");
  if (typeof options !== "object" || options === null) fail("pass the options object ({ appUrl, getToken, ... }).");
  if (typeof options.getToken !== "function") {
    fail("getToken must be a function that returns a promise of a session token from your backend.");
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") fail("onEvent must be a function.");
  checkTheme(options.theme);
  checkLocale(options.locale);
  checkDesign(options.design);
  const origin = appOrigin(options.appUrl);
  const look: Look = { theme: options.theme, locale: options.locale, design: options.design };
  const emit = (event: OnboardingEvent) => {
    if (destroyed) return;
    try {
      options.onEvent?.(event);
    } catch (e) {
      // The portal's handler failing must not stop the session.
      setTimeout(() => {
        throw e;
      });
    }
  };

  const frame = document.createElement("iframe");
  frame.src = new URL(options.appUrl).href;
  frame.title = options.title ?? "Microsoft 365 organizations";
  frame.setAttribute("sandbox", SANDBOX);
  frame.setAttribute("allow", ALLOW);
  frame.style.cssText = "display:block;width:100%;border:0;height:600px";
  element.appendChild(frame);

  let token: string | null = null;
  let times: Times | null = null;
  // The app has announced itself (its `ready`): a session posted before would be lost.
  let listening = false;
  let ready = false;
  let destroyed = false;
  // Failed fetches in a row: retried with growing waits while the current token lasts.
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // When the renewal is due by the wall clock: a timer does not count the time a computer sleeps.
  let dueAt: number | undefined;
  // Only the latest fetch counts: a slower earlier one never replaces a newer token.
  let fetches = 0;

  const post = () => {
    if (token !== null && listening && !destroyed) frame.contentWindow?.postMessage(sessionMessage(token, look), origin);
  };
  const failed = (code: ErrorCode, message: string) => emit({ type: "error", code, message });
  const schedule = (delay: number) => {
    timer = setTimeout(renew, delay);
    dueAt = Date.now() + delay;
  };
  // A fetch that failed: reported once, then tried again with growing waits (5 s to 1 min) while
  // the token the app has is still valid, never in a tight loop and never after it ended.
  const fetchFailed = (code: ErrorCode, message: string) => {
    failures += 1;
    if (failures === 1) failed(code, message);
    const delay = times === null ? null : retryDelay(failures, times, Date.now());
    if (delay !== null) schedule(delay);
  };
  const renew = () => {
    if (destroyed) return;
    clearTimeout(timer);
    timer = undefined;
    dueAt = undefined;
    const attempt = ++fetches;
    let pending: Promise<string>;
    try {
      pending = Promise.resolve(options.getToken());
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (next) => {
        if (destroyed || attempt !== fetches) return;
        const read = readTimes(next);
        if (read === null) {
          fetchFailed("token_unavailable", "getToken() gave something that is not a session token (a JWT with exp).");
          return;
        }
        token = next;
        times = read;
        failures = 0;
        post();
        const delay = renewalDelay(read, Date.now());
        if (delay !== null) schedule(delay);
        if (listening && !ready) {
          ready = true;
          emit({ type: "ready" });
        }
        if (delay === null) {
          failed(
            "token_expiring",
            "getToken() gave a token too close to its end to renew it in time (or this computer's clock is ahead); give a freshly signed one.",
          );
        }
      },
      (e: unknown) => {
        if (destroyed || attempt !== fetches) return;
        let why = "an error";
        try {
          why = e instanceof Error ? e.message : String(e);
        } catch {
          // An object that cannot be written as text.
        }
        fetchFailed("token_unavailable", `getToken() failed: ${why}. It is tried again while the current session lasts; renew() tries at once.`);
      },
    );
  };

  const onMessage = (ev: MessageEvent) => {
    if (ev.origin !== origin || ev.source === null || ev.source !== frame.contentWindow) return;
    const m = readInbound(ev.data);
    if (m === null) return;
    if (m.kind === "ready") {
      listening = true;
      renew();
    }
    else if (m.kind === "height") frame.style.height = `${m.height}px`;
    else emit(m.event);
  };
  window.addEventListener("message", onMessage);
  // Back from sleep or from a hidden tab with the renewal overdue: renew now.
  const onVisible = () => {
    if (!document.hidden && dueAt !== undefined && Date.now() >= dueAt) renew();
  };
  document.addEventListener("visibilitychange", onVisible);

  return {
    get iframe() {
      return destroyed ? null : frame;
    },
    setTheme(theme) {
      checkTheme(theme);
      look.theme = theme;
      post();
    },
    setLocale(locale) {
      checkLocale(locale);
      look.locale = locale;
      post();
    },
    setDesign(design) {
      checkDesign(design);
      look.design = design;
      post();
    },
    renew,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      clearTimeout(timer);
      timer = undefined;
      window.removeEventListener("message", onMessage);
      document.removeEventListener("visibilitychange", onVisible);
      frame.remove();
    },
  };
}
