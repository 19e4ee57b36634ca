#!/usr/bin/env python3
"""`make dev`'s demo portal: serves tests/portal/demo-portal.html on http://localhost:PORT with a
fresh dev session token per page load (signed with edge/.dev.vars' secret, as a portal would).
Usage: demo-portal.py PORT APP_URL"""
import http.server, pathlib, subprocess, sys

port, app_url = int(sys.argv[1]), sys.argv[2]
root = pathlib.Path(__file__).resolve().parent.parent
template = (root / "tests" / "portal" / "demo-portal.html").read_text()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in ("/", "/index.html"):
            self.send_error(404)
            return
        token = subprocess.run([str(root / "scripts" / "dev-token.py"), "demo-portal-account", "3600"],
                               check=True, capture_output=True, text=True).stdout.strip()
        body = template.replace("{{APP_URL}}", app_url).replace("{{TOKEN}}", token).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # the page carries a token: keep it out of logs

http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
