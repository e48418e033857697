//! `POST /feedback`: a teacher or a student writes to the team. It is stored with its author; no
//! route reads it back (the contract has none).

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::views::FeedbackView;
use crate::domain::{Feedback, FeedbackText, Id};
use crate::http::auth::{Auth, Member};
use crate::http::fields::{Required, Text};
use crate::http::input::parse;
use crate::http::{Reply, ok};

pub struct FeedbackApi;

#[derive(Object)]
struct FeedbackBody {
    /// 1 to 2000 characters (after trimming).
    feedback: Required<Text>,
}

#[OpenApi(tag = "ApiTags::Feedback")]
impl FeedbackApi {
    /// Sends feedback (teachers and students); `data` is the stored feedback.
    #[oai(path = "/feedback", method = "post")]
    async fn send(&self, auth: Auth<'_, Member, FeedbackBody>) -> Reply<FeedbackView> {
        let state = auth.state;
        let text: FeedbackText = parse("feedback", auth.body.feedback.as_deref())?;
        let now = state.clock.now();
        let feedback = Feedback {
            id: Id::generate(),
            user: auth.who.id().clone(),
            role: auth.who.role(),
            feedback: text.into(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.feedbacks.insert(&feedback).await?;
        ok("Thank you for your feedback", &feedback)
    }
}
