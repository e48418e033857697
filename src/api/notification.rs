//! `/notifications`: what happened to a teacher's or student's tasks and rewards, newest first.

use crate::http::Json;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};

use super::ApiTags;
use super::listing::listed;
use super::views::NotificationView;
use crate::http::auth::{Auth, Member};
use crate::http::input::{list_query, path_id};
use crate::http::{ApiError, ApiResult, Envelope};
use crate::state::AppState;

pub struct NotificationApi;

#[OpenApi(tag = "ApiTags::Notification")]
impl NotificationApi {
    /// The caller's notifications, newest first, 10 a page; `totalNotification` is how many are
    /// unread (of all, not of this page).
    #[oai(path = "/notifications", method = "get")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth<Member>,
        page: Query<Option<String>>,
    ) -> ApiResult<Json<Envelope<Vec<NotificationView>>>> {
        let me = auth.who.id();
        let q = list_query(page.as_deref(), None);
        let found = state.store.notifications.list_for(me, &q).await?;
        let unread = state.store.notifications.count_unread(me).await?;
        let mut envelope = listed(
            "Notifications retrieved successfully",
            &q,
            &found,
            NotificationView::from,
        );
        envelope.0.total_notification = Some(unread);
        Ok(envelope)
    }

    /// Marks one of the caller's notifications read (again is fine).
    #[oai(path = "/notifications/:id", method = "patch")]
    async fn read(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth<Member>,
        id: Path<String>,
    ) -> ApiResult<Json<Envelope<NotificationView>>> {
        let id = path_id("notification", &id)?;
        let read = state
            .store
            .notifications
            .mark_read(auth.who.id(), &id, state.clock.now())
            .await?
            .ok_or_else(|| ApiError::NotFound("Notification not found.".into()))?;
        Ok(Envelope::ok(
            "Notification marked as read",
            NotificationView::from(&read),
        ))
    }
}
