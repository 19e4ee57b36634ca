//! The Credential method: the admin signs in with Microsoft in a pop-up (the authorization code flow
//! with PKCE, RFC 7636) instead of typing a password into our page.
//!
//! The sign-in's Durable Object keeps the PKCE verifier and the secret half of `state`; the browser
//! gets only the authorization URL (challenge and `state`). Microsoft sends the pop-up back to
//! `/api/signin/callback` with `code` and `state`. `state` is `{sign-in ID}.{secret}`: the ID finds the
//! Durable Object, the secret (compared in constant time) proves that the answer belongs to this
//! sign-in. A state is accepted once: the verifier is dropped when the answer arrives, so a replayed
//! answer finds nothing to redeem. Whoever holds the authorization URL can complete the sign-in, so
//! registration also waits for a [`Claim`]: proof that the answer reached the app that opened the
//! window (or, typed, its person).
//!
//! All of this is pure; randomness comes in as bytes, and the adapter does the I/O.

use crate::microsoft::identity::admin_scopes;
use crate::microsoft::urlencode;
use crate::time::Millis;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::api::ErrorDetail;
use shared::secret::{serialize_exposed, SecretString};
use shared::{CloudEndpoints, ErrorCode};

/// How long the pop-up's sign-in may take before it must be started again.
pub const WINDOW_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// Random bytes a new pop-up sign-in needs: 32 for the verifier, 32 for the state secret.
pub const RANDOM_BYTES: usize = 64;
/// Random bytes a claim needs: 32 for the handle, 8 for the confirmation code.
pub const CLAIM_RANDOM_BYTES: usize = 40;
/// How long a redemption may be under way before the sign-in counts as failed (a request cut off
/// mid-redemption must not leave the sign-in waiting for ever).
pub const REDEEM_WINDOW_MS: i64 = 60 * 1000;
/// Wrong confirmation codes accepted before the sign-in is ended.
pub const MAX_CLAIM_ATTEMPTS: u8 = 5;
/// The confirmation code's alphabet: Crockford's base32 (no I, L, O, U; typed O, I and L are read
/// as 0, 1 and 1).
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A pop-up sign-in waiting for Microsoft's answer. The verifier never leaves the Durable Object; the
/// state secret goes only to the browser of the session that owns the sign-in (inside the
/// authorization URL) and comes back through Microsoft.
#[derive(Clone, Serialize, Deserialize)]
pub struct BrowserSignIn {
    /// The secret half of `state`.
    #[serde(serialize_with = "serialize_exposed")]
    pub state_secret: SecretString,
    /// The PKCE code verifier (43 characters of base64url).
    #[serde(serialize_with = "serialize_exposed")]
    pub verifier: SecretString,
    /// The redirect URI sent (the token request must repeat it exactly).
    pub redirect_uri: String,
    /// The URL the pop-up opens.
    pub authorize_url: String,
    /// When the sign-in must be started again.
    pub expires_at: Millis,
}

/// Proof that the browser which opened the sign-in window received Microsoft's answer. The window's
/// last page posts `handle` to the app (its opener, our origin only) and shows `code` for when it
/// cannot (no opener: a window the app did not open, e.g. a phished link, or an opener cut off by
/// `Cross-Origin-Opener-Policy`). Registration starts only when the session that owns the sign-in
/// presents one of them.
#[derive(Clone, Serialize, Deserialize)]
pub struct Claim {
    /// 32 random bytes, base64url.
    #[serde(serialize_with = "serialize_exposed")]
    pub handle: SecretString,
    /// 8 characters for a person to type, shown as `XXXX-XXXX`.
    #[serde(serialize_with = "serialize_exposed")]
    pub code: SecretString,
    /// Wrong codes so far.
    pub attempts: u8,
    /// When the claim lapses.
    pub until: Millis,
    /// The digest ([`state_digest`]) of the state secret of the window that received the answer:
    /// the window the app opened proves itself with it (see [`Claim::proven_by_window`]).
    #[serde(default)]
    pub window: Option<String>,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").field("attempts", &self.attempts).field("until", &self.until).finish_non_exhaustive()
    }
}

