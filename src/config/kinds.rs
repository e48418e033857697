//! The kinds of value a setting can hold: how each is parsed from its environment text and how it is
//! shown in `check-config`'s listing, the README table and the example files.

use std::fmt::Display;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

use super::Environment;
use super::reader::{Reader, Source};

/// Shown for an optional setting left unset.
pub const UNSET: &str = "[unset]";

pub trait Kind {
    type Value;
    /// Read with `_FILE` and systemd-credential support, and never shown.
    const SECRET: bool = false;
    fn parse(raw: &str) -> Result<Self::Value, String>;
    fn show(value: &Self::Value) -> String;
    fn read<S: Source + ?Sized>(
        r: &mut Reader<'_, S>,
        name: &'static str,
        default: Self::Value,
    ) -> Self::Value {
        r.parsed(name, default, Self::parse)
    }
}

/// Free text.
pub struct Text;

impl Kind for Text {
    type Value = String;
    fn parse(raw: &str) -> Result<String, String> {
        Ok(raw.to_owned())
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

/// Free text that may be left unset.
pub struct OptionalText;

impl Kind for OptionalText {
    type Value = Option<String>;
    fn parse(raw: &str) -> Result<Option<String>, String> {
        Ok(Some(raw.to_owned()))
    }
    fn show(value: &Option<String>) -> String {
        value.clone().unwrap_or_else(|| UNSET.to_owned())
    }
}

/// A secret: `X`, `X_FILE` or `$CREDENTIALS_DIRECTORY/x`; shown only as set or unset.
pub struct Secret;

impl Kind for Secret {
    type Value = Option<SecretString>;
    const SECRET: bool = true;
    fn parse(raw: &str) -> Result<Self::Value, String> {
        Ok(Some(SecretString::from(raw)))
    }
    fn show(value: &Self::Value) -> String {
        if value.is_some() { "[set]" } else { UNSET }.to_owned()
    }
    fn read<S: Source + ?Sized>(
        r: &mut Reader<'_, S>,
        name: &'static str,
        _: Self::Value,
    ) -> Self::Value {
        r.secret(name)
    }
}

/// A whole number of type `T`.
pub struct Number<T>(PhantomData<T>);

impl<T: FromStr + Display> Kind for Number<T> {
    type Value = T;
    fn parse(raw: &str) -> Result<T, String> {
        raw.parse::<T>()
            .map_err(|_| "expected a whole number".to_owned())
    }
    fn show(value: &T) -> String {
        value.to_string()
    }
}

/// A whole number of seconds.
pub struct Seconds;

impl Kind for Seconds {
    type Value = Duration;
    fn parse(raw: &str) -> Result<Duration, String> {
        Number::<u64>::parse(raw).map(Duration::from_secs)
    }
    fn show(value: &Duration) -> String {
        value.as_secs().to_string()
    }
}

/// A positive number of milliseconds.
pub struct Millis;

impl Kind for Millis {
    type Value = Duration;
    fn parse(raw: &str) -> Result<Duration, String> {
        match raw.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err("expected a positive number of milliseconds".to_owned()),
        }
    }
    fn show(value: &Duration) -> String {
        value.as_millis().to_string()
    }
}

/// A lifetime in the old server's `ms` syntax (see [`parse_duration`]).
pub struct Lifetime;

impl Kind for Lifetime {
    type Value = Duration;
    fn parse(raw: &str) -> Result<Duration, String> {
        parse_duration(raw)
    }
    fn show(value: &Duration) -> String {
        format!("{}s", value.as_secs())
    }
}

/// `3600` (seconds), or a number with a unit as the old server's `ms` library took: `500ms`, `30s`,
/// `15m`, `12h`, `1d`, `2w`, `1y`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a duration like 3600, 15m, 12h or 7d".to_owned())?;
    let secs = |mult: u64| Duration::from_secs(n.saturating_mul(mult));
    let d = match unit.trim() {
        "" | "s" => secs(1),
        "ms" => Duration::from_millis(n),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        "w" => secs(7 * 86_400),
        "y" => secs(365 * 86_400),
        other => {
            return Err(format!(
                "unknown unit {other:?}; use ms, s, m, h, d, w or y"
            ));
        }
    };
    if d.is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d)
}

