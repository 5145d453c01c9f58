//! Secrets at rest: webhook secrets and ticketing tokens are sealed with
//! ChaCha20-Poly1305 under the operator's key before they reach a row, so a
//! database dump alone does not reveal them. Each sealed value is bound to
//! what it belongs to (its row), so one cannot be moved to another.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::StoreError;

const PREFIX: &str = "v1:";

/// The operator's key (32 bytes), shared by every `serve` and `worker` of a
/// deployment.
#[derive(Clone)]
pub struct Sealer {
    cipher: Option<ChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.cipher.is_some() {
            "Sealer(key set)"
        } else {
            "Sealer(no key)"
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("must be 32 bytes in base64 (`openssl rand -base64 32`)")]
    Malformed,
}

impl Sealer {
    /// A key from its base64 text.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = B64.decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::Malformed);
        }
        Ok(Sealer {
            cipher: Some(ChaCha20Poly1305::new(Key::from_slice(bytes))),
        })
    }

    /// No key: sealing and opening answer 503 naming the setting.
    pub fn missing() -> Self {
        Sealer { cipher: None }
    }

    /// A new random key, as base64.
    pub fn generate_key() -> String {
        B64.encode(ChaCha20Poly1305::generate_key(&mut OsRng))
    }

    pub fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    fn cipher(&self) -> Result<&ChaCha20Poly1305, StoreError> {
        self.cipher.as_ref().ok_or_else(|| {
            StoreError::Unavailable(
                "secrets cannot be stored or read: set PALISADE_SECRET_KEY (32 bytes in base64) \
                 on every palisade serve and worker"
                    .into(),
            )
        })
    }

    /// `plain` sealed for `context` (what it belongs to).
    pub fn seal(&self, context: &str, plain: &str) -> Result<String, StoreError> {
        let cipher = self.cipher()?;
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("a secret could not be sealed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Opens what [`Sealer::seal`] gave for the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, StoreError> {
        let cipher = self.cipher()?;
        let wrong = || {
            StoreError::Corrupt(
                "a stored secret cannot be opened: PALISADE_SECRET_KEY is not the key it was sealed with"
                    .into(),
            )
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or_else(wrong)?;
        let (nonce, body) = bytes.split_at(12);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = Sealer::generate_key();
        let sealer = Sealer::from_base64(&key).unwrap();
        let sealed = sealer.seal("integration:1", "whsec_abc").unwrap();
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(sealed, sealer.seal("integration:1", "whsec_abc").unwrap());
        assert_eq!(sealer.open("integration:1", &sealed).unwrap(), "whsec_abc");
        assert!(sealer.open("integration:2", &sealed).is_err());
        let other = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        assert!(other.open("integration:1", &sealed).is_err());
        assert!(sealer.open("integration:1", "v1:AAAA").is_err());
        assert!(matches!(
            Sealer::missing().seal("x", "y"),
            Err(StoreError::Unavailable(_))
        ));
        assert!(Sealer::from_base64("c2hvcnQ=").is_err());
    }
}
