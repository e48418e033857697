//! How records look to the clients: Mongoose-shaped documents (`_id`, `createdAt`, `updatedAt`,
//! `__v`), the same from both storage backends. Passwords and hashes never appear; a student's
//! passcode appears only where the caller may see it.

use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use crate::domain::assignment::{RewardAssignment, TaskAssignment};
use crate::domain::content::RuleType;
use crate::domain::{
    Admin, Category, Class, Feedback, Preset, Reward, Rule, Student, Task, Teacher,
};

pub use crate::http::upload::DEFAULT_AVATAR;
/// The one view both a response and a socket event carry; it lives below `api` and
/// `notifications` (see `wire`).
pub use crate::wire::NotificationView;

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
    /// Absent when unset (as a Mongoose document omits it; `null` would show "Invalid date").
    #[oai(rename = "dateOfBirth", skip_serializing_if_is_none)]
    pub date_of_birth: Option<String>,
    /// Absent when unset.
    #[oai(skip_serializing_if_is_none)]
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
    /// Approved tasks' points (negative tasks subtract), never lowered by claims; `level` follows it.
    #[oai(rename = "earnedPoints")]
    pub earned_points: i64,
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
            earned_points: s.earned_points,
            created_at: s.created_at.to_iso(),
            updated_at: s.updated_at.to_iso(),
            version: s.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Class")]
