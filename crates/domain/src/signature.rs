//! Webhook signatures: the inbound checks per ticketing system, and
//! Standard Webhooks (<https://www.standardwebhooks.com/>) for what
//! Palisade sends and what ServiceNow or a generic sender signs with.
//! Every comparison runs in constant time.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::integration::IntegrationKind;

type HmacSha256 = Hmac<Sha256>;

/// Standard Webhooks timestamps further than this from now are refused.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a webhook's signature was refused. Says what is wrong, never a
/// secret or the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the signature does not match")]
    Mismatch,
    #[error("the webhook-timestamp is more than five minutes from now")]
    Stale,
}

/// `sha256=` + hex HMAC-SHA256 (GitHub's and Jira's form).
pub fn hub_signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex_lower(&hmac(secret, body)))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The key of a `whsec_…` secret (the base64 after the prefix); any other
/// text is used as it is.
pub fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,` + base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}").
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", B64.encode(hmac(&standard_key(secret), &message)))
}

/// Verifies a Standard Webhooks delivery: the timestamp within
/// [`TOLERANCE_SECONDS`] of `now`, and any of the space-separated `v1`
/// signatures made with any of `secrets`.
pub fn verify_standard(
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let id = header("webhook-id").ok_or(SignatureError::Missing("webhook-id"))?;
    let timestamp =
        header("webhook-timestamp").ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let signatures =
        header("webhook-signature").ok_or(SignatureError::Missing("webhook-signature"))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("webhook-timestamp"))?;
    let given: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .collect();
    if given.is_empty() {
        return Err(SignatureError::Malformed("webhook-signature"));
    }
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    // Every secret and every signature is compared, match or not.
    let matched = secrets.iter().fold(false, |found, secret| {
        let expected = hmac(&standard_key(secret), &message);
        given
            .iter()
            .fold(found, |found, g| same(g, &expected) | found)
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    // Judged after the signature, so a forger learns nothing from it.
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Verifies an inbound webhook of `kind` against the integration's
/// secrets (either of two during a rotation), before its body is parsed.
pub fn verify(
    kind: IntegrationKind,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let hub = |name: &'static str| -> Result<(), SignatureError> {
        let given = header(name).ok_or(SignatureError::Missing(name))?;
        let given = given.trim().as_bytes().to_ascii_lowercase();
        if !given.starts_with(b"sha256=") {
            return Err(SignatureError::Malformed(name));
        }
        let matched = secrets.iter().fold(false, |found, secret| {
            same(&given, hub_signature(secret.as_bytes(), body).as_bytes()) | found
        });
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    };
    match kind {
        IntegrationKind::Jira => hub("x-hub-signature"),
        IntegrationKind::Github => hub("x-hub-signature-256"),
        IntegrationKind::Gitlab => {
            let given =
                header("x-gitlab-token").ok_or(SignatureError::Missing("x-gitlab-token"))?;
            // Hashing first gives equal lengths, so the comparison's time
            // says nothing about the token's length either.
            let given = hmac(b"gitlab-token", given.as_bytes());
            let matched = secrets.iter().fold(false, |found, secret| {
                same(&given, &hmac(b"gitlab-token", secret.as_bytes())) | found
            });
            if matched {
                Ok(())
            } else {
                Err(SignatureError::Mismatch)
            }
        }
        IntegrationKind::Servicenow | IntegrationKind::Generic => {
            verify_standard(header, body, secrets, now)
        }
    }
}

/// A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes.
pub fn new_standard_secret(random: [u8; 32]) -> String {
    format!("whsec_{}", B64.encode(random))
}

/// A new shared token for HMAC senders (GitHub, Jira) and GitLab: 64 hex digits.
pub fn new_token(random: [u8; 32]) -> String {
    hex_lower(&random)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    const GITHUB_SECRET: &str = "It's a Secret to Everybody";
    const GITHUB_VECTOR: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_published_vector() {
        assert_eq!(
            hub_signature(GITHUB_SECRET.as_bytes(), b"Hello, World!"),
            GITHUB_VECTOR
        );
        let h = headers(&[("X-Hub-Signature-256", GITHUB_VECTOR)]);
        let secrets = [GITHUB_SECRET.to_string()];
        assert_eq!(
            verify(IntegrationKind::Github, &h, b"Hello, World!", &secrets, 0),
            Ok(())
        );
        assert_eq!(
            verify(IntegrationKind::Github, &h, b"Hello, World?", &secrets, 0),
            Err(SignatureError::Mismatch)
        );
        // Jira signs the same way under its own header name.
        assert_eq!(
            verify(IntegrationKind::Jira, &h, b"Hello, World!", &secrets, 0),
            Err(SignatureError::Missing("x-hub-signature"))
        );
        let jira = headers(&[("X-Hub-Signature", GITHUB_VECTOR)]);
        assert_eq!(
            verify(IntegrationKind::Jira, &jira, b"Hello, World!", &secrets, 0),
            Ok(())
        );
    }

    #[test]
    fn either_of_two_secrets_is_accepted() {
        let h = headers(&[("X-Hub-Signature-256", GITHUB_VECTOR)]);
        let rotated = ["a newer secret".to_string(), GITHUB_SECRET.to_string()];
        assert_eq!(
            verify(IntegrationKind::Github, &h, b"Hello, World!", &rotated, 0),
            Ok(())
        );
        let neither = ["one".to_string(), "two".to_string()];
        assert_eq!(
            verify(IntegrationKind::Github, &h, b"Hello, World!", &neither, 0),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(IntegrationKind::Github, &h, b"Hello, World!", &[], 0),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_hub_signatures_are_refused() {
        let secrets = [GITHUB_SECRET.to_string()];
        for bad in [
            "",
            "757107ea",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            let h = headers(&[("X-Hub-Signature-256", bad)]);
            assert!(
                verify(IntegrationKind::Github, &h, b"Hello, World!", &secrets, 0).is_err(),
                "{bad:?}"
            );
        }
        let upper = headers(&[(
            "X-Hub-Signature-256",
            &GITHUB_VECTOR.to_uppercase().replace("SHA256", "sha256"),
        )]);
        assert_eq!(
            verify(
                IntegrationKind::Github,
                &upper,
                b"Hello, World!",
                &secrets,
                0
            ),
            Ok(())
        );
    }

    #[test]
    fn gitlab_compares_the_token() {
        let secrets = ["glpat-token".to_string()];
        let ok = headers(&[("X-Gitlab-Token", "glpat-token")]);
        assert_eq!(
            verify(IntegrationKind::Gitlab, &ok, b"{}", &secrets, 0),
            Ok(())
        );
        for bad in ["glpat-toke", "glpat-token ", "GLPAT-TOKEN", ""] {
            let h = headers(&[("X-Gitlab-Token", bad)]);
            assert_eq!(
                verify(IntegrationKind::Gitlab, &h, b"{}", &secrets, 0),
                Err(SignatureError::Mismatch),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify(IntegrationKind::Gitlab, &headers(&[]), b"{}", &secrets, 0),
            Err(SignatureError::Missing("x-gitlab-token"))
        );
    }

    const SW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SW_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SW_TS: i64 = 1649367553;
    const SW_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SW_VECTOR: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn standard_webhooks_published_vector() {
        assert_eq!(
            standard_signature(SW_SECRET, SW_ID, SW_TS, SW_BODY),
            SW_VECTOR
        );
        let h = headers(&[
            ("webhook-id", SW_ID),
            ("webhook-timestamp", "1649367553"),
            ("webhook-signature", &format!("v1,bm90IGl0 {SW_VECTOR}")),
        ]);
        let secrets = [SW_SECRET.to_string()];
        for kind in [IntegrationKind::Servicenow, IntegrationKind::Generic] {
            assert_eq!(verify(kind, &h, SW_BODY, &secrets, SW_TS + 10), Ok(()));
            assert_eq!(
                verify(kind, &h, b"{}", &secrets, SW_TS),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn standard_webhooks_timestamps_outside_five_minutes_are_stale() {
        let h = headers(&[
            ("webhook-id", SW_ID),
            ("webhook-timestamp", "1649367553"),
            ("webhook-signature", SW_VECTOR),
        ]);
        let secrets = [SW_SECRET.to_string()];
        assert_eq!(verify_standard(&h, SW_BODY, &secrets, SW_TS + 300), Ok(()));
        assert_eq!(verify_standard(&h, SW_BODY, &secrets, SW_TS - 300), Ok(()));
        assert_eq!(
            verify_standard(&h, SW_BODY, &secrets, SW_TS + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_standard(&h, SW_BODY, &secrets, SW_TS - 301),
            Err(SignatureError::Stale)
        );
        // The id and timestamp are signed: changing either breaks it.
        let other_id = headers(&[
            ("webhook-id", "msg_other"),
            ("webhook-timestamp", "1649367553"),
            ("webhook-signature", SW_VECTOR),
        ]);
        assert_eq!(
            verify_standard(&other_id, SW_BODY, &secrets, SW_TS),
            Err(SignatureError::Mismatch)
        );
        let other_ts = headers(&[
            ("webhook-id", SW_ID),
            ("webhook-timestamp", "1649367554"),
            ("webhook-signature", SW_VECTOR),
        ]);
        assert_eq!(
            verify_standard(&other_ts, SW_BODY, &secrets, SW_TS),
            Err(SignatureError::Mismatch)
        );
        let missing = headers(&[("webhook-id", SW_ID), ("webhook-signature", SW_VECTOR)]);
        assert_eq!(
            verify_standard(&missing, SW_BODY, &secrets, SW_TS),
            Err(SignatureError::Missing("webhook-timestamp"))
        );
        let junk = headers(&[
            ("webhook-id", SW_ID),
            ("webhook-timestamp", "soon"),
            ("webhook-signature", SW_VECTOR),
        ]);
        assert_eq!(
            verify_standard(&junk, SW_BODY, &secrets, SW_TS),
            Err(SignatureError::Malformed("webhook-timestamp"))
        );
    }

    #[test]
    fn new_secrets_have_their_forms() {
        let s = new_standard_secret([7; 32]);
        assert!(s.starts_with("whsec_"));
        assert_eq!(standard_key(&s), vec![7; 32]);
        assert_eq!(new_token([255; 32]), "ff".repeat(32));
    }
}