/// Constant-time equality (in the length of `expected`).
/// What a sign-in keeps of its `state` secret after the answer was taken: a SHA-256 digest, so the
/// callback can tell a wrong secret from a right one in any state without keeping the secret.
pub fn state_digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` hashes to `digest` (constant time in the digest's length).
pub fn digest_matches(digest: &str, presented: &str) -> bool {
    same(digest, &state_digest(presented))
}

fn same(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A typed code as stored: upper case, without separators or spaces, look-alikes read as digits.
fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

impl Claim {
    /// A new claim from `random` bytes of the platform's CSPRNG.
    pub fn new(random: &[u8; CLAIM_RANDOM_BYTES], now: Millis) -> Self {
        let code: String = random[32..].iter().map(|b| CODE_ALPHABET[(b & 31) as usize] as char).collect();
        Self {
            handle: SecretString::new(URL_SAFE_NO_PAD.encode(&random[..32])),
            code: SecretString::new(code),
            attempts: 0,
            until: now + WINDOW_LIFETIME_MS,
            window: None,
        }
    }

    /// Whether the callback page of the window the app opened presents this claim: its `handle`,
    /// and the `state` (`{sign_in_id}.{secret}`) the app left in the window's `sessionStorage`
    /// before sending it to Microsoft, for sign-in `id`. A window opened from a link has no such
    /// state; the code it shows stays the only way to claim.
    pub fn proven_by_window(&self, id: &str, handle: &str, proof: &str) -> bool {
        let secret = proof.strip_prefix(id).and_then(|rest| rest.strip_prefix('.'));
        let window = self.window.as_deref().zip(secret).is_some_and(|(digest, secret)| digest_matches(digest, secret));
        // Both checked, whatever the first gives.
        let handle = same(self.handle.expose(), handle);
        window & handle
    }

    /// The code as the window shows it.
    pub fn display_code(&self) -> String {
        let c = self.code.expose();
        format!("{}-{}", &c[..4], &c[4..])
    }

    /// Whether `presented` is the handle or (typed, any case, with or without the dash) the code.
    pub fn accepts(&self, presented: &str) -> bool {
        same(self.handle.expose(), presented) || same(self.code.expose(), &normalize_code(presented))
    }
}

impl std::fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSignIn").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// `BASE64URL(SHA256(verifier))`, the `S256` code challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    let verifier = oauth2::PkceCodeVerifier::new(verifier.to_owned());
    oauth2::PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str().to_owned()
}

impl BrowserSignIn {
    /// A new pop-up sign-in for sign-in `id`, from `random` bytes of the platform's CSPRNG.
    pub fn new(
        id: &str,
        endpoints: &CloudEndpoints,
        client_id: &str,
        redirect_uri: &str,
        random: &[u8; RANDOM_BYTES],
        now: Millis,
    ) -> Self {
        Self::new_for(id, endpoints, client_id, redirect_uri, &admin_scopes(endpoints), random, now)
    }

    /// [`Self::new`] asking for `scope` (a partner's sign-in asks for its own).
    pub fn new_for(
        id: &str,
        endpoints: &CloudEndpoints,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        random: &[u8; RANDOM_BYTES],
        now: Millis,
    ) -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(&random[..32]);
        let state_secret = URL_SAFE_NO_PAD.encode(&random[32..]);
        let state = format!("{id}.{state_secret}");
        let params = [
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("response_mode", "query"),
            ("scope", scope),
            ("state", &state),
            ("code_challenge", &pkce_challenge(&verifier)),
            ("code_challenge_method", "S256"),
            ("prompt", "select_account"),
        ];
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
        Self {
            authorize_url: format!("{}?{}", endpoints.authorize_url("organizations"), query.join("&")),
            state_secret: SecretString::new(state_secret),
            verifier: SecretString::new(verifier),
            redirect_uri: redirect_uri.to_owned(),
            expires_at: now + WINDOW_LIFETIME_MS,
        }
    }

    /// Whether `presented` is this sign-in's state secret (constant time in its length).
    pub fn state_matches(&self, presented: &str) -> bool {
        same(self.state_secret.expose(), presented)
    }
}

/// The origin (`scheme://host[:port]`) of a serialized WHATWG URL, as the runtime gives it. (String
/// handling instead of the `url` crate, whose IDNA tables would add about 100 KB to the Worker.)
pub fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    (end > after_scheme).then(|| &url[..end])
}

/// The query (without `?`) of a serialized WHATWG URL; empty when there is none.
pub fn query_of(url: &str) -> &str {
    let without_fragment = &url[..url.find('#').unwrap_or(url.len())];
    without_fragment.split_once('?').map_or("", |(_, q)| q)
}

/// What Microsoft sent back to the callback.
#[derive(Debug, Default)]
pub struct CallbackQuery {
    /// The sign-in the `state` names, if it names one.
    pub sign_in_id: Option<String>,
    /// The secret half of `state`.
    pub state_secret: String,
    /// The authorization code.
    pub code: Option<SecretString>,
    /// OAuth `error`.
    pub error: Option<String>,
    /// OAuth `error_description` (`AADSTSnnnnn: ...`).
    pub error_description: Option<String>,
}

