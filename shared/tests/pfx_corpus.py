#!/usr/bin/env python3
"""Writes the .pfx test corpus into the folder given as argv[1], plus manifest.json.

Each file is made the way a real tool makes it (OpenSSL 3 defaults, OpenSSL 1.x legacy, Windows /
PowerShell TripleDES-SHA1 and AES256-SHA256 exports, an Azure Key Vault style password-less
download with its chain), or is a refusal case. Thumbprints in the manifest come from `openssl x509
-fingerprint`, so the Rust parser is checked against OpenSSL, not against itself.
"""
import datetime as dt
import json
import os
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
now = dt.datetime.now(dt.timezone.utc)
PASSWORD = "Corpus-Passw0rd!"
manifest = []


def path(name):
    return os.path.join(out, name)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso")])


def cert(subject_key, cn, issuer_key=None, issuer_cn=None, before=-1, after=365, ca=False):
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(issuer_cn or cn))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=before))
        .not_valid_after(now + dt.timedelta(days=after))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


def write_pem(fname, key=None, crt=None):
    with open(path(fname), "wb") as f:
        if key is not None:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        if crt is not None:
            f.write(crt.public_bytes(serialization.Encoding.PEM))


def fingerprint(pem, alg):
    text = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-" + alg, "-in", path(pem)], check=True, capture_output=True, text=True).stdout
    return text.strip().split("=", 1)[1].replace(":", "").upper()


def openssl_export(fname, key_pem, cert_pem, password, *extra, chain=None):
    args = ["openssl", "pkcs12", "-export", "-inkey", path(key_pem), "-in", path(cert_pem), "-passout", "pass:" + password, "-out", path(fname), *extra]
    if chain:
        args += ["-certfile", path(chain)]
    subprocess.run(args, check=True, capture_output=True)


def add(fname, password, expect, cert_pem=None, key_bits=None):
    entry = {"file": fname, "password": password, "expect": expect}
    if cert_pem:
        entry["sha1"] = fingerprint(cert_pem, "sha1")
        entry["sha256"] = fingerprint(cert_pem, "sha256")
        entry["key_bits"] = key_bits
    manifest.append(entry)


ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ca = cert(ca_key, "Contoso Issuing CA", ca=True)
write_pem("ca.pem", crt=ca)
leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
leaf = cert(leaf_key, "m365-backup.contoso.com", ca_key, "Contoso Issuing CA")
write_pem("leaf.pem", crt=leaf)
write_pem("leaf-key.pem", key=leaf_key)
self_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
self_signed = cert(self_key, "M365 Backup App")
write_pem("self.pem", crt=self_signed)
write_pem("self-key.pem", key=self_key)

# Accepted formats.
openssl_export("openssl3-default.pfx", "self-key.pem", "self.pem", PASSWORD)
add("openssl3-default.pfx", PASSWORD, "ok", "self.pem", 3072)
openssl_export("openssl1-legacy-rc2.pfx", "self-key.pem", "self.pem", PASSWORD, "-legacy")
add("openssl1-legacy-rc2.pfx", PASSWORD, "ok", "self.pem", 3072)
openssl_export("windows-3des-sha1.pfx", "leaf-key.pem", "leaf.pem", PASSWORD, "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1", "-iter", "2000", chain="ca.pem")
add("windows-3des-sha1.pfx", PASSWORD, "ok", "leaf.pem", 2048)
openssl_export("powershell-aes256-sha256.pfx", "leaf-key.pem", "leaf.pem", PASSWORD, "-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256", "-iter", "2000")
add("powershell-aes256-sha256.pfx", PASSWORD, "ok", "leaf.pem", 2048)
openssl_export("keyvault-chain-no-password.pfx", "leaf-key.pem", "leaf.pem", "", chain="ca.pem")
add("keyvault-chain-no-password.pfx", "", "ok", "leaf.pem", 2048)
# The chain listed before the leaf: the leaf is the certificate that matches the key.
with open(path("ca-then-leaf.pem"), "wb") as f:
    f.write(ca.public_bytes(serialization.Encoding.PEM) + leaf.public_bytes(serialization.Encoding.PEM))
