//! Small locally generated responses (errors, 100 Continue).

use crate::OutBuf;
use crate::chars::write_decimal;

/// The standard reason phrase for a status code ("" if unknown).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Write `HTTP/1.1 <status> <reason>\r\n`.
pub(crate) fn write_status_line(out: &mut impl OutBuf, status: u16, reason: &[u8]) {
    out.put(b"HTTP/1.1 ");
    write_decimal(out, u64::from(status));
    out.put(b" ");
    out.put(reason);
    out.put(b"\r\n");
}

/// Write a complete response with a body: status line, `Content-Type` (if
/// non-empty), `Content-Length`, `Connection: close` when `close`, then the
/// body. The caller must close the connection after sending it when `close`.
pub fn write_response(
    out: &mut impl OutBuf,
    status: u16,
    close: bool,
    content_type: &str,
    body: &[u8],
) {
    write_status_line(out, status, reason_phrase(status).as_bytes());
    if !content_type.is_empty() {
        out.put(b"Content-Type: ");
        out.put(content_type.as_bytes());
        out.put(b"\r\n");
    }
    out.put(b"Content-Length: ");
    write_decimal(out, body.len() as u64);
    out.put(b"\r\n");
    if close {
        out.put(b"Connection: close\r\n");
    }
    out.put(b"\r\n");
    out.put(body);
}

/// Write a short plain-text error response (`<status> <reason>\n` as body).
/// Use `close = true` after any parse error.
pub fn write_error_response(out: &mut impl OutBuf, status: u16, close: bool) {
    let reason = reason_phrase(status);
    let mut body = [0u8; 64];
    let mut n = 0;
    let digits = [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    for &b in digits
        .iter()
        .chain(b" ".iter())
        .chain(reason.as_bytes().iter())
        .chain(b"\n".iter())
    {
        if n < body.len() {
            body[n] = b;
            n += 1;
        }
    }
    write_response(out, status, close, "text/plain", &body[..n]);
}

/// Write `HTTP/1.1 100 Continue\r\n\r\n` (answering `Expect: 100-continue`
/// before reading the body).
pub fn write_continue(out: &mut impl OutBuf) {
    out.put(b"HTTP/1.1 100 Continue\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_shape() {
        let mut v = Vec::new();
        write_error_response(&mut v, 400, true);
        assert_eq!(
            v,
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n"
        );
        let mut v = Vec::new();
        write_error_response(&mut v, 431, false);
        let s = String::from_utf8(v).expect("ascii");
        assert!(s.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(!s.contains("Connection"));
        assert!(s.ends_with("\r\n\r\n431 Request Header Fields Too Large\n"));
    }

    #[test]
    fn continue_line() {
        let mut v = bytes::BytesMut::new();
        write_continue(&mut v);
        assert_eq!(&v[..], b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}
