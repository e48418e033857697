//! The people who sign in: admins (dashboard), teachers and students (mobile app).

use super::named::named_enum;
use super::{Id, Millis};

named_enum! {
    /// What a token says its bearer is.
    #[derive(Hash, serde::Serialize, serde::Deserialize)]
    pub enum Role {
        #[serde(rename = "SUPER_ADMIN")]
        SuperAdmin = "SUPER_ADMIN",
        #[serde(rename = "ADMIN")]
        Admin = "ADMIN",
        #[serde(rename = "TEACHER")]
        Teacher = "TEACHER",
        #[serde(rename = "STUDENT")]
        Student = "STUDENT",
    }
}

impl Role {
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::SuperAdmin)
    }
}

named_enum! {
    pub enum AccountStatus { Active = "active", Blocked = "blocked" }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Teacher {
    pub id: Id,
    pub name: String,
    /// Lower-cased and trimmed (see [`normalize_email`]); unique.
    pub email: String,
    pub contact: String,
    pub location: String,
    /// A path under `/images/`, or `None` for the default avatar.
    pub profile: Option<String>,
    pub status: AccountStatus,
    /// `None` for an account that only signs in with Google.
    pub password_hash: Option<String>,
    /// The teacher's own 6-digit code (`GET /teacher/pass-code`), sealed; see `domain::passcode`.
    pub passcode_sealed: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
    /// Access tokens carry the epoch they were issued under; only the current one is accepted.
    pub token_epoch: i64,
}

/// What a teacher may change about itself; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeacherPatch {
    pub name: Option<String>,
    pub contact: Option<String>,
    pub location: Option<String>,
    pub profile: Option<String>,
}

named_enum! {
    pub enum AdminRole { Admin = "ADMIN", SuperAdmin = "SUPER_ADMIN" }
}

impl AdminRole {
    pub fn role(self) -> Role {
        match self {
            AdminRole::Admin => Role::Admin,
            AdminRole::SuperAdmin => Role::SuperAdmin,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Admin {
    pub id: Id,
    pub name: String,
    pub email: String,
    pub contact: String,
    pub location: String,
    pub profile: Option<String>,
    pub role: AdminRole,
    pub password_hash: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
    /// Access tokens carry the epoch they were issued under; only the current one is accepted.
    pub token_epoch: i64,
}

/// What an admin may change about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub contact: Option<String>,
    pub location: Option<String>,
    pub profile: Option<String>,
}

/// Emails compare case-insensitively everywhere (login, uniqueness), so they are stored normalized.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}
