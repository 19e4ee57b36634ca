-- Certificate rotation (edge/src/organizations/service/rotation.rs): the key ID Entra gave the
-- application's current certificate once the service rotated it, and a replaced key still
-- registered beside it until retire_after_ms (then removed with removeKey). Before a first
-- rotation entra_key_id is NULL: registrations send the key ID shared::assertion::
-- key_id_for_certificate derives from the certificate, so it is computed; certificates registered
-- before that (a random key ID) are replaced but their old key cannot be removed and expires.
ALTER TABLE applications ADD COLUMN entra_key_id TEXT;
ALTER TABLE applications ADD COLUMN retiring_key_id TEXT;
ALTER TABLE applications ADD COLUMN retire_after_ms INTEGER;
