//! The hold: a save takes the sign-in's applications, or they are deleted when it ends; the runs
//! settle, a cancel ends them, and the secrets are forgotten.

use super::*;

impl SignInRecord {
    /// A save takes the applications (with their secrets) to store them. Refused unless the
    /// sign-in was claimed (Credential), completed, not saved, and still holds every secret (not
    /// after its hold ended, a release, or a switch to a certificate). The applications are then
    /// held for [`SAVE_LEASE_MS`] whatever happens meanwhile (a cancel from a page being left).
    pub fn take_for_save(&mut self, now: Millis) -> Result<(), ErrorCode> {
        if !self.claimed() {
            return Err(ErrorCode::SignInNotClaimed);
        }
        // (A hold shortened for the tests shortens the lease with it.)
        let lease = now + self.hold_ms.map_or(SAVE_LEASE_MS, |h| h.min(SAVE_LEASE_MS));
        let Stage::Completed(h) = &mut self.stage else { return Err(ErrorCode::NotFound) };
        let all_held = h
            .registrations()
            .filter(|r| r.phase == Phase::Done)
            .flat_map(|r| r.apps.iter())
            .all(|a| a.holds_credential());
        // The hold has ended once its secrets were forgotten (no token and nothing pending); a token
        // that merely expired during the hold does not end it.
        let hold_ended = h.token.is_none() && h.discard_at.is_none();
        if h.saved || hold_ended || !all_held {
            return Err(ErrorCode::NotFound);
        }
        h.save_lease_until = Some(lease);
        h.discard_at = Some(h.discard_at.map_or(lease, |d| d.max(lease)));
        Ok(())
    }

    /// Step 3 was saved. What happens next is the end of the hold, now: the Durable Object asks
    /// the database which applications an organization holds, deletes the others (e.g. a main
    /// application registered, then replaced by a typed credential), and forgets every secret.
    pub fn mark_saved(&mut self, now: Millis) -> Result<(), ErrorCode> {
        let h = self.holding_mut().ok_or(ErrorCode::NotFound)?;
        h.saved = true;
        h.save_lease_until = None;
        h.discard_at = Some(now);
        Ok(())
    }

    /// The save that was to store these applications failed for good (an edit conflict): they are
    /// not stored anywhere, so they are deleted now rather than at the end of the hold.
    pub fn release(&mut self, now: Millis) -> Result<(), ErrorCode> {
        match &mut self.stage {
            Stage::Completed(h) if !h.saved => {
                h.save_lease_until = None;
                h.discard_at = Some(now);
                Ok(())
            }
            _ => Err(ErrorCode::NotFound),
        }
    }

    /// The registration currently running, if any.
    pub fn running(&mut self) -> Option<&mut Registration> {
        match &mut self.stage {
            Stage::Registering(h) => h.running(),
            _ => None,
        }
    }

    /// After a registration step: move to completed or failed when the runs are over.
    pub fn settle(&mut self, now: Millis) {
        let hold = self.hold_ms.unwrap_or(HOLD_AFTER_COMPLETION_MS);
        let Stage::Registering(h) = &mut self.stage else { return };
        if h.running().is_some() {
            return;
        }
        let error = h.registrations().find(|r| r.phase == Phase::Failed).map(|r| r.error.clone());
        let mut h = match std::mem::replace(&mut self.stage, Stage::Starting) {
            Stage::Registering(h) => h,
            _ => unreachable!("matched above"),
        };
        h.discard_at = Some(now + hold);
        self.stage = match error {
            Some(error) => Stage::Ended { ending: Ending::Failed, error, holding: Some(h) },
            None => Stage::Completed(h),
        };
    }

    /// The admin cancelled. Secrets not tied to a registration are dropped at once; what was
    /// registered is deleted at the end of a save's lease at the latest (the database then says
    /// what to keep).
    pub fn cancel(&mut self, now: Millis) {
        let holding = match std::mem::replace(&mut self.stage, Stage::Starting) {
            Stage::Registering(h) | Stage::Completed(h) | Stage::Ended { holding: Some(h), .. } => Some(h),
            _ => None,
        };
        let holding = holding.map(|mut h| {
            h.discard_at = Some(h.deletion_floor(now));
            h
        });
        self.stage = Stage::Ended { ending: Ending::Cancelled, error: None, holding };
    }

    /// When the hold ends (the token is dropped and the unsaved applications deleted), if pending.
    pub fn discard_at(&self) -> Option<Millis> {
        self.holding().and_then(|h| h.discard_at)
    }

    /// The database cannot say now which applications are saved: ask again at `at`.
    pub fn discard_later(&mut self, at: Millis) {
        if let Some(h) = self.holding_mut() {
            h.discard_at = Some(at);
        }
    }

    /// The hold ended: every secret this record holds is dropped.
    pub fn forget_secrets(&mut self) {
        self.secrets_removed();
        if let Some(h) = self.holding_mut() {
            h.token = None;
            h.discard_at = None;
        }
        match &self.stage {
            Stage::SignedIn { .. } => self.end(Ending::Expired, Some(ErrorDetail::new(ErrorCode::CodeExpired))),
            Stage::Polling { .. } | Stage::Window { .. } => self.end(Ending::Cancelled, None),
            _ => {}
        }
    }

    /// Step 3 switched to an uploaded certificate: the generated credentials (certificates and
    /// their private keys, or the secrets of runs from before certificates) are gone.
    pub fn secrets_removed(&mut self) {
        if let Some(h) = self.holding_mut() {
            for r in [&mut h.main, &mut h.additional].into_iter().flatten() {
                for a in &mut r.apps {
                    a.forget_credential();
                }
            }
        }
    }
}
