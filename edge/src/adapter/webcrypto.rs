//! Client-assertion signing with the Workers runtime's WebCrypto (`crypto.subtle`): the PKCS#8 key
//! from the .pfx is imported as a non-extractable RSASSA-PKCS1-v1_5 / SHA-256 key and signs the
//! JWS input. (The `rsa` crate is not used on the server: RUSTSEC-2023-0071.) It also generates the
//! key pairs of the certificates the service creates: the private key is exported once, as PKCS#8,
//! to be sealed.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use shared::assertion::{AssertionAlg, AssertionSigner};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Signs with a PKCS#8 RSA key.
pub struct WebCryptoSigner<'a> {
    /// The private key, PKCS#8 DER.
    pub pkcs8: &'a [u8],
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
}

async fn call(target: &JsValue, method: &str, args: &Array) -> Result<JsValue, JsValue> {
    let f: Function = get(target, method)?.dyn_into()?;
    let p: Promise = Reflect::apply(&f, target, args)?.dyn_into()?;
    JsFuture::from(p).await
}

impl AssertionSigner for WebCryptoSigner<'_> {
    type Error = String;

    async fn sign(&self, alg: AssertionAlg, signing_input: &[u8]) -> Result<Vec<u8>, String> {
        let run = async {
            let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
            let algorithm = Object::new();
            let (name, extra): (&str, Option<(&str, f64)>) = match alg {
                AssertionAlg::RS256 => ("RSASSA-PKCS1-v1_5", None),
                AssertionAlg::PS256 => ("RSA-PSS", Some(("saltLength", 32.0))),
            };
            Reflect::set(&algorithm, &"name".into(), &name.into())?;
            Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
            let key_data = Uint8Array::from(self.pkcs8);
            let usages = Array::of1(&"sign".into());
            let import_args = Array::of5(&"pkcs8".into(), &key_data.buffer(), &algorithm, &false.into(), &usages);
            let key = call(&subtle, "importKey", &import_args).await?;
            let sign_alg = Object::new();
            Reflect::set(&sign_alg, &"name".into(), &name.into())?;
            if let Some((k, v)) = extra {
                Reflect::set(&sign_alg, &k.into(), &v.into())?;
            }
            let data = Uint8Array::from(signing_input);
            let sig = call(&subtle, "sign", &Array::of3(&sign_alg, &key, &data.buffer())).await?;
            Ok::<Vec<u8>, JsValue>(Uint8Array::new(&sig).to_vec())
        };
        // WebCrypto's errors name the operation, never the key.
        run.await.map_err(webcrypto_error)
    }
}

fn webcrypto_error(e: JsValue) -> String {
    format!("WebCrypto: {}", e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

/// A new RSASSA-PKCS1-v1_5 / SHA-256 key pair of [`shared::selfsigned::GENERATED_RSA_BITS`] bits,
/// exported: (PKCS#8 DER, SubjectPublicKeyInfo DER).
pub async fn generate_rsa_key() -> Result<(Vec<u8>, Vec<u8>), String> {
    let run = async {
        let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"RSASSA-PKCS1-v1_5".into())?;
        Reflect::set(&algorithm, &"modulusLength".into(), &f64::from(shared::selfsigned::GENERATED_RSA_BITS).into())?;
        Reflect::set(&algorithm, &"publicExponent".into(), &Uint8Array::from(&[1u8, 0, 1][..]))?;
        Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
        let usages = Array::of2(&"sign".into(), &"verify".into());
        // Extractable, for the one export of the private key below.
        let pair = call(&subtle, "generateKey", &Array::of3(&algorithm, &true.into(), &usages)).await?;
        let private = get(&pair, "privateKey")?;
        let public = get(&pair, "publicKey")?;
        let pkcs8 = call(&subtle, "exportKey", &Array::of2(&"pkcs8".into(), &private)).await?;
        let spki = call(&subtle, "exportKey", &Array::of2(&"spki".into(), &public)).await?;
        Ok::<_, JsValue>((Uint8Array::new(&pkcs8).to_vec(), Uint8Array::new(&spki).to_vec()))
    };
    run.await.map_err(webcrypto_error)
}

/// Verifies the backup engine's ES256 tokens with WebCrypto (ECDSA P-256, SHA-256; the JWS
/// signature is r and s, which is WebCrypto's form).
pub struct WebCryptoVerifier;

impl crate::engine::auth::EcVerifier for WebCryptoVerifier {
    async fn verify_es256(&self, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> bool {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let run = async {
            let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
            let jwk = Object::new();
            Reflect::set(&jwk, &"kty".into(), &"EC".into())?;
            Reflect::set(&jwk, &"crv".into(), &"P-256".into())?;
            Reflect::set(&jwk, &"x".into(), &b64(x).into())?;
            Reflect::set(&jwk, &"y".into(), &b64(y).into())?;
            Reflect::set(&jwk, &"ext".into(), &true.into())?;
            let import_alg = Object::new();
            Reflect::set(&import_alg, &"name".into(), &"ECDSA".into())?;
            Reflect::set(&import_alg, &"namedCurve".into(), &"P-256".into())?;
            let usages = Array::of1(&"verify".into());
            let import_args = Array::of5(&"jwk".into(), &jwk, &import_alg, &false.into(), &usages);
            let key = call(&subtle, "importKey", &import_args).await?;
            let verify_alg = Object::new();
            Reflect::set(&verify_alg, &"name".into(), &"ECDSA".into())?;
            Reflect::set(&verify_alg, &"hash".into(), &"SHA-256".into())?;
            let sig = Uint8Array::from(signature);
            let data = Uint8Array::from(message);
            let args = Array::of4(&verify_alg, &key, &sig.buffer(), &data.buffer());
            let ok = call(&subtle, "verify", &args).await?;
            Ok::<bool, JsValue>(ok.as_bool() == Some(true))
        };
        // A key that does not import, or anything else that fails, verifies nothing.
        run.await.unwrap_or(false)
    }
}
