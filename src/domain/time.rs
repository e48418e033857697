use std::fmt;

/// A UTC instant in milliseconds since the Unix epoch: what both backends store, and what the
/// clients receive as ISO-8601 with milliseconds (`2025-01-31T08:15:00.000Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Millis(pub i64);

impl Millis {
    /// The system's time. Business time comes from the state's `clock::Clock` instead, so that
    /// tests can move it; this remains for the adapters that still stamp rows themselves.
    pub fn now() -> Self {
        Millis(chrono::Utc::now().timestamp_millis())
    }

    pub fn to_utc(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    pub fn to_iso(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_milliseconds_and_z() {
        assert_eq!(
            Millis(1_700_000_000_123).to_iso(),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
