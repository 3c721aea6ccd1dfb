//! Timestamps from the shardgate processes' logs (tracing's default
//! format: an RFC 3339 UTC time with microseconds, the level, the target,
//! the message and `key=value` fields). They time the steps inside the
//! processes that no external probe can see: the control plane's publish
//! and the data plane's adoption of a generation.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall time of the first line of `log` that contains `message` and the
/// field `generation=G`.
pub fn find(log: &Path, message: &str, generation: u64) -> Option<SystemTime> {
    let text = std::fs::read_to_string(log).ok()?;
    find_in(&text, message, generation)
}

pub fn find_in(text: &str, message: &str, generation: u64) -> Option<SystemTime> {
    let field = format!("generation={generation}");
    text.lines()
        .filter(|l| l.contains(message))
        .find(|l| l.split_whitespace().any(|w| w == field))
        .and_then(|l| parse_rfc3339(l.split_whitespace().next()?))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` → wall time (UTC only, as tracing
/// writes it).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<u64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let days = u64::try_from(days_from_civil(y, mo, day)).ok()?;
    let secs = days * 86_400 + h * 3_600 + mi * 60 + sec;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let t = parse_rfc3339("1970-01-02T00:00:01.5Z").expect("valid");
        assert_eq!(
            t.duration_since(UNIX_EPOCH).expect("after epoch"),
            Duration::from_millis(86_401_500)
        );
        // 2026-11-22 is day 20,779 since the epoch (`date -u -d 2026-11-22 +%s` / 86400).
        let t = parse_rfc3339("2026-11-22T04:01:02.123456Z").expect("valid");
        let d = t.duration_since(UNIX_EPOCH).expect("after epoch");
        assert_eq!(d.as_secs(), 20_779 * 86_400 + 4 * 3_600 + 62);
        assert_eq!(d.subsec_micros(), 123_456);
        assert!(parse_rfc3339("2026-11-22T04:01:02").is_none());
        assert!(parse_rfc3339("2026-13-22T04:01:02Z").is_none());
        assert!(parse_rfc3339("2026-11-22T04:01:02.x1Z").is_none());
    }

    #[test]
    fn lines_by_message_and_generation() {
        let log = "2026-11-22T04:00:00.000001Z  INFO shardgate_controlplane::control: published snapshot generation=20 bytes=9\n\
                   2026-11-22T04:00:00.000002Z  INFO shardgate_controlplane::control: published snapshot generation=2 bytes=9\n\
                   2026-11-22T04:00:00.000003Z  INFO x: snapshot adopted generation=2\n";
        let t = find_in(log, "published snapshot", 2).expect("found");
        assert_eq!(
            t.duration_since(UNIX_EPOCH).expect("after").subsec_micros(),
            2
        );
        assert!(find_in(log, "published snapshot", 3).is_none());
        assert!(find_in(log, "snapshot adopted", 2).is_some());
    }
}
