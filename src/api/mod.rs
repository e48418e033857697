//! The REST API: one poem-openapi service per contract module, gathered into one OpenAPI document.

mod admin;
mod assign_reward;
mod assign_task;
mod auth;
mod category;
mod class;
mod devices;
mod document;
mod google_login;
mod health;
mod listing;
mod new_teacher;
mod notices;
mod notification;
mod owned;
mod populate;
mod profile;
mod reward;
mod sessions;
mod student;
mod task;
mod teacher;
pub mod test_hooks;
pub mod views;

mod feedback;
mod preset;
mod rule;

pub mod fund_page;
mod payment_views;
mod payments;
mod payments_admin;
mod payments_webhook;
#[cfg(test)]
mod wire_equality;

use document::Documented;
pub use document::allowed_methods;
use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness probes.
    Health,
    /// Admin login, password reset by email, password change, token refresh and logout.
    Auth,
    /// The dashboard's admins.
    Admin,
    /// Teachers: sign-up, login, profile; the admins' teacher list.
    Teacher,
    /// Students: passcode login, profile; teachers' and admins' student lists.
    Student,
    /// A teacher's classes (students belong to one by name).
    Class,
    /// A teacher's task categories.
    Category,
    /// A teacher's tasks: points, type and how often they repeat.
    Task,
    /// A teacher's rewards: what points buy.
    Reward,
    /// Tasks assigned to students: achieve, approve, and the points they move.
    AssignTask,
    /// Rewards offered to students, and claiming them with points.
    AssignReward,
    /// What happened to a teacher's or student's tasks and rewards (also pushed over Socket.IO).
    Notification,
    /// The image library admins curate: avatars and icons the app offers to pick from.
    Preset,
    /// The privacy policy and the terms and conditions.
    Rule,
    /// Feedback from teachers and students.
    Feedback,
    /// Classroom projects that supporters fund by card (Stripe); the platform keeps its fee.
    Payments,
    /// Devices registered for push notifications (FCM).
    Devices,
}

/// Declares the route groups once: the `Apis` type and the value that serves it.
macro_rules! apis {
    ($($api:path),* $(,)?) => {
        pub type Apis = ($($api,)*);

        /// The route groups: the document's (`service`) and the server's routes (`app.rs`).
        pub fn apis() -> Apis {
            ($($api,)*)
        }
    };
}

apis!(
    health::HealthApi,
    auth::AuthApi,
    admin::AdminApi,
    teacher::TeacherApi,
    student::StudentApi,
    class::ClassApi,
    category::CategoryApi,
    task::TaskApi,
    reward::RewardApi,
    assign_task::AssignTaskApi,
    assign_reward::AssignRewardApi,
    notification::NotificationApi,
    preset::PresetApi,
    rule::RuleApi,
    feedback::FeedbackApi,
    IntegrationApis,
);

/// The route groups of the integrations (payments, push devices) as one entry of `apis!`
/// (poem-openapi implements `OpenApi` for tuples of at most 16): the type names the group and the
/// constant of the same name builds it, as a unit struct's name does both.
pub type IntegrationApis = (
    payments::PaymentsApi,
    payments_admin::PaymentsAdminApi,
    payments_webhook::PaymentsWebhookApi,
    devices::DevicesApi,
);
#[allow(non_upper_case_globals)]
pub const IntegrationApis: IntegrationApis = (
    payments::PaymentsApi,
    payments_admin::PaymentsAdminApi,
    payments_webhook::PaymentsWebhookApi,
    devices::DevicesApi,
);

/// Where the API is mounted (app.rs).
pub const BASE: &str = "/api/v1";

/// The API under `/api/v1`. The server URL is relative so that the generated document does not
/// depend on where the server runs (and `public/openapi.json` is reproducible).
pub fn service() -> OpenApiService<Documented<Apis>, ()> {
    OpenApiService::new(Documented(apis()), "EduCoin API", env!("CARGO_PKG_VERSION"))
        .description(
            "The API of EduCoin (Quokki), a classroom behaviour-points app. Every answer is an \
         envelope: `{success, message, data, pagination?}` or, on failure, \
         `{success: false, message, errorMessages: [{path, message}]}`.",
        )
        .server(BASE)
}

/// The OpenAPI document as pretty JSON, exactly what `educoin openapi` prints.
pub fn spec_json() -> String {
    service().spec()
}
