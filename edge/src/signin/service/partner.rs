//! A partner's sign-in reads the partner's GDAP relationships with its token, following Graph's
//! pages (on Graph's own host only, see [`partner::read_relationships`]).

use super::*;
use crate::microsoft::partner::{self, Relationship};

impl<H: SignInHost, C: HttpClient> SignInService<'_, H, C> {
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
