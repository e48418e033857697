//! Six-digit passcodes (students sign in with one alone; teachers have one to show in the app).
//!
//! Stored twice, never in clear: sealed with XChaCha20-Poly1305 (so the owner and its teacher can be
//! shown it) and as an HMAC-SHA256 lookup key (so login finds the student and a unique index keeps
//! passcodes unique, without decrypting anything). Both keys are derived from `PASSCODE_KEY`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::invalid::Invalid;

type HmacSha256 = Hmac<Sha256>;

const SEALED_PREFIX: &str = "v1.";

/// What a sealed passcode belongs to; bound into the ciphertext so that a value cannot be moved
/// from one purpose to another.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    Student,
    Teacher,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Student => b"student-passcode",
            Purpose::Teacher => b"teacher-passcode",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasscodeError {
    #[error("PASSCODE_KEY must be 64 hexadecimal characters")]
    BadKey,
    #[error("a stored passcode could not be decrypted (wrong PASSCODE_KEY, or corrupted)")]
    Undecryptable,
}

#[derive(Clone)]
pub struct PasscodeCipher {
    aead: XChaCha20Poly1305,
    lookup_key: [u8; 32],
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `message` under `key`, in lower-case hex: how a secret is stored when only
/// equality is ever asked of it (passcode lookups, refresh tokens).
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

impl PasscodeCipher {
    pub fn from_hex_key(key_hex: &str) -> Result<Self, PasscodeError> {
        let master = hex_decode(key_hex)
            .filter(|k| k.len() == 32)
            .ok_or(PasscodeError::BadKey)?;
        let enc = derive(&master, b"educoin/passcode/encryption/v1");
        Ok(PasscodeCipher {
            aead: XChaCha20Poly1305::new((&enc).into()),
            lookup_key: derive(&master, b"educoin/passcode/lookup/v1"),
        })
    }

    /// `v1.<base64url(nonce || ciphertext)>`.
    pub fn seal(&self, purpose: Purpose, passcode: &str) -> String {
        let nonce: [u8; 24] = rand::rng().random();
        let ciphertext = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: passcode.as_bytes(),
                    aad: purpose.label(),
                },
            )
            .expect("encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    pub fn open(&self, purpose: Purpose, sealed: &str) -> Result<String, PasscodeError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|r| r.len() > 24)
            .ok_or(PasscodeError::Undecryptable)?;
        let (nonce, ciphertext) = raw.split_at(24);
        let plain = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.label(),
                },
            )
            .map_err(|_| PasscodeError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| PasscodeError::Undecryptable)
    }

    /// The keyed hash used for lookup and uniqueness (hex).
    pub fn lookup_key(&self, passcode: &str) -> String {
        hmac_hex(&self.lookup_key, passcode.as_bytes())
    }
}

/// Exactly six ASCII digits (leading zeros kept); built only by [`Passcode::parse`]. A secret:
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl Passcode {
    /// Surrounding white space is ignored.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Passcode(code.to_owned()))
        } else {
            Err(Invalid::Passcode)
        }
    }

    /// The digits, for sealing or a lookup key.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode(..)")
    }
}

/// Six uniformly random digits from the OS's CSPRNG (leading zeros allowed).
pub fn generate() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

impl super::invalid::FromText for Passcode {
    fn from_text(raw: &str) -> Result<Self, Invalid> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn seals_opens_and_binds_the_purpose() {
        let c = PasscodeCipher::from_hex_key(KEY).unwrap();
        let sealed = c.seal(Purpose::Student, "042137");
        assert!(!sealed.contains("042137"));
        assert_ne!(sealed, c.seal(Purpose::Student, "042137"), "random nonce");
        assert_eq!(c.open(Purpose::Student, &sealed).unwrap(), "042137");
        assert!(
            c.open(Purpose::Teacher, &sealed).is_err(),
            "purpose is authenticated"
        );
        let other = PasscodeCipher::from_hex_key(&KEY.replace("00", "ff")).unwrap();
        assert!(other.open(Purpose::Student, &sealed).is_err());
    }

    #[test]
    fn lookup_is_deterministic_and_keyed() {
        let c = PasscodeCipher::from_hex_key(KEY).unwrap();
        assert_eq!(c.lookup_key("123456"), c.lookup_key("123456"));
        assert_ne!(c.lookup_key("123456"), c.lookup_key("123457"));
        let other = PasscodeCipher::from_hex_key(&KEY.replace("00", "ff")).unwrap();
        assert_ne!(c.lookup_key("123456"), other.lookup_key("123456"));
    }

    #[test]
    fn checks_and_generates_six_digits() {
        assert_eq!(Passcode::parse(" 012345 ").unwrap().expose(), "012345");
        assert!(Passcode::parse("12345").is_err());
        assert!(Passcode::parse("12345a").is_err());
        assert!(
            Passcode::parse("１２３４５６").is_err(),
            "ASCII digits only"
        );
        for _ in 0..100 {
            assert!(Passcode::parse(&generate()).is_ok());
        }
        assert!(PasscodeCipher::from_hex_key("abc").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_accepted_codes_round_trip(raw in "\\PC{0,10}|\\s?[0-9]{5,7}\\s?") {
            if let Ok(code) = Passcode::parse(&raw) {
                proptest::prop_assert_eq!(code.expose(), raw.trim());
                proptest::prop_assert_eq!(Passcode::parse(code.expose()), Ok(code.clone()));
            }
        }
    }
}
