//! Password hashing: argon2id with OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1).
//! Pure functions; the caller runs them on the blocking pool (see `auth::passwords`).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use super::invalid::Invalid;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// Bounds on what a user may choose. Admin-created teachers get a 6-digit code as their first
/// password (CLIENT-CONTRACT §2), so 6 is the floor; the ceiling keeps hashing cost bounded.
pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 128;

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// Working memory for one hash at today's parameters (m = 19 MiB). Hashing into a block the caller
/// keeps, instead of one allocated per hash, is what keeps the process's memory flat: glibc hands
/// freed 19 MiB blocks back to its heap, not to the system, so a burst of concurrent logins left
/// its peak resident for good (issue 10, item 23).
pub fn memory() -> Vec<Block> {
    vec![Block::default(); MEMORY_KIB as usize]
}

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
        .expect("static argon2 parameters are valid")
}

/// Runs argon2 into `out`, in `memory` when it is large enough (a hash with older, larger
/// parameters gets a block of its own, once, before it is upgraded).
fn raw(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> argon2::Result<()> {
    let needed = argon2.params().block_count();
    if memory.len() >= needed {
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..needed])
    } else {
        argon2.hash_password_into_with_memory(password, salt, out, vec![Block::default(); needed])
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), hashed in `memory`.
pub fn hash_in(password: &str, memory: &mut [Block]) -> String {
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    raw(&argon2, password.as_bytes(), &salt, &mut out, memory)
        .expect("hashing with valid parameters cannot fail");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("static parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    }
    .to_string()
}

/// [`hash_in`] with memory of its own (tests, one-off tools).
pub fn hash(password: &str) -> String {
    hash_in(password, &mut memory())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Correct; `rehash` when the stored hash uses other parameters than today's.
    Yes {
        rehash: bool,
    },
    No,
}

/// Checks `password` against the PHC string `stored`, hashing in `memory`.
pub fn verify_in(password: &str, stored: &str, memory: &mut [Block]) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.hash,
        parsed.salt,
    ) else {
        return Verified::No;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return Verified::No,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return Verified::No;
    };
    let current = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() == MEMORY_KIB
        && params.t_cost() == ITERATIONS
        && params.p_cost() == PARALLELISM;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    if raw(&argon2, password.as_bytes(), salt, &mut out, memory).is_err() {
        return Verified::No;
    }
    if bool::from(out.as_slice().ct_eq(expected.as_bytes())) {
        Verified::Yes { rehash: !current }
    } else {
        Verified::No
    }
}

/// [`verify_in`] with memory of its own.
pub fn verify(password: &str, stored: &str) -> Verified {
    verify_in(password, stored, &mut memory())
}

/// Burns the same time as a real verification, for unknown accounts: the answer's timing must not
/// reveal which emails exist.
pub fn verify_dummy_in(password: &str, memory: &mut [Block]) {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash("dummy password"));
    let _ = verify_in(password, &DUMMY, memory);
}

/// A password a user chose, checked against the rules for new passwords; built only by
/// [`NewPassword::parse`]. Never printed: `Debug` hides it, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Taken as typed (not trimmed): spaces may be part of a password, only a blank one is refused.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < MIN_LEN {
            return Err(Invalid::PasswordTooShort { min: MIN_LEN });
        }
        if len > MAX_LEN {
            return Err(Invalid::PasswordTooLong { max: MAX_LEN });
        }
        if raw.trim().is_empty() {
            return Err(Invalid::PasswordBlank);
        }
        Ok(NewPassword(raw.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

impl super::invalid::FromText for NewPassword {
    fn from_text(raw: &str) -> Result<Self, Invalid> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use argon2::password_hash::PasswordHasher;

    /// A hash made with other parameters than ours (`m_cost` KiB, one pass, one lane), as older
    /// servers stored them.
    fn argon2id_hash(m_cost: u32, password: &[u8]) -> String {
        let params = Params::new(m_cost, 1, 1, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password, &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[test]
    fn hashes_verify_and_old_parameters_ask_for_a_rehash() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("correct horse", &h), Verified::Yes { rehash: false });
        assert_eq!(verify("wrong", &h), Verified::No);
        assert_eq!(verify("x", "not a hash"), Verified::No);

        let weak = argon2id_hash(8192, b"old");
        assert_eq!(verify("old", &weak), Verified::Yes { rehash: true });
        assert_eq!(verify("older", &weak), Verified::No);
    }

    /// Hashes made by the argon2 crate's own API (every stored hash so far) verify with the
    /// reused memory, and ours verify with the crate's API: the format did not change.
    #[test]
    fn compatible_with_the_crate_api_and_memory_is_reusable() {
        use argon2::password_hash::PasswordVerifier;
        let theirs = Argon2::default()
            .hash_password(b"pw-1", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let mut mem = memory();
        assert_eq!(
            verify_in("pw-1", &theirs, &mut mem),
            Verified::Yes { rehash: false }
        );
        assert_eq!(verify_in("pw-2", &theirs, &mut mem), Verified::No);
        let ours = hash_in("pw-3", &mut mem);
        assert!(
            Argon2::default()
                .verify_password(b"pw-3", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
        assert_eq!(
            verify_in("pw-3", &ours, &mut mem),
            Verified::Yes { rehash: false }
        );
        // A bigger old hash (m = 32 MiB) still verifies, in memory of its own.
        let big = argon2id_hash(32_768, b"big");
        assert_eq!(
            verify_in("big", &big, &mut mem),
            Verified::Yes { rehash: true }
        );
    }

    #[test]
    fn policy() {
        assert!(NewPassword::parse("123456").is_ok());
        assert_eq!(
            NewPassword::parse("12345").unwrap_err(),
            Invalid::PasswordTooShort { min: 6 }
        );
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            NewPassword::parse("       ").unwrap_err(),
            Invalid::PasswordBlank
        );
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret-pw").unwrap()),
            "NewPassword(..)"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_accepted_passwords_are_kept_as_typed(raw in "\\PC{0,140}|\\s{0,10}") {
            if let Ok(p) = NewPassword::parse(&raw) {
                proptest::prop_assert_eq!(p.expose(), raw.as_str());
                let len = raw.chars().count();
                proptest::prop_assert!((MIN_LEN..=MAX_LEN).contains(&len));
                proptest::prop_assert_eq!(NewPassword::parse(p.expose()), Ok(p.clone()));
            }
        }
    }
}
