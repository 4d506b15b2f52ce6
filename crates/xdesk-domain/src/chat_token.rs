//! The signed claim an exchange's backend gives its logged-in user for the chat widget: a JWT
//! (HS256) over the user's ID, email and an expiry, with a secret per integration. xdesk links
//! the chat to that customer only if the signature and expiry hold; anything else is an
//! anonymous visitor, so nobody has to prove who they are with a screenshot.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Who the exchange says the chatting user is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChatClaims {
    /// The user ID in the exchange's account system.
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("only HS256 is accepted")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Checks `token` against `secret` at `now` (Unix seconds) and returns its claims.
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<ChatClaims, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = decode(h)?;
    // "none" and asymmetric algorithms are refused: the secret alone decides.
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    // An empty key is no secret: anyone could have signed with it.
    if secret.iter().all(u8::is_ascii_whitespace) {
        return Err(TokenError::Signature);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| TokenError::Signature)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(c.as_bytes());
    mac.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    let claims: ChatClaims = decode(c)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.sub.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(claims)
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// Signs claims as an exchange backend would: for tests, the demo and the benchmark.
pub fn sign(claims_json: &serde_json::Value, secret: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let c = URL_SAFE_NO_PAD.encode(claims_json.to_string());
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(c.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{h}.{c}.{sig}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"integration-secret";

    #[test]
    fn a_signed_unexpired_claim_is_accepted() {
        let t = sign(
            &json!({"sub": "U1001", "email": "a@ex.com", "exp": 2000}),
            SECRET,
        );
        let c = verify(&t, SECRET, 1000).unwrap();
        assert_eq!(c.sub, "U1001");
        assert_eq!(c.email.as_deref(), Some("a@ex.com"));
    }

    #[test]
    fn forged_expired_and_unsigned_claims_are_refused() {
        let t = sign(&json!({"sub": "U1001", "exp": 2000}), SECRET);
        assert_eq!(verify(&t, b"other", 1000), Err(TokenError::Signature));
        // Signed with an empty key: refused even when checked with that key.
        let empty = sign(&json!({"sub": "U1001", "exp": 2000}), b"");
        assert_eq!(verify(&empty, b"", 1000), Err(TokenError::Signature));
        assert_eq!(verify(&empty, b" \n", 1000), Err(TokenError::Signature));
        assert_eq!(verify(&t, SECRET, 2000), Err(TokenError::Expired));
        // The claims swapped for someone else's, signature kept.
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(json!({"sub": "U9", "exp": 2000}).to_string());
        parts[1] = &other;
        assert_eq!(
            verify(&parts.join("."), SECRET, 1000),
            Err(TokenError::Signature)
        );
        // alg "none".
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(json!({"sub": "U1", "exp": 2000}).to_string())
        );
        assert_eq!(verify(&none, SECRET, 1000), Err(TokenError::Algorithm));
        assert_eq!(verify("garbage", SECRET, 1000), Err(TokenError::Malformed));
        let no_exp = sign(&json!({"sub": "U1"}), SECRET);
        assert_eq!(verify(&no_exp, SECRET, 1000), Err(TokenError::Malformed));
    }
}

