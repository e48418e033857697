use crate::http::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::http::Envelope;
use crate::readiness::Report;
use crate::state::AppState;

pub struct HealthApi;

#[derive(Object, serde::Serialize)]
struct Liveness {
    status: String,
    version: String,
}

#[derive(Object, serde::Serialize)]
struct Component {
    /// `up`, `down`, `timeout` or `migrating`.
    status: String,
    /// `sqlite` or `mongodb`; `memory` or `redis`.
    backend: String,
    #[oai(rename = "latencyMs")]
    #[serde(rename = "latencyMs")]
    latency_ms: f64,
}

#[derive(Object, serde::Serialize)]
struct Components {
    database: Component,
    cache: Component,
}

#[derive(Object, serde::Serialize)]
struct ReadinessBody {
    /// `ready` or `unavailable`.
    status: String,
    components: Components,
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// Every dependency answered: send traffic.
    #[oai(status = 200)]
    Ready(Json<Envelope<ReadinessBody>>),
    /// A dependency is down, slow or still migrating: do not send traffic yet.
    #[oai(status = 503)]
    NotReady(Json<Envelope<ReadinessBody>>),
}

fn readiness_body(report: &Report) -> ReadinessBody {
    let component = |name: &str| {
        let c = report
            .components
            .iter()
            .find(|c| c.name == name)
            .expect("the report names every component");
        Component {
            status: c.state.as_str().to_owned(),
            backend: c.backend.to_owned(),
            latency_ms: (c.latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        }
    };
    ReadinessBody {
        status: if report.is_ready() {
            "ready"
        } else {
            "unavailable"
        }
        .to_owned(),
        components: Components {
            database: component("database"),
            cache: component("cache"),
        },
    }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process answers. No I/O, so it stays cheap under any load.
    #[oai(path = "/health", method = "get")]
    async fn live(&self) -> Json<Envelope<Liveness>> {
        Envelope::ok(
            "The server is alive",
            Liveness {
                status: "ok".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        )
    }

    /// Readiness: the database and the cache answer within 2 s and migrations are done.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self, state: poem::web::Data<&AppState>) -> ReadyResponse {
        let report = state.readiness.check().await;
        let body = readiness_body(&report);
        if report.is_ready() {
            ReadyResponse::Ready(Envelope::ok("The server is ready", body))
        } else {
            let mut envelope =
                Envelope::ok("The server is not ready: a dependency is unavailable", body);
            envelope.0.success = false;
            ReadyResponse::NotReady(envelope)
        }
    }
}
