//! `/socket.io/` on the API port: the Engine.IO handshake, long-polling GET and POST, and the
//! WebSocket (new, or upgrading a polling session). Errors answer as engine.io does
//! (`400 {"code", "message"}`), which the official client reports as `connect_error`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use poem::http::{Method, StatusCode, header};
use poem::web::Data;
use poem::web::websocket::{WebSocket, WebSocketConfig};
use poem::{Body, IntoResponse, Request, Response, handler};

use super::SharedAuthenticator;
use super::engine::{Handshake, OpenError, Poll, PostError, Transport};
use crate::auth::principal::bearer_value;
use crate::http::client_ip::client_ip;
use crate::state::AppState;

/// engine.io's error answers: `{"code": n, "message": "..."}`.
fn engine_error(status: StatusCode, code: u8, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::json!({ "code": code, "message": message }).to_string())
}

fn unknown_transport() -> Response {
    engine_error(StatusCode::BAD_REQUEST, 0, "Transport unknown")
}

fn unknown_sid() -> Response {
    engine_error(StatusCode::BAD_REQUEST, 1, "Session ID unknown")
}

fn bad_request() -> Response {
    engine_error(StatusCode::BAD_REQUEST, 3, "Bad request")
}

fn refused(e: OpenError) -> Response {
    match e {
        OpenError::Stopping => engine_error(
            StatusCode::SERVICE_UNAVAILABLE,
            4,
            "The server is shutting down",
        ),
    }
}

fn text(body: String) -> Response {
    Response::builder()
        .content_type("text/plain; charset=UTF-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
}

/// What the handshake request offers to authenticate the socket later, and its client address.
fn handshake(app: &AppState, req: &Request, query: &HashMap<String, String>) -> Handshake {
    Handshake {
        address: client_ip(req, &app.config.trusted_proxies)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        query_token: query
            .get("token")
            .map(|t| bearer_value(t).to_owned())
            .filter(|t| !t.is_empty()),
        header_token: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| bearer_value(v).to_owned())
            .filter(|t| !t.is_empty()),
    }
}

#[handler]
pub async fn socket_io(
    req: &Request,
    body: Body,
    ws: Option<WebSocket>,
    Data(app): Data<&AppState>,
) -> Response {
    let engine = app.realtime.engine().clone();
    let authn: SharedAuthenticator = app.auth.authenticator.clone();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if query.get("EIO").map(String::as_str) != Some("4") {
        return engine_error(StatusCode::BAD_REQUEST, 5, "Unsupported protocol version");
    }
    let transport = match query.get("transport").map(String::as_str) {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return unknown_transport(),
    };
    let sid = query.get("sid");

    match (transport, sid) {
        (Transport::Polling, None) => {
            if req.method() != Method::GET {
                return engine_error(StatusCode::BAD_REQUEST, 2, "Bad handshake method");
            }
            match engine.open(Transport::Polling, handshake(app, req, &query)) {
                Ok(session) => text(engine.open_packet(&session.sid, Transport::Polling)),
                Err(e) => refused(e),
            }
        }
        (Transport::Polling, Some(sid)) => {
            let Some(session) = engine.session(sid) else {
                return unknown_sid();
            };
            match *req.method() {
                Method::GET => match session.poll().await {
                    Poll::Packets(body) => text(body),
                    Poll::WrongTransport | Poll::Overlap => bad_request(),
                },
                Method::POST => {
                    let bytes = match body.into_bytes_limit(engine.limits.max_payload).await {
                        Ok(b) => b,
                        Err(_) => {
                            session.close(super::engine::CloseReason::PayloadTooLarge);
                            return engine_error(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                3,
                                "Payload too large",
                            );
                        }
                    };
                    let Ok(packets) = std::str::from_utf8(&bytes) else {
                        session.close(super::engine::CloseReason::ParseError);
                        return bad_request();
                    };
                    match session.post(&authn, packets).await {
                        Ok(()) => Response::builder()
                            .content_type("text/html")
                            .header(header::CACHE_CONTROL, "no-store")
                            .body("ok"),
                        Err(PostError::WrongTransport | PostError::Overlap) => bad_request(),
                    }
                }
                _ => bad_request(),
            }
        }
        (Transport::WebSocket, sid) => {
            let Some(ws) = ws else {
                return bad_request();
            };
            let config = WebSocketConfig::default()
                .max_message_size(Some(engine.limits.max_payload))
                .max_frame_size(Some(engine.limits.max_payload));
            let ws = ws.config(config);
            match sid {
                None => {
                    if let Err(e) = engine.check_capacity() {
                        return refused(e);
                    }
                    let handshake = handshake(app, req, &query);
                    let tracked = engine.clone();
                    ws.on_upgrade(move |stream| {
                        tracked.track(super::engine::run_new_websocket(
                            engine, authn, handshake, stream,
                        ))
                    })
                    .into_response()
                }
                Some(sid) => {
                    let Some(session) = engine.session(sid) else {
                        return unknown_sid();
                    };
                    if !session.claim_upgrade() {
                        return bad_request();
                    }
                    let tracked = engine.clone();
                    ws.on_upgrade(move |stream| {
                        tracked.track(super::engine::run_upgrade(engine, authn, session, stream))
                    })
                    .into_response()
                }
            }
        }
    }
}
