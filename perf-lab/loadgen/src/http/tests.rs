use super::*;

/// Feed `input` in pieces of `step` bytes the way a connection does (unused
/// bytes stay buffered), collecting complete responses.
fn feed(input: &[u8], step: usize) -> Result<(Vec<Response>, ResponseReader), ParseError> {
    let mut r = ResponseReader::new();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            let (used, done) = r.advance(&buf)?;
            buf.drain(..used);
            match done {
                Some(resp) => out.push(resp),
                None => break,
            }
        }
    }
    Ok((out, r))
}

fn every_step(input: &[u8]) -> Vec<Response> {
    let (whole, _) = feed(input, input.len()).expect("whole input parses");
    for step in 1..input.len() {
        let (got, _) = feed(input, step).expect("piecewise input parses");
        assert_eq!(got, whole, "step {step}");
    }
    whole
}

#[test]
fn request_bytes() {
    assert_eq!(
        request("a.test", "/x?y=1", false),
        b"GET /x?y=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: shardgate-lab\r\n\r\n"
    );
    assert!(
        request("h", "/", true)
            .windows(19)
            .any(|w| w == b"Connection: close\r\n")
    );
}

#[test]
fn request_with_body_and_headers() {
    let spec = RequestSpec {
        body: 30,
        headers: vec![("X-Lab-Set".into(), "original".into())],
    };
    let r = request_with("h", "/p", false, &spec);
    let text = String::from_utf8(r).expect("ascii");
    let (head, body) = text.split_once("\r\n\r\n").expect("head ends");
    assert!(
        head.starts_with("POST /p HTTP/1.1\r\nHost: h\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nX-Lab-Set: original\r\n"), "{head}");
    assert!(head.ends_with("\r\nContent-Length: 30"), "{head}");
    assert_eq!(body, "abcdefghijklmnopqrstuvwxyzabcd");
    assert!(request_with("h", "/", false, &RequestSpec::default()).starts_with(b"GET / "));
}

#[test]
fn content_length_and_keepalive() {
    let one = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
    let mut two = one.to_vec();
    two.extend_from_slice(b"HTTP/1.1 503 Busy\r\ncontent-length:0\r\nConnection: close\r\n\r\n");
    let got = every_step(&two);
    assert_eq!(
        got,
        vec![
            Response {
                status: 200,
                close: false,
                body_len: 5
            },
            Response {
                status: 503,
                close: true,
                body_len: 0
            }
        ]
    );
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
        5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: v\r\n\r\n\
        HTTP/1.1 204 No Content\r\n\r\n";
    let got = every_step(input);
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 204]);
    assert_eq!(got.iter().map(|r| r.body_len).collect::<Vec<_>>(), [15, 0]);
}

#[test]
fn interim_response_is_skipped() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx";
    assert_eq!(every_step(input).len(), 1);
    assert_eq!(every_step(input)[0].status, 201);
}

#[test]
fn body_until_close_and_http10() {
    let input = b"HTTP/1.0 200 OK\r\n\r\nsome body";
    let (got, mut r) = feed(input, 3).expect("parses");
    assert!(
        got.is_empty(),
        "a close-delimited body cannot end before EOF"
    );
    assert!(r.in_progress());
    assert_eq!(
        r.eof(),
        Some(Response {
            status: 200,
            close: true,
            body_len: 9
        })
    );
    // A length-delimited body cut short is not complete at EOF.
    let (_, mut r) = feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 4).expect("parses");
    assert_eq!(r.eof(), None);
    // HTTP/1.0 with keep-alive keeps the connection.
    let (got, _) = feed(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        7,
    )
    .expect("parses");
    assert_eq!(
        got,
        vec![Response {
            status: 200,
            close: false,
            body_len: 0
        }]
    );
}

#[test]
fn malformed_responses() {
    let cases: [(&[u8], ParseError); 6] = [
        (b"HTTX/1.1 200 OK\r\n\r\n", ParseError::StatusLine),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", ParseError::StatusLine),
        (
            b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
            ParseError::HeaderLine,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n",
            ParseError::ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ParseError::ChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
            ParseError::ChunkEnd,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            feed(input, input.len()).err(),
            Some(want.clone()),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let long = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; MAX_HEAD + 10]].concat();
    assert_eq!(feed(&long, 4096).err(), Some(ParseError::HeadTooLong));
    assert_eq!(
        feed(b"HTTP/1.1 101 Switching\r\n\r\n", 100).err(),
        Some(ParseError::Upgrade)
    );
}

#[test]
fn finds_head_end_anywhere() {
    for prefix in 0..8 {
        let mut v = vec![b'\n'; prefix];
        v.extend_from_slice(b"ab\r\n\r\n");
        assert_eq!(find_crlfcrlf(&v), Some(prefix + 2), "prefix {prefix}");
    }
    assert_eq!(find_crlfcrlf(b"\r\n\r"), None);
    assert_eq!(find_crlfcrlf(b"\r\n\r\n"), Some(0));
    assert_eq!(find_crlfcrlf(b"\n\r\n\r\n"), Some(1));
}
