//! The people who sign in: teachers (mobile app) and admins (dashboard). Students come with the
//! accounts issue.

use super::{Id, Millis};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Blocked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Blocked => "blocked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(AccountStatus::Active),
            "blocked" => Some(AccountStatus::Blocked),
            _ => None,
        }
    }
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
    pub total_student: i64,
    /// `None` for an account that only signs in with Google.
    pub password_hash: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// What a teacher may change about itself; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeacherPatch {
    pub name: Option<String>,
    pub contact: Option<String>,
    pub location: Option<String>,
    pub profile: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminRole {
    Admin,
    SuperAdmin,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Admin => "ADMIN",
            AdminRole::SuperAdmin => "SUPER_ADMIN",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ADMIN" => Some(AdminRole::Admin),
            "SUPER_ADMIN" => Some(AdminRole::SuperAdmin),
            _ => None,
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