/// `true`/`false` and the usual spellings.
pub struct Flag;

impl Kind for Flag {
    type Value = bool;
    fn parse(raw: &str) -> Result<bool, String> {
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }
    fn show(value: &bool) -> String {
        value.to_string()
    }
}

/// `development`, `test` or `production`.
pub struct EnvironmentName;

impl Kind for EnvironmentName {
    type Value = Environment;
    fn parse(raw: &str) -> Result<Environment, String> {
        match raw.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err("expected development, test or production".to_owned()),
        }
    }
    fn show(value: &Environment) -> String {
        value.as_str().to_owned()
    }
}

/// The address a listener binds; `localhost` as the old server took it.
pub struct ListenAddress;

impl Kind for ListenAddress {
    type Value = IpAddr;
    fn parse(raw: &str) -> Result<IpAddr, String> {
        match raw {
            "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            _ => raw
                .parse()
                .map_err(|_| "expected an IP address such as 0.0.0.0 or 127.0.0.1".to_owned()),
        }
    }
    fn show(value: &IpAddr) -> String {
        value.to_string()
    }
}

/// `host:port`, or `off` (also `none`, `disabled`) for no listener.
pub struct OptionalSocket;

impl Kind for OptionalSocket {
    type Value = Option<SocketAddr>;
    fn parse(raw: &str) -> Result<Option<SocketAddr>, String> {
        match raw {
            "off" | "none" | "disabled" => Ok(None),
            _ => raw
                .parse()
                .map(Some)
                .map_err(|_| "expected host:port such as 0.0.0.0:9464, or off".to_owned()),
        }
    }
    fn show(value: &Option<SocketAddr>) -> String {
        value.map(|a| a.to_string()).unwrap_or_else(|| "off".into())
    }
}

/// A comma-separated list; trailing slashes are dropped (origins are compared without them).
pub struct List;

impl Kind for List {
    type Value = Vec<String>;
    fn parse(raw: &str) -> Result<Vec<String>, String> {
        Ok(split_list(raw))
    }
    fn show(value: &Vec<String>) -> String {
        value.join(",")
    }
}

pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Comma-separated IP addresses and CIDR ranges.
pub struct Networks;

impl Kind for Networks {
    type Value = Vec<IpNet>;
    fn parse(raw: &str) -> Result<Vec<IpNet>, String> {
        split_list(raw)
            .iter()
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is not an IP address or CIDR range"))
            })
            .collect()
    }
    fn show(value: &Vec<IpNet>) -> String {
        value
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A directory; systemd may pass several separated by `:`, and the first is ours.
pub struct StateDirectory;

impl Kind for StateDirectory {
    type Value = PathBuf;
    fn parse(raw: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(raw.split(':').next().unwrap_or(raw)))
    }
    fn show(value: &PathBuf) -> String {
        value.display().to_string()
    }
}

/// A `tracing` level or filter directive.
pub struct LogFilter;

impl Kind for LogFilter {
    type Value = String;
    fn parse(raw: &str) -> Result<String, String> {
        match tracing_subscriber::EnvFilter::try_new(raw) {
            Ok(_) => Ok(raw.to_owned()),
            Err(_) => Err("not a level (error, warn, info, debug, trace) or filter".to_owned()),
        }
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

/// A fraction in `[0, 1)` with at most four decimals (`0.20` is 20 %), held as basis points
/// (2000) so that money is computed in whole numbers.
pub struct Fraction;

impl Kind for Fraction {
    type Value = u32;
    fn parse(raw: &str) -> Result<u32, String> {
        let bad = || {
            "expected a fraction from 0 to below 1 with at most 4 decimals, e.g. 0.20".to_owned()
        };
        let raw = raw.trim();
        let (whole, decimals) = raw.split_once('.').unwrap_or((raw, ""));
        if whole != "0" || decimals.len() > 4 || !decimals.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let padded = format!("{decimals:0<4}");
        padded.parse::<u32>().map_err(|_| bad())
    }
    fn show(value: &u32) -> String {
        let text = format!("0.{value:04}");
        let text = text.trim_end_matches('0');
        if text.ends_with('.') {
            format!("{text}0")
        } else {
            text.to_owned()
        }
    }
}
