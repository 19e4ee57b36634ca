#!/usr/bin/env python3
"""Prints a portal session token (HS256) signed with the secret in edge/.dev.vars: what a portal
does for its admin. Usage: dev-token.py [ACCOUNT] [SECONDS]"""
import base64, hashlib, hmac, json, pathlib, sys, time

vars_file = pathlib.Path(__file__).resolve().parent.parent / "edge" / ".dev.vars"
secret = None
for line in vars_file.read_text().splitlines():
    if line.startswith("PORTAL_SESSION_SECRET="):
        secret = line.split("=", 1)[1].strip().strip('"')
if not secret:
    sys.exit("no PORTAL_SESSION_SECRET in edge/.dev.vars")
account = sys.argv[1] if len(sys.argv) > 1 else "dev-account"
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3600
now = int(time.time())
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"iss": "http://localhost/dev-portal", "aud": "m365-onboarding", "sub": "dev-admin",
                         "acct": account, "iat": now, "exp": now + seconds}).encode())
sig = b64(hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest())
print(f"{header}.{claims}.{sig}")
