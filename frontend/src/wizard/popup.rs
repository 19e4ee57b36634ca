//! The Credential method's sign-in window. Browsers allow a pop-up only during the admin's click, so
//! the window is opened empty at once and sent to Microsoft when the edge has answered. The app keeps
//! one window; the edge's sign-in status stays the truth (the window may lose its link to the app).

use std::cell::RefCell;

thread_local! {
    static WINDOW: RefCell<Option<web_sys::Window>> = const { RefCell::new(None) };
}

const NAME: &str = "m365-onboarding-signin";
const FEATURES: &str = "popup,width=520,height=700";

/// Opens (or reuses) the sign-in window at `url`; `false` when the browser blocked it.
pub fn open(url: &str) -> bool {
    let Some(w) = web_sys::window() else { return false };
    match w.open_with_url_and_target_and_features(url, NAME, FEATURES) {
        Ok(Some(popup)) => {
            let _ = popup.focus();
            WINDOW.with(|p| *p.borrow_mut() = Some(popup));
            true
        }
        _ => false,
    }
}

/// Sends the open window to `url` (the edge's authorization URL).
pub fn navigate(url: &str) {
    WINDOW.with(|p| {
        if let Some(w) = p.borrow().as_ref() {
            let _ = w.location().set_href(url);
        }
    });
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

/// The sign-in ID and, for a failure, the sentence to show, of a message from the window's last
/// page (our own origin, [`shared::api::SIGNIN_WINDOW_MESSAGE`]); `None` for any other message.
pub fn read_message(ev: &web_sys::MessageEvent) -> Option<(String, Option<String>)> {
    let own = web_sys::window()?.location().origin().ok()?;
    if ev.origin() != own {
        return None;
    }
    let data = ev.data();
    let field = |k: &str| js_sys::Reflect::get(&data, &k.into()).ok();
    let text = |k: &str| field(k).and_then(|v| v.as_string());
    if text("type")? != shared::api::SIGNIN_WINDOW_MESSAGE {
        return None;
    }
    let ok = field("ok").and_then(|v| v.as_bool()).unwrap_or(false);
    Some((text("id")?, if ok { None } else { Some(text("message").unwrap_or_default()) }))
}
