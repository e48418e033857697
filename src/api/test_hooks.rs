//! Routes that exist only for tests of the server's own lifecycle (`EDUCOIN_TEST_HOOKS=1`, refused
//! in production). They stay out of the OpenAPI document.

use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json, Query};
use poem::{Route, get, handler, post};

use crate::domain::Id;
use crate::state::AppState;

#[derive(serde::Deserialize)]
struct Slow {
    ms: Option<u64>,
}

/// Holds the request for `ms` milliseconds (at most a minute): an in-flight request that a
/// graceful shutdown must let finish.
#[handler]
async fn slow(Query(q): Query<Slow>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(q.ms.unwrap_or(1000).min(60_000))).await;
    "done"
}

#[handler]
fn panic_now() -> &'static str {
    panic!("test hook: deliberate panic")
}

#[derive(serde::Deserialize)]
struct Notify {
    recipient: String,
    data: serde_json::Value,
}

/// Publishes a realtime notification as a handler would after storing it (`Realtime::notify`),
/// so that the Socket.IO server can be tested before the notification routes exist.
#[handler]
async fn notify(Data(state): Data<&AppState>, Json(body): Json<Notify>) -> StatusCode {
    let Ok(recipient) = Id::parse(&body.recipient) else {
        return StatusCode::BAD_REQUEST;
    };
    state.realtime.notify(&recipient, body.data).await;
    StatusCode::NO_CONTENT
}

/// Makes the student write of the next points move fail once, as a lost connection between the
/// assignment's write and the student's would (MongoDB without transactions; 501 on SQLite,
/// where both are one transaction).
#[handler]
fn fail_next_points_move(Data(state): Data<&AppState>) -> StatusCode {
    if state.store.points.fail_next_move() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_IMPLEMENTED
    }
}

pub fn routes() -> Route {
    Route::new()
        .at("/slow", get(slow))
        .at("/panic", get(panic_now))
        .at("/notify", post(notify))
        .at("/fail-next-points-move", post(fail_next_points_move))
}
