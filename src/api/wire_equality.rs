//! Every shared response type, written by serde (`http::Json`) and by poem-openapi's `ToJSON`
//! (what the clients got before), must give the same bytes: a `#[serde]` attribute that drifts
//! from its `#[oai]` twin fails here. Each `Option` is tried both set and unset. Types private to
//! one handler are held to the same rule by the check every debug-build response makes
//! (`http::json`), which the route tests exercise.

use std::sync::Arc;

use poem_openapi::types::ToJSON;
use serde::Serialize;

use super::payment_views::{
    IntentView, MonthTotalsView, PaymentView, ProjectView, PublicProjectView, SupporterPaymentView,
};
use super::views::*;
use crate::http::envelope::{Empty, ErrorBody, ErrorMessage};
use crate::http::json::{to_bytes, to_json_bytes};
use crate::http::{Envelope, Pagination};

#[track_caller]
fn same<T: Serialize + ToJSON>(value: &T) {
    let serde = String::from_utf8(to_bytes(value).unwrap()).unwrap();
    let oai = String::from_utf8(to_json_bytes(value)).unwrap();
    assert_eq!(serde, oai, "{}", std::any::type_name::<T>());
}

const ID: &str = "64b7f0c2a1b2c3d4e5f60718";
const AT: &str = "2026-12-01T12:00:00.000Z";

fn s(v: &str) -> String {
    v.to_owned()
}

fn category() -> CategoryView {
    CategoryView {
        id: s(ID),
        name: s("Homework \"quoted\" ünïcode"),
        image: s("/images/a.png"),
        teacher: s(ID),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    }
}

fn task(category: Option<CategoryView>) -> TaskView {
    TaskView {
        id: s(ID),
        name: s("Read"),
        points: -5,
        category: category.map(Arc::new),
        kind: s("good"),
        repeat: s("weekly"),
        teacher: s(ID),
        created_at: s(AT),
        updated_at: s(AT),
        version: 3,
    }
}

fn student(set: bool) -> StudentView {
    StudentView {
        id: s(ID),
        name: s("Ann"),
        password: set.then(|| s("123456")),
        role: s("STUDENT"),
        date_of_birth: set.then(|| s(AT)),
        profile: set.then(|| s("https://example.com/p.png")),
        class: s("1A"),
        teacher: s(ID),
        points: 10,
        level: 2,
        rewards: 1,
        pending_points: 4,
        earned_points: 12,
        created_at: s(AT),
        updated_at: s(AT),
        version: 1,
    }
}

fn summary() -> TeacherSummary {
    TeacherSummary {
        id: s(ID),
        name: s("T"),
        email: s("t@example.com"),
        profile: s(DEFAULT_AVATAR),
    }
}

fn reward() -> RewardView {
    RewardView {
        id: s(ID),
        name: s("Sticker"),
        required_points: 50,
        image: s("/images/r.png"),
        teacher: s(ID),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    }
}

fn assigned_task<S: crate::wire::Field, T: crate::wire::Field>(
    task: Option<TaskView>,
    student: S,
    teacher: T,
) -> AssignedTaskView<S, T> {
    AssignedTaskView {
        id: s(ID),
        task: task.map(std::sync::Arc::new),
        student,
        teacher,
        status: s("inProgress"),
        points: 5,
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    }
}

fn assigned_reward<S: crate::wire::Field, T: crate::wire::Field>(
    reward: Option<RewardView>,
    student: S,
    teacher: T,
    claimed: bool,
) -> AssignedRewardView<S, T> {
    AssignedRewardView {
        id: s(ID),
        reward,
        student,
        teacher,
        status: s("claimed"),
        paid: 50,
        claimed_at: claimed.then(|| s(AT)),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    }
}

#[test]
fn record_views() {
    same(&TeacherView {
        id: s(ID),
        name: s("T"),
        email: s("t@example.com"),
        contact: s(""),
        location: s("Oslo"),
        profile: s(DEFAULT_AVATAR),
        role: s("TEACHER"),
        status: s("active"),
        total_student: 7,
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    });
    same(&AdminView {
        id: s(ID),
        role: s("ADMIN"),
        name: s("A"),
        email: s("a@example.com"),
        contact: s("1"),
        location: s("2"),
        profile: s(DEFAULT_AVATAR),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    });
    same(&student(true));
    same(&student(false));
    for end in [Some(s(AT)), None] {
        same(&ClassView {
            id: s(ID),
            class_name: s("1A"),
            start_date: s(AT),
            end_date: end,
            teacher: s(ID),
            created_at: s(AT),
            updated_at: s(AT),
            version: 0,
        });
    }
    same(&category());
    same(&task(Some(category())));
    same(&task(None));
    same(&reward());
    same(&PresetView {
        id: s(ID),
        image: s("/images/p.png"),
        kind: s("avatar"),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    });
    same(&RuleView::empty(
        crate::domain::content::RuleType::PrivacyPolicy,
    ));
    same(&RuleView {
        id: Some(s(ID)),
        kind: s("terms-and-conditions"),
        content: s("<p>\u{1F600} & \\ / \u{0007}</p>"),
        created_at: Some(s(AT)),
        updated_at: Some(s(AT)),
        version: Some(2),
    });
    same(&FeedbackView {
        id: s(ID),
        user: s(ID),
        role: s("STUDENT"),
        feedback: s("line\nbreak\ttab"),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    });
    same(&NotificationView {
        id: s(ID),
        recipient: s(ID),
        recipient_model: s("Student"),
        message: s("m"),
        read: false,
        role: s("STUDENT"),
        kind: s("taskAssigned"),
        created_at: s(AT),
        updated_at: s(AT),
        version: 0,
    });
    same(&summary());
}

