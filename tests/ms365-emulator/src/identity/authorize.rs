//! `GET /{tenant}/oauth2/v2.0/authorize`: the start of the authorization code flow (with PKCE).
//!
//! Like Microsoft, problems that make the redirect URI untrustworthy (unknown client, unregistered
//! `redirect_uri`, bad tenant) are shown as an error page; the others are sent back to the redirect URI
//! as `error`/`error_description`/`state`. A valid request opens a sign-in flow on the same account,
//! password and consent pages as the device code flow ([`crate::signin`]); consent ends in a redirect with
//! `code` and `state`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::response::Response;

use super::errors::OAuthError;
use super::{find_client, resolve_tenant, scopes_or_error, Client};
use crate::log::LogInfo;
use crate::signin;
use crate::state::{AuthorizeRequest, Emulator, FlowKind};
use crate::util::{form_get, now_ms, parse_form};

/// The platform a redirect URI is registered under (an application's `publicClient`, `spa` and
/// `web` in Graph; "Mobile and desktop applications", "Single-page application" and "Web" in the
/// Microsoft Entra admin center). It decides how the code may be redeemed (see the token endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Mobile and desktop applications: redeemed by a public client without a secret.
    PublicClient,
    /// Single-page application: redeemed only cross-origin (with an `Origin` header).
    Spa,
    /// Web: redeemed only with the client's secret or certificate.
    Web,
}

