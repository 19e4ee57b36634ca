"""Microsoft's own client library (MSAL for Python) against the emulator.

Driven by msal.rs: argv = base URL, CA file, registered cert PEM, its key PEM, an unregistered cert PEM,
its key PEM. Exits non-zero with a message on the first expectation that fails.
"""
import base64
import hashlib
import sys

import msal
import requests

BASE, CA, CERT, KEY, OTHER_CERT, OTHER_KEY = sys.argv[1:7]
TENANT = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60"
PUBLIC_CLIENT = "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d01"
GRAPH = "https://graph.microsoft.com"
AUTHORITY = f"{BASE}/{TENANT}"


def expect(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def graph(method, path, token, body=None):
    r = requests.request(method, f"{BASE}/v1.0{path}", json=body, verify=CA,
                         headers={"Authorization": f"Bearer {token}"})
    return r.status_code, (r.json() if r.content else None)


def read(path):
    with open(path) as f:
        return f.read()


# (a) Device code sign-in as a public client, approved through the control API.
app = msal.PublicClientApplication(PUBLIC_CLIENT, authority=AUTHORITY, validate_authority=False,
                                   instance_discovery=False, verify=CA)
scopes = [f"{GRAPH}/Application.ReadWrite.All", f"{GRAPH}/AppRoleAssignment.ReadWrite.All",
          f"{GRAPH}/Organization.Read.All"]
flow = app.initiate_device_flow(scopes=scopes)
expect("user_code" in flow and len(flow["user_code"]) == 9, f"device flow started: {flow.get('message')}")
expect(flow["verification_uri"] == f"{BASE}/devicelogin", "verification_uri is the emulator's page")
r = requests.post(f"{BASE}/_emulator/device/approve", verify=CA,
                  json={"user_code": flow["user_code"], "user": "admin@contoso.onmicrosoft.com"})
expect(r.status_code == 200, f"approved through the control API ({r.status_code} {r.text})")
result = app.acquire_token_by_device_flow(flow)
expect("access_token" in result, f"device flow token: {result.get('error_description', 'ok')}")
expect(result.get("id_token_claims", {}).get("preferred_username") == "admin@contoso.onmicrosoft.com",
       "MSAL read the ID token")
expect(len(app.get_accounts()) == 1, "MSAL cached the account")
silent = app.acquire_token_silent(scopes, account=app.get_accounts()[0], force_refresh=True)
expect(silent and "access_token" in silent, "refresh token redeemed by acquire_token_silent")
admin = result["access_token"]

# Register an application with a secret and a certificate, and grant it Organization.Read.All.
status, created = graph("POST", "/applications", admin, {"displayName": "MSAL check", "signInAudience": "AzureADMyOrg"})
expect(status == 201, f"application created ({status})")
app_object, client_id = created["id"], created["appId"]
status, _ = graph("POST", "/servicePrincipals", admin, {"appId": client_id})
expect(status == 201, "service principal created")
status, sp = graph("GET", f"/servicePrincipals?$filter=appId eq '{client_id}'", admin)
sp_id = sp["value"][0]["id"]
status, pw = graph("POST", f"/applications/{app_object}/addPassword", admin, {"passwordCredential": {"displayName": "msal"}})
expect(status == 200 and pw["secretText"], "secret added")
secret = pw["secretText"]
der = base64.b64decode("".join(l for l in read(CERT).splitlines() if "-----" not in l))
status, _ = graph("PATCH", f"/applications/{app_object}", admin, {"keyCredentials": [
    {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(der).decode(), "displayName": "CN=backup"}]})
expect(status == 204, "certificate registered")
status, res = graph("GET", f"/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'&$select=id,appRoles", admin)
graph_sp = res["value"][0]
role = next(r for r in graph_sp["appRoles"] if r["value"] == "Organization.Read.All")
status, _ = graph("POST", f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo", admin,
                  {"principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": role["id"]})
expect(status == 201, "Organization.Read.All granted")


def confidential(credential):
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=AUTHORITY,
                                              validate_authority=False, instance_discovery=False, verify=CA)


# (b) Application tokens with a secret, a certificate by SHA-1 thumbprint, and by public certificate.
r = confidential(secret).acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
expect("access_token" in r, f"app token with a secret: {r.get('error_description', 'ok')}")
status, org = graph("GET", "/organization", r["access_token"])
expect(status == 200 and org["value"][0]["displayName"] == "Contoso", "the app token reads /organization")

thumb = hashlib.sha1(der).hexdigest()
r = confidential({"private_key": read(KEY), "thumbprint": thumb}).acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
expect("access_token" in r, f"app token with a certificate (RS256, x5t): {r.get('error_description', 'ok')}")

