//! Credential: the pop-up's answer at the public callback, checked against the window's `state`
//! and redeemed for the admin's token.

use super::*;

impl<H: SignInHost, C: HttpClient> SignInService<'_, H, C> {
    /// Microsoft sent the Credential pop-up back. The pending sign-in is taken and saved before the
    /// code is redeemed, so an answer replayed meanwhile finds nothing to redeem.
    pub(super) async fn on_callback(
        &self,
        rec: &mut SignInRecord,
        answer: CallbackAnswer,
    ) -> Result<Result<Claim, ErrorDetail>, HostError> {
        let pending = match rec.take_browser_answer(answer.state_secret.expose(), self.host.now()) {
            Ok(p) => p,
            Err(code) => {
                // Nothing is written: a refused answer (a wrong secret above all) leaves no trace
                // in storage; what time changed (an expiry) the alarm records at its time.
                self.host.warn(&format!("signin {}: pop-up answer refused: {}", rec.id, code.as_str()));
                return Ok(Err(ErrorDetail::new(code)));
            }
        };
        // Saved before redeeming: a replay finds nothing to take, and a redemption cut off here
        // ends at `redeeming_until` instead of leaving the sign-in waiting.
        self.save(rec).await?;
        let result = match (answer.error, answer.code) {
            (Some(error), _) => Err(browser::redirect_error(&error, answer.error_description.as_deref())),
            (None, None) => Err(ErrorDetail::new(ErrorCode::SignInFailed)),
            (None, Some(code)) => self.redeem(rec, &code, &pending).await,
        };
        // Other requests ran while Microsoft answered (a cancel, a status read): apply the outcome
        // to the record as it is now, and only if the redemption is still wanted.
        let mut current = self.host.load().await?.unwrap_or_else(|| rec.clone());
        let t = self.host.now();
        current.tick(t);
        let result = if !current.is_redeeming() {
            self.host.warn(&format!("signin {}: the sign-in ended while its code was redeemed", current.id));
            Err(ErrorDetail::new(ErrorCode::SignInCancelled))
        } else {
            match result {
                Ok(token) => {
                    let mut claim = Claim::new(&self.random::<CLAIM_RANDOM_BYTES>(), t);
                    claim.window = Some(browser::state_digest(pending.state_secret.expose()));
                    current.on_browser_token(token, claim.clone(), t);
                    Ok(claim)
                }
                Err(e) => {
                    // Microsoft's own code too (an AADSTS number: no secret), for the operator.
                    let microsoft = e.microsoft.as_ref().and_then(|m| m.code.as_deref()).unwrap_or("-");
                    self.host.warn(&format!(
                        "signin {}: pop-up sign-in failed: {} ({microsoft})",
                        current.id,
                        e.code.as_str()
                    ));
                    current.on_browser_failed(e.clone());
                    Err(e)
                }
            }
        };
        self.save(&current).await?;
        *rec = current;
        Ok(result)
    }

    /// Redeems the pop-up's code with the verifier. A code is single-use, but an answer that never
    /// came (no response, 429, 5xx) did not use it: retry a little while the admin waits on the
    /// window, honouring Retry-After. A definitive refusal (400) is not retried.
    pub(super) async fn redeem(
        &self,
        rec: &SignInRecord,
        code: &SecretString,
        pending: &BrowserSignIn,
    ) -> Result<identity::AccessToken, ErrorDetail> {
        let endpoints = self.config.endpoints(rec.cloud);
        let send = || {
            self.http.send(identity::authorization_code_request(
                &endpoints,
                &rec.client_id,
                code,
                &pending.redirect_uri,
                &pending.verifier,
                &rec.purpose.scopes(&endpoints),
            ))
        };
        let mut lost_answer = false;
        let mut outcome = send().await.map(|r| identity::read_token(&r));
        for _ in 1..REDEEM_ATTEMPTS {
            let wait_secs = match &outcome {
                Ok(TokenOutcome::Error(f)) if f.microsoft.status == 429 || f.microsoft.status >= 500 => {
                    f.microsoft.retry_after
                }
                Err(_) => {
                    lost_answer = true;
                    None
                }
                _ => break,
            };
            let wait_ms = wait_secs.map_or(500, |s| s.saturating_mul(1000)).min(MAX_REDEEM_WAIT_MS);
            self.host.sleep(wait_ms).await;
            outcome = send().await.map(|r| identity::read_token(&r));
        }
        match outcome {
            Ok(TokenOutcome::Token(t)) => Ok(t),
            // "Already redeemed" after an answer was lost: our own first attempt may have used it.
            Ok(TokenOutcome::Error(f)) if lost_answer && f.microsoft.code == ErrorCode::CodeAlreadyUsed => {
                Err(ErrorDetail::new(ErrorCode::MicrosoftUnavailable))
            }
            Ok(TokenOutcome::Error(f)) => Err(match f.microsoft.detail() {
                d if d.code == ErrorCode::MicrosoftUnavailable && f.microsoft.status == 400 => ErrorDetail {
                    code: ErrorCode::SignInFailed,
                    message: ErrorCode::SignInFailed.message().into(),
                    ..d
                },
                d => d,
            }),
            Err(e) => {
                self.host.warn(&format!("signin {}: code redemption failed: {}", rec.id, e.0));
                Err(ErrorDetail::new(ErrorCode::MicrosoftUnavailable))
            }
        }
    }
}
