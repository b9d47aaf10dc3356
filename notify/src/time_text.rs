//! Why this exists: the notifier's state file and messages spell times as RFC 3339 like every other
//! file of dyndns (`dyndns_queue::rfc3339`), and mail needs the RFC 5322 date form.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{de, Deserialize, Deserializer, Serializer};

/// RFC 3339 with seconds, for people: `2026-11-29T22:50:03Z`.
pub fn rfc3339(time: SystemTime) -> String {
    dyndns_queue::rfc3339::format(time)
        .map(|text| format!("{}Z", &text[..19]))
        .unwrap_or_else(|| "an unwritable time".into())
}

/// `Sun, 29 Nov 2026 22:50:03 +0000` (RFC 5322 §3.3), in UTC.
pub fn rfc5322(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (no time before it is written).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `#[serde(with = "crate::time_text::optional")]` for an `Option<SystemTime>` in the state file.
pub mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time.and_then(dyndns_queue::rfc3339::format) {
            Some(text) => serializer.serialize_str(&text),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => dyndns_queue::rfc3339::parse(&text)
                .map(Some)
                .map_err(de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn mail_dates_are_rfc5322_in_utc() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_906_203);
        assert_eq!(rfc3339(at), "2026-11-28T22:50:03Z");
        assert_eq!(rfc5322(at), "Sat, 28 Nov 2026 22:50:03 +0000");
        assert_eq!(rfc5322(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc5322(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
