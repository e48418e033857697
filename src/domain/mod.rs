//! The rules of EduCoin with no I/O: identities, accounts, validation.

pub mod account;
pub mod id;
pub mod time;

pub use account::{AccountStatus, Admin, AdminRole, Teacher};
pub use id::Id;
pub use time::Millis;