#[test]
fn assignments_with_every_population() {
    same(&assigned_task(Some(task(Some(category()))), s(ID), s(ID)));
    same(&assigned_task(None, s(ID), s(ID)));
    same(&assigned_task(Some(task(None)), Some(student(true)), s(ID)));
    same(&assigned_task::<Option<StudentView>, String>(
        None,
        None,
        s(ID),
    ));
    same(&assigned_task(Some(task(None)), s(ID), Some(summary())));
    same(&assigned_task::<String, Option<TeacherSummary>>(
        None,
        s(ID),
        None,
    ));
    for claimed in [true, false] {
        same(&assigned_reward(Some(reward()), s(ID), s(ID), claimed));
        same(&assigned_reward(None, Some(student(false)), s(ID), claimed));
        same(&assigned_reward::<String, Option<TeacherSummary>>(
            None,
            s(ID),
            None,
            claimed,
        ));
        same(&assigned_reward(
            Some(reward()),
            s(ID),
            Some(summary()),
            claimed,
        ));
    }
}

#[test]
fn payment_views() {
    for set in [true, false] {
        same(&ProjectView {
            id: s(ID),
            teacher: s(ID),
            title: s("Books"),
            description: s("d"),
            class: s("1A"),
            goal: 10_000,
            raised: 0,
            supporters: 0,
            status: s("open"),
            picture: set.then(|| s("/images/x.png")),
            currency: s("usd"),
            created_at: s(AT),
            updated_at: s(AT),
            version: 0,
        });
        for fee in [0.0, 0.2, 1.0 / 3.0, 1e-7] {
            same(&PublicProjectView {
                id: s(ID),
                title: s("Books"),
                description: s("d"),
                class: s("1A"),
                goal: 10_000,
                raised: 50,
                supporters: 1,
                status: s("open"),
                picture: set.then(|| s("/images/x.png")),
                currency: s("usd"),
                min_amount: 100,
                max_amount: 9_000,
                fee_fraction: fee,
                publishable_key: set.then(|| s("pk_test")),
            });
        }
        same(&SupporterPaymentView {
            id: s(ID),
            supporter_name: set.then(|| s("Bo")),
            message: set.then(|| s("go")),
            amount: 500,
            net: 400,
            refunded: 0,
            currency: s("usd"),
            created_at: s(AT),
        });
        same(&PaymentView {
            id: s(ID),
            project: s(ID),
            teacher: s(ID),
            intent_id: s("pi_1"),
            amount: 500,
            fee: 100,
            net: 400,
            currency: s("usd"),
            status: s("succeeded"),
            supporter_name: set.then(|| s("Bo")),
            message: set.then(|| s("go")),
            refunded: 0,
            created_at: s(AT),
            updated_at: s(AT),
        });
    }
    same(&IntentView {
        payment_id: s(ID),
        client_secret: s("pi_1_secret"),
        publishable_key: s("pk_test"),
        amount: 500,
        fee: 100,
        net: 400,
        currency: s("usd"),
    });
    same(&MonthTotalsView {
        month: s("2026-12"),
        payments: 3,
        gross: 1500,
        fees: 300,
        net: 1200,
        refunded: -0,
    });
}

#[test]
fn envelopes() {
    let page = Pagination::new(2, 10, 31);
    same(&page);
    same(&Envelope::ok("ok", vec![category(), category()]).0);
    same(&Envelope::page("ok", Vec::<CategoryView>::new(), page).0);
    same(&crate::http::done("done").0);
    same(&Empty {});
    let mut full = Envelope::ok("logged in", s("token")).0;
    full.refresh_token = Some(s("refresh"));
    full.total_notification = Some(4);
    same(&full);
    let mut failed = Envelope::ok("not ready", 1u64).0;
    failed.success = false;
    same(&failed);
    for messages in [
        vec![],
        vec![ErrorMessage {
            path: s("name"),
            message: s("too long"),
        }],
    ] {
        same(&ErrorBody {
            success: false,
            message: s("Invalid"),
            error_messages: messages,
        });
    }
}
