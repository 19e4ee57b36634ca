//! Command-line options. Parsed by hand (a dozen flags do not justify a dependency); both `--flag value`
//! and `--flag=value` are accepted.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The usage text.
pub const USAGE: &str = "\
ms365-emulator: a local emulator of Microsoft Entra ID (v2.0 endpoints) and Microsoft Graph v1.0

USAGE:
    ms365-emulator --listen 127.0.0.1:PORT [OPTIONS]

OPTIONS:
    --listen ADDR                    Address to listen on (port 0 picks a free port). Default 127.0.0.1:0
    --tls-cert FILE --tls-key FILE   Serve HTTPS with this PEM certificate chain and private key
    --public-base-url URL            Base URL used inside responses (verification_uri, issuer, endpoints);
                                     default: the listen URL
    --fixture FILE                   Load this fixture (JSON) instead of the built-in one
    --device-code-expires-in SECS    expires_in of device codes (default 900)
    --device-code-interval SECS      interval of device codes (default 5)
    --allow-assertion-replay         Accept a client assertion whose jti was already used
    --print-default-fixture          Print the built-in fixture and exit
    -h, --help                       Show this help

The first line on stdout is `listening on http(s)://HOST:PORT`.";

/// Parsed options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// TLS certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Base URL for responses.
    pub public_base_url: Option<String>,
    /// Fixture file.
    pub fixture: Option<PathBuf>,
    /// Device code lifetime, seconds.
    pub device_code_expires_in: u64,
    /// Device code polling interval, seconds.
    pub device_code_interval: u64,
    /// Accept replayed assertions.
    pub allow_assertion_replay: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the emulator.
    Run(Options),
    /// Print the built-in fixture.
    PrintFixture,
    /// Print the usage.
    Help,
}

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let (mut cert, mut key, mut base, mut fixture) = (None, None, None, None);
    let (mut expires, mut interval, mut replay) = (900u64, 5u64, false);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--print-default-fixture" => return Ok(Command::PrintFixture),
            "--listen" => {
                let v = value("--listen")?;
                listen = v.parse().map_err(|_| format!("--listen: '{v}' is not an address like 127.0.0.1:8790"))?;
            }
            "--tls-cert" => cert = Some(PathBuf::from(value("--tls-cert")?)),
            "--tls-key" => key = Some(PathBuf::from(value("--tls-key")?)),
            "--public-base-url" => {
                let v = value("--public-base-url")?;
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(format!("--public-base-url: '{v}' must start with http:// or https://"));
                }
                base = Some(v.trim_end_matches('/').to_string());
            }
            "--fixture" => fixture = Some(PathBuf::from(value("--fixture")?)),
            "--device-code-expires-in" => {
                let v = value("--device-code-expires-in")?;
                expires = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--device-code-expires-in: '{v}' is not a positive number"))?;
            }
            "--device-code-interval" => {
                let v = value("--device-code-interval")?;
                interval = v.parse().map_err(|_| format!("--device-code-interval: '{v}' is not a number"))?;
            }
            "--allow-assertion-replay" => replay = true,
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(Command::Run(Options {
        listen,
        tls,
        public_base_url: base,
        fixture,
        device_code_expires_in: expires,
        device_code_interval: interval,
        allow_assertion_replay: replay,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags_parse_in_both_forms() {
        let Ok(Command::Run(o)) = parse(args("--listen=127.0.0.1:0 --device-code-interval 1 --tls-cert c --tls-key k"))
        else {
            panic!("should parse")
        };
        assert_eq!(o.device_code_interval, 1);
        assert!(o.tls.is_some());
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse(args("--listen nowhere")).is_err());
        assert!(parse(args("--tls-cert c")).is_err());
        assert!(parse(args("--frobnicate")).is_err());
        assert!(parse(args("--listen")).is_err());
        assert!(parse(args("--public-base-url ftp://x")).is_err());
    }
}
