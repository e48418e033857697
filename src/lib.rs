//! educoin: the server behind EduCoin (Quokki), a classroom behaviour-points app.

pub mod api;
pub mod app;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error_chain;
pub mod healthcheck;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod notifications;
pub mod ops;
pub mod payments;
pub mod push;
pub mod readiness;
pub mod realtime;
pub mod realtime_auth;
pub mod revocation;
pub mod serve;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod wire;
