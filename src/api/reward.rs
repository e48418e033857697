//! `/reward/*`: what a teacher's students can buy with their points.

use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::owned::{patched, teacher_page};
use super::views::RewardView;
use crate::domain::classroom::RewardPatch;
use crate::domain::{Id, ImageRef, Name, Price, Reward, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::input::{QueryText, parse, parse_optional, ranged};
use crate::http::paged::Paged;
use crate::http::{ApiError, ApiResult, Reply, ok};

pub struct RewardApi;

#[derive(Object)]
struct CreateRewardBody {
    name: Required<Text>,
    /// An image path (`/images/...`), file name or http(s) URL; at most 500 characters.
    image: Required<Text>,
    /// A whole number from 0 to 1000000 (a number or a numeric string).
    #[oai(rename = "requiredPoints")]
    required_points: Required<Any<serde_json::Value>>,
}

/// The app echoes the whole reward back; only these fields are read.
#[derive(Object)]
struct UpdateRewardBody {
    name: Option<Text>,
    image: Option<Text>,
    #[oai(rename = "requiredPoints")]
    required_points: Option<Any<serde_json::Value>>,
}

fn required_points(value: Option<&Any<serde_json::Value>>) -> ApiResult<Option<Price>> {
    ranged("requiredPoints", value)
}

#[OpenApi(tag = "ApiTags::Reward")]
impl RewardApi {
    /// The teacher's rewards, newest first, 10 a page.
    #[oai(path = "/reward", method = "get")]
    async fn list(&self, page: Paged<'_, Teacher>, search: QueryText) -> Reply<Vec<RewardView>> {
        let q = page.query(search.as_deref());
        teacher_page::<Reward, _>(&page.auth, &q, "Rewards retrieved successfully").await
    }

    /// Creates a reward; `data` is the new reward.
    #[oai(path = "/reward/create-reward", method = "post")]
    async fn create(&self, auth: Auth<'_, Teacher, CreateRewardBody>) -> Reply<RewardView> {
        let (state, body) = (auth.state, &auth.body);
        let name: Name = parse("name", body.name.as_deref())?;
        let image: ImageRef = parse("image", body.image.as_deref())?;
        let required_points = required_points(body.required_points.as_ref())?
            .ok_or_else(|| ApiError::field("requiredPoints", "requiredPoints is required"))?;
        let now = state.clock.now();
        let reward = Reward {
            id: Id::generate(),
            name: name.into(),
            image: image.into(),
            required_points: required_points.get(),
            teacher: auth.who.id.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.rewards.insert(&reward).await?;
        ok("Reward created successfully", &reward)
    }

    /// Edits `name`, `image` and `requiredPoints`; the rest of an echoed reward is ignored.
    #[oai(path = "/reward/:id", method = "patch")]
    async fn update(&self, id: ById<'_, Teacher, Reward, UpdateRewardBody>) -> Reply<RewardView> {
        let ById { auth, id, .. } = id;
        let body = &auth.body;
        let patch = RewardPatch {
            name: parse_optional::<Name>("name", body.name.as_deref())?.map(String::from),
            image: parse_optional::<ImageRef>("image", body.image.as_deref())?.map(String::from),
            required_points: required_points(body.required_points.as_ref())?.map(Price::get),
        };
        let updated = patched::<Reward>(&auth, &id, &patch).await?;
        ok("Reward updated successfully", &updated)
    }
}
