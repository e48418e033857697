//! How records look to the clients: Mongoose-shaped documents (`_id`, `createdAt`, `updatedAt`,
//! `__v`, added by `wire::document_view!`), the same from both storage backends. Passwords and
//! hashes never appear; a student's passcode appears only where the caller may see it.

use std::sync::Arc;

use poem_openapi::Object;
use serde::Serialize;

use crate::domain::assignment::{RewardAssignment, TaskAssignment};
use crate::domain::content::RuleType;
use crate::domain::{
    Admin, Category, Class, Feedback, Preset, Reward, Rule, Student, Task, Teacher,
};
use crate::wire::document_view;

pub use crate::http::upload::DEFAULT_AVATAR;
/// The one view both a response and a socket event carry; it lives below `api` and
/// `notifications` (see `wire`).
pub use crate::wire::NotificationView;

/// A shared view written as the view itself (serde's `Arc` support is behind its `rc` feature).
fn shared<S: serde::Serializer, V: Serialize>(
    view: &Option<Arc<V>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    view.as_deref().serialize(serializer)
}

/// An account's picture, or the default avatar when it has none.
fn picture(profile: &Option<String>) -> String {
    profile.clone().unwrap_or_else(|| DEFAULT_AVATAR.to_owned())
}

document_view! {
    #[oai(rename = "Teacher")]
    pub struct TeacherView from Teacher as t, total_student: u64;
    {
        name: String = t.name.clone(),
        email: String = t.email.clone(),
        contact: String = t.contact.clone(),
        location: String = t.location.clone(),
        profile: String = picture(&t.profile),
        /// Always `TEACHER`.
        role: String = "TEACHER".into(),
        /// `active` or `blocked`.
        status: String = t.status.as_str().into(),
        total_student: u64 = total_student,
    }
}

document_view! {
    #[oai(rename = "Admin")]
    pub struct AdminView from Admin as a;
    {
        /// `ADMIN` or `SUPER_ADMIN`.
        role: String = a.role.as_str().into(),
        name: String = a.name.clone(),
        email: String = a.email.clone(),
        contact: String = a.contact.clone(),
        location: String = a.location.clone(),
        profile: String = picture(&a.profile),
    }
}

document_view! {
    #[oai(rename = "Student")]
    pub struct StudentView from Student as s, passcode: Option<String>;
    {
        name: String = s.name.clone(),
        /// The 6-digit passcode: only for the student itself and its own teacher.
        #[oai(skip_serializing_if_is_none)]
        #[serde(skip_serializing_if = "Option::is_none")]
        password: Option<String> = passcode,
        /// Always `STUDENT`.
        role: String = "STUDENT".into(),
        /// Absent when unset (as a Mongoose document omits it; `null` would show "Invalid date").
        #[oai(skip_serializing_if_is_none)]
        #[serde(skip_serializing_if = "Option::is_none")]
        date_of_birth: Option<String> = s.date_of_birth.map(|d| d.to_iso()),
        /// Absent when unset.
        #[oai(skip_serializing_if_is_none)]
        #[serde(skip_serializing_if = "Option::is_none")]
        profile: Option<String> = s.profile.clone(),
        /// The class name.
        class: String = s.class.clone(),
        /// The teacher's id.
        teacher: String = s.teacher.to_string(),
        points: i64 = s.points,
        level: i64 = s.level,
        rewards: i64 = s.rewards,
        pending_points: i64 = s.pending_points,
        /// Approved tasks' points (negative tasks subtract), never lowered by claims; `level` follows it.
        earned_points: i64 = s.earned_points,
    }
}

document_view! {
    #[oai(rename = "Class")]
    pub struct ClassView from Class as k;
    {
        class_name: String = k.class_name.clone(),
        start_date: String = k.start_date.to_iso(),
        /// Absent when the class has no end date.
        #[oai(skip_serializing_if_is_none)]
        #[serde(skip_serializing_if = "Option::is_none")]
        end_date: Option<String> = k.end_date.map(|d| d.to_iso()),
        /// The teacher's id.
        teacher: String = k.teacher.to_string(),
    }
}

document_view! {
    #[oai(rename = "Category")]
    pub struct CategoryView from Category as k;
    {
        name: String = k.name.clone(),
        /// A path (`/images/...`) or URL of the icon.
        image: String = k.image.clone(),
        /// The teacher's id.
        teacher: String = k.teacher.to_string(),
    }
}

/// A task's category as its view: built from the record, or built once and shared by the tasks of
/// a page that show it (a list of 50 tasks in 5 categories built and dropped 50 category views).
pub trait CategoryOf {
    fn category_view(self) -> Option<Arc<CategoryView>>;
}

impl CategoryOf for Option<&Category> {
    fn category_view(self) -> Option<Arc<CategoryView>> {
        self.map(|c| Arc::new(c.into()))
    }
}

