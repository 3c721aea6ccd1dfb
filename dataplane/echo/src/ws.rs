//! `/ws`: a WebSocket (RFC 6455) echo, like the conformance server's: every
//! data frame comes back with the same opcode and payload, pings get pongs,
//! a close is answered with a close.

use sha1::{Digest, Sha1};
use shardgate_http1::{Method, RequestHead, Version};

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest frame payload accepted (the echo holds one frame in memory).
pub(crate) const MAX_PAYLOAD: u64 = 16 * 1024 * 1024;

/// `Sec-WebSocket-Accept` for a client key.
pub(crate) fn accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(GUID);
    base64(&h.finalize())
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The accept key if `head` is a valid WebSocket opening handshake
/// (GET, HTTP/1.1, `Connection: upgrade`, `Upgrade: websocket`,
/// `Sec-WebSocket-Version: 13`, a key).
pub(crate) fn handshake(head: &RequestHead, buf: &[u8]) -> Option<String> {
    let upgrade = head.upgrade(buf)?;
    let is_ws = upgrade
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"));
    let version_ok = head.header(buf, "sec-websocket-version") == Some(b"13");
    let key = head
        .header(buf, "sec-websocket-key")
        .filter(|k| !k.is_empty())?;
    (head.method() == Method::Get && head.version() == Version::Http11 && is_ws && version_ok)
        .then(|| accept_key(key))
}

/// One parsed client frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) payload: Vec<u8>,
}

/// A protocol violation: the server closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsError {
    Unmasked,
    TooLarge,
    ReservedBits,
}

/// Parse one client frame from the start of `buf`: `Ok(None)` if more bytes
/// are needed, else the frame and the bytes it used.
pub(crate) fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, WsError> {
    let [b0, b1, rest @ ..] = buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(WsError::ReservedBits);
    }
    if b1 & 0x80 == 0 {
        return Err(WsError::Unmasked);
    }
    let (len, rest) = match b1 & 0x7f {
        126 => match rest {
            [a, b, r @ ..] => (u64::from(u16::from_be_bytes([*a, *b])), r),
            _ => return Ok(None),
        },
        127 => match rest.split_first_chunk::<8>() {
            Some((l, r)) => (u64::from_be_bytes(*l), r),
            None => return Ok(None),
        },
        n => (u64::from(n), rest),
    };
    if len > MAX_PAYLOAD {
        return Err(WsError::TooLarge);
    }
    let Some((mask, rest)) = rest.split_first_chunk::<4>() else {
        return Ok(None);
    };
    let len = len as usize;
    if rest.len() < len {
        return Ok(None);
    }
    let payload = rest[..len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    let used = buf.len() - rest.len() + len;
    Ok(Some((
        Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0f,
            payload,
        },
        used,
    )))
}

/// Append an unmasked server frame.
pub(crate) fn write_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc6455_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut v = vec![0x80 | opcode];
        if payload.len() < 126 {
            v.push(0x80 | payload.len() as u8);
        } else {
            v.push(0x80 | 126);
            v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(&mask);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        v
    }

    #[test]
    fn frames() {
        let f = masked(1, b"Websocket Support!");
        assert_eq!(parse_frame(&f[..5]), Ok(None));
        let (frame, used) = parse_frame(&f).expect("valid").expect("complete");
        assert_eq!(used, f.len());
        assert_eq!(frame.payload, b"Websocket Support!");
        assert_eq!((frame.fin, frame.opcode), (true, 1));
        let big = vec![7u8; 300];
        let f = masked(2, &big);
        let (frame, _) = parse_frame(&f).expect("valid").expect("complete");
        assert_eq!(frame.payload, big);
        assert_eq!(parse_frame(&[0x81, 0x05, b'h']), Err(WsError::Unmasked));
        assert_eq!(parse_frame(&[0xC1, 0x85]), Err(WsError::ReservedBits));
        let mut out = Vec::new();
        write_frame(&mut out, true, 2, &big);
        assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
        assert_eq!(out.len(), 304);
    }
}
