//! Why this exists: the job and state files carry times as RFC 3339 UTC text with nanoseconds,
//! so people can read them and both sides agree on one spelling: [`format()`] and [`parse()`] for
//! everyone, `#[serde(with = "crate::rfc3339")]` for this crate's job and state files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{de, Deserialize, Deserializer, Serializer};

/// The last instant humantime can write: 9999-12-31T23:59:59.999999999Z.
const LAST_WRITABLE: Duration = Duration::new(253_402_300_799, 999_999_999);

/// `time` as `2026-11-23T16:00:00.123456789Z`, or `None` outside 1970..=9999, which RFC 3339
/// cannot spell (humantime would panic on such a time rather than fail).
pub fn format(time: SystemTime) -> Option<String> {
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    (since_epoch <= LAST_WRITABLE).then(|| humantime::format_rfc3339_nanos(time).to_string())
}

/// Parses the strict form only (`T` separator, `Z` or `+00:00`): these files are written by
/// programs, so anything looser is a sign of a foreign writer.
pub fn parse(text: &str) -> Result<SystemTime, humantime::TimestampError> {
    humantime::parse_rfc3339(text)
}

pub(crate) fn serialize<S: Serializer>(
    time: &SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match format(*time) {
        Some(text) => serializer.serialize_str(&text),
        None => Err(serde::ser::Error::custom(
            "time lies outside 1970..=9999 and cannot be written as RFC 3339",
        )),
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SystemTime, D::Error> {
    // An owned String, because a borrowed &str fails on JSON strings containing escapes.
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(|err| de::Error::custom(format_args!("bad RFC 3339 time {text:?}: {err}")))
}

/// The same for `Option<SystemTime>`, written as `null` when absent.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::serialize(time, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => parse(&text).map(Some).map_err(|err| {
                de::Error::custom(format_args!("bad RFC 3339 time {text:?}: {err}"))
            }),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nanoseconds_in_utc() {
        let time = UNIX_EPOCH + Duration::new(1_795_449_600, 123_456_789);
        assert_eq!(
            format(time).as_deref(),
            Some("2026-11-23T16:00:00.123456789Z")
        );
        assert_eq!(parse("2026-11-23T16:00:00.123456789Z").ok(), Some(time));
    }

    #[test]
    fn refuses_times_it_cannot_spell_instead_of_panicking() {
        assert_eq!(format(UNIX_EPOCH - Duration::from_secs(1)), None);
        assert_eq!(
            format(UNIX_EPOCH + LAST_WRITABLE + Duration::from_nanos(1)),
            None
        );
        assert!(format(UNIX_EPOCH + LAST_WRITABLE).is_some());
    }
}
