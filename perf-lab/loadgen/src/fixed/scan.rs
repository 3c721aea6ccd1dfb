//! Request framing for the fixed server: heads, `Content-Length` bodies
//! (read and dropped), `Connection: close`, and the header checks.

/// Headers every request must carry (name, exact value) and headers it
/// must not carry. Names match case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    pub present: Vec<(String, String)>,
    pub absent: Vec<String>,
}

impl Expect {
    fn check(&self, headers: &[(&[u8], &[u8])]) -> bool {
        let has = |name: &str, value: Option<&str>| {
            headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case(name.as_bytes()) && value.is_none_or(|w| *v == w.as_bytes())
            })
        };
        self.present.iter().all(|(n, v)| has(n, Some(v)))
            && !self.absent.iter().any(|n| has(n, None))
    }
}

/// What one [`RequestScanner::scan`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes consumed (heads and body bytes).
    pub used: usize,
    /// Complete requests to answer `200`, then `rejected` (0 or 1) to
    /// answer `400`, in this order.
    pub ok: usize,
    pub rejected: usize,
    /// Close after answering (asked for, or a request that cannot be framed).
    pub close: bool,
    /// A request that cannot be framed (bad `Content-Length`, chunked).
    pub malformed: bool,
}

impl Scanned {
    pub fn answered(&self) -> usize {
        self.ok + self.rejected
    }
}

/// Incremental request framing across reads.
#[derive(Debug)]
pub struct RequestScanner {
    expect: Expect,
    /// Body bytes of the current request still to come.
    body_left: u64,
    /// The current request's verdict and close flag, answered once its
    /// body is in.
    pending: Option<(bool, bool)>,
}

impl RequestScanner {
    pub fn new(expect: Expect) -> Self {
        RequestScanner {
            expect,
            body_left: 0,
            pending: None,
        }
    }

    /// Consume what `buf` holds of complete heads and bodies. Stops after
    /// a rejected or closing request so answers stay in order.
    pub fn scan(&mut self, buf: &[u8]) -> Scanned {
        let mut s = Scanned::default();
        loop {
            if self.body_left > 0 {
                let take =
                    (buf.len() - s.used).min(usize::try_from(self.body_left).unwrap_or(usize::MAX));
                s.used += take;
                self.body_left -= take as u64;
                if self.body_left > 0 {
                    return s;
                }
            }
            if let Some((ok, close)) = self.pending.take() {
                if ok {
                    s.ok += 1;
                } else {
                    s.rejected += 1;
                }
                if close || !ok {
                    s.close = close;
                    return s;
                }
            }
            let rest = &buf[s.used..];
            let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
                return s;
            };
            let head = &rest[..end];
            s.used += end + 4;
            match parse_head(head) {
                Some((length, close, headers)) => {
                    let ok = self.expect.check(&headers);
                    self.body_left = length;
                    self.pending = Some((ok, close));
                }
                None => {
                    s.rejected += 1;
                    s.malformed = true;
                    s.close = true;
                    return s;
                }
            }
        }
    }
}

type Head<'a> = (u64, bool, Vec<(&'a [u8], &'a [u8])>);

/// Body length, close flag and headers of a request head; `None` when the
/// body cannot be framed by this server (chunked or a bad length).
fn parse_head(head: &[u8]) -> Option<Head<'_>> {
    let mut length = 0u64;
    let mut close = false;
    let mut headers = Vec::new();
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            length = std::str::from_utf8(value).ok()?.parse().ok()?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return None;
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
        headers.push((name, value));
    }
    Some((length, close, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(s: &mut RequestScanner, input: &[u8], step: usize) -> (usize, usize, bool) {
        let (mut buf, mut ok, mut rejected, mut close) = (Vec::new(), 0, 0, false);
        for piece in input.chunks(step) {
            if close {
                // A server stops reading after a closing request.
                break;
            }
            buf.extend_from_slice(piece);
            loop {
                let r = s.scan(&buf);
                buf.drain(..r.used);
                ok += r.ok;
                rejected += r.rejected;
                close |= r.close;
                if r.answered() == 0 || r.close {
                    break;
                }
            }
        }
        (ok, rejected, close)
    }

    #[test]
    fn pipelined_heads_and_bodies_in_any_pieces() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
            POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789\
            GET /c HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        for step in [1, 3, 7, input.len()] {
            let mut s = RequestScanner::new(Expect::default());
            assert_eq!(scan_all(&mut s, input, step), (3, 0, true), "step {step}");
        }
        let mut s = RequestScanner::new(Expect::default());
        let r = s.scan(b"GET / HTTP/1.1\r\n");
        assert_eq!((r.used, r.answered()), (0, 0));
        let r = s.scan(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(r.malformed && r.close && r.rejected == 1);
    }

    #[test]
    fn header_expectations_reject_in_order() {
        let expect = Expect {
            present: vec![("x-lab-set".into(), "set".into())],
            absent: vec!["x-lab-remove".into()],
        };
        let good = b"GET / HTTP/1.1\r\nX-Lab-Set: set\r\n\r\n";
        let mut s = RequestScanner::new(expect.clone());
        assert_eq!(scan_all(&mut s, good, 5), (1, 0, false));
        let mut two = good.to_vec();
        two.extend_from_slice(b"GET / HTTP/1.1\r\nX-Lab-Set: original\r\n\r\n");
        two.extend_from_slice(good);
        let mut s = RequestScanner::new(expect.clone());
        let r = s.scan(&two);
        assert_eq!((r.ok, r.rejected, r.close), (1, 1, false));
        let mut s = RequestScanner::new(expect);
        let removed_not = b"GET / HTTP/1.1\r\nX-Lab-Set: set\r\nx-lab-remove: 1\r\n\r\n";
        assert_eq!(scan_all(&mut s, removed_not, 64), (0, 1, false));
    }
}
