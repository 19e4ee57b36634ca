#!/usr/bin/env python3
"""`make dev`'s demo portal, and the webhook receiver of the whole-system tests.

GET /            tests/portal/demo-portal.html: the app embedded with the embed library (APP_URL's
                 /embed/v1.js, with the built file's integrity hash).
POST /session-token
                 the library's getToken(): a fresh dev session token for 15 minutes (signed with
                 edge/.dev.vars' secret, as a portal's backend would), as {"token": ...}.
POST /webhooks   the product's signed notifications: verified as the README's "Webhooks" section
                 documents (HMAC-SHA256 with PORTAL_WEBHOOK_SECRET over "{t}.{body}", a timestamp
                 within 5 minutes, each event ID handled once). 400 when the signature does not
                 verify, 200 otherwise.
GET /webhooks    the events received and verified, and how many deliveries were refused (JSON).

Usage: demo-portal.py PORT APP_URL. Environment: PORTAL_WEBHOOK_SECRET (webhooks are refused
without it); DEMO_PORTAL_FAIL_FIRST=N answers 503 to the first N deliveries (to see retries)."""
import base64, hashlib, hmac, http.server, json, os, pathlib, subprocess, sys, threading, time

port, app_url = int(sys.argv[1]), sys.argv[2]
root = pathlib.Path(__file__).resolve().parent.parent
template = (root / "tests" / "portal" / "demo-portal.html").read_text()
secret = os.environ.get("PORTAL_WEBHOOK_SECRET", "").encode()
TOLERANCE = 300

lock = threading.Lock()
events, seen = [], set()
counts = {"refused": 0, "duplicates": 0, "failed_on_purpose": 0}
fail_first = int(os.environ.get("DEMO_PORTAL_FAIL_FIRST", "0"))


def verify(header, body, now):
    """None if the delivery is authentic and fresh, else why not."""
    if not secret:
        return "no PORTAL_WEBHOOK_SECRET is configured"
    parts = [p.strip().split("=", 1) for p in (header or "").split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    signatures = [v for k, v in parts if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return "malformed signature header"
    t = int(stamps[0])
    if abs(now - t) > TOLERANCE:
        return "timestamp outside the tolerance"
    expected = hmac.new(secret, stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        return "signature mismatch"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, payload, content_type="application/json"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/webhooks":
            with lock:
                self.reply(200, {"events": list(events), **counts})
            return
        if self.path.split("?")[0] not in ("/", "/index.html"):
            self.send_error(404)
            return
        script = root / "frontend" / "dist" / "embed" / "v1.js"
        integrity = "sha384-" + base64.b64encode(hashlib.sha384(script.read_bytes()).digest()).decode() \
            if script.exists() else ""
        body = template.replace("{{APP_URL}}", app_url).replace("{{EMBED_INTEGRITY}}", integrity).encode()
        self.reply(200, body, "text/html; charset=utf-8")

    def do_POST(self):
        global fail_first
        if self.path == "/session-token":
            token = subprocess.run([str(root / "scripts" / "dev-token.py"), "demo-portal-account", "900"],
                                   check=True, capture_output=True, text=True).stdout.strip()
            self.reply(200, {"token": token})
            return
        if self.path != "/webhooks":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            if fail_first > 0:
                fail_first -= 1
                counts["failed_on_purpose"] += 1
                self.reply(503, {"error": "failing on purpose (DEMO_PORTAL_FAIL_FIRST)"})
                return
            why = verify(self.headers.get("M365-Signature"), body, int(time.time()))
            if why:
                counts["refused"] += 1
                self.reply(400, {"error": why})
                return
            event = json.loads(body)
            if event["id"] in seen or self.headers.get("M365-Event-Id") != event["id"]:
                counts["duplicates"] += event["id"] in seen
                self.reply(200, {"duplicate": True})
                return
            seen.add(event["id"])
            events.append(event)
        self.reply(200, {"received": event["id"]})

    def log_message(self, *args):
        pass  # the page carries a token: keep it out of logs


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
