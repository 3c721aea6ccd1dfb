//! Gateway API durations (GEP-2257): one to four `<number><unit>` parts,
//! units `h`, `m`, `s`, `ms`, numbers of at most five digits, e.g. `1h2m`,
//! `500ms`. Zero is allowed.

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Parse into milliseconds.
pub fn parse_ms(input: &str) -> Result<u64, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    if input.is_empty() {
        return Err(fail("empty"));
    }
    let bytes = input.as_bytes();
    let mut i = 0;
    let mut parts = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &input[start..i];
        if digits.is_empty() {
            return Err(fail("expected a number"));
        }
        if digits.len() > 5 {
            return Err(fail("a number has more than five digits"));
        }
        let n: u64 = digits.parse().map_err(|_| fail("bad number"))?;
        let unit_ms = if input[i..].starts_with("ms") {
            i += 2;
            1
        } else {
            let unit = match bytes.get(i) {
                Some(b'h') => 3_600_000,
                Some(b'm') => 60_000,
                Some(b's') => 1_000,
                _ => return Err(fail("expected a unit: h, m, s or ms")),
            };
            i += 1;
            unit
        };
        parts += 1;
        if parts > 4 {
            return Err(fail("more than four parts"));
        }
        total += n * unit_ms;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn valid() {
        assert_eq!(parse_ms("1s"), Ok(1_000));
        assert_eq!(parse_ms("500ms"), Ok(500));
        assert_eq!(parse_ms("1h2m"), Ok(3_720_000));
        assert_eq!(parse_ms("1m30s250ms"), Ok(90_250));
        assert_eq!(parse_ms("0s"), Ok(0));
        assert_eq!(parse_ms("99999h"), Ok(99_999 * 3_600_000));
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "1",
            "s",
            "1.5s",
            "1d",
            "100000s",
            "1h1m1s1ms1h",
            "-1s",
            "1 s",
            "1S",
        ] {
            assert!(parse_ms(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
