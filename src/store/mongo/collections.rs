//! Names that several collection adapters share: the ledger (points.rs) writes students and
//! assignments that their own adapters create and index. A leaf, so none of them imports another
//! for a name.

pub(super) const STUDENTS: &str = "students";
pub(super) const TASK_ASSIGNMENTS: &str = "assigntasks";
pub(super) const REWARD_ASSIGNMENTS: &str = "assignrewards";
/// On students: `true` while the ledger's `pointsOps` may hold keys; indexed (students.rs), so that
/// the settling job finds them without a scan of every student.
pub(super) const TO_TIDY: &str = "pointsToTidy";
