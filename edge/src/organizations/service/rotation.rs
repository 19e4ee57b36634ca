//! Rotation of the certificates the service created, without the administrator (Microsoft Graph's
//! `addKey` / `removeKey`, learn.microsoft.com/graph/api/application-addkey):
//!
//! 1. When [`crate::health::rotation_due`], a new key pair and self-signed certificate are made
//!    (as at registration) and added with `addKey`: the request carries the application's own
//!    token (from the health check just made: no permission is needed to roll one's own keys) and
//!    a proof of possession signed by the current key.
//! 2. The new certificate is checked (token + `GET /organization`, through replication delay).
//! 3. It is sealed and stored in place of the old one, which stays registered in Entra for
//!    [`crate::health::ROTATION_OVERLAP_MS`] (a backup holding a token made with it finishes).
//! 4. A later check removes the old key with `removeKey`, with a proof signed by the new key.
//!
//! A failure at 1 or 2 leaves the old key in place and stored, removes the new key again if it was
//! added, and is reported as [`shared::api::HealthReason::RotationFailed`]; the next check tries
//! again. Only certificates the service created rotate: it holds their keys and knows their
//! application's object ID. Secrets and uploaded .pfx files get expiry warnings instead.

use super::{internal, Organizations, Res};
use crate::health::{rotated_validity, ROTATION_OVERLAP_MS};
use crate::microsoft::{applications, graph, HttpClient, MicrosoftError};
use crate::organizations::check::{Credential, Patience, Signers};
use crate::organizations::model::ApplicationRow;
use crate::organizations::ports::{Clock, Log, Notify, OrganizationStore, RotatedCredential, SignIns, Sleeper};
use crate::provisioning::plan::GENERATED_KEY_NAME;
use crate::seal::{binding, SealedCertificate};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use shared::assertion::{key_id_for_certificate, AssertionAlg, AssertionSigner, ClientAssertion, KeyCredential};
use shared::certificate::{describe_certificate, ParsedPfx};
use shared::secret::{SecretBytes, SecretString};
use shared::selfsigned::UnsignedCertificate;
use shared::CloudEndpoints;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated {
    /// Nothing was due.
    Nothing,
    /// The certificate was replaced: the new one's SHA-1 thumbprint and end (RFC 3339).
    Replaced {
        /// SHA-1 thumbprint.
        thumbprint: String,
        /// End of validity.
        expires_at: String,
    },
    /// The replaced key's overlap ended and it was removed from Entra.
    Retired,
}

/// Why a rotation failed (logged; the administrator reads the health reason).
#[derive(Debug)]
pub struct RotationError(pub String);

fn failed(step: &str, e: impl std::fmt::Display) -> RotationError {
    RotationError(format!("{step}: {e}"))
}

fn refused(step: &str, e: &MicrosoftError) -> RotationError {
    RotationError(format!("{step}: Microsoft answered {} ({})", e.status, e.code.as_str()))
}

