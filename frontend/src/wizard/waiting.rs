//! What the page shows while the edge checks a credential with Microsoft (up to about 15 seconds
//! for a typed credential: Microsoft can take a while to accept a secret created moments ago), with
//! the time waited so far and a way to stop waiting.

use crate::i18n::{t, Msg};
use leptos::prelude::*;

/// "Checking with Microsoft…", the seconds waited, and "Stop waiting" (`on_stop`). Screen readers
/// hear the sentence once; the counter is not announced every second.
#[component]
pub fn Waiting(on_stop: Callback<()>) -> impl IntoView {
    let seconds = RwSignal::new(0u32);
    // The live region is in the page before its text: screen readers announce a change of a
    // region they know, not a region inserted with its text.
    let i18n = crate::i18n::I18n::get();
    let said = RwSignal::new(false);
    set_timeout(move || said.set(true), std::time::Duration::from_millis(100));
    if let Ok(handle) =
        set_interval_with_handle(move || seconds.update(|s| *s += 1), std::time::Duration::from_millis(1000))
    {
        on_cleanup(move || handle.clear());
    }
    view! {
        <div class="waiting" data-testid="waiting">
            <p role="status">{move || if said.get() { i18n.t(key!("wizard.waiting.checking")) } else { String::new() }}</p>
            <p class="hint" aria-hidden="true" data-testid="waiting-seconds">{move || i18n.tn(key!("wizard.waiting.seconds"), f64::from(seconds.get()), &[])}</p>
            <button type="button" class="secondary" data-testid="stop-waiting" on:click=move |_| on_stop.run(())>{t(key!("wizard.waiting.stop"))}</button>
        </div>
    }
}

/// Which save's answer is still awaited: a save takes a ticket, "Stop waiting" invalidates it, and
/// an answer for an invalidated ticket is ignored.
#[derive(Clone, Copy)]
pub struct Tickets(RwSignal<u32>);

impl Tickets {
    /// No save awaited yet.
    pub fn new() -> Self {
        Tickets(RwSignal::new(0))
    }

    /// A new save's ticket.
    pub fn take(&self) -> u32 {
        self.0.update(|t| *t += 1);
        self.0.get_untracked()
    }

    /// Whether `ticket`'s answer is still awaited.
    pub fn current(&self, ticket: u32) -> bool {
        self.0.get_untracked() == ticket
    }

    /// Stops waiting for the save in flight.
    pub fn stop(&self) {
        self.0.update(|t| *t += 1);
    }
}

impl Default for Tickets {
    fn default() -> Self {
        Self::new()
    }
}

/// What the page says after "Stop waiting": the request may still finish at the edge.
pub fn stopped() -> Msg {
    Msg::new(key!("wizard.waiting.stopped"))
}
