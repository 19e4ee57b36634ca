//! `engine-client keygen --kid ID --account ACCOUNT --out FILE`: a new engine key (PKCS#8 in FILE,
//! keep it secret); prints its `ENGINE_KEYS` entry.
//! `engine-client run --kid ID --key FILE --account ACCOUNT [--edge URL] [--microsoft URL]`: lists the
//! account's organizations and uses their tokens (see the library's docs).

use engine_client::{run, Config, Key};
use std::process::ExitCode;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let need = |name: &str| arg(&args, name).ok_or_else(|| format!("{name} is required"));
    let outcome = match args.first().map(String::as_str) {
        Some("keygen") => (|| {
            let (der, key) = Key::generate(&need("--kid")?)?;
            std::fs::write(need("--out")?, der).map_err(|e| e.to_string())?;
            println!("{}", serde_json::Value::Array(vec![key.public_jwk(&[need("--account")?])]));
            Ok(())
        })(),
        Some("run") => (|| {
            let der = std::fs::read(need("--key")?).map_err(|e| format!("--key: {e}"))?;
            let key = Key::from_pkcs8(&need("--kid")?, &der)?;
            let config = Config {
                edge: arg(&args, "--edge").unwrap_or_else(|| "http://127.0.0.1:8787".into()),
                account: need("--account")?,
                microsoft_base: arg(&args, "--microsoft"),
            };
            let reports = run(&config, &key)?;
            if reports.is_empty() {
                println!("No organizations for account {} yet: add one in the app first.", config.account);
            }
            for r in reports {
                println!("{}: {} user(s)", r.name, r.users);
                match r.mailbox_folders {
                    Ok(f) => println!("  mailbox folders: {}", f.join(", ")),
                    Err(e) => println!("  mailbox folders: not read ({e})"),
                }
                match r.sharepoint_title {
                    Ok(t) => println!("  SharePoint root site: {t}"),
                    Err(e) => println!("  SharePoint root site: not read ({e})"),
                }
            }
            Ok(())
        })(),
        _ => Err("usage: engine-client keygen --kid ID --account ACCOUNT --out FILE | run --kid ID --key FILE --account ACCOUNT [--edge URL] [--microsoft URL]".to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("engine-client: {e}");
            ExitCode::FAILURE
        }
    }
}
