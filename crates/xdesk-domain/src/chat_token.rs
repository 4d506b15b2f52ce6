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
