use super::*;

fn parse_with(raw: &[u8], limits: &Limits) -> Result<RequestHead, RequestError> {
    let mut h = RequestHead::new();
    match h.parse(raw, limits)? {
        ParseStatus::Complete => Ok(h),
        ParseStatus::Partial => panic!("unexpected Partial for {:?}", String::from_utf8_lossy(raw)),
    }
}

fn parse(raw: &[u8]) -> Result<RequestHead, RequestError> {
    parse_with(raw, &Limits::default())
}

fn err(raw: &[u8]) -> RequestError {
    match parse(raw) {
        Ok(_) => panic!("accepted: {:?}", String::from_utf8_lossy(raw)),
        Err(e) => e,
    }
}

#[test]
fn simple_get() {
    let raw = b"GET /app/x?a=1&b=2 HTTP/1.1\r\nHost: H1.test:8080\r\nAccept: */*\r\n\r\nNEXT";
    let h = parse(raw).expect("valid");
    assert_eq!(h.head_len(), raw.len() - 4);
    assert_eq!(h.method(), Method::Get);
    assert_eq!(h.method_bytes(raw), b"GET");
    assert_eq!(h.path(raw), b"/app/x?a=1&b=2");
    assert_eq!(h.path_str(raw), "/app/x?a=1&b=2");
    assert_eq!(h.path_only(raw), b"/app/x");
    assert_eq!(h.query(raw), Some(&b"a=1&b=2"[..]));
    assert_eq!(h.version(), Version::Http11);
    assert_eq!(h.host(raw), Some(&b"H1.test:8080"[..]));
    assert_eq!(h.host_name(raw), Some(&b"H1.test"[..]));
    assert_eq!(h.target_form(), TargetForm::Origin);
    assert_eq!(h.body(), BodyKind::None);
    assert!(h.keep_alive());
    assert!(!h.expect_continue());
    assert!(!h.is_upgrade());
    assert_eq!(h.header(raw, "ACCEPT"), Some(&b"*/*"[..]));
    assert_eq!(h.headers().len(), 2);
    let all: Vec<_> = h.header_iter(raw).collect();
    assert_eq!(all[1], (&b"Accept"[..], &b"*/*"[..]));
}

#[test]
fn partial_until_complete() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut h = RequestHead::new();
    for cut in 0..raw.len() {
        assert_eq!(
            h.parse(&raw[..cut], &Limits::default()),
            Ok(ParseStatus::Partial),
            "cut at {cut}"
        );
    }
    assert_eq!(h.parse(raw, &Limits::default()), Ok(ParseStatus::Complete));
}

