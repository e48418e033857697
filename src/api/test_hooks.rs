//! Routes that exist only for tests of the server's own lifecycle (`EDUCOIN_TEST_HOOKS=1`, refused
//! in production). They stay out of the OpenAPI document.

use std::time::Duration;

use poem::web::Query;
use poem::{Route, get, handler};

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

pub fn routes() -> Route {
    Route::new()
        .at("/slow", get(slow))
        .at("/panic", get(panic_now))
}
