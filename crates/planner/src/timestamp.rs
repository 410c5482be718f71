//! TIMESTAMP (without time zone) input and output in PostgreSQL's formats.
//! Values are microseconds since 1970-01-01 00:00:00.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

const FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];

/// Parses `2026-11-22 13:05:00[.123456]`, the `T`-separated form, a bare
/// date, or `epoch`. A trailing time-zone designation is not accepted: the
/// column type has no time zone, and silently dropping one would hide a bug.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("epoch") {
        return Some(0);
    }
    let parsed = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    // PostgreSQL keeps microseconds: round away the rest.
    let utc = parsed.and_utc();
    let micros = utc.timestamp_micros();
    let nanos_rest = utc.timestamp_subsec_nanos() % 1000;
    Some(if nanos_rest >= 500 { micros + 1 } else { micros })
}

/// Formats as PostgreSQL prints a timestamp: fraction digits only as many as
/// needed, at most six.
pub fn format(micros: i64) -> String {
    let Some(dt) = DateTime::from_timestamp_micros(micros) else {
        return format!("<timestamp out of range: {micros}>");
    };
    let naive = dt.naive_utc();
    let mut out = naive.format("%Y-%m-%d %H:%M:%S").to_string();
    let frac = micros.rem_euclid(1_000_000);
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_postgres_forms() {
        for text in ["2026-11-22 13:05:00", "1999-01-08 04:05:06.5", "2000-02-29 23:59:59.000001"] {
            let micros = parse(text).unwrap();
            assert_eq!(format(micros), text);
        }
        assert_eq!(format(parse("2026-11-22T13:05").unwrap()), "2026-11-22 13:05:00");
        assert_eq!(format(parse("2026-11-22").unwrap()), "2026-11-22 00:00:00");
        assert_eq!(parse("epoch"), Some(0));
        assert_eq!(format(parse("1969-12-31 23:59:59.75").unwrap()), "1969-12-31 23:59:59.75");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse("yesterday-ish"), None);
        assert_eq!(parse("2026-13-01"), None);
        assert_eq!(parse("2026-11-22 13:05:00+02"), None);
    }
}
