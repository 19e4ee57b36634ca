//! A partner's sign-in reads the partner's GDAP relationships with its token, following Graph's
//! pages (on Graph's own host only, see [`partner::read_relationships`]).

use super::*;
use crate::microsoft::partner::{self, Relationship};

impl<H: SignInHost, C: HttpClient> SignInService<'_, H, C> {
    /// Whether the partner's refresh token gets a Partner Center token, which every customer
    /// needs: asked before the customers are shown and before the token is handed to a batch, so
    /// that a missing consent to Partner Center is said once, at the start.
    pub(super) async fn partner_center_ready(&self, rec: &SignInRecord) -> Result<(), AppError> {
        let refresh = rec.partner_refresh_token().ok_or(ErrorCode::SignInFailed)?;
        let endpoints = self.config.endpoints(rec.cloud);
        let req = partner::refresh_request(
            &endpoints,
            "organizations",
            &rec.client_id,
            refresh,
            &partner::partner_center_scope(),
        );
        let resp = self.http.send(req).await.map_err(|e| {
            self.host.warn(&format!("signin {}: Partner Center token request failed: {}", rec.id, e.0));
            AppError::from(ErrorCode::MicrosoftUnavailable)
        })?;
        match partner::read_grant(&resp) {
            partner::GrantOutcome::Granted(_) => Ok(()),
            partner::GrantOutcome::Refused(f) => {
                self.host.warn(&format!(
                    "signin {}: Partner Center token refused: {:?}",
                    rec.id, f.microsoft.correlation.code
                ));
                Err(match f.microsoft.code {
                    ErrorCode::AdminConsentRequired => ErrorCode::PartnerCenterConsentMissing.into(),
                    _ => f.microsoft.detail().into(),
                })
            }
        }
    }

    /// Every relationship of the partner, in Graph's order.
    pub(super) async fn relationships(
        &self,
        rec: &SignInRecord,
        token: &SecretString,
    ) -> Result<Vec<Relationship>, AppError> {
        let endpoints = self.config.endpoints(rec.cloud);
        let mut next = Some(partner::relationships_path());
        let mut all = vec![];
        let mut pages = 0;
        while let Some(path) = next {
            pages += 1;
            if pages > partner::MAX_RELATIONSHIP_PAGES {
                self.host.warn(&format!("signin {}: more than {} pages of relationships", rec.id, pages - 1));
                return Err(ErrorCode::MicrosoftUnavailable.into());
            }
            let resp = self.http.send(partner::relationships_request(&endpoints, token, &path)).await.map_err(|e| {
                self.host.warn(&format!("signin {}: relationships request failed: {}", rec.id, e.0));
                AppError::from(ErrorCode::MicrosoftUnavailable)
            })?;
            let page = partner::read_relationships(&resp, &endpoints).map_err(|e| {
                self.host.warn(&format!("signin {}: relationships refused: {:?} {}", rec.id, e.code, e.status));
                AppError::from(e.detail())
            })?;
            all.extend(page.value);
            next = page.next;
        }
        Ok(all)
    }
}