/// The platform `uri` is registered under for `client`, if it is registered. URIs are compared
/// exactly (case-sensitive), except that the port of an `http://127.0.0.1` or `http://localhost`
/// URI is ignored; the host is not (Learn: "Redirect URI (reply URL) outline and restrictions",
/// localhost exceptions). Where a URI is registered under several platforms, the first of
/// `publicClient`, `spa`, `web` is taken (Microsoft picks one arbitrarily).
pub fn registered_platform(client: &Client, uri: &str) -> Option<Platform> {
    let lists: Vec<(Platform, Vec<String>)> = match client {
        Client::Public(p) => vec![
            (Platform::PublicClient, p.redirect_uris.clone()),
            (Platform::Spa, p.spa_redirect_uris.clone()),
            (Platform::Web, p.web_redirect_uris.clone()),
        ],
        Client::App(app) => [("publicClient", Platform::PublicClient), ("spa", Platform::Spa), ("web", Platform::Web)]
            .into_iter()
            .map(|(key, platform)| {
                let list = app
                    .properties
                    .get(key)
                    .and_then(|v| v.get("redirectUris"))
                    .and_then(|v| v.as_array())
                    .map(|l| l.iter().filter_map(|r| r.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                (platform, list)
            })
            .collect(),
    };
    let wanted = without_loopback_port(uri);
    lists
        .iter()
        .find_map(|(platform, list)| list.iter().any(|r| without_loopback_port(r) == wanted).then_some(*platform))
}

/// `uri` without its port when its host is `127.0.0.1` or `localhost` over `http`; else `uri`.
fn without_loopback_port(uri: &str) -> String {
    for host in ["http://127.0.0.1", "http://localhost"] {
        let Some(rest) = uri.strip_prefix(host) else { continue };
        if let Some(after) = rest.strip_prefix(':') {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if (1..=5).contains(&digits) {
                return format!("{host}{}", &after[digits..]);
            }
        }
        break;
    }
    uri.to_string()
}

/// Builds `redirect_uri` with extra query parameters.
pub fn redirect_with(uri: &str, params: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", ser.finish())
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub async fn handle(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let now = now_ms();
    let q = parse_form(query.unwrap_or_default().as_bytes());
    let client_id = form_get(&q, "client_id").map(str::to_string);
    let resp = start(&emu, &segment, &q, now);
    LogInfo { client_id, ..LogInfo::default() }.attach(resp)
}

fn start(emu: &Emulator, segment: &str, q: &[(String, String)], now: u64) -> Response {
    let mut state = emu.lock();
    state.prune(now);
    let Some(client_id) = form_get(q, "client_id").filter(|c| !c.is_empty()) else {
        return signin::error_page(&OAuthError::missing("client_id"));
    };
    let tenant = match resolve_tenant(&state, segment) {
        Ok(t) => t,
        Err(e) => return signin::error_page(&e),
    };
    // Partner Center's permission may be asked for consent beside Graph's; the code is for Graph.
    let (token_scope, consent_partner_center) =
        crate::cloud::split_consent_only(form_get(q, "scope").unwrap_or_default());
    let scopes = match scopes_or_error(Some(&token_scope), segment) {
        Ok(s) => s,
        Err(e) => return signin::error_page(&e),
    };
    if let Err(e) = tenant.check_cloud(scopes.cloud) {
        return signin::error_page(&e);
    }
    let Some(client) = find_client(&state, scopes.cloud, &tenant, client_id) else {
        return signin::error_page(&OAuthError::unknown_client(client_id, &tenant.directory_name(segment)));
    };
    let Some(redirect_uri) = form_get(q, "redirect_uri") else {
        return signin::error_page(&OAuthError::missing("redirect_uri"));
    };
    let Some(platform) = registered_platform(&client, redirect_uri) else {
        return signin::error_page(&OAuthError::new(
            "invalid_request",
            50_011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs \
                 configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches \
                 one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError \
                 to learn more about how to fix this."
            ),
        ));
    };
    let state_param = form_get(q, "state").map(str::to_string);
    let fail = |error: &str, message: String| {
        let mut params = vec![("error", error), ("error_description", message.as_str())];
        if let Some(s) = &state_param {
            params.push(("state", s.as_str()));
        }
        signin::redirect(&redirect_with(redirect_uri, &params))
    };
    if form_get(q, "response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "AADSTS700054: response_type must be 'code' for this application.".to_string(),
        );
    }
    let plain = match form_get(q, "code_challenge_method") {
        None | Some("S256") => false,
        Some("plain") => true,
        Some(other) => {
            return fail("invalid_request", format!("AADSTS501491: Invalid code_challenge_method '{other}'."));
        }
    };
    let code_challenge = form_get(q, "code_challenge").filter(|c| !c.is_empty()).map(str::to_string);
    if code_challenge.is_none() && matches!(client, Client::Public(_)) {
        return fail(
            "invalid_request",
            "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption."
                .to_string(),
        );
    }
    let request = AuthorizeRequest {
        tenant_segment: segment.to_string(),
        cloud: scopes.cloud,
        client_id: client_id.to_ascii_lowercase(),
        redirect_uri: redirect_uri.to_string(),
        platform,
        state: state_param.clone(),
        code_challenge,
        code_challenge_plain: plain,
        scope: token_scope.clone(),
        nonce: form_get(q, "nonce").map(str::to_string),
        login_hint: form_get(q, "login_hint").map(str::to_string),
        consent_partner_center,
    };
    let hint = request.login_hint.clone();
    let flow = signin::begin(&mut state, FlowKind::Authorize(request), now);
    signin::account_page(&flow, hint.as_deref().unwrap_or(""), client.display_name(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(public: &[&str], spa: &[&str], web: &[&str]) -> Client {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Client::Public(crate::state::PublicClient {
            cloud: crate::cloud::Cloud::Global,
            client_id: "c".into(),
            display_name: "d".into(),
            redirect_uris: list(public),
            spa_redirect_uris: list(spa),
            web_redirect_uris: list(web),
        })
    }

    #[test]
    fn the_port_of_a_loopback_uri_is_ignored_and_nothing_else() {
        let c = client(&["http://127.0.0.1/api/signin/callback", "https://app.example/api/signin/callback"], &[], &[]);
        let on = |uri| registered_platform(&c, uri);
        assert_eq!(on("http://127.0.0.1:8787/api/signin/callback"), Some(Platform::PublicClient));
        assert_eq!(on("http://127.0.0.1/api/signin/callback"), Some(Platform::PublicClient));
        assert_eq!(on("https://app.example/api/signin/callback"), Some(Platform::PublicClient));
        for refused in [
            "http://localhost:8787/api/signin/callback",
            "http://127.0.0.1:8787/api/signin/callback/x",
            "http://127.0.0.1:8787/API/signin/callback",
            "http://127.0.0.1.evil.example/api/signin/callback",
            "https://127.0.0.1:8787/api/signin/callback",
            "http://127.0.0.1:/api/signin/callback",
            "https://app.example:8443/api/signin/callback",
            "https://evil.example/api/signin/callback",
        ] {
            assert_eq!(on(refused), None, "{refused}");
        }
    }

    #[test]
    fn a_uri_is_of_the_platform_it_is_registered_under() {
        let c = client(
            &["https://a.example/cb"],
            &["https://b.example/cb"],
            &["https://c.example/cb", "https://a.example/cb"],
        );
        assert_eq!(registered_platform(&c, "https://a.example/cb"), Some(Platform::PublicClient));
        assert_eq!(registered_platform(&c, "https://b.example/cb"), Some(Platform::Spa));
        assert_eq!(registered_platform(&c, "https://c.example/cb"), Some(Platform::Web));
    }

    #[test]
    fn redirect_parameters_are_encoded() {
        assert_eq!(
            redirect_with("http://x/cb", &[("code", "a b"), ("state", "s&t")]),
            "http://x/cb?code=a+b&state=s%26t"
        );
        assert_eq!(redirect_with("http://x/cb?k=v", &[("code", "c")]), "http://x/cb?k=v&code=c");
    }
}
