//! Byte classes and small grammar helpers shared by the parsers and writers
//! (RFC 9110 §5.6 tokens, field values, lists; RFC 3986 host syntax).

/// `tchar` from RFC 9110 §5.6.2.
const fn build_tchar() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
}

static TCHAR: [bool; 256] = build_tchar();

#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// `token = 1*tchar`.
#[inline]
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A field value byte: HTAB, SP, VCHAR or obs-text (RFC 9110 §5.5). CR, LF,
/// NUL, other controls and DEL are not allowed.
#[inline]
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// The whole value is made of field-value bytes and neither starts nor ends
/// with whitespace (what a writer may emit after `": "`).
pub(crate) fn is_clean_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| is_field_value_byte(b))
        && !matches!(v.first(), Some(b' ' | b'\t'))
        && !matches!(v.last(), Some(b' ' | b'\t'))
}

#[inline]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Iterate the elements of a comma-separated list (RFC 9110 §5.6.1),
/// trimmed of OWS, skipping empty elements.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Does the comma-separated list contain `token` (ASCII case-insensitive)?
pub(crate) fn list_contains(value: &[u8], token: &[u8]) -> bool {
    list_elements(value).any(|e| e.eq_ignore_ascii_case(token))
}

/// Strict `1*DIGIT` parse into u64; `None` on empty input, any non-digit
/// (sign, space, `0x`) or overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Characters allowed in a `reg-name` host. Stricter than RFC 3986 (which also
/// allows sub-delims and percent-encoding): a gateway routes by DNS-like
/// names, and `,`, `;`, `%`, `'` etc. in a Host are only seen in attacks.
#[inline]
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Validate `uri-host [ ":" port ]` as used by the Host field and the
/// authority of an absolute-form target. Returns the length of the host part
/// (without the port) when valid.
pub(crate) fn validate_authority(a: &[u8]) -> Option<usize> {
    if a.is_empty() {
        return None;
    }
    let (host_len, rest) = if a[0] == b'[' {
        let close = a.iter().position(|&b| b == b']')?;
        let inner = &a[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        // Must actually be an IPv6 address.
        let s = std::str::from_utf8(inner).ok()?;
        s.parse::<std::net::Ipv6Addr>().ok()?;
        (close + 1, &a[close + 1..])
    } else {
        let n = a.iter().position(|&b| b == b':').unwrap_or(a.len());
        if n == 0 || !a[..n].iter().all(|&b| is_reg_name_byte(b)) {
            return None;
        }
        (n, &a[n..])
    };
    match rest {
        [] => Some(host_len),
        [b':', port @ ..] => {
            // port = *DIGIT; an empty port is allowed by RFC 3986 but we
            // require digits that fit u16.
            let p = parse_decimal(port)?;
            (p <= u64::from(u16::MAX)).then_some(host_len)
        }
        _ => None,
    }
}

/// origin-form bytes: starts with `/`, visible ASCII, no fragment
/// (RFC 9112 §3.2.1).
pub(crate) fn check_origin_target(t: &[u8]) -> bool {
    t.first() == Some(&b'/') && t.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b'#')
}

/// Write `n` in decimal.
pub(crate) fn write_decimal(out: &mut impl crate::OutBuf, n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut v = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.put(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"GET"));
        assert!(is_token(b"X-Custom_1.~"));
        assert!(!is_token(b""));
        assert!(!is_token(b"A B"));
        assert!(!is_token(b"G=\":<>"));
        assert!(!is_token(b"a\x85"));
    }

    #[test]
    fn lists() {
        let v: Vec<&[u8]> = list_elements(b" a ,, b\t,c ,").collect();
        assert_eq!(v, vec![&b"a"[..], b"b", b"c"]);
        assert!(list_contains(b"keep-alive, Close", b"close"));
        assert!(!list_contains(b"closed", b"close"));
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"010"), Some(10));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"+5"), None);
        assert_eq!(parse_decimal(b"0x10"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b" 5"), None);
    }

    #[test]
    fn authority() {
        assert_eq!(validate_authority(b"h1.test"), Some(7));
        assert_eq!(validate_authority(b"h1.test:8080"), Some(7));
        assert_eq!(validate_authority(b"[::1]:80"), Some(5));
        assert_eq!(validate_authority(b"[::1]"), Some(5));
        assert_eq!(validate_authority(b"[zz]"), None);
        assert_eq!(validate_authority(b"h1.test, other.test"), None);
        assert_eq!(validate_authority(b"h1.test\0x"), None);
        assert_eq!(validate_authority(b"a:99999"), None);
        assert_eq!(validate_authority(b"a:"), None);
        assert_eq!(validate_authority(b":80"), None);
        assert_eq!(validate_authority(b"user@host"), None);
        assert_eq!(validate_authority(b""), None);
    }

    #[test]
    fn values() {
        assert!(is_clean_field_value(b"a b\x85"));
        assert!(!is_clean_field_value(b"a\rb"));
        assert!(!is_clean_field_value(b"a\nb"));
        assert!(!is_clean_field_value(b"a\0"));
        assert!(!is_clean_field_value(b" a"));
        assert_eq!(trim_ows(b" \ta b\t "), b"a b");
    }

    #[test]
    fn decimal_writer() {
        let mut v = Vec::new();
        write_decimal(&mut v, 0);
        v.push(b' ');
        write_decimal(&mut v, u64::MAX);
        assert_eq!(v, b"0 18446744073709551615");
    }
}
