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
        // Every date of every listed row is formatted here; chrono's general formatter was 12% of
        // a 50-row list's instructions (issue 13). Years 1970..=9999 are written by hand, the rest
        // (never stored by the server, but possible in old data) by chrono, with the same text.
        const LAST: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
        if !(0..=LAST).contains(&self.0) {
            return chrono::DateTime::from_timestamp_millis(self.0)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        }
        let (days, ms_of_day) = (self.0 / 86_400_000, self.0 % 86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (secs, ms) = (ms_of_day / 1000, ms_of_day % 1000);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, secs / 3600);
        put(14, 2, secs / 60 % 60);
        put(17, 2, secs % 60);
        put(20, 3, ms);
        String::from_utf8(out.to_vec()).expect("digits and separators are ASCII")
    }
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's `civil_from_days`),
/// for days ≥ 0.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn iso_is_chronos() {
        let chrono_iso = |m: i64| {
            chrono::DateTime::from_timestamp_millis(m)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let edges = [
            i64::MIN,
            -1,
            0,
            1,
            86_399_999,
            86_400_000,
            951_782_400_000,   // 2000-02-29
            4_107_542_400_000, // 2100-03-01
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MAX,
        ];
        for m in edges {
            assert_eq!(Millis(m).to_iso(), chrono_iso(m), "{m}");
        }
        for _ in 0..20_000 {
            let m = rand::random_range(-100_000_000_000_000..300_000_000_000_000);
            assert_eq!(Millis(m).to_iso(), chrono_iso(m), "{m}");
        }
        for day in 0..200_000i64 {
            let m = day * 86_400_000 + day % 86_400_000;
            assert_eq!(Millis(m).to_iso(), chrono_iso(m), "{m}");
        }
    }

    #[test]
    fn iso_has_milliseconds_and_z() {
        assert_eq!(
            Millis(1_700_000_000_123).to_iso(),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
