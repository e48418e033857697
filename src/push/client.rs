//! Sends one message to FCM HTTP v1 and says what to do next: done, retry (429 / 5xx / no
//! answer, with the server's `Retry-After`), drop the token (`UNREGISTERED`, 404,
//! `INVALID_ARGUMENT`, `SENDER_ID_MISMATCH`), or give up on this device (any other refusal).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::Value;

use super::account::ServiceAccount;
use super::token::TokenSource;
use crate::clock::SharedClock;

/// One FCM request (or token exchange) waits at most this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Try again later, no earlier than `after` when FCM said so.
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// The token is dead or not ours: remove the device.
    DropToken {
        why: String,
    },
    /// This message will never be accepted for this device; retrying would not help.
    Failed {
        why: String,
    },
}

pub struct Fcm {
    send_url: String,
    http: reqwest::Client,
    tokens: TokenSource,
}

impl Fcm {
    pub fn new(
        account: ServiceAccount,
        api_base: &str,
        token_uri: Option<&str>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let token_uri = token_uri
            .map(str::to_owned)
            .unwrap_or_else(|| account.token_uri.clone());
        let send_url = format!(
            "{api_base}/v1/projects/{}/messages:send",
            account.project_id
        );
        Ok(Fcm {
            send_url,
            tokens: TokenSource::new(Arc::new(account), token_uri, http.clone(), clock),
            http,
        })
    }

    /// One message as a client span (`fcm` `messages.send`, the token exchange a child span of
    /// its own); anything but `Sent` marks the span failed.
    pub async fn send(&self, body: &Value) -> Outcome {
        let span = crate::telemetry::client_span("fcm", "messages.send");
        let outcome = tracing::Instrument::instrument(self.send_once(body), span.clone()).await;
        if outcome != Outcome::Sent {
            crate::telemetry::mark_error(&span);
        }
        outcome
    }

    async fn send_once(&self, body: &Value) -> Outcome {
        let token = match self.tokens.get().await {
            Ok(t) => t,
            // No access token now (endpoint down, or refusing our key): the push waits; the
            // retry deadline bounds how long.
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    why: e.to_string(),
                };
            }
        };
        // Inside the span (instrumented by `send`): the traceparent names it.
        let sent = crate::telemetry::propagation::send(
            self.http
                .post(&self.send_url)
                .bearer_auth(&*token)
                .json(body),
        )
        .await;
        let res = match sent {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    why: format!("FCM unreachable: {}", e.without_url()),
                };
            }
        };
        let status = res.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let after = retry_after(res.headers().get(RETRY_AFTER));
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        let code = error_code(&answer);
        let why = format!("FCM answered {} {}", status.as_u16(), code.unwrap_or("-"));
        classify(status, code, after, why, || self.tokens.invalidate(&token)).await
    }
}

async fn classify<F: std::future::Future<Output = ()>>(
    status: StatusCode,
    code: Option<&str>,
    after: Option<Duration>,
    why: String,
    invalidate: impl FnOnce() -> F,
) -> Outcome {
    match (status.as_u16(), code) {
        (_, Some("UNREGISTERED" | "SENDER_ID_MISMATCH")) | (404, _) => Outcome::DropToken { why },
        (400, Some("INVALID_ARGUMENT") | None) => Outcome::DropToken { why },
        // Our access token was refused (revoked, or the clock skewed): fetch another.
        (401, _) => {
            invalidate().await;
            Outcome::Retry { after, why }
        }
        (429, _) | (500..=599, _) => Outcome::Retry { after, why },
        _ => Outcome::Failed { why },
    }
}

/// FCM's `errorCode` (`details[].errorCode`), else the Google API `status`.
fn error_code(answer: &Value) -> Option<&str> {
    let error = &answer["error"];
    error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["errorCode"].as_str())
        .or_else(|| error["status"].as_str())
}

/// `Retry-After` in seconds (FCM sends seconds; an HTTP date is treated as absent).
fn retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn outcome(status: u16, code: Option<&str>) -> Outcome {
        classify(
            StatusCode::from_u16(status).unwrap(),
            code,
            None,
            String::new(),
            || async {},
        )
        .await
    }

    #[tokio::test]
    async fn fcm_answers_are_classified() {
        let drop = |o: &Outcome| matches!(o, Outcome::DropToken { .. });
        let retry = |o: &Outcome| matches!(o, Outcome::Retry { .. });
        assert!(drop(&outcome(404, Some("UNREGISTERED")).await));
        assert!(drop(&outcome(400, Some("INVALID_ARGUMENT")).await));
        assert!(drop(&outcome(403, Some("SENDER_ID_MISMATCH")).await));
        assert!(retry(&outcome(429, Some("QUOTA_EXCEEDED")).await));
        assert!(retry(&outcome(503, Some("UNAVAILABLE")).await));
        assert!(retry(&outcome(500, Some("INTERNAL")).await));
        assert!(retry(&outcome(401, Some("UNAUTHENTICATED")).await));
        assert!(matches!(
            outcome(403, Some("PERMISSION_DENIED")).await,
            Outcome::Failed { .. }
        ));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let v = reqwest::header::HeaderValue::from_static("7");
        assert_eq!(retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let date = reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(retry_after(Some(&date)), None);
    }
}
