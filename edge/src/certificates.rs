//! `POST /api/certificates/inspect`: reads a .pfx with its password and describes the certificate
//! the admin is about to use. Nothing is stored; the file and password are dropped (and zeroed)
//! when the request ends.

use crate::error::AppError;
use shared::api::{ErrorDetail, InspectCertificate};
use shared::certificate::{parse_pfx, CertificateInfo, PfxError};
use shared::validate::{certificate_password, pfx_upload, PFX_MAX_BYTES};
use shared::Field;

/// Opens the upload at `now` (Unix seconds).
pub fn inspect(req: &InspectCertificate, now: i64) -> Result<CertificateInfo, AppError> {
    // Base64 is 4/3 of the bytes: an upload this long decodes to more than the limit.
    if req.pfx_base64.expose().trim().len() > PFX_MAX_BYTES.div_ceil(3) * 4 {
        return Err(pfx_error(PfxError::TooLarge));
    }
    let bytes = pfx_upload(&req.pfx_base64)?;
    let password = certificate_password(&req.password)?;
    parse_pfx(bytes.expose(), password.expose(), now).map(|p| p.info).map_err(pfx_error)
}

/// A .pfx refusal as an API error, attributed to the field the admin must change.
pub fn pfx_error(e: PfxError) -> AppError {
    let field = if e == PfxError::WrongPassword { Field::CertificatePassword } else { Field::Certificate };
    AppError::from(ErrorDetail { message: e.message(), field: Some(field), ..ErrorDetail::new(e.code()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::secret::SecretString;
    use shared::ErrorCode;

    fn req(pfx: &str, password: &str) -> InspectCertificate {
        InspectCertificate { pfx_base64: SecretString::new(pfx.into()), password: SecretString::new(password.into()) }
    }

    #[test]
    fn refusals_name_the_field() {
        let e = inspect(&req("", "x"), 0).unwrap_err();
        assert_eq!(e.body().error.field, Some(Field::Certificate));
        // "hello" in base64: decodes, but is not a .pfx.
        let e = inspect(&req("aGVsbG8=", "x"), 0).unwrap_err();
        assert_eq!(e.body().error.code, ErrorCode::CertificateNotPfx);
        assert_eq!(e.status(), 422);
        assert_eq!(pfx_error(PfxError::WrongPassword).body().error.field, Some(Field::CertificatePassword));
        assert_eq!(pfx_error(PfxError::TooLarge).status(), 413);
    }
}
