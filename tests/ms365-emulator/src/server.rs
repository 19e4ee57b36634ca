//! Start-up: the route table, the listener (plain HTTP, or HTTPS with rustls), and the first stdout line
//! tests wait for (`listening on http(s)://HOST:PORT`).

use std::io::Write as _;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::cli::Options;
use crate::fixture::Fixture;
use crate::state::{Config, Emulator};

/// The one route table.
pub fn router(emu: Arc<Emulator>) -> Router {
    Router::new()
        .merge(crate::control::routes())
        .merge(crate::signin::routes())
        .merge(crate::graph::routes())
        .merge(crate::sharepoint::routes())
        .merge(crate::identity::routes())
        .merge(crate::partner::consent::routes())
        .layer(from_fn_with_state(emu.clone(), crate::log::observe))
        .with_state(emu)
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<rustls::ServerConfig, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Runs the emulator until the process is stopped.
pub async fn run(opts: Options) -> Result<(), String> {
    let fixture = match &opts.fixture {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Fixture::builtin(),
    };
    let tls = match &opts.tls {
        Some((c, k)) => Some(tls_config(c, k)?),
        None => None,
    };
    let listener =
        TcpListener::bind(opts.listen).await.map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listen_url = format!("{scheme}://{addr}");
    let config = Config {
        public_base: opts.public_base_url.clone().unwrap_or_else(|| listen_url.clone()),
        device_code_expires_in: opts.device_code_expires_in,
        device_code_interval: opts.device_code_interval,
        allow_assertion_replay: opts.allow_assertion_replay,
    };
    let emu = Arc::new(Emulator::new(config, &fixture)?);
    let app = router(emu);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {listen_url}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    }
    match tls {
        None => axum::serve(listener, app).await.map_err(|e| e.to_string()),
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            loop {
                let (tcp, _) = match listener.accept().await {
                    Ok(c) => c,
                    Err(_) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let service = TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}
