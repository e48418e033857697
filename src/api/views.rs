//! How records look to the clients: Mongoose-shaped documents (`_id`, `createdAt`, `updatedAt`,
//! `__v`), the same from both storage backends. Passwords and hashes never appear; a student's
//! passcode appears only where the caller may see it.

use poem_openapi::Object;

use crate::domain::{Admin, Student, Teacher};

pub use crate::http::upload::DEFAULT_AVATAR;

#[derive(Object, Debug, Clone)]
#[oai(rename = "Teacher")]
pub struct TeacherView {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    pub email: String,
    pub contact: String,
    pub location: String,
    pub profile: String,
    /// Always `TEACHER`.
    pub role: String,
    /// `active` or `blocked`.
    pub status: String,
    #[oai(rename = "totalStudent")]
    pub total_student: u64,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl TeacherView {
    pub fn new(t: &Teacher, total_student: u64) -> Self {
        TeacherView {
            id: t.id.to_string(),
            name: t.name.clone(),
            email: t.email.clone(),
            contact: t.contact.clone(),
            location: t.location.clone(),
            profile: t
                .profile
                .clone()
                .unwrap_or_else(|| DEFAULT_AVATAR.to_owned()),
            role: "TEACHER".into(),
            status: t.status.as_str().into(),
            total_student,
            created_at: t.created_at.to_iso(),
            updated_at: t.updated_at.to_iso(),
            version: t.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Admin")]
pub struct AdminView {
    #[oai(rename = "_id")]
    pub id: String,
    /// `ADMIN` or `SUPER_ADMIN`.
    pub role: String,
    pub name: String,
    pub email: String,
    pub contact: String,
    pub location: String,
    pub profile: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Admin> for AdminView {
    fn from(a: &Admin) -> Self {
        AdminView {
            id: a.id.to_string(),
            role: a.role.as_str().into(),
            name: a.name.clone(),
            email: a.email.clone(),
            contact: a.contact.clone(),
            location: a.location.clone(),
            profile: a
                .profile
                .clone()
                .unwrap_or_else(|| DEFAULT_AVATAR.to_owned()),
            created_at: a.created_at.to_iso(),
            updated_at: a.updated_at.to_iso(),
            version: a.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Student")]
pub struct StudentView {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    /// The 6-digit passcode: only for the student itself and its own teacher.
    #[oai(skip_serializing_if_is_none)]
    pub password: Option<String>,
    /// Always `STUDENT`.
    pub role: String,
    #[oai(rename = "dateOfBirth")]
    pub date_of_birth: Option<String>,
    pub profile: Option<String>,
    /// The class name.
    pub class: String,
    /// The teacher's id.
    pub teacher: String,
    pub points: i64,
    pub level: i64,
    pub rewards: i64,
    #[oai(rename = "pendingPoints")]
    pub pending_points: i64,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl StudentView {
    /// `passcode` is the opened passcode when the caller may see it, else `None`.
    pub fn new(s: &Student, passcode: Option<String>) -> Self {
        StudentView {
            id: s.id.to_string(),
            name: s.name.clone(),
            password: passcode,
            role: "STUDENT".into(),
            date_of_birth: s.date_of_birth.map(|d| d.to_iso()),
            profile: s.profile.clone(),
            class: s.class.clone(),
            teacher: s.teacher.to_string(),
            points: s.points,
            level: s.level,
            rewards: s.rewards,
            pending_points: s.pending_points,
            created_at: s.created_at.to_iso(),
            updated_at: s.updated_at.to_iso(),
            version: s.version,
        }
    }
}
