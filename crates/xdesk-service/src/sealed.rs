//! Secrets at rest: agents' TOTP secrets, mailbox passwords and integration signing secrets are
//! stored sealed with XChaCha20-Poly1305 under a key kept outside the database, so a copy of
//! the database (a backup, a read-only SQL injection, a curious DBA) reveals none of them.
//!
//! A sealed value is text: `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id
//! names which key of the [`Keyring`] sealed it, so old keys stay readable during a rotation.
//! Each value is bound to its place (`agents.totp_secret:7`) as associated data: a ciphertext
//! copied to another row or column does not open.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Bytes of a secrets key.
pub const KEY_BYTES: usize = 32;
const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;
/// Secrets are short (a password, a 20-byte TOTP seed); anything longer is a mistake.
const MAX_PLAINTEXT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a secrets key must be {KEY_BYTES} random bytes, base64-encoded")]
    BadKey,
    #[error("the stored value is not sealed")]
    NotSealed,
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the value is sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error(
        "the value does not open with key {0}: it was altered or copied from another row or column"
    )]
    Rejected(String),
    #[error("the secret is too long to seal")]
    TooLong,
}

/// One key: its id (a fingerprint, not secret) and its cipher.
pub struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != KEY_BYTES {
            return Err(SealError::BadKey);
        }
        let mut h = Sha256::new();
        h.update(b"xdesk secrets key id\0");
        h.update(bytes);
        let id = hex::encode(&h.finalize()[..6]);
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self { id, cipher })
    }

    /// A key written as base64 (standard or URL-safe, padding optional; surrounding white
    /// space ignored), as in a key file or `XDESK_SECRETS__KEY`.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let t = text.trim();
        let bytes = STANDARD
            .decode(t)
            .or_else(|_| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
            .map_err(|_| SealError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key and its base64 text, to keep in a key file.
    pub fn generate() -> Result<(Self, String), SealError> {
        let mut raw = [0u8; KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        Ok((Self::from_bytes(&raw)?, STANDARD.encode(raw)))
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The keys secrets may be sealed with: the current one seals, every one opens what it sealed.
#[derive(Debug)]
pub struct Keyring {
    /// The current key first.
    keys: Vec<SecretKey>,
}

impl Keyring {
    pub fn new(current: SecretKey) -> Self {
        Self {
            keys: vec![current],
        }
    }

    /// A keyring with one random key, lost when the process ends: for tests and for services
    /// built without configuration. `xdesk` always configures a kept key.
    pub fn ephemeral() -> Self {
        let mut raw = [0u8; KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        // 32 bytes are always a valid key.
        match SecretKey::from_bytes(&raw) {
            Ok(k) => Self::new(k),
            Err(_) => Self { keys: Vec::new() },
        }
    }

    /// Adds a key that still opens what it sealed (a rotation in progress). A key already in
    /// the ring is not added twice.
    pub fn with_previous(mut self, key: SecretKey) -> Self {
        if !self.knows(key.id()) {
            self.keys.push(key);
        }
        self
    }

    pub fn current_id(&self) -> &str {
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id)
    }

    /// Seals `plaintext` for the place `context` names (`agents.totp_secret:7`).
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<String, SealError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(SealError::TooLong);
        }
        let key = self.keys.first().ok_or(SealError::BadKey)?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(&key.id, context);
        let ct = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::TooLong)?;
        let mut out = Vec::with_capacity(NONCE_BYTES + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!(
            "{PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens a value sealed for `context` with any key of the ring.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, SealError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let (key_id, body) = rest.split_once(':').ok_or(SealError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_BYTES + 16 {
            return Err(SealError::Malformed);
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        let (nonce, ct) = bytes.split_at(NONCE_BYTES);
        let aad = associated_data(key_id, context);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Rejected(key_id.to_owned()))?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed)
    }
}

/// The header and the place, authenticated with the ciphertext.
fn associated_data(key_id: &str, context: &str) -> String {
    format!("{PREFIX}{key_id}:{context}")
}

/// Whether a stored value is sealed (else it is plaintext from before sealing).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The id of the key a sealed value names.
pub fn key_id_of(value: &str) -> Option<&str> {
    value
        .strip_prefix(PREFIX)?
        .split_once(':')
        .map(|(id, _)| id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(&[byte; KEY_BYTES]).unwrap()
    }

    #[test]
    fn seals_and_opens() {
        let ring = Keyring::new(key(1));
        let s = ring
            .seal("agents.totp_secret:7", "JBSWY3DPEHPK3PXP")
            .unwrap();
        assert!(is_sealed(&s) && s.starts_with("enc:v1:"));
        assert!(!s.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(key_id_of(&s), Some(ring.current_id()));
        assert_eq!(
            ring.open("agents.totp_secret:7", &s).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        // A fresh nonce each time: equal secrets do not look equal.
        assert_ne!(
            s,
            ring.seal("agents.totp_secret:7", "JBSWY3DPEHPK3PXP")
                .unwrap()
        );
        assert_eq!(
            ring.open("x:1", &ring.seal("x:1", "").unwrap()).unwrap(),
            ""
        );
    }

    #[test]
    fn another_row_or_column_does_not_open() {
        let ring = Keyring::new(key(1));
        let s = ring.seal("agents.totp_secret:7", "secret").unwrap();
        assert_eq!(
            ring.open("agents.totp_secret:8", &s),
            Err(SealError::Rejected(ring.current_id().to_owned()))
        );
        assert!(matches!(
            ring.open("mailboxes.password:7", &s),
            Err(SealError::Rejected(_))
        ));
    }

    #[test]
    fn wrong_key_does_not_open() {
        let a = Keyring::new(key(1));
        let s = a.seal("c:1", "secret").unwrap();
        // Another key entirely: its id is unknown here.
        let b = Keyring::new(key(2));
        assert_eq!(
            b.open("c:1", &s),
            Err(SealError::UnknownKey(a.current_id().to_owned()))
        );
        // Another key that claims the same id: authentication fails.
        let forged = s.replace(a.current_id(), b.current_id());
        assert!(matches!(
            b.open("c:1", &forged),
            Err(SealError::Rejected(_))
        ));
    }

    #[test]
    fn tampered_values_are_refused() {
        let ring = Keyring::new(key(1));
        let s = ring.seal("c:1", "secret value").unwrap();
        let (head, body) = s.rsplit_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in [0, NONCE_BYTES, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[i] ^= 1;
            let t = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&b));
            assert!(
                matches!(ring.open("c:1", &t), Err(SealError::Rejected(_))),
                "byte {i}"
            );
        }
        bytes.truncate(NONCE_BYTES + 15);
        let short = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(ring.open("c:1", &short), Err(SealError::Malformed));
        assert_eq!(ring.open("c:1", "secret value"), Err(SealError::NotSealed));
        assert_eq!(ring.open("c:1", "enc:v1:nokey"), Err(SealError::Malformed));
        assert_eq!(
            ring.open("c:1", "enc:v1:abc:***"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn previous_keys_open_during_a_rotation() {
        let old = Keyring::new(key(1));
        let s = old.seal("c:1", "secret").unwrap();
        let rotating = Keyring::new(key(2)).with_previous(key(1));
        assert_eq!(rotating.open("c:1", &s).unwrap(), "secret");
        let resealed = rotating.seal("c:1", "secret").unwrap();
        assert_eq!(key_id_of(&resealed), Some(rotating.current_id()));
        // After the rotation the old key is no longer needed.
        assert_eq!(
            Keyring::new(key(2)).open("c:1", &resealed).unwrap(),
            "secret"
        );
    }

    #[test]
    fn keys_parse_from_base64_only_at_full_length() {
        let (k, text) = SecretKey::generate().unwrap();
        assert_eq!(
            SecretKey::from_base64(&format!(" {text}\n")).unwrap().id(),
            k.id()
        );
        let url_safe = URL_SAFE_NO_PAD.encode(STANDARD.decode(&text).unwrap());
        assert_eq!(SecretKey::from_base64(&url_safe).unwrap().id(), k.id());
        assert_eq!(
            SecretKey::from_base64(&STANDARD.encode([0u8; 16])).unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(SecretKey::from_base64("").unwrap_err(), SealError::BadKey);
        assert_eq!(
            SecretKey::from_base64("not base64!").unwrap_err(),
            SealError::BadKey
        );
        // The id is a fingerprint, the same for the same key, never the key itself.
        assert_eq!(key(1).id(), key(1).id());
        assert_ne!(key(1).id(), key(2).id());
        assert!(!format!("{:?}", key(1)).contains("0101"));
    }
}