#[test]
fn methods() {
    assert_eq!(
        parse(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n").map(|h| h.method()),
        Ok(Method::Post)
    );
    let raw = b"PURGE / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = parse(raw).expect("extension method");
    assert_eq!(h.method(), Method::Other);
    assert_eq!(h.method_bytes(raw), b"PURGE");
    // Case-sensitive: lower-case get is an extension method.
    assert_eq!(
        parse(b"get / HTTP/1.1\r\nHost: a\r\n\r\n").map(|h| h.method()),
        Ok(Method::Other)
    );
    assert_eq!(
        err(b"G=\":<>(e),[T];?\" /app/ HTTP/1.1\r\nHost: h\r\n\r\n"),
        RequestError::InvalidMethod
    );
    assert_eq!(
        err(b"GE\x01T / HTTP/1.1\r\nHost: h\r\n\r\n"),
        RequestError::InvalidMethod
    );
    let long = [vec![b'A'; 40], b" / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()].concat();
    assert_eq!(err(&long), RequestError::MethodTooLong);
    assert_eq!(RequestError::MethodTooLong.status(), 501);
}

#[test]
fn connect_is_not_supported() {
    let e = err(b"CONNECT h1.test:443 HTTP/1.1\r\nHost: h1.test:443\r\n\r\n");
    assert_eq!(e, RequestError::ConnectNotSupported);
    assert_eq!(e.status(), 501);
}

#[test]
fn target_forms() {
    let raw = b"GET http://Other.test:81/app/?q HTTP/1.1\r\nHost: h1.test\r\n\r\n";
    let h = parse(raw).expect("absolute-form");
    assert_eq!(h.target_form(), TargetForm::Absolute);
    assert_eq!(h.host(raw), Some(&b"Other.test:81"[..]));
    assert_eq!(h.host_name(raw), Some(&b"Other.test"[..]));
    assert_eq!(h.host_header(raw), Some(&b"h1.test"[..]));
    assert_eq!(h.path(raw), b"/app/?q");
    assert_eq!(h.target(raw), b"http://Other.test:81/app/?q");

    let raw = b"GET HTTPS://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n";
    let h = parse(raw).expect("absolute-form without path");
    assert_eq!(h.path(raw), b"/");

    let raw = b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = parse(raw).expect("asterisk-form");
    assert_eq!(h.target_form(), TargetForm::Asterisk);
    assert_eq!(h.path(raw), b"*");

    assert_eq!(
        err(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::TargetFormNotAllowed
    );
    assert_eq!(
        err(b"GET a.test:80 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::TargetFormNotAllowed
    );
    assert_eq!(
        err(b"GET /app/#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert_eq!(
        err(b"GET http://u@a.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert_eq!(
        err(b"GET http://a.test?x HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert_eq!(
        err(b"GET ftp://a.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::InvalidTarget
    );
    assert_eq!(
        err(b"GET app HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::TargetFormNotAllowed
    );
    assert_eq!(
        err(b"GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::InvalidTarget
    );
}

#[test]
fn versions() {
    let raw = b"GET / HTTP/1.0\r\n\r\n";
    let h = parse(raw).expect("1.0 without Host");
    assert_eq!(h.version(), Version::Http10);
    assert_eq!(h.host(raw), None);
    assert!(!h.keep_alive());
    let h = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").expect("1.0 ka");
    assert!(h.keep_alive());
    for v in [
        b"HTTP/2.0".as_slice(),
        b"HTTP/1.2",
        b"HTTP/0.9",
        b"HTTP/3.0",
    ] {
        let raw = [b"GET / ".as_slice(), v, b"\r\nHost: a\r\n\r\n"].concat();
        let e = err(&raw);
        assert_eq!(e, RequestError::UnsupportedVersion, "{v:?}");
        assert_eq!(e.status(), 505);
    }
    for v in [
        b"HTTP/1.32".as_slice(),
        b"http/1.1",
        b"HTTP/1",
        b"HTTP/1.1x",
        b"HTTX/1.1",
    ] {
        let raw = [b"GET / ".as_slice(), v, b"\r\nHost: a\r\n\r\n"].concat();
        assert_eq!(err(&raw).status(), 400, "{}", String::from_utf8_lossy(v));
    }
    // HTTP/0.9 simple request.
    assert_eq!(err(b"GET /app/\r\n").status(), 400);
}

#[test]
fn request_line_syntax() {
    assert_eq!(err(b"GET  /app/ HTTP/1.1\r\nHost: a\r\n\r\n").status(), 400);
    assert_eq!(err(b"GET /app/  HTTP/1.1\r\nHost: a\r\n\r\n").status(), 400);
    assert_eq!(err(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n").status(), 400);
    assert_eq!(err(b" GET / HTTP/1.1\r\nHost: a\r\n\r\n").status(), 400);
    // One leading empty line is ignored (RFC 9112 §2.2), and counted.
    let raw = b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = parse(raw).expect("leading CRLF");
    assert_eq!(h.head_len(), raw.len());
    assert_eq!(h.path(raw), b"/");
}

#[test]
fn bare_line_endings_are_rejected() {
    assert_eq!(err(b"GET / HTTP/1.1\nHost: a\n\n"), RequestError::BareLf);
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
        RequestError::BareLf
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
        RequestError::BareLf
    );
    assert_eq!(
        err(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RequestError::BareLf
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rY: b\r\n\r\n"),
        RequestError::BareCr
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n"),
        RequestError::BareCr
    );
}

#[test]
fn field_syntax() {
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\n b\r\n\r\n"),
        RequestError::ObsFold
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nX-Foo:\r\n\tb\r\n\r\n"),
        RequestError::ObsFold
    );
    assert_eq!(err(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n").status(), 400);
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        RequestError::SpaceBeforeColon
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        RequestError::SpaceBeforeColon
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\n: x\r\nHost: a\r\n\r\n"),
        RequestError::InvalidHeaderName
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n").status(),
        400
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nA\x85b: 1\r\n\r\n"),
        RequestError::InvalidHeaderName
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nA(b: 1\r\n\r\n"),
        RequestError::InvalidHeaderName
    );
    for bad in [0u8, 1, 8, 0x0b, 0x1f, 0x7f] {
        let raw = [
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a".as_slice(),
            &[bad],
            b"b\r\n\r\n",
        ]
        .concat();
        assert_eq!(err(&raw).status(), 400, "byte {bad:#x}");
    }
    // obs-text and HTAB in values are fine, preserved byte for byte.
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-User: \x85admin\xa0\r\nX-T: a\tb \r\n\r\n";
    let h = parse(raw).expect("obs-text");
    assert_eq!(h.header(raw, "x-user"), Some(&b"\x85admin\xa0"[..]));
    assert_eq!(h.header(raw, "x-t"), Some(&b"a\tb"[..]));
    // Underscores are tchars: accepted, and never confused with hyphens.
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n";
    assert_eq!(parse(raw).map(|h| h.body()), Ok(BodyKind::None));
}

#[test]
fn host_rules() {
    assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), RequestError::MissingHost);
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        RequestError::MultipleHost
    );
    assert_eq!(
        err(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
        RequestError::MultipleHost
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"),
        RequestError::InvalidHost
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: h1.test\x00.other\r\n\r\n").status(),
        400
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: \r\n\r\n"),
        RequestError::InvalidHost
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n"),
        RequestError::InvalidHost
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
        RequestError::InvalidHost
    );
    let raw = b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
    let h = parse(raw).expect("ipv6 host");
    assert_eq!(h.host_name(raw), Some(&b"[::1]"[..]));
}

#[test]
fn content_length_rules() {
    let ok = |v: &str| {
        let raw = format!("POST / HTTP/1.1\r\nHost: a\r\n{v}\r\n\r\n");
        parse(raw.as_bytes()).map(|h| h.body())
    };
    assert_eq!(ok("Content-Length: 5"), Ok(BodyKind::Length(5)));
    assert_eq!(ok("Content-Length: 0"), Ok(BodyKind::Length(0)));
    assert_eq!(ok("Content-Length: 010"), Ok(BodyKind::Length(10)));
    assert_eq!(
        ok("Content-Length: 5\r\ncontent-length: 5"),
        Ok(BodyKind::Length(5))
    );
    assert_eq!(ok("Content-Length: 5, 5"), Ok(BodyKind::Length(5)));
    assert_eq!(
        ok("Content-Length: 18446744073709551615"),
        Ok(BodyKind::Length(u64::MAX))
    );
    for bad in [
        "Content-Length: ",
        "Content-Length: +5",
        "Content-Length: -5",
        "Content-Length: 0x10",
        "Content-Length: 5 5",
        "Content-Length: 1e3",
        "Content-Length: 18446744073709551617",
        "Content-Length: 5,",
    ] {
        let r = ok(bad);
        if bad == "Content-Length: 5," {
            // Empty list elements are ignored (RFC 9110 §5.6.1).
            assert_eq!(r, Ok(BodyKind::Length(5)));
        } else {
            assert_eq!(r, Err(RequestError::InvalidContentLength), "{bad}");
        }
    }
    assert_eq!(
        ok("Content-Length: 1\r\nContent-Length: 0"),
        Err(RequestError::ConflictingContentLength)
    );
    assert_eq!(
        ok("Content-Length: 1, 2"),
        Err(RequestError::ConflictingContentLength)
    );
}

#[test]
fn transfer_encoding_rules() {
    let te = |v: &str| {
        let raw = format!("POST / HTTP/1.1\r\nHost: a\r\n{v}\r\n\r\n");
        parse(raw.as_bytes()).map(|h| h.body())
    };
    assert_eq!(te("Transfer-Encoding: chunked"), Ok(BodyKind::Chunked));
    assert_eq!(te("Transfer-Encoding: CHUNKED"), Ok(BodyKind::Chunked));
    assert_eq!(te("Transfer-Encoding: , chunked"), Ok(BodyKind::Chunked));
    assert_eq!(
        te("Transfer-Encoding: chunked, gzip"),
        Err(RequestError::ChunkedNotFinal)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked, chunked"),
        Err(RequestError::ChunkedNotFinal)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
        Err(RequestError::ChunkedNotFinal)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nTransfer-Encoding: x"),
        Err(RequestError::ChunkedNotFinal)
    );
    assert_eq!(
        te("Transfer-Encoding: gzip, chunked"),
        Err(RequestError::UnsupportedTransferCoding)
    );
    assert_eq!(
        te("Transfer-Encoding: xchunked"),
        Err(RequestError::UnsupportedTransferCoding)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked;q=1"),
        Err(RequestError::UnsupportedTransferCoding)
    );
    assert_eq!(
        te("Transfer-Encoding: identity"),
        Err(RequestError::UnsupportedTransferCoding)
    );
    assert_eq!(RequestError::UnsupportedTransferCoding.status(), 501);
    assert_eq!(
        te("Transfer-Encoding: "),
        Err(RequestError::InvalidTransferEncoding)
    );
    assert_eq!(
        te("Transfer-Encoding: chunked\r\nContent-Length: 4"),
        Err(RequestError::ContentLengthWithTransferEncoding)
    );
    assert_eq!(
        te("Content-Length: 4\r\nTransfer-Encoding: xchunked"),
        Err(RequestError::ContentLengthWithTransferEncoding)
    );
    let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(err(raw), RequestError::TransferEncodingInHttp10);
}

#[test]
fn connection_expect_upgrade() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n";
    assert!(!parse(raw).expect("valid").keep_alive());
    let raw = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
    assert!(parse(raw).expect("valid").expect_continue());
    let raw = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    assert!(!parse(raw).expect("valid").expect_continue());
    let raw = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    let h = parse(raw).expect("valid");
    assert_eq!(h.upgrade(raw), Some(&b"websocket"[..]));
    assert!(h.connection_has(raw, "upgrade"));
    // Upgrade without the Connection token is not an upgrade request.
    let raw = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    assert!(!parse(raw).expect("valid").is_upgrade());
}

#[test]
fn size_limits() {
    let limits = Limits::default();
    // Request-line too long, even before it is complete.
    let long = [b"GET /".as_slice(), &vec![b'a'; 9000]].concat();
    let mut h = RequestHead::new();
    assert_eq!(
        h.parse(&long, &limits),
        Err(RequestError::RequestLineTooLong)
    );
    let long = [
        b"GET /".as_slice(),
        &vec![b'a'; 9000],
        b" HTTP/1.1\r\nHost: a\r\n\r\n",
    ]
    .concat();
    assert_eq!(err(&long).status(), 414);
    // Just at the limit is fine.
    let line = [b"GET /".as_slice(), &vec![b'a'; 8192 - 14], b" HTTP/1.1"].concat();
    assert_eq!(line.len(), 8192);
    let ok = [line.as_slice(), b"\r\nHost: a\r\n\r\n"].concat();
    assert!(parse(&ok).is_ok());
    // Head too large.
    let big = [
        b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_slice(),
        &vec![b'v'; 70_000],
    ]
    .concat();
    assert_eq!(h.parse(&big, &limits), Err(RequestError::HeadTooLarge));
    assert_eq!(RequestError::HeadTooLarge.status(), 431);
    let big = [big.as_slice(), b"\r\n\r\n"].concat();
    assert_eq!(err(&big), RequestError::HeadTooLarge);
    // Too many headers.
    let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for _ in 0..100 {
        many.extend_from_slice(b"X-H: v\r\n");
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(err(&many), RequestError::TooManyHeaders);
    let small = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    assert_eq!(
        parse_with(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &small)
            .map(|h| h.headers().len()),
        Ok(3)
    );
    assert_eq!(
        parse_with(
            b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
            &small
        )
        .err(),
        Some(RequestError::TooManyHeaders)
    );
}

#[test]
fn every_error_closes_and_has_a_status() {
    use RequestError::*;
    for e in [
        BadRequestLine,
        InvalidMethod,
        MethodTooLong,
        ConnectNotSupported,
        InvalidTarget,
        TargetFormNotAllowed,
        MalformedVersion,
        UnsupportedVersion,
        RequestLineTooLong,
        HeadTooLarge,
        TooManyHeaders,
        InvalidHeaderName,
        SpaceBeforeColon,
        ObsFold,
        InvalidHeaderValue,
        BareLf,
        BareCr,
        MissingHost,
        MultipleHost,
        InvalidHost,
        InvalidContentLength,
        ConflictingContentLength,
        ContentLengthWithTransferEncoding,
        TransferEncodingInHttp10,
        ChunkedNotFinal,
        InvalidTransferEncoding,
        UnsupportedTransferCoding,
    ] {
        assert!(e.closes_connection());
        assert!([400, 414, 431, 501, 505].contains(&e.status()), "{e}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn reused_head_does_not_leak_previous_request() {
    let mut h = RequestHead::new();
    let a = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX: 1\r\nY: 2\r\n\r\n";
    assert_eq!(h.parse(a, &Limits::default()), Ok(ParseStatus::Complete));
    let b = b"GET http://b.test HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert_eq!(h.parse(b, &Limits::default()), Ok(ParseStatus::Complete));
    assert_eq!(h.body(), BodyKind::None);
    assert_eq!(h.headers().len(), 2);
    assert_eq!(h.path(b), b"/");
    assert_eq!(h.host(b), Some(&b"b.test"[..]));
    assert!(!h.keep_alive());
    let c = b"GET /c HTTP/1.1\r\nHost: c\r\n\r\n";
    assert_eq!(h.parse(c, &Limits::default()), Ok(ParseStatus::Complete));
    assert_eq!(h.path(c), b"/c");
    assert_eq!(h.target_form(), TargetForm::Origin);
}

#[test]
fn header_storage_is_reused_without_growth() {
    let mut h = RequestHead::new();
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    assert_eq!(h.parse(raw, &Limits::default()), Ok(ParseStatus::Complete));
    let cap = h.headers.capacity();
    let ptr = h.headers.as_ptr();
    for _ in 0..100 {
        assert_eq!(h.parse(raw, &Limits::default()), Ok(ParseStatus::Complete));
    }
    assert_eq!(h.headers.capacity(), cap);
    assert_eq!(h.headers.as_ptr(), ptr);
}

/// A small deterministic PRNG (xorshift64*), enough to split inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Feed the input growing by random fragment sizes: every call before the
/// full head must be Partial (or the same error), and the final result
/// must equal a one-shot parse.
#[test]
fn random_fragmentation_gives_identical_results() {
    let inputs: &[&[u8]] = &[
        b"GET /app/?x=1 HTTP/1.1\r\nHost: h1.test\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
        b"\r\nPOST /p HTTP/1.1\r\nHost: a:1\r\nContent-Length: 010\r\nConnection: close\r\n\r\nbody",
        b"PUT http://x.test/y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\nX: \x85v\xa0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    ];
    let limits = Limits::default();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for input in inputs {
        let mut one = RequestHead::new();
        let whole = one.parse(input, &limits);
        for _ in 0..200 {
            let mut h = RequestHead::new();
            let mut end = 0;
            let result = loop {
                end = (end + 1 + rng.below(8)).min(input.len());
                let r = h.parse(&input[..end], &limits);
                match r {
                    Ok(ParseStatus::Partial) if end < input.len() => continue,
                    other => break other,
                }
            };
            assert_eq!(result, whole, "{}", String::from_utf8_lossy(input));
            if whole == Ok(ParseStatus::Complete) {
                assert_eq!(h.head_len(), one.head_len());
                assert_eq!(h.body(), one.body());
                assert_eq!(h.path(input), one.path(input));
                assert_eq!(h.host(input), one.host(input));
                assert_eq!(h.keep_alive(), one.keep_alive());
                assert_eq!(h.expect_continue(), one.expect_continue());
                assert_eq!(h.headers(), one.headers());
            }
        }
    }
}