p12 = pkcs12.serialize_key_and_certificates(b"backup", leaf_key, leaf, [ca], serialization.BestAvailableEncryption(PASSWORD.encode()))
with open(path("python-chain.pfx"), "wb") as f:
    f.write(p12)
add("python-chain.pfx", PASSWORD, "ok", "leaf.pem", 2048)

# Refusals.
add("openssl3-default.pfx", "wrong password", "certificate_wrong_password")
with open(path("cert.pem"), "wb") as f:
    f.write(self_signed.public_bytes(serialization.Encoding.PEM))
add("cert.pem", PASSWORD, "certificate_not_pfx:PEM")
with open(path("cert.cer"), "wb") as f:
    f.write(self_signed.public_bytes(serialization.Encoding.DER))
add("cert.cer", PASSWORD, "certificate_not_pfx:DER certificate")
subprocess.run(["openssl", "pkcs12", "-export", "-nokeys", "-in", path("self.pem"), "-passout", "pass:" + PASSWORD, "-out", path("no-key.pfx")], check=True, capture_output=True)
add("no-key.pfx", PASSWORD, "certificate_no_private_key")

ec_key = ec.generate_private_key(ec.SECP256R1())
write_pem("ec-key.pem", key=ec_key, crt=None)
write_pem("ec.pem", crt=cert(ec_key, "EC cert"))
openssl_export("ec-key.pfx", "ec-key.pem", "ec.pem", PASSWORD)
add("ec-key.pfx", PASSWORD, "certificate_unsupported_key")

small_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
write_pem("rsa1024-key.pem", key=small_key)
write_pem("rsa1024.pem", crt=cert(small_key, "Small key"))
openssl_export("rsa1024.pfx", "rsa1024-key.pem", "rsa1024.pem", PASSWORD)
add("rsa1024.pfx", PASSWORD, "certificate_unsupported_key")

write_pem("expired.pem", crt=cert(leaf_key, "Expired", before=-400, after=-35))
openssl_export("expired.pfx", "leaf-key.pem", "expired.pem", PASSWORD)
add("expired.pfx", PASSWORD, "certificate_expired")
write_pem("future.pem", crt=cert(leaf_key, "Future", before=30, after=400))
openssl_export("not-yet-valid.pfx", "leaf-key.pem", "future.pem", PASSWORD)
add("not-yet-valid.pfx", PASSWORD, "certificate_not_yet_valid")

# A hostile file: the MAC's iteration count patched from 65536 to 8388607 (same DER length).
openssl_export("costly-base.pfx", "leaf-key.pem", "leaf.pem", PASSWORD, "-iter", "65536")
data = open(path("costly-base.pfx"), "rb").read()
needle = bytes([0x02, 0x03, 0x01, 0x00, 0x00])
at = data.rfind(needle)
assert at > 0, "MAC iteration count not found"
open(path("too-costly.pfx"), "wb").write(data[:at] + bytes([0x02, 0x03, 0x7F, 0xFF, 0xFF]) + data[at + 5:])
add("too-costly.pfx", PASSWORD, "certificate_too_costly")

# The worst file the work cap still accepts, and one iteration more (both not in the manifest:
# `the_work_cap_is_exact` opens them, and `make bench` times the first). With -iter N, OpenSSL uses N
# for the MAC (N units), the shrouded key (2N) and the encrypted certificate safe (2N, counted twice
# because the parser decrypts it once before the library does): 7N, against the cap of 400,000.
for fname, n in (("at-work-cap.pfx", 400_000 // 7), ("over-work-cap.pfx", 400_000 // 7 + 1)):
    openssl_export(fname, "leaf-key.pem", "leaf.pem", PASSWORD, "-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256", "-iter", str(n))

open(path("truncated.pfx"), "wb").write(data[: len(data) // 2])
add("truncated.pfx", PASSWORD, "certificate_corrupt")
open(path("too-large.pfx"), "wb").write(b"\x30\x84" + os.urandom(70 * 1024))
add("too-large.pfx", PASSWORD, "certificate_too_large")
open(path("random.bin"), "wb").write(os.urandom(512))
add("random.bin", PASSWORD, "certificate_not_pfx")

with open(path("manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