impl CategoryOf for Option<Arc<CategoryView>> {
    fn category_view(self) -> Option<Arc<CategoryView>> {
        self
    }
}

document_view! {
    #[oai(rename = "Task")]
    pub struct TaskView from Task as t, category: impl CategoryOf;
    {
        name: String = t.name.clone(),
        /// From -500 to 500; added to the student's points when an assignment is approved.
        points: i64 = t.points,
        /// The category, populated (`null` only if it no longer exists).
        #[oai(nullable)]
        #[serde(serialize_with = "shared")]
        category: Option<Arc<CategoryView>> = category.category_view(),
        /// `good` or `bad`.
        #[oai(rename = "type")]
        #[serde(rename = "type")]
        kind: String = t.kind.as_str().into(),
        /// `everyday`, `weekly` or `monthly`.
        repeat: String = t.repeat.as_str().into(),
        /// The teacher's id.
        teacher: String = t.teacher.to_string(),
    }
}

document_view! {
    #[oai(rename = "Reward")]
    pub struct RewardView from Reward as r;
    {
        name: String = r.name.clone(),
        required_points: i64 = r.required_points,
        image: String = r.image.clone(),
        /// The teacher's id.
        teacher: String = r.teacher.to_string(),
    }
}

/// A teacher as populated into what a student reads: `{_id, name, email, profile}`.
#[derive(Object, Serialize, Debug, Clone)]
#[oai(rename = "TeacherSummary")]
pub struct TeacherSummary {
    #[oai(rename = "_id")]
    #[serde(rename = "_id")]
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
            profile: picture(&t.profile),
        }
    }
}

document_view! {
    /// An assigned task. Which references are populated depends on the route (CLIENT-CONTRACT §3):
    /// `task` always (with its `category`); `student` as an id or a document; `teacher` as an id or a
    /// summary. A populated reference is `null` only if the record vanished.
    #[oai(rename = "AssignedTask")]
    pub struct AssignedTaskView<S, T> from TaskAssignment as a,
        task: Option<Arc<TaskView>>, student: S, teacher: T;
    {
        // Shared by the assignments of one task in a list (built once, not copied per row); a
        // doc comment here would enter the OpenAPI document.
        #[oai(nullable)]
        #[serde(serialize_with = "shared")]
        task: Option<Arc<TaskView>> = task,
        #[oai(nullable)]
        student: S = student,
        #[oai(nullable)]
        teacher: T = teacher,
        /// `notStarted`, `inProgress` or `completed`.
        status: String = a.status.as_str().into(),
        /// The points the student achieved (the task's points at that moment); 0 until then.
        points: i64 = a.points,
    }
}

document_view! {
    /// An assigned reward; as for tasks, the route decides what is populated.
    #[oai(rename = "AssignedReward")]
    pub struct AssignedRewardView<S, T> from RewardAssignment as a,
        reward: Option<RewardView>, student: S, teacher: T;
    {
        #[oai(nullable)]
        reward: Option<RewardView> = reward,
        #[oai(nullable)]
        student: S = student,
        #[oai(nullable)]
        teacher: T = teacher,
        /// `unclaimed` or `claimed`.
        status: String = a.status.as_str().into(),
        /// What the claim cost; 0 while unclaimed.
        paid: i64 = a.paid,
        /// Absent until claimed.
        #[oai(skip_serializing_if_is_none)]
        #[serde(skip_serializing_if = "Option::is_none")]
        claimed_at: Option<String> = a.claimed_at.map(|m| m.to_iso()),
    }
}

document_view! {
    #[oai(rename = "Preset")]
    pub struct PresetView from Preset as p;
    {
        /// The public path of the image (`/images/<file>`).
        image: String = p.image.clone(),
        /// `avatar` or `icon`.
        #[oai(rename = "type")]
        #[serde(rename = "type")]
        kind: String = p.kind.as_str().into(),
    }
}

/// A rule. Before an admin has written it, only `type` and an empty `content` are present, so
/// that a client reading `data.content` shows an empty page rather than failing.
#[derive(Object, Serialize, Debug, Clone)]
#[oai(rename = "Rule", rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    #[oai(rename = "_id", skip_serializing_if_is_none)]
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `privacy-policy` or `terms-and-conditions`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// HTML exactly as the admin wrote it (never rendered or sanitized by the server).
    pub content: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[oai(rename = "__v", skip_serializing_if_is_none)]
    #[serde(rename = "__v", skip_serializing_if = "Option::is_none")]
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

document_view! {
    #[oai(rename = "Feedback")]
    pub struct FeedbackView from Feedback as f;
    {
        /// The author's id.
        user: String = f.user.to_string(),
        /// `TEACHER` or `STUDENT`.
        role: String = f.role.as_str().into(),
        feedback: String = f.feedback.clone(),
    }
}
