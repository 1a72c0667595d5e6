//! The `time` object that Bitrix answers carry, made from the gateway's own timings (never the
//! portal's). Both official SDKs fail without it: one reads `time.operating`, the other
//! indexes `time` directly.

use std::fmt::Write as _;
use std::time::Duration;

/// Bitrix's operating-time window: `operating_reset_at` is at most this far ahead.
const OPERATING_WINDOW_SECS: u64 = 600;

/// When the gateway started and finished answering, as Unix time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub start: Duration,
    pub finish: Duration,
}

impl Timing {
    /// `{"start":…,"finish":…,"duration":…,"processing":…,"date_start":"…","date_finish":"…",
    /// "operating":0,"operating_reset_at":…}`
    pub fn to_json(self) -> String {
        let finish = self.finish.max(self.start);
        let duration = (finish - self.start).as_secs_f64();
        let mut json = String::with_capacity(224);
        let _ = write!(
            json,
            "{{\"start\":{},\"finish\":{},\"duration\":{duration},\"processing\":{duration},\
             \"date_start\":\"{}\",\"date_finish\":\"{}\",\"operating\":0,\
             \"operating_reset_at\":{}}}",
            seconds(self.start),
            seconds(finish),
            iso8601(self.start),
            iso8601(finish),
            self.start.as_secs() + OPERATING_WINDOW_SECS,
        );
        json
    }
}

/// Seconds with microseconds, like the portal's `start` and `finish`.
fn seconds(t: Duration) -> f64 {
    (t.as_micros() as f64) / 1e6
}

/// `2026-11-30T11:00:00+00:00`: UTC with an explicit offset, as the portal writes dates.
pub fn iso8601(t: Duration) -> String {
    let secs = t.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (era arithmetic: 400-year
/// cycles of 146,097 days starting on March 1st).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            iso8601(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00+00:00"
        );
        assert_eq!(
            iso8601(Duration::from_secs(1_796_036_400)),
            "2026-11-30T11:00:00+00:00"
        );
        assert_eq!(
            iso8601(Duration::from_secs(4_102_444_799)),
            "2099-12-31T23:59:59+00:00"
        );
    }

    #[test]
    fn the_time_object_has_every_field_the_sdks_read() {
        let timing = Timing {
            start: Duration::from_millis(1_796_036_400_250),
            finish: Duration::from_millis(1_796_036_400_260),
        };
        let time: serde_json::Value = serde_json::from_str(&timing.to_json()).unwrap();
        assert_eq!(time["start"], 1_796_036_400.25);
        assert!((time["duration"].as_f64().unwrap() - 0.01).abs() < 1e-9);
        assert_eq!(time["date_start"], "2026-11-30T11:00:00+00:00");
        assert_eq!(time["operating"], 0);
        assert_eq!(time["operating_reset_at"], 1_796_037_000);
        for field in ["finish", "processing", "date_finish"] {
            assert!(!time[field].is_null(), "{field}");
        }
    }

    proptest! {
        #[test]
        fn days_and_dates_agree_with_a_day_by_day_count(days in 0i64..80_000) {
            // Walk from 1970 by whole months: the day count of each month start must match.
            let (y, m, d) = civil_from_days(days);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            let (y2, m2, d2) = civil_from_days(days + 1);
            let next_day = (y2, m2, d2) == (y, m, d + 1)
                || (d2 == 1 && ((m2 == m + 1 && y2 == y) || (m == 12 && m2 == 1 && y2 == y + 1)));
            prop_assert!(next_day, "{:?} -> {:?}", (y, m, d), (y2, m2, d2));
        }
    }
}
