//! `/assign-task/*`: a teacher hands a task to a student; the student says it is done
//! (`achieve`); the teacher approves, and the points move (CLIENT-CONTRACT §4).

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::notices::Notice;
use super::owned::{Record, for_student, mine, not_found};
use super::populate;
use super::views::{AssignedTaskView, StudentView, TeacherSummary};
use crate::domain::assignment::{
    TaskAssignment, TaskStatus, TaskStep, Transition, next_period_start,
};
use crate::domain::{Id, Student, Task, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::{ApiError, ApiResult, Reply, ok};
use crate::state::AppState;
use crate::store::{OwnerWrite, StoreError};

pub struct AssignTaskApi;

#[derive(Object)]
struct AssignTaskBody {
    /// The id of one of the teacher's tasks.
    task: Required<Text>,
    /// The id of one of the teacher's students.
    student: Required<Text>,
}

/// What the teacher lists: `student` as an id.
type TeacherAssignment = AssignedTaskView<String, String>;
/// Waiting for approval: `student` populated.
type PendingAssignment = AssignedTaskView<Option<StudentView>, String>;
/// What the student lists: `teacher` as `{_id, name, email, profile}`.
type StudentAssignment = AssignedTaskView<String, Option<TeacherSummary>>;

/// Why a transition could not start from the assignment's present status.
fn wrong_state(status: TaskStatus) -> ApiError {
    ApiError::Conflict(
        match status {
            TaskStatus::NotStarted => "The student has not completed this task yet.",
            TaskStatus::InProgress => "This task is already waiting for approval.",
            TaskStatus::Completed => "This task is already approved.",
        }
        .into(),
    )
}

/// The caller's assignment `id` (as `is_mine` decides) and the task it is for. Tasks cannot be
/// deleted; if one vanished anyway, its assignment is as good as gone.
async fn own_with_task(
    state: &AppState,
    id: &Id,
    is_mine: impl Fn(&TaskAssignment) -> bool,
) -> ApiResult<(TaskAssignment, Task)> {
    let assignment = mine(state, id, is_mine).await?;
    let task = Task::load(state, &assignment.task)
        .await?
        .ok_or_else(not_found::<TaskAssignment>)?;
    Ok((assignment, task))
}

/// The assignment a transition left, or the error that says why it did not happen.
fn applied(t: Transition<TaskAssignment>) -> ApiResult<TaskAssignment> {
    match t {
        Transition::Done(a) => Ok(a),
        Transition::NotFound => Err(not_found::<TaskAssignment>()),
        Transition::WrongState(a) => Err(wrong_state(a.status)),
    }
}

/// The answer `message` with one assignment as `GET /assign-task` shows it.
async fn as_teacher_sees(
    state: &AppState,
    a: &TaskAssignment,
    message: &str,
) -> Reply<TeacherAssignment> {
    let tasks = populate::tasks(state, &a.teacher, [&a.task]).await?;
    let view = AssignedTaskView::new(
        a,
        tasks.get(&a.task).cloned(),
        a.student.to_string(),
        a.teacher.to_string(),
    );
    ok(message, view)
}

// `to_hex` rather than `to_string`: the same text without the formatter, twice per listed row.
fn student_id(a: &TaskAssignment) -> String {
    a.student.to_hex()
}

fn teacher_id(a: &TaskAssignment) -> String {
    a.teacher.to_hex()
}

fn views<S, T>(
    found: &[TaskAssignment],
    tasks: &std::collections::HashMap<Id, std::sync::Arc<super::views::TaskView>>,
    student: impl Fn(&TaskAssignment) -> S,
    teacher: impl Fn(&TaskAssignment) -> T,
) -> Vec<AssignedTaskView<S, T>>
where
    S: crate::wire::Field,
    T: crate::wire::Field,
{
    found
        .iter()
        .map(|a| AssignedTaskView::new(a, tasks.get(&a.task).cloned(), student(a), teacher(a)))
        .collect()
}

#[OpenApi(tag = "ApiTags::AssignTask")]
impl AssignTaskApi {
    /// Every task the teacher assigned, newest first, with `task` populated and `student` as an id.
    #[oai(path = "/assign-task", method = "get")]
    async fn list(&self, auth: Auth<'_, Teacher>) -> Reply<Vec<TeacherAssignment>> {
        let (state, me) = (auth.state, &auth.who.id);
        let assignments = &state.store.task_assignments;
        let found = assignments.list_for_teacher(me, None).await?;
        let tasks = populate::tasks(state, me, found.iter().map(|a| &a.task)).await?;
        let views = views(&found, &tasks, student_id, teacher_id);
        ok("Assigned tasks retrieved successfully", views)
    }

    /// Assigns one of the teacher's tasks to one of its students. A student has at most one open
    /// assignment of a task: assigning it again before it is approved is 409.
    #[oai(path = "/assign-task", method = "post")]
    async fn assign(&self, auth: Auth<'_, Teacher, AssignTaskBody>) -> Reply<TeacherAssignment> {
        let (state, body, me) = (auth.state, &auth.body, &auth.who);
        let task = ("task", body.task.as_deref());
        let (task, student) = for_student::<Task>(&auth, task, body.student.as_deref()).await?;
        let assignment =
            TaskAssignment::open(&task.id, &student.id, &me.id, None, state.clock.now());
        match state.store.task_assignments.insert(&assignment).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => {
                return Err(ApiError::Conflict(
                    "This student already has this task open. It can be assigned again once it \
                     is approved."
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Notice::task_assigned(me, &task)
            .send(state, &student.id)
            .await;
        as_teacher_sees(state, &assignment, "Task assigned successfully").await
    }

    /// The teacher's assignments waiting for approval (`inProgress`), with `task` and `student`
    /// populated.
    #[oai(path = "/assign-task/pending", method = "get")]
    async fn pending(&self, auth: Auth<'_, Teacher>) -> Reply<Vec<PendingAssignment>> {
        let (state, me) = (auth.state, &auth.who.id);
        let assignments = &state.store.task_assignments;
        let found = assignments
            .list_for_teacher(me, Some(TaskStatus::InProgress))
            .await?;
        let tasks = populate::tasks(state, me, found.iter().map(|a| &a.task)).await?;
        let students =
            populate::views::<Student>(state, me, found.iter().map(|a| &a.student)).await?;
        let student = |a: &TaskAssignment| students.get(&a.student).cloned();
        let views = views(&found, &tasks, student, teacher_id);
        ok("Pending tasks retrieved successfully", views)
    }

    /// Approves an achieved task: its points move from the student's `pendingPoints` to `points`
    /// (once, whatever the concurrency), and its repetition is scheduled.
    #[oai(path = "/assign-task/approve/:id", method = "patch")]
    async fn approve(&self, id: ById<'_, Teacher, TaskAssignment>) -> Reply<TeacherAssignment> {
        let ById { auth, id, .. } = id;
        let (state, me) = (auth.state, &auth.who);
        let (_, task) = own_with_task(state, &id, |a| a.teacher == me.id).await?;
        let now = state.clock.now();
        let write = OwnerWrite {
            owner: &me.id,
            id: &id,
            now,
        };
        let approved = applied(
            state
                .store
                .task_assignments
                .transition(
                    write,
                    TaskStep::Approve {
                        renew_at: next_period_start(task.repeat, now),
                    },
                )
                .await?,
        )?;
        Notice::task_approved(me, &task, approved.points)
            .send(state, &approved.student)
            .await;
        as_teacher_sees(state, &approved, "Task approved successfully").await
    }

    /// The student's own assignments, newest first, with `task` (and its `category`) and
    /// `teacher` populated.
    #[oai(path = "/assign-task/student", method = "get")]
    async fn mine(&self, auth: Auth<'_, Student>) -> Reply<Vec<StudentAssignment>> {
        let (state, me) = (auth.state, &auth.who);
        let found = state
            .store
            .task_assignments
            .list_for_student(&me.id)
            .await?;
        let tasks = populate::tasks(state, &me.teacher, found.iter().map(|a| &a.task)).await?;
        let teacher = populate::teacher(state, &me.teacher).await?;
        let views = views(&found, &tasks, student_id, |_| teacher.clone());
        ok("Assigned tasks retrieved successfully", views)
    }

    /// The student says it did the task: its points wait in `pendingPoints` for the teacher's
    /// approval.
    #[oai(path = "/assign-task/achieve/:id", method = "patch")]
    async fn achieve(&self, id: ById<'_, Student, TaskAssignment>) -> Reply<StudentAssignment> {
        let ById { auth, id, .. } = id;
        let (state, me) = (auth.state, &auth.who);
        let (_, task) = own_with_task(state, &id, |a| a.student == me.id).await?;
        let write = OwnerWrite {
            owner: &me.id,
            id: &id,
            now: state.clock.now(),
        };
        let achieved = applied(
            state
                .store
                .task_assignments
                .transition(
                    write,
                    TaskStep::Achieve {
                        points: task.points,
                    },
                )
                .await?,
        )?;
        Notice::task_achieved(me, &task)
            .send(state, &achieved.teacher)
            .await;
        let tasks = populate::tasks(state, &me.teacher, [&task.id]).await?;
        let teacher = populate::teacher(state, &me.teacher).await?;
        ok(
            "Task submitted for approval",
            AssignedTaskView::new(
                &achieved,
                tasks.get(&task.id).cloned(),
                me.id.to_string(),
                teacher,
            ),
        )
    }
}
