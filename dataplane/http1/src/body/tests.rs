use super::*;

/// Validate the whole input in one call.
fn feed_all(input: &[u8]) -> Result<BodyProgress, ChunkError> {
    ChunkedDecoder::new().feed(input)
}

/// Decode the whole input, collecting data, feeding in pieces of `step`.
fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, usize, bool), ChunkError> {
    let mut d = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut pos = 0;
    let mut avail = 0;
    while pos < input.len() && !d.is_done() {
        avail = (avail + step).min(input.len()).max(pos);
        let p = d.decode(&input[pos..avail])?;
        data.extend_from_slice(&input[pos..avail][p.data.clone()]);
        pos += p.consumed;
        if p.done {
            break;
        }
    }
    Ok((data, pos, d.is_done()))
}

#[test]
fn valid_bodies() {
    let body =
        b"5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    let p = feed_all(body).expect("valid");
    assert_eq!(p.consumed, body.len() - 4);
    assert!(p.done);
    for step in [1, 2, 3, 7, 100] {
        let (data, used, done) = decode_all(body, step).expect("valid");
        assert_eq!(data, b"hello 0123456789");
        assert_eq!(used, body.len() - 4);
        assert!(done);
    }
    let mut d = ChunkedDecoder::new();
    d.feed(body).expect("valid");
    assert_eq!(d.data_len(), 16);
}

#[test]
fn extensions_grammar() {
    for ok in [
        "5;a\r\nhello\r\n0\r\n\r\n",
        "5 ; a = b\r\nhello\r\n0\r\n\r\n",
        "5;a=\"q \\\" ; x\";b\r\nhello\r\n0\r\n\r\n",
        "5;a=b;c=d\r\nhello\r\n0;last\r\n\r\n",
        "00005\r\nhello\r\n000\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
    ] {
        assert!(feed_all(ok.as_bytes()).expect(ok).done, "{ok}");
    }
    for bad in [
        "5;\r\nhello\r\n0\r\n\r\n",
        "5;=b\r\nhello\r\n0\r\n\r\n",
        "5;a=\r\nhello\r\n0\r\n\r\n",
        "5;a=\"unterminated\r\nhello\r\n0\r\n\r\n",
        "5;a b\r\nhello\r\n0\r\n\r\n",
        "5;a=b c\r\nhello\r\n0\r\n\r\n",
        "5;a\x00\r\nhello\r\n0\r\n\r\n",
    ] {
        assert_eq!(
            feed_all(bad.as_bytes()),
            Err(ChunkError::InvalidExtension),
            "{bad:?}"
        );
    }
}

#[test]
fn invalid_sizes() {
    assert_eq!(feed_all(b"INVALID!!!\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"0_2e\r\n\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"0x5\r\nhello\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"-1\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"5 \r\nhello\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b" 5\r\nhello\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(feed_all(b"+5\r\nhello\r\n"), Err(ChunkError::InvalidSize));
    assert_eq!(
        feed_all(b"10000000000000001\r\nZ\r\n0\r\n\r\n"),
        Err(ChunkError::SizeOverflow)
    );
    // 16 hex digits fit; leading zeros do not count towards overflow.
    let mut d = ChunkedDecoder::new();
    let p = d
        .feed(b"00000000000000000FFFFFFFFFFFFFFFF\r\nab")
        .expect("fits in u64");
    assert!(!p.done);
}

#[test]
fn line_endings_are_strict() {
    assert_eq!(
        feed_all(b"5\nhello\r\n0\r\n\r\n"),
        Err(ChunkError::InvalidSize)
    );
    assert_eq!(feed_all(b"5\r\rhello"), Err(ChunkError::MissingCrlf));
    assert_eq!(
        feed_all(b"a\r\n0123456789\n0\r\n\r\n"),
        Err(ChunkError::MissingCrlf)
    );
    assert_eq!(
        feed_all(b"5\r\nhello!!\r\n0\r\n\r\n"),
        Err(ChunkError::MissingCrlf)
    );
    assert_eq!(feed_all(b"5\r\nhello\r\r"), Err(ChunkError::MissingCrlf));
    assert_eq!(feed_all(b"0\r\n\n"), Err(ChunkError::InvalidTrailer));
    assert_eq!(feed_all(b"0\r\n\rX"), Err(ChunkError::MissingCrlf));
}

#[test]
fn trailers() {
    let ok = b"0\r\nX:POST /smuggled HTTP/1.1\r\n\r\n";
    assert_eq!(
        feed_all(ok).map(|p| (p.consumed, p.done)),
        Ok((ok.len(), true))
    );
    let ok = b"0\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\nHost: other.test\r\n\r\n";
    assert!(feed_all(ok).expect("kept as trailers").done);
    for bad in [
        &b"0\r\n X: a\r\n\r\n"[..],
        b"0\r\nX : a\r\n\r\n",
        b"0\r\n: a\r\n\r\n",
        b"0\r\nX: a\rb\r\n\r\n",
        b"0\r\nX: a\nY: b\r\n\r\n",
        b"0\r\nX: a\x00\r\n\r\n",
        b"0\r\nX\r\n\r\n",
    ] {
        assert_eq!(
            feed_all(bad),
            Err(ChunkError::InvalidTrailer),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn limits_apply() {
    let mut ext = b"5;ext=".to_vec();
    ext.extend(std::iter::repeat_n(b'a', 65536));
    ext.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    assert_eq!(feed_all(&ext), Err(ChunkError::LineTooLong));
    let mut tr = b"0\r\n".to_vec();
    for _ in 0..2000 {
        tr.extend_from_slice(b"X-Trailer: value\r\n");
    }
    tr.extend_from_slice(b"\r\n");
    assert_eq!(feed_all(&tr), Err(ChunkError::TrailerTooLarge));
    let mut d = ChunkedDecoder::with_limits(ChunkedLimits {
        max_line: 3,
        max_trailer: 10,
    });
    assert!(
        d.feed(b"5;a\r\nhello\r\n0\r\n\r\n")
            .expect("at the limit")
            .done
    );
    d.reset();
    assert_eq!(d.feed(b"5;ab\r\n"), Err(ChunkError::LineTooLong));
}

#[test]
fn incomplete_body_is_not_done() {
    let p = feed_all(b"5\r\nhello\r\n").expect("valid so far");
    assert!(!p.done);
    assert_eq!(p.consumed, 10);
    let p = feed_all(b"5\r\nhel").expect("valid so far");
    assert!(!p.done);
    assert_eq!(p.consumed, 6);
}

#[test]
fn byte_at_a_time_equals_one_shot() {
    let body = b"3;x=\"y\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\nrest";
    let mut d = ChunkedDecoder::new();
    let mut consumed = 0;
    for b in body.iter() {
        if d.is_done() {
            break;
        }
        consumed += d.feed(std::slice::from_ref(b)).expect("valid").consumed;
    }
    assert!(d.is_done());
    assert_eq!(consumed, body.len() - 4);
    assert_eq!(d.data_len(), 19);
}

#[test]
fn length_body() {
    let mut l = LengthBody::new(10);
    assert_eq!(l.take(4), 4);
    assert_eq!(l.remaining(), 6);
    assert!(!l.is_done());
    assert_eq!(l.take(100), 6);
    assert!(l.is_done());
    assert_eq!(l.take(5), 0);
    let mut z = LengthBody::new(0);
    assert!(z.is_done());
    assert_eq!(z.take(3), 0);
}
