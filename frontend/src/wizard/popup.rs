//! The Credential method's sign-in window. Browsers allow a pop-up only during the admin's click, so
//! the window is opened empty at once and sent to Microsoft when the edge has answered. The app keeps
//! one window; the edge's sign-in status stays the truth (the window may lose its link to the app).

use std::cell::RefCell;

thread_local! {
    static WINDOW: RefCell<Option<web_sys::Window>> = const { RefCell::new(None) };
}

const FEATURES: &str = "popup,width=520,height=700";

thread_local! {
    // One window name per app instance, so that two tabs of the app never share a sign-in window.
    static NAME: String = format!("m365-onboarding-signin-{}", (js_sys::Math::random() * 1e9) as u64);
}

/// Opens (or reuses) the sign-in window, on a blank page of this origin, and sends it to `url` (an
/// authorization URL, or `about:blank` to keep it for one). `Err` is the sentence to show when the
/// browser blocked it.
pub fn open(url: &str) -> Result<(), String> {
    let opened = web_sys::window().and_then(|w| {
        NAME.with(|name| w.open_with_url_and_target_and_features("about:blank", name, FEATURES)).ok().flatten()
    });
    match opened {
        Some(popup) => {
            let _ = popup.focus();
            if url != "about:blank" {
                send(&popup, url);
            }
            WINDOW.with(|p| *p.borrow_mut() = Some(popup));
            Ok(())
        }
        None => Err(shared::ErrorCode::PopupBlocked.message().to_owned()),
    }
}

/// Sends the open window to the sign-in's authorization URL.
pub fn follow(url: &str) {
    WINDOW.with(|p| {
        if let Some(w) = p.borrow().as_ref() {
            send(w, url);
        }
    });
}

/// Leaves the authorization URL's `state` in the window's `sessionStorage` while it still shows a
/// blank page of this origin, then sends it to Microsoft. The tab keeps its storage through
/// Microsoft's pages and back, even when `Cross-Origin-Opener-Policy` cuts the window off from this
/// page: the callback page then proves with it that it is the window this app opened
/// ([`shared::api::SIGNIN_WINDOW_STORAGE_KEY`]). Where the window already shows another origin, the
/// storage cannot be written and the window shows its code instead, as before.
fn send(w: &web_sys::Window, url: &str) {
    if let (Some(state), Ok(Some(storage))) = (crate::wizard::logic::state_of(url), w.session_storage()) {
        let _ = storage.set_item(shared::api::SIGNIN_WINDOW_STORAGE_KEY, &state);
    }
    let _ = w.location().set_href(url);
}

/// Whether a window was opened and has been closed since (reported once).
pub fn take_closed() -> bool {
    WINDOW.with(|p| {
        let closed = p.borrow().as_ref().is_some_and(|w| w.closed().unwrap_or(true));
        if closed {
            *p.borrow_mut() = None;
        }
        closed
    })
}

/// Closes the window, if it is open.
pub fn close() {
    WINDOW.with(|p| {
        if let Some(w) = p.borrow_mut().take() {
            let _ = w.close();
        }
    });
}

/// What the window's last page said.
pub struct WindowMessage {
    /// The sign-in.
    pub id: String,
    /// The sentence of a failure; `None` when signed in.
    pub failure: Option<String>,
    /// On success: the handle that starts registration (see `shared::api::ConfirmSignIn`).
    pub claim: Option<String>,
}

/// The message of the window's last page, when `ev` is one: from our own origin, from the window
/// this app opened, of type [`shared::api::SIGNIN_WINDOW_MESSAGE`].
pub fn read_message(ev: &web_sys::MessageEvent) -> Option<WindowMessage> {
    let own = web_sys::window()?.location().origin().ok()?;
    if ev.origin() != own {
        return None;
    }
    let from_our_window = WINDOW.with(|p| {
        let source = ev.source();
        p.borrow().as_ref().zip(source).is_some_and(|(w, src)| js_sys::Object::is(w.as_ref(), src.as_ref()))
    });
    if !from_our_window {
        return None;
    }
    let data = ev.data();
    let field = |k: &str| js_sys::Reflect::get(&data, &k.into()).ok();
    let text = |k: &str| field(k).and_then(|v| v.as_string());
    if text("type")? != shared::api::SIGNIN_WINDOW_MESSAGE {
        return None;
    }
    let ok = field("ok").and_then(|v| v.as_bool()).unwrap_or(false);
    Some(WindowMessage {
        id: text("id")?,
        failure: if ok { None } else { Some(text("message").unwrap_or_default()) },
        claim: if ok { text("claim") } else { None },
    })
}