r = confidential({"private_key": read(KEY), "public_certificate": read(CERT)}).acquire_token_for_client(
    scopes=[f"{GRAPH}/.default"])
expect("access_token" in r, f"app token with a certificate (public_certificate form): {r.get('error_description', 'ok')}")

# (c) Wrong secret and wrong certificate are refused as Microsoft refuses them.
r = confidential("not-the-secret").acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
expect(r.get("error") == "invalid_client" and 7000215 in r.get("error_codes", []), f"wrong secret refused: {r.get('error_codes')}")
other_der = base64.b64decode("".join(l for l in read(OTHER_CERT).splitlines() if "-----" not in l))
r = confidential({"private_key": read(OTHER_KEY), "thumbprint": hashlib.sha1(other_der).hexdigest()}).acquire_token_for_client(
    scopes=[f"{GRAPH}/.default"])
expect(r.get("error") == "invalid_client" and 700027 in r.get("error_codes", []), f"unregistered certificate refused: {r.get('error_codes')}")
# The registered thumbprint with the wrong key: a bad signature.
r = confidential({"private_key": read(OTHER_KEY), "thumbprint": thumb}).acquire_token_for_client(scopes=[f"{GRAPH}/.default"])
expect(r.get("error") == "invalid_client" and 700027 in r.get("error_codes", []), f"bad signature refused: {r.get('error_codes')}")

# (d) The authorization code flow with PKCE (the product's Credential method), MSAL driving it and the
# emulator's sign-in pages answered over HTTP as a browser would post them.
import re
from urllib.parse import urlparse, parse_qs

REDIRECT = "http://127.0.0.1:8787/api/signin/callback"
auth = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT, prompt="select_account")
expect("code_challenge=" in auth["auth_uri"] and "code_challenge_method=S256" in auth["auth_uri"],
       "MSAL asks for PKCE S256")
s = requests.Session()
s.verify = CA
page = s.get(auth["auth_uri"]).text


def flow_of(html):
    m = re.search(r'name="flow" value="([^"]+)"', html)
    expect(m is not None, "the sign-in page carries its flow")
    return m.group(1)


page = s.post(f"{BASE}/login/account", data={"flow": flow_of(page), "loginfmt": "admin@contoso.onmicrosoft.com"}).text
page = s.post(f"{BASE}/login/password", data={"flow": flow_of(page), "passwd": "Passw0rd!"}).text
consent = s.post(f"{BASE}/login/consent", data={"flow": flow_of(page), "action": "accept"}, allow_redirects=False)
expect(consent.status_code in (302, 303), f"consent redirects back ({consent.status_code})")
location = consent.headers["Location"]
expect(location.startswith(REDIRECT + "?"), f"to the registered redirect URI: {location[:60]}")
answer = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
expect(answer.get("state") == auth["state"], "the state comes back unchanged")
result = app.acquire_token_by_auth_code_flow(auth, answer)
expect("access_token" in result, f"code redeemed with the verifier: {result.get('error_description', 'ok')}")
status, org = graph("GET", "/organization", result["access_token"])
expect(status == 200, "the delegated token reads /organization")
# The same code again: refused as Microsoft refuses a redeemed code.
again = requests.post(f"{AUTHORITY}/oauth2/v2.0/token", verify=CA, data={
    "grant_type": "authorization_code", "client_id": PUBLIC_CLIENT, "code": answer["code"],
    "redirect_uri": REDIRECT, "code_verifier": auth["code_verifier"], "scope": " ".join(scopes)}).json()
expect(again.get("error") == "invalid_grant" and 54005 in again.get("error_codes", []),
       f"a replayed code is refused: {again.get('error_codes')}")
# A wrong verifier: refused.
auth2 = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT)
page = s.get(auth2["auth_uri"]).text
page = s.post(f"{BASE}/login/account", data={"flow": flow_of(page), "loginfmt": "admin@contoso.onmicrosoft.com"}).text
page = s.post(f"{BASE}/login/password", data={"flow": flow_of(page), "passwd": "Passw0rd!"}).text
consent = s.post(f"{BASE}/login/consent", data={"flow": flow_of(page), "action": "accept"}, allow_redirects=False)
code2 = parse_qs(urlparse(consent.headers["Location"]).query)["code"][0]
bad = requests.post(f"{AUTHORITY}/oauth2/v2.0/token", verify=CA, data={
    "grant_type": "authorization_code", "client_id": PUBLIC_CLIENT, "code": code2,
    "redirect_uri": REDIRECT, "code_verifier": "x" * 43, "scope": " ".join(scopes)}).json()
expect(bad.get("error") == "invalid_grant" and 501481 in bad.get("error_codes", []),
       f"a wrong verifier is refused: {bad.get('error_codes')}")
print("ALL OK")