/// The application, its tenant and what the check found: what a rotation works with.
pub(super) struct Rollable<'x> {
    /// The cloud's endpoints.
    pub endpoints: &'x CloudEndpoints,
    /// Tenant ID.
    pub tenant: &'x str,
    /// The stored row.
    pub row: &'x ApplicationRow,
    /// Its application (client) ID.
    pub app_id: &'x str,
    /// Its current certificate and key.
    pub current: &'x ParsedPfx,
    /// The sealed value they were opened from: the rotation replaces it only while it is still
    /// the one stored (an edit since the check wins).
    pub sealed: &'x str,
    /// A Microsoft Graph token the check just got with the current certificate.
    pub token: &'x SecretString,
    /// `ROTATE_BEFORE_DAYS`.
    pub before_days: i64,
}

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// Replaces the certificate if due, else removes a replaced key whose overlap ended.
    pub(super) async fn maintain_certificate(
        &self,
        organization: &str,
        a: &Rollable<'_>,
    ) -> Result<Rotated, RotationError> {
        let Some(object_id) = a.row.object_id.as_deref() else { return Ok(Rotated::Nothing) };
        let now = self.now();
        if crate::health::rotation_due(a.current.validity, now.seconds(), a.before_days) {
            return self.rotate(organization, a, object_id).await;
        }
        match (&a.row.retiring_key_id, a.row.retire_after_ms) {
            (Some(old), Some(after)) if now >= after => {
                self.remove_key(a, object_id, old, a.current).await?;
                self.store
                    .key_retired(&a.row.id)
                    .await
                    .map_err(|e| failed("recording the removed key", format!("{e:?}")))?;
                Ok(Rotated::Retired)
            }
            _ => Ok(Rotated::Nothing),
        }
    }

    /// Steps 1 to 3 (module documentation).
    async fn rotate(&self, organization: &str, a: &Rollable<'_>, object_id: &str) -> Result<Rotated, RotationError> {
        let now_s = self.now().seconds();
        let (der, pkcs8) = self.make_certificate(a.current, now_s).await?;
        let (info, validity) =
            describe_certificate(&der).map_err(|e| failed("reading the new certificate", format!("{e:?}")))?;
        let new = ParsedPfx { info, certificate_der: der, private_key_pkcs8: pkcs8, validity };
        let mut key = KeyCredential::for_certificate(&new.certificate_der, GENERATED_KEY_NAME, validity);
        key.start_date_time = None;
        key.end_date_time = None;
        let proof = self.proof(a.current, object_id).await?;
        let req = applications::add_key(a.endpoints, a.token, object_id, &key, &proof);
        let new_key_id = match self.http.send(req).await {
            Ok(resp) => applications::read_added_key(&resp).map_err(|e| refused("addKey", &e))?.key_id,
            Err(e) => return Err(failed("addKey", format!("{e:?}"))),
        };

        // Step 2; on failure the new key goes again (signed by the old one, which still works).
        let checked = self
            .checker()
            .check(a.endpoints, a.tenant, a.app_id, Credential::Certificate(&new), Patience::CREATED)
            .await;
        if let Err(e) = checked {
            self.undo(a, object_id, &new_key_id).await;
            return Err(failed("checking the new certificate", e.code().as_str()));
        }

        // Step 3.
        let stored = self.store_rotation(organization, a, &new, &new_key_id).await;
        match stored {
            Ok(true) => Ok(Rotated::Replaced {
                thumbprint: new.info.thumbprint_sha1.clone(),
                expires_at: new.info.not_after.clone(),
            }),
            Ok(false) => {
                self.undo(a, object_id, &new_key_id).await;
                Err(RotationError("the stored credential changed during the rotation (edited)".into()))
            }
            Err(e) => {
                self.undo(a, object_id, &new_key_id).await;
                Err(failed("storing the new certificate", format!("{e:?}")))
            }
        }
    }

    /// A new key pair and a self-signed certificate named like the current one, as long-lived.
    async fn make_certificate(&self, current: &ParsedPfx, now_s: i64) -> Result<(Vec<u8>, SecretBytes), RotationError> {
        let (pkcs8, spki) = self.signers.generate_key().await.map_err(|e| failed("generating a key", e))?;
        let common_name = current.info.subject.strip_prefix("CN=").unwrap_or(&current.info.subject).to_owned();
        let (not_before, not_after) = rotated_validity(current.validity, now_s);
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial).map_err(|e| failed("a serial number", e))?;
        let unsigned = UnsignedCertificate::new(&spki, &common_name, serial, not_before, not_after)
            .map_err(|e| failed("building the certificate", e))?;
        let signature = self
            .signers
            .signer(pkcs8.expose())
            .sign(AssertionAlg::RS256, unsigned.to_be_signed())
            .await
            .map_err(|e| failed("signing the certificate", e))?;
        let der = unsigned.assemble(&signature).map_err(|e| failed("assembling the certificate", e))?;
        Ok((der, pkcs8))
    }

    /// A proof of possession signed by `key`'s certificate.
    async fn proof(&self, key: &ParsedPfx, object_id: &str) -> Result<String, RotationError> {
        ClientAssertion::proof_of_possession(AssertionAlg::RS256, &key.certificate_der, object_id, self.now().seconds())
            .sign_with(&self.signers.signer(key.private_key_pkcs8.expose()))
            .await
            .map_err(|e| failed("signing the proof of possession", e))
    }

    /// `removeKey` of `key_id`, proven with `signed_by`. A 404 (the application is gone) and a 400
    /// (the key is not there, or no longer accepted) end the matter: retrying would not change it.
    async fn remove_key(
        &self,
        a: &Rollable<'_>,
        object_id: &str,
        key_id: &str,
        signed_by: &ParsedPfx,
    ) -> Result<(), RotationError> {
        let proof = self.proof(signed_by, object_id).await?;
        let req = applications::remove_key(a.endpoints, a.token, object_id, key_id, &proof);
        match self.http.send(req).await {
            Ok(resp) => match graph::read_json(&resp) {
                Ok(_) => Ok(()),
                Err(e) if matches!(e.status, 400 | 404) => {
                    self.runtime.warn(&format!("removeKey {key_id}: answered {}, left to expire", e.status));
                    Ok(())
                }
                Err(e) => Err(refused("removeKey", &e)),
            },
            Err(e) => Err(failed("removeKey", format!("{e:?}"))),
        }
    }

    /// Removes a key added by a rotation that did not complete (logged when that fails too).
    async fn undo(&self, a: &Rollable<'_>, object_id: &str, new_key_id: &str) {
        if let Err(e) = self.remove_key(a, object_id, new_key_id, a.current).await {
            self.runtime.error(&format!("a rotation's new key {new_key_id} stays registered: {}", e.0));
        }
    }

    /// Seals `new` and stores it in place of the current credential, the old key retiring.
    async fn store_rotation(
        &self,
        organization: &str,
        a: &Rollable<'_>,
        new: &ParsedPfx,
        new_key_id: &str,
    ) -> Res<bool> {
        let ring = (self.keyring)()?;
        let plaintext = SealedCertificate::generated(
            &STANDARD.encode(&new.certificate_der),
            &SecretString::new(STANDARD.encode(new.private_key_pkcs8.expose())),
        )
        .to_plaintext();
        let (key_id, blob) = ring.seal(&binding(self.account, organization, &a.row.id, "certificate"), &plaintext);
        let old_key = a.row.entra_key_id.clone().unwrap_or_else(|| key_id_for_certificate(&a.current.certificate_der));
        let rotated = RotatedCredential {
            id: a.row.id.clone(),
            previous_ciphertext: a.sealed.to_owned(),
            key_id,
            secret_ciphertext: STANDARD.encode(blob),
            credential_expires_at: new.info.not_after.clone(),
            certificate_thumbprint: new.info.thumbprint_sha1.clone(),
            entra_key_id: new_key_id.to_owned(),
            retiring_key_id: old_key,
            retire_after_ms: self.now() + ROTATION_OVERLAP_MS,
            updated_at: self.now_rfc3339(),
        };
        self.store.rotate_credential(&rotated).await.map_err(internal)
    }
}
