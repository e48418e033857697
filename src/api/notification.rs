//! `/notifications`: what happened to a teacher's or student's tasks and rewards, newest first.

use poem_openapi::OpenApi;

use super::ApiTags;
use super::listing::listed;
use super::views::NotificationView;
use crate::domain::notification::Notification;
use crate::http::auth::{ById, Member};
use crate::http::paged::Paged;
use crate::http::{ApiError, Reply, ok};
use crate::store::OwnerWrite;

pub struct NotificationApi;

#[OpenApi(tag = "ApiTags::Notification")]
impl NotificationApi {
    /// The caller's notifications, newest first, 10 a page; `totalNotification` is how many are
    /// unread (of all, not of this page).
    #[oai(path = "/notifications", method = "get")]
    async fn list(&self, page: Paged<'_, Member>) -> Reply<Vec<NotificationView>> {
        let (state, me) = (page.auth.state, page.auth.who.id());
        let q = page.query(None);
        let found = state.store.notifications.list_for(me, &q).await?;
        let unread = state.store.notifications.count_unread(me).await?;
        let mut envelope = listed("Notifications retrieved successfully", &q, &found)?;
        envelope.0.total_notification = Some(unread);
        Ok(envelope)
    }

    /// Marks one of the caller's notifications read (again is fine).
    #[oai(path = "/notifications/:id", method = "patch")]
    async fn read(&self, id: ById<'_, Member, Notification>) -> Reply<NotificationView> {
        let ById { auth, id, .. } = id;
        let (state, who) = (auth.state, &auth.who);
        let write = OwnerWrite {
            owner: who.id(),
            id: &id,
            now: state.clock.now(),
        };
        let read = state
            .store
            .notifications
            .mark_read(write)
            .await?
            .ok_or_else(|| ApiError::NotFound("Notification not found.".into()))?;
        ok("Notification marked as read", &read)
    }
}