/// The same check fed tokens xdesk did not make: the HS256 example of RFC 7515 and tokens from
/// the `jsonwebtoken` crate, so a mistake shared by xdesk's signer and verifier cannot hide.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod outside_vectors {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use serde_json::json;

    /// RFC 7515 (JSON Web Signature), Appendix A.1 "Example JWS Using HMAC SHA-256": the JWK's
    /// `k` and the compact serialization of A.1.1, copied from the RFC. Its header and payload
    /// carry CRLFs and spaces, so the MAC must run over the encoded text as received.
    const RFC7515_A1_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const RFC7515_A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
    const RFC7515_A1_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const RFC7515_A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// The payload's `exp`: 2011-03-22T18:43:00Z.
    const RFC7515_A1_EXP: i64 = 1_300_819_380;

    fn rfc_key() -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(RFC7515_A1_KEY).unwrap()
    }

    fn rfc_token() -> String {
        format!("{RFC7515_A1_HEADER}.{RFC7515_A1_PAYLOAD}.{RFC7515_A1_SIGNATURE}")
    }

    #[test]
    fn the_rfc_7515_hs256_example_verifies_with_its_key_only() {
        let key = rfc_key();
        assert_eq!(key.len(), 64);
        // Before its expiry the signature holds; the claims then fail xdesk's own rule (the
        // example names no `sub`), which is not a signature failure.
        let before = RFC7515_A1_EXP - 1;
        assert_eq!(
            verify(&rfc_token(), &key, before),
            Err(TokenError::Malformed)
        );
        // One bit of the key changed, in each byte: a bad signature.
        for i in 0..key.len() {
            let mut k = key.clone();
            k[i] ^= 0x01;
            assert_eq!(
                verify(&rfc_token(), &k, before),
                Err(TokenError::Signature),
                "key byte {i}"
            );
        }
        // One byte of the signed text or of the signature changed: a bad signature (or, where
        // the change breaks the encoding or the header's `alg`, refused before the MAC), never
        // accepted.
        let token = rfc_token();
        for i in 0..token.len() {
            let mut b = token.clone().into_bytes();
            if b[i] == b'.' {
                continue;
            }
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).unwrap();
            let r = verify(&t, &key, before);
            assert!(
                matches!(
                    r,
                    Err(TokenError::Signature | TokenError::Malformed | TokenError::Algorithm)
                ),
                "byte {i}: {r:?}"
            );
        }
        // The payload with one claim's value changed, re-encoded: the signature no longer holds.
        let payload = URL_SAFE_NO_PAD.decode(RFC7515_A1_PAYLOAD).unwrap();
        let changed = String::from_utf8(payload)
            .unwrap()
            .replace("\"joe\"", "\"jim\"");
        let t = format!(
            "{RFC7515_A1_HEADER}.{}.{RFC7515_A1_SIGNATURE}",
            URL_SAFE_NO_PAD.encode(changed)
        );
        assert_eq!(verify(&t, &key, before), Err(TokenError::Signature));
        // The same example's header over a payload xdesk can use, signed by jsonwebtoken with
        // the RFC's key: valid until its expiry and refused as expired after, not as forged.
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "joe", "exp": RFC7515_A1_EXP}),
            &EncodingKey::from_secret(&key),
        )
        .unwrap();
        assert_eq!(verify(&t, &key, before).unwrap().sub, "joe");
        assert_eq!(verify(&t, &key, RFC7515_A1_EXP), Err(TokenError::Expired));
    }

    const SECRET: &[u8] = b"an exchange's integration secret";
    const NOW: i64 = 1_700_000_000;

    fn outside(alg: Algorithm, claims: &serde_json::Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn tokens_signed_by_jsonwebtoken_are_accepted() {
        let claims = json!({"sub": "U1001", "email": "a@ex.com", "name": "Ann", "exp": NOW + 60});
        let t = outside(Algorithm::HS256, &claims, SECRET);
        let c = verify(&t, SECRET, NOW).unwrap();
        assert_eq!(
            c,
            ChatClaims {
                sub: "U1001".into(),
                email: Some("a@ex.com".into()),
                name: Some("Ann".into()),
                exp: NOW + 60,
            }
        );
        // A header with more fields (a key ID) is still HS256.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("2026-01".into());
        let t = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(verify(&t, SECRET, NOW).is_ok());
        // And the other way: what xdesk's own signer makes, jsonwebtoken accepts.
        let ours = sign(&claims, SECRET);
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
        v.validate_exp = false;
        let back =
            jsonwebtoken::decode::<serde_json::Value>(&ours, &DecodingKey::from_secret(SECRET), &v)
                .unwrap();
        assert_eq!(back.claims, claims);
    }

    #[test]
    fn tokens_from_jsonwebtoken_that_must_not_pass_are_refused() {
        let claims = json!({"sub": "U1001", "exp": NOW + 60});
        let good = outside(Algorithm::HS256, &claims, SECRET);
        let parts: Vec<&str> = good.split('.').collect();
        // alg "none", with the signature dropped and with it kept.
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        for sig in ["", parts[2]] {
            let t = format!("{none}.{}.{sig}", parts[1]);
            assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Algorithm));
        }
        // Another HMAC algorithm, with the right secret: only HS256 is expected.
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let t = outside(alg, &claims, SECRET);
            assert_eq!(
                verify(&t, SECRET, NOW),
                Err(TokenError::Algorithm),
                "{alg:?}"
            );
        }
        // An HS512 MAC under a header that says HS256: the MAC does not fit.
        let hs512 = outside(Algorithm::HS512, &claims, SECRET);
        let t = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            hs512.split('.').nth(2).unwrap()
        );
        assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Signature));
        // Signed with another integration's secret.
        let t = outside(Algorithm::HS256, &claims, b"another exchange's secret");
        assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Signature));
        // Someone else's claims under this token's signature.
        let other = outside(
            Algorithm::HS256,
            &json!({"sub": "U9", "exp": NOW + 60}),
            b"x",
        );
        let t = format!(
            "{}.{}.{}",
            parts[0],
            other.split('.').nth(1).unwrap(),
            parts[2]
        );
        assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Signature));
        // A truncated signature.
        let t = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..20]);
        assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Signature));
        // Expired, and expiring exactly now.
        for exp in [NOW - 3600, NOW] {
            let t = outside(
                Algorithm::HS256,
                &json!({"sub": "U1001", "exp": exp}),
                SECRET,
            );
            assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Expired), "{exp}");
        }
        // No subject.
        let t = outside(
            Algorithm::HS256,
            &json!({"sub": " ", "exp": NOW + 60}),
            SECRET,
        );
        assert_eq!(verify(&t, SECRET, NOW), Err(TokenError::Malformed));
        assert!(verify(&good, SECRET, NOW).is_ok());
    }
}