/// Reads the callback's query string. Unknown parameters are ignored; a repeated one keeps the first.
pub fn parse_callback(query: &str) -> CallbackQuery {
    let mut q = CallbackQuery::default();
    let mut state = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "state" if state.is_none() => state = Some(v.into_owned()),
            "code" if q.code.is_none() => q.code = Some(SecretString::new(v.into_owned())),
            "error" if q.error.is_none() => q.error = Some(v.into_owned()),
            "error_description" if q.error_description.is_none() => q.error_description = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some((id, secret)) = state.as_deref().and_then(|s| s.split_once('.')) {
        if crate::ids::is_id(id) {
            q.sign_in_id = Some(id.to_owned());
            q.state_secret = secret.to_owned();
        }
    }
    q
}

/// The `AADSTSnnnnn` number at the start of an `error_description`.
fn aadsts(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The error Microsoft redirected with, as the admin reads it.
pub fn redirect_error(error: &str, description: Option<&str>) -> ErrorDetail {
    let codes: Vec<u32> = description.and_then(aadsts).into_iter().collect();
    let code = match ErrorCode::from_oauth_error(error, &codes) {
        // An error we have no sentence for: the pop-up sign-in did not complete.
        ErrorCode::MicrosoftUnavailable if error != "temporarily_unavailable" && error != "server_error" => {
            ErrorCode::SignInFailed
        }
        c => c,
    };
    let mut detail = ErrorDetail::new(code);
    if let Some(n) = codes.first() {
        detail.microsoft =
            Some(shared::api::MicrosoftCorrelation { code: Some(format!("AADSTS{n}")), ..Default::default() });
    }
    detail
}

/// What the callback page tells the admin and the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOutcome {
    /// The sign-in, when the state named one (the app ignores messages about other sign-ins).
    pub sign_in_id: Option<String>,
    /// `None` when the sign-in went on; else the catalogue code.
    pub error: Option<ErrorCode>,
    /// The sentence shown.
    pub message: String,
    /// On success: the handle posted to the app and the code shown for typing.
    pub claim: Option<(String, String)>,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The script of the callback page: it removes the code from the address bar, tells the opener
/// (on this origin only) and closes the window. Without an opener (cut off by
/// `Cross-Origin-Opener-Policy`), the window the app opened still finds the `state` the app left in
/// its `sessionStorage` ([`shared::api::SIGNIN_WINDOW_STORAGE_KEY`]) and claims the answer itself
/// (`POST /api/signin/window`); a window opened from a link has none and keeps showing its code.
/// Static, so that the page's CSP can pin its hash.
pub const CALLBACK_SCRIPT: &str = "(function(){var o=document.getElementById('outcome'),d=o.dataset;\
try{history.replaceState(null,'',location.pathname)}catch(e){}\
var m={type:d.type,id:d.id||null,ok:d.ok==='true',error:d.error||null,message:o.textContent,claim:d.claim||null};\
var k='m365-onboarding:signin-window-state',p=null;\
try{p=sessionStorage.getItem(k);sessionStorage.removeItem(k)}catch(e){}\
var w=null;try{w=window.opener}catch(e){}\
if(w){try{w.postMessage(m,location.origin)}catch(e){}if(m.ok){setTimeout(function(){window.close()},300)}}\
else if(m.ok&&m.claim&&p){fetch('/api/signin/window',{method:'POST',credentials:'omit',\
headers:{'content-type':'application/json'},body:JSON.stringify({id:m.id,handle:m.claim,proof:p})})\
.then(function(r){if(r.ok){o.textContent='You are signed in, and the portal has the answer. You can close this window.';\
var h=document.getElementById('hint');if(h){h.textContent=''}setTimeout(function(){window.close()},300)}})\
.catch(function(){})}})();";

/// The style of the callback page (static, pinned by hash like the script).
pub const CALLBACK_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:40rem;line-height:1.5}\
@media (prefers-color-scheme:dark){body{background:#1b1b1b;color:#eee}}";

fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// The `Content-Security-Policy` of the callback page: nothing but its own script and style, no
/// framing, no forms, no base URL.
pub fn callback_csp() -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(CALLBACK_SCRIPT),
        csp_hash(CALLBACK_STYLE)
    )
}