pub struct ClassView {
    #[oai(rename = "_id")]
    pub id: String,
    #[oai(rename = "className")]
    pub class_name: String,
    #[oai(rename = "startDate")]
    pub start_date: String,
    /// Absent when the class has no end date.
    #[oai(rename = "endDate", skip_serializing_if_is_none)]
    pub end_date: Option<String>,
    /// The teacher's id.
    pub teacher: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Class> for ClassView {
    fn from(k: &Class) -> Self {
        ClassView {
            id: k.id.to_string(),
            class_name: k.class_name.clone(),
            start_date: k.start_date.to_iso(),
            end_date: k.end_date.map(|d| d.to_iso()),
            teacher: k.teacher.to_string(),
            created_at: k.created_at.to_iso(),
            updated_at: k.updated_at.to_iso(),
            version: k.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Category")]
pub struct CategoryView {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    /// A path (`/images/...`) or URL of the icon.
    pub image: String,
    /// The teacher's id.
    pub teacher: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Category> for CategoryView {
    fn from(k: &Category) -> Self {
        CategoryView {
            id: k.id.to_string(),
            name: k.name.clone(),
            image: k.image.clone(),
            teacher: k.teacher.to_string(),
            created_at: k.created_at.to_iso(),
            updated_at: k.updated_at.to_iso(),
            version: k.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Task")]
pub struct TaskView {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    /// From -500 to 500; added to the student's points when an assignment is approved.
    pub points: i64,
    /// The category, populated (`null` only if it no longer exists).
    #[oai(nullable)]
    pub category: Option<CategoryView>,
    /// `good` or `bad`.
    #[oai(rename = "type")]
    pub kind: String,
    /// `everyday`, `weekly` or `monthly`.
    pub repeat: String,
    /// The teacher's id.
    pub teacher: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl TaskView {
    /// `category` is the task's category when it could be loaded.
    pub fn new(t: &Task, category: Option<&Category>) -> Self {
        TaskView {
            id: t.id.to_string(),
            name: t.name.clone(),
            points: t.points,
            category: category.map(CategoryView::from),
            kind: t.kind.as_str().into(),
            repeat: t.repeat.as_str().into(),
            teacher: t.teacher.to_string(),
            created_at: t.created_at.to_iso(),
            updated_at: t.updated_at.to_iso(),
            version: t.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Reward")]
pub struct RewardView {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    #[oai(rename = "requiredPoints")]
    pub required_points: i64,
    pub image: String,
    /// The teacher's id.
    pub teacher: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Reward> for RewardView {
    fn from(r: &Reward) -> Self {
        RewardView {
            id: r.id.to_string(),
            name: r.name.clone(),
            required_points: r.required_points,
            image: r.image.clone(),
            teacher: r.teacher.to_string(),
            created_at: r.created_at.to_iso(),
            updated_at: r.updated_at.to_iso(),
            version: r.version,
        }
    }
}

/// A teacher as populated into what a student reads: `{_id, name, email, profile}`.
#[derive(Object, Debug, Clone)]
#[oai(rename = "TeacherSummary")]
pub struct TeacherSummary {
    #[oai(rename = "_id")]
    pub id: String,
    pub name: String,
    pub email: String,
    pub profile: String,
}

impl From<&Teacher> for TeacherSummary {
    fn from(t: &Teacher) -> Self {
        TeacherSummary {
            id: t.id.to_string(),
            name: t.name.clone(),
            email: t.email.clone(),
            profile: t
                .profile
                .clone()
                .unwrap_or_else(|| DEFAULT_AVATAR.to_owned()),
        }
    }
}

/// An assigned task. Which references are populated depends on the route (CLIENT-CONTRACT §3):
/// `task` always (with its `category`); `student` as an id or a document; `teacher` as an id or a
/// summary. A populated reference is `null` only if the record vanished.
#[derive(Object, Debug, Clone)]
#[oai(rename = "AssignedTask")]
pub struct AssignedTaskView<
    S: ToJSON + ParseFromJSON + Send + Sync,
    T: ToJSON + ParseFromJSON + Send + Sync,
> {
    #[oai(rename = "_id")]
    pub id: String,
    #[oai(nullable)]
    pub task: Option<TaskView>,
    #[oai(nullable)]
    pub student: S,
    #[oai(nullable)]
    pub teacher: T,
    /// `notStarted`, `inProgress` or `completed`.
    pub status: String,
    /// The points the student achieved (the task's points at that moment); 0 until then.
    pub points: i64,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl<S: ToJSON + ParseFromJSON + Send + Sync, T: ToJSON + ParseFromJSON + Send + Sync>
    AssignedTaskView<S, T>
{
    pub fn new(a: &TaskAssignment, task: Option<TaskView>, student: S, teacher: T) -> Self {
        AssignedTaskView {
            id: a.id.to_string(),
            task,
            student,
            teacher,
            status: a.status.as_str().into(),
            points: a.points,
            created_at: a.created_at.to_iso(),
            updated_at: a.updated_at.to_iso(),
            version: a.version,
        }
    }
}

/// An assigned reward; as for tasks, the route decides what is populated.
#[derive(Object, Debug, Clone)]
#[oai(rename = "AssignedReward")]
pub struct AssignedRewardView<
    S: ToJSON + ParseFromJSON + Send + Sync,
    T: ToJSON + ParseFromJSON + Send + Sync,
> {
    #[oai(rename = "_id")]
    pub id: String,
    #[oai(nullable)]
    pub reward: Option<RewardView>,
    #[oai(nullable)]
    pub student: S,
    #[oai(nullable)]
    pub teacher: T,
    /// `unclaimed` or `claimed`.
    pub status: String,
    /// What the claim cost; 0 while unclaimed.
    pub paid: i64,
    /// Absent until claimed.
    #[oai(rename = "claimedAt", skip_serializing_if_is_none)]
    pub claimed_at: Option<String>,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl<S: ToJSON + ParseFromJSON + Send + Sync, T: ToJSON + ParseFromJSON + Send + Sync>
    AssignedRewardView<S, T>
{
    pub fn new(a: &RewardAssignment, reward: Option<RewardView>, student: S, teacher: T) -> Self {
        AssignedRewardView {
            id: a.id.to_string(),
            reward,
            student,
            teacher,
            status: a.status.as_str().into(),
            paid: a.paid,
            claimed_at: a.claimed_at.map(|m| m.to_iso()),
            created_at: a.created_at.to_iso(),
            updated_at: a.updated_at.to_iso(),
            version: a.version,
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Preset")]
pub struct PresetView {
    #[oai(rename = "_id")]
    pub id: String,
    /// The public path of the image (`/images/<file>`).
    pub image: String,
    /// `avatar` or `icon`.
    #[oai(rename = "type")]
    pub kind: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Preset> for PresetView {
    fn from(p: &Preset) -> Self {
        PresetView {
            id: p.id.to_string(),
            image: p.image.clone(),
            kind: p.kind.as_str().into(),
            created_at: p.created_at.to_iso(),
            updated_at: p.updated_at.to_iso(),
            version: p.version,
        }
    }
}

/// A rule. Before an admin has written it, only `type` and an empty `content` are present, so
/// that a client reading `data.content` shows an empty page rather than failing.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Rule")]
pub struct RuleView {
    #[oai(rename = "_id", skip_serializing_if_is_none)]
    pub id: Option<String>,
    /// `privacy-policy` or `terms-and-conditions`.
    #[oai(rename = "type")]
    pub kind: String,
    /// HTML exactly as the admin wrote it (never rendered or sanitized by the server).
    pub content: String,
    #[oai(rename = "createdAt", skip_serializing_if_is_none)]
    pub created_at: Option<String>,
    #[oai(rename = "updatedAt", skip_serializing_if_is_none)]
    pub updated_at: Option<String>,
    #[oai(rename = "__v", skip_serializing_if_is_none)]
    pub version: Option<i64>,
}

impl RuleView {
    /// The answer when no document of this type exists yet.
    pub fn empty(kind: RuleType) -> Self {
        RuleView {
            id: None,
            kind: kind.as_str().into(),
            content: String::new(),
            created_at: None,
            updated_at: None,
            version: None,
        }
    }
}

impl From<&Rule> for RuleView {
    fn from(r: &Rule) -> Self {
        RuleView {
            id: Some(r.id.to_string()),
            kind: r.kind.as_str().into(),
            content: r.content.clone(),
            created_at: Some(r.created_at.to_iso()),
            updated_at: Some(r.updated_at.to_iso()),
            version: Some(r.version),
        }
    }
}

#[derive(Object, Debug, Clone)]
#[oai(rename = "Feedback")]
pub struct FeedbackView {
    #[oai(rename = "_id")]
    pub id: String,
    /// The author's id.
    pub user: String,
    /// `TEACHER` or `STUDENT`.
    pub role: String,
    pub feedback: String,
    #[oai(rename = "createdAt")]
    pub created_at: String,
    #[oai(rename = "updatedAt")]
    pub updated_at: String,
    #[oai(rename = "__v")]
    pub version: i64,
}

impl From<&Feedback> for FeedbackView {
    fn from(f: &Feedback) -> Self {
        FeedbackView {
            id: f.id.to_string(),
            user: f.user.to_string(),
            role: f.role.as_str().into(),
            feedback: f.feedback.clone(),
            created_at: f.created_at.to_iso(),
            updated_at: f.updated_at.to_iso(),
            version: f.version,
        }
    }
}
