//! A lenient JWT reader for the sandbox: splits a compact JWT, decodes its
//! header and claims whether or not the base64url is padded (some clients pad,
//! `jsonwebtoken::decode` refuses padding), and verifies the signature with
//! jsonwebtoken's crypto over the exact bytes that were signed.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// base64url that accepts padding or none.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded, not yet verified, JWT.
#[derive(Debug, Clone)]
pub struct Jwt {
    /// The header object.
    pub header: Value,
    /// The claims object.
    pub claims: Value,
    /// `header.claims` as sent: what the signature covers.
    signing_input: String,
    /// The signature as sent, padding removed.
    signature: String,
}

impl Jwt {
    /// Splits and decodes `token`; `None` if it is not a JWS compact token
    /// with JSON header and claims.
    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.trim().split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            header: json(header)?,
            claims: json(claims)?,
            signing_input: format!("{header}.{claims}"),
            signature: signature.trim_end_matches('=').to_owned(),
        })
    }

    /// Whether the signature is valid for `key` with `algorithm`, and the
    /// header names that algorithm.
    pub fn verify(&self, key: &DecodingKey, algorithm: Algorithm) -> bool {
        let named = format!("{algorithm:?}");
        if self.header_str("alg") != Some(named.as_str()) {
            return false;
        }
        jsonwebtoken::crypto::verify(
            &self.signature,
            self.signing_input.as_bytes(),
            key,
            algorithm,
        )
        .unwrap_or(false)
    }

    /// A string field of the header.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name)?.as_str()
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name)?.as_str()
    }

    /// An integer claim.
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name)?.as_i64()
    }
}

/// Decodes one base64url JSON part.
fn json(part: &str) -> Option<Value> {
    let bytes = LENIENT.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const KEY: &str = include_str!("keys/demo-apns-key.p8");
    const PUBLIC: &str = include_str!("keys/demo-apns-key.pub.pem");

    #[test]
    fn a_signed_token_verifies_even_when_padded() {
        let claims = serde_json::json!({"iss": "TEAM", "iat": 1});
        let key = EncodingKey::from_ec_pem(KEY.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap();
        let public = DecodingKey::from_ec_pem(PUBLIC.as_bytes()).unwrap();
        let jwt = Jwt::parse(&token).unwrap();
        assert!(jwt.verify(&public, Algorithm::ES256));
        assert_eq!(jwt.claim_str("iss"), Some("TEAM"));
        let padded = format!("{token}==");
        assert!(
            Jwt::parse(&padded)
                .unwrap()
                .verify(&public, Algorithm::ES256)
        );
        let tampered = token.replace(".ey", ".eX");
        assert!(Jwt::parse(&tampered).is_none_or(|j| !j.verify(&public, Algorithm::ES256)));
    }
}
