//! Password hashing: argon2id with OWASP's minimum parameters (m = 19 MiB, t = 2, p = 1).
//! Pure functions; the caller runs them on the blocking pool (see `auth::passwords`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// Bounds on what a user may choose. Admin-created teachers get a 6-digit code as their first
/// password (CLIENT-CONTRACT §2), so 6 is the floor; the ceiling keeps hashing cost bounded.
pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 128;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters cannot fail")
        .to_string()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Correct; `rehash` when the stored hash uses other parameters than today's.
    Yes {
        rehash: bool,
    },
    No,
}

pub fn verify(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    if argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verified::No;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    Verified::Yes { rehash: !current }
}

/// Burns the same time as a real verification, for unknown accounts: the answer's timing must not
/// reveal which emails exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash("dummy password"));
    let _ = verify(password, &DUMMY);
}

/// The rules for a new password; `Err` is a sentence for the user.
pub fn check_policy(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!(
            "The password must have at least {MIN_LEN} characters"
        ));
    }
    if len > MAX_LEN {
        return Err(format!(
            "The password must have at most {MAX_LEN} characters"
        ));
    }
    if password.trim().is_empty() {
        return Err("The password cannot be only spaces".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_old_parameters_ask_for_a_rehash() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("correct horse", &h), Verified::Yes { rehash: false });
        assert_eq!(verify("wrong", &h), Verified::No);
        assert_eq!(verify("x", "not a hash"), Verified::No);

        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"old", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert_eq!(verify("old", &weak), Verified::Yes { rehash: true });
    }

    #[test]
    fn policy() {
        assert!(check_policy("123456").is_ok());
        assert!(check_policy("12345").is_err());
        assert!(check_policy(&"x".repeat(129)).is_err());
        assert!(check_policy("       ").is_err());
    }
}
