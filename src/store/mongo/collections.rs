//! Every collection's name, the old server's (Mongoose pluralised and lower-cased them), so that
//! the whole database reads in one place. Several adapters share some (the ledger in points.rs
//! writes students and assignments that their own adapters create and index; push rides on the
//! notifications); a leaf, so none of them imports another for a name.

pub(super) const TEACHERS: &str = "teachers";
pub(super) const ADMINS: &str = "admins";
pub(super) const STUDENTS: &str = "students";
pub(super) const REFRESH_TOKENS: &str = "refreshtokens";
pub(super) const CLASSES: &str = "classes";
pub(super) const CATEGORIES: &str = "categories";
pub(super) const TASKS: &str = "tasks";
pub(super) const REWARDS: &str = "rewards";
pub(super) const TASK_ASSIGNMENTS: &str = "assigntasks";
pub(super) const REWARD_ASSIGNMENTS: &str = "assignrewards";
pub(super) const NOTIFICATIONS: &str = "notifications";
pub(super) const DEVICES: &str = "push_devices";
pub(super) const PRESETS: &str = "presets";
pub(super) const RULES: &str = "rules";
pub(super) const FEEDBACKS: &str = "feedbacks";
pub(super) const PROJECTS: &str = "projects";
pub(super) const PAYMENTS: &str = "payments";
pub(super) const REFUNDS: &str = "paymentrefunds";
pub(super) const EVENTS: &str = "stripeevents";
/// On students: `true` while the ledger's `pointsOps` may hold keys; indexed (students.rs), so that
/// the settling job finds them without a scan of every student.
pub(super) const TO_TIDY: &str = "pointsToTidy";
