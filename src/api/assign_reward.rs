//! `/assign-reward/*`: a teacher offers a reward to a student, who claims it by paying its price in
//! points (CLIENT-CONTRACT §4).

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::notices::Notice;
use super::owned::{Record, for_student, mine, not_found};
use super::populate;
use super::views::{AssignedRewardView, StudentView, TeacherSummary};
use crate::domain::assignment::{ClaimRefused, RewardAssignment, RewardStatus};
use crate::domain::{Id, Reward, Student, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::state::AppState;
use crate::store::OwnerWrite;

pub struct AssignRewardApi;

#[derive(Object)]
struct AssignRewardBody {
    /// The id of one of the teacher's rewards.
    reward: Required<Text>,
    /// The id of one of the teacher's students.
    student: Required<Text>,
}

/// What the teacher lists: `reward` and `student` populated.
type TeacherRewardAssignment = AssignedRewardView<Option<StudentView>, String>;
/// What the student lists: `reward` and `teacher` populated.
type StudentRewardAssignment = AssignedRewardView<String, Option<TeacherSummary>>;

/// The student's own assigned rewards in `status`, as it reads them.
async fn own_in_status(
    state: &AppState,
    me: &Student,
    status: RewardStatus,
) -> ApiResult<Vec<StudentRewardAssignment>> {
    let found = state
        .store
        .reward_assignments
        .list_for_student(&me.id, status)
        .await?;
    let rewards =
        populate::views::<Reward>(state, &me.teacher, found.iter().map(|a| &a.reward)).await?;
    let teacher = populate::teacher(state, &me.teacher).await?;
    Ok(found
        .iter()
        .map(|a| {
            AssignedRewardView::new(
                a,
                rewards.get(&a.reward).cloned(),
                a.student.to_string(),
                teacher.clone(),
            )
        })
        .collect())
}

#[OpenApi(tag = "ApiTags::AssignReward")]
impl AssignRewardApi {
    /// Every reward the teacher assigned, newest first, with `reward` and `student` populated.
    #[oai(path = "/assign-reward", method = "get")]
    async fn list(&self, auth: Auth<'_, Teacher>) -> Reply<Vec<TeacherRewardAssignment>> {
        let state = auth.state;
        let me = &auth.who.id;
        let found = state.store.reward_assignments.list_for_teacher(me).await?;
        let rewards = populate::views::<Reward>(state, me, found.iter().map(|a| &a.reward)).await?;
        let students =
            populate::views::<Student>(state, me, found.iter().map(|a| &a.student)).await?;
        ok(
            "Assigned rewards retrieved successfully",
            found
                .iter()
                .map(|a| {
                    AssignedRewardView::new(
                        a,
                        rewards.get(&a.reward).cloned(),
                        students.get(&a.student).cloned(),
                        a.teacher.to_string(),
                    )
                })
                .collect::<Vec<_>>(),
        )
    }

    /// Offers one of the teacher's rewards to one of its students (the same reward may be offered
    /// again: each is claimed once).
    #[oai(path = "/assign-reward", method = "post")]
    async fn assign(
        &self,
        auth: Auth<'_, Teacher, AssignRewardBody>,
    ) -> Reply<TeacherRewardAssignment> {
        let (state, body, me) = (auth.state, &auth.body, &auth.who);
        let reward = ("reward", body.reward.as_deref());
        let (reward, student) =
            for_student::<Reward>(&auth, reward, body.student.as_deref()).await?;
        let now = state.clock.now();
        let assignment = RewardAssignment {
            id: Id::generate(),
            reward: reward.id.clone(),
            student: student.id.clone(),
            teacher: me.id.clone(),
            status: RewardStatus::Unclaimed,
            paid: 0,
            claimed_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.reward_assignments.insert(&assignment).await?;
        Notice::reward_assigned(me, &reward)
            .send(state, &student.id)
            .await;
        ok(
            "Reward assigned successfully",
            AssignedRewardView::new(
                &assignment,
                Some((&reward).into()),
                Some(StudentView::new(&student, None)),
                me.id.to_string(),
            ),
        )
    }

    /// The student's rewards still to claim, with `reward` and `teacher` populated.
    #[oai(path = "/assign-reward/student", method = "get")]
    async fn unclaimed(&self, auth: Auth<'_, Student>) -> Reply<Vec<StudentRewardAssignment>> {
        let view = own_in_status(auth.state, &auth.who, RewardStatus::Unclaimed).await?;
        ok("Assigned rewards retrieved successfully", view)
    }

    /// The rewards the student has claimed.
    #[oai(path = "/assign-reward/earn", method = "get")]
    async fn earned(&self, auth: Auth<'_, Student>) -> Reply<Vec<StudentRewardAssignment>> {
        let view = own_in_status(auth.state, &auth.who, RewardStatus::Claimed).await?;
        ok("Earned rewards retrieved successfully", view)
    }

    /// Claims an offered reward: its price (`requiredPoints`, as it is now) comes off the student's
    /// points, and `rewards` counts one more. Once only, and never with fewer points than the price.
    #[oai(path = "/assign-reward/claim/:id", method = "post")]
    async fn claim(
        &self,
        id: ById<'_, Student, RewardAssignment>,
    ) -> Reply<StudentRewardAssignment> {
        let ById { auth, id, .. } = id;
        let (state, me) = (auth.state, &auth.who);
        let current = mine(state, &id, |a: &RewardAssignment| a.student == me.id).await?;
        let reward = Reward::load(state, &current.reward)
            .await?
            .ok_or_else(not_found::<RewardAssignment>)?;
        let write = OwnerWrite {
            owner: &me.id,
            id: &id,
            now: state.clock.now(),
        };
        let claimed = match state
            .store
            .reward_assignments
            .claim(write, reward.required_points)
            .await?
        {
            Ok(a) => a,
            Err(ClaimRefused::NotFound) => return Err(not_found::<RewardAssignment>()),
            Err(ClaimRefused::AlreadyClaimed) => {
                return Err(ApiError::Conflict("This reward is already claimed.".into()));
            }
            Err(ClaimRefused::NotEnoughPoints { points, price }) => {
                return Err(ApiError::Conflict(format!(
                    "This reward needs {price} points and you have {points}. Earn {} more to \
                     claim it.",
                    price - points
                )));
            }
        };
        Notice::reward_claimed(me, &reward)
            .send(state, &claimed.teacher)
            .await;
        ok(
            "Reward claimed successfully",
            AssignedRewardView::new(
                &claimed,
                Some((&reward).into()),
                me.id.to_string(),
                populate::teacher(state, &me.teacher).await?,
            ),
        )
    }
}
