//! Microsoft's own client library against the emulator: MSAL for Python completes a device code sign-in,
//! gets application tokens with a secret and with a certificate, and is refused a wrong secret and a
//! wrong certificate. MSAL accepts only https authorities, so the emulator runs with a certificate from
//! a throw-away CA made here with `openssl`.

mod common;

use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn python_has_msal() -> bool {
    Command::new("python3").args(["-c", "import msal, requests"]).status().is_ok_and(|s| s.success())
}

#[test]
fn msal_python_signs_in_and_gets_app_tokens() {
    assert!(python_has_msal(), "this test needs python3 with msal (pip install msal)");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=emulator test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n",
    )
    .expect("write ext");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    for name in ["client", "other"] {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-subj",
                "/CN=backup",
            ],
        );
    }
    let p = |f: &str| d.join(f).to_string_lossy().into_owned();
    let emu = common::Emulator::start(&[
        "--tls-cert",
        &p("server.pem"),
        "--tls-key",
        &p("server.key"),
        "--device-code-interval",
        "1",
    ]);
    assert!(emu.base.starts_with("https://"), "{}", emu.base);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/msal_check.py");
    let out = Command::new("python3")
        // requests lets REQUESTS_CA_BUNDLE override a Session's `verify` (MSAL's `verify=`), so point it
        // at the test CA too.
        .env("REQUESTS_CA_BUNDLE", p("ca.pem"))
        .env_remove("CURL_CA_BUNDLE")
        .arg(script)
        .args([&emu.base, &p("ca.pem"), &p("client.pem"), &p("client.key"), &p("other.pem"), &p("other.key")])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("ALL OK"),
        "MSAL check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
