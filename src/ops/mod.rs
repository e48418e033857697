//! Running in production: logs, metrics, systemd integration, and orderly shutdown.

pub mod breaker;
pub mod disk;
pub mod env_example;
pub mod metrics;
pub mod shutdown;
pub mod systemd;
pub mod telemetry;
pub mod timed;
