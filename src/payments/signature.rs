//! The `Stripe-Signature` header, checked as Stripe specifies: `t=<unix seconds>` and one or more
//! `v1=<hex HMAC-SHA256>` (other schemes ignored), each `v1` over `"{t}.{raw body}"` with the
//! endpoint's secret; a match with any secret (several during a rotation) in constant time, then a
//! timestamp no older than the tolerance (Stripe's libraries check only the past).

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Stripe's default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("no signature matches the payload")]
    NoMatch,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// Verifies `header` for `payload` (the raw body bytes) at `now_secs`.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[SecretString],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Some(bytes) = decode_hex(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        let expected = mac.finalize().into_bytes();
        for candidate in &signatures {
            // `subtle`: the time taken does not depend on where the bytes differ.
            let equal: bool =
                subtle::ConstantTimeEq::ct_eq(expected.as_slice(), candidate.as_slice()).into();
            matched |= equal;
        }
    }
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if t < now_secs.saturating_sub(tolerance_secs) {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

/// The header Stripe would send for `payload` at `t` (tests and tools).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(v: &[&str]) -> Vec<SecretString> {
        v.iter().map(|s| SecretString::from(*s)).collect()
    }

    #[test]
    fn accepts_any_secret_and_any_v1() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(body, "whsec_new", 1000);
        assert_eq!(
            verify(
                Some(&good),
                body,
                &secrets(&["whsec_old", "whsec_new"]),
                1000,
                300
            ),
            Ok(1000)
        );
        let v1 = good.split_once(",v1=").unwrap().1;
        let several = format!("t=1000,v1={},v0=abc,v1={v1}", "0".repeat(64));
        assert_eq!(
            verify(Some(&several), body, &secrets(&["whsec_new"]), 1100, 300),
            Ok(1000)
        );
    }

    #[test]
    fn refuses_what_stripe_refuses() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(body, "whsec_a", 1000);
        let s = secrets(&["whsec_a"]);
        assert_eq!(
            verify(None, body, &s, 1000, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=00"), body, &s, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000"), body, &s, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&good), b"{\"id\":\"evt_2\"}", &s, 1000, 300),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(Some(&good), body, &secrets(&["whsec_b"]), 1000, 300),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(Some(&good), body, &s, 1301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(Some(&good), body, &s, 1300, 300), Ok(1000));
    }
}