/// The callback page.
pub fn callback_page(outcome: &PageOutcome) -> String {
    let (title, hint) = match (&outcome.error, &outcome.claim) {
        (None, Some((_, code))) => (
            "Signed in",
            format!(
                "This window closes by itself. If it stays open, go back to the portal and enter this confirmation \
                 code there: <strong id=\"confirmation-code\">{}</strong>. Do not give this code to anyone: it lets \
                 the backup service register applications in your organization.",
                escape_html(code)
            ),
        ),
        _ => ("The sign-in did not complete", "Close this window and go back to the portal to try again.".to_owned()),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">\
<title>{title}</title><style>{style}</style></head><body><main>\
<h1>{title}</h1><p id=\"outcome\" role=\"status\" data-type=\"{ty}\" data-id=\"{id}\" data-ok=\"{ok}\" data-error=\"{error}\" data-claim=\"{claim}\">{message}</p>\
<p id=\"hint\">{hint}</p></main><script>{script}</script></body></html>",
        ty = shared::api::SIGNIN_WINDOW_MESSAGE,
        id = escape_html(outcome.sign_in_id.as_deref().unwrap_or("")),
        ok = outcome.error.is_none(),
        error = outcome.error.map(|c| c.as_str()).unwrap_or(""),
        claim = escape_html(outcome.claim.as_ref().map(|(h, _)| h.as_str()).unwrap_or("")),
        message = escape_html(&outcome.message),
        script = CALLBACK_SCRIPT,
        style = CALLBACK_STYLE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CloudEnvironment;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn sign_in() -> BrowserSignIn {
        let endpoints = CloudEndpoints::official(CloudEnvironment::Global);
        let mut random = [0u8; RANDOM_BYTES];
        random.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        BrowserSignIn::new(ID, &endpoints, "client-1", "https://app.example/api/signin/callback", &random, Millis(1000))
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorize_url_carries_the_challenge_and_state_but_not_the_verifier() {
        let s = sign_in();
        assert_eq!(s.verifier.expose().len(), 43, "32 random bytes");
        let url = &s.authorize_url;
        assert!(url.starts_with("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"), "{url}");
        let query = url.split_once('?').unwrap().1;
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["prompt"], "select_account");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["code_challenge"], pkce_challenge(s.verifier.expose()));
        assert_eq!(pairs["redirect_uri"], "https://app.example/api/signin/callback");
        assert_eq!(pairs["state"], format!("{ID}.{}", s.state_secret.expose()));
        assert!(pairs["scope"].contains("https://graph.microsoft.com/Application.ReadWrite.All"));
        assert!(!url.contains(s.verifier.expose()));
        assert_eq!(s.expires_at, Millis(1000 + WINDOW_LIFETIME_MS));
    }

    #[test]
    fn the_state_is_checked_exactly() {
        let s = sign_in();
        let secret = s.state_secret.expose().to_owned();
        assert!(s.state_matches(&secret));
        assert!(!s.state_matches(&secret[1..]));
        let mut tampered = secret.clone().into_bytes();
        tampered[5] ^= 1;
        assert!(!s.state_matches(std::str::from_utf8(&tampered).unwrap()));
        assert!(!s.state_matches(""));
    }

    #[test]
    fn origins_and_queries_of_runtime_urls() {
        assert_eq!(origin_of("https://app.example/api/signin/callback?code=x"), Some("https://app.example"));
        assert_eq!(origin_of("http://127.0.0.1:8787/api/signins"), Some("http://127.0.0.1:8787"));
        assert_eq!(origin_of("http://localhost:8787?x"), Some("http://localhost:8787"));
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("https://"), None);
        assert_eq!(query_of("https://a.example/cb?code=1&state=2#frag"), "code=1&state=2");
        assert_eq!(query_of("https://a.example/cb"), "");
        assert_eq!(query_of("https://a.example/cb#x?y"), "");
    }

    #[test]
    fn a_claim_accepts_its_handle_or_its_code_as_typed() {
        let random: [u8; CLAIM_RANDOM_BYTES] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let c = Claim::new(&random, Millis(0));
        let shown = c.display_code();
        assert_eq!(shown.len(), 9);
        assert!(shown.chars().all(|ch| ch == '-' || CODE_ALPHABET.contains(&(ch as u8))), "{shown}");
        assert!(c.accepts(c.handle.expose()));
        assert!(c.accepts(&shown));
        assert!(c.accepts(&shown.to_lowercase().replace('-', " ")));
        assert!(!c.accepts(&shown[..8]));
        assert!(!c.accepts(""));
        assert!(!c.accepts("AAAA-AAAA"));
        assert_eq!(normalize_code("o1l-i z"), "0111Z");
        assert!(!format!("{c:?}").contains(c.code.expose()) && !format!("{c:?}").contains(c.handle.expose()));
        assert_eq!(c.until, Millis(WINDOW_LIFETIME_MS));
    }

    #[test]
    fn the_callback_query_is_read() {
        let q = parse_callback(&format!("code=1.abc%2Bdef&state={ID}.s3cr3t&session_state=x"));
        assert_eq!(q.sign_in_id.as_deref(), Some(ID));
        assert_eq!(q.state_secret, "s3cr3t");
        assert_eq!(q.code.unwrap().expose(), "1.abc+def");
        let q =
            parse_callback(&format!("error=access_denied&error_description=AADSTS65004%3A+User+declined&state={ID}.x"));
        assert_eq!(q.error.as_deref(), Some("access_denied"));
        assert_eq!(q.error_description.as_deref(), Some("AADSTS65004: User declined"));
        for bad in ["state=nope.x", "state=../../x.y", "state=", ""] {
            assert!(parse_callback(bad).sign_in_id.is_none(), "{bad}");
        }
    }

    #[test]
    fn microsoft_errors_in_the_redirect_are_mapped() {
        let d = redirect_error("access_denied", Some("AADSTS65004: User declined to consent to access the app."));
        assert_eq!(d.code, ErrorCode::SignInDeclined);
        assert_eq!(d.microsoft.unwrap().code.as_deref(), Some("AADSTS65004"));
        assert_eq!(redirect_error("access_denied", None).code, ErrorCode::SignInDeclined);
        assert_eq!(
            redirect_error("invalid_request", Some("AADSTS90002: Tenant not found")).code,
            ErrorCode::TenantNotFound
        );
        assert_eq!(
            redirect_error("interaction_required", Some("AADSTS53003: blocked")).code,
            ErrorCode::BlockedByConditionalAccess
        );
        assert_eq!(redirect_error("invalid_request", Some("AADSTS99999: new")).code, ErrorCode::SignInFailed);
        assert_eq!(redirect_error("temporarily_unavailable", None).code, ErrorCode::MicrosoftUnavailable);
    }

    #[test]
    fn the_callback_script_reads_the_key_the_app_writes() {
        let key = format!("'{}'", shared::api::SIGNIN_WINDOW_STORAGE_KEY);
        assert!(CALLBACK_SCRIPT.contains(&key), "{key}");
        assert!(CALLBACK_SCRIPT.contains(&format!("'{}'", shared::endpoints::SIGN_IN_WINDOW.path_for(""))));
        assert!(callback_csp().contains("connect-src 'self'"));
    }

    #[test]
    fn only_the_window_with_the_apps_state_and_the_handle_proves_the_claim() {
        let mut c = Claim::new(&[7; CLAIM_RANDOM_BYTES], Millis(0));
        let handle = c.handle.expose().to_owned();
        assert!(!c.proven_by_window(ID, &handle, &format!("{ID}.secret")), "no window on record");
        c.window = Some(state_digest("secret"));
        assert!(c.proven_by_window(ID, &handle, &format!("{ID}.secret")));
        assert!(!c.proven_by_window(ID, &handle, "secret"), "the state names the sign-in");
        assert!(!c.proven_by_window("0f8fad5b-d9cb-469f-a165-70867728950f", &handle, &format!("{ID}.secret")));
        assert!(!c.proven_by_window(ID, &handle, &format!("{ID}.other")));
        assert!(!c.proven_by_window(ID, &c.display_code(), &format!("{ID}.secret")), "the code is for people");
        assert!(!c.proven_by_window(ID, "", &format!("{ID}.secret")));
    }

    #[test]
    fn the_page_escapes_and_its_csp_pins_the_script() {
        let page = callback_page(&PageOutcome {
            sign_in_id: Some("<x>".into()),
            error: Some(ErrorCode::StateMismatch),
            message: "a \"quoted\" <b>message</b>".into(),
            claim: None,
        });
        assert!(page.contains("data-id=\"&lt;x&gt;\""));
        assert!(page.contains("a &quot;quoted&quot; &lt;b&gt;message&lt;/b&gt;"));
        assert!(page.contains("data-error=\"state_mismatch\"") && page.contains("data-ok=\"false\""));
        assert!(page.contains("data-claim=\"\""));
        let ok = callback_page(&PageOutcome {
            sign_in_id: Some(ID.into()),
            error: None,
            message: "Signed in.".into(),
            claim: Some(("HANDLE".into(), "ABCD-EFGH".into())),
        });
        assert!(ok.contains("data-claim=\"HANDLE\"") && ok.contains(">ABCD-EFGH</strong>"));
        assert!(page.contains(CALLBACK_SCRIPT));
        let csp = callback_csp();
        assert!(csp.contains("script-src 'sha256-") && csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("style-src 'sha256-") && !csp.contains("unsafe"));
        assert!(page.contains(&format!("<style>{CALLBACK_STYLE}</style>")));
    }
}
