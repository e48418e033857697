//! Logs only (no trace export, no error reports): what the commands other than `serve` and the
//! in-process test servers install. `crate::telemetry` holds the whole setup.

pub use crate::telemetry::logs::{LogFormat, choose_format, init};
