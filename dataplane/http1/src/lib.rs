//! Strict HTTP/1.1 message parsing and framing (RFC 9112), pure and I/O free.
//!
//! Built for owned-buffer (io_uring) proxies: the caller reads bytes into its
//! own reusable buffer, asks this crate to parse, then writes the upstream
//! head into another reusable buffer and streams the body. Nothing here
//! allocates per request: parsed heads store [`Span`]s (byte offsets) into
//! the caller's buffer inside a struct the caller keeps and reuses, and the
//! writers append to a caller-provided [`OutBuf`] (`Vec<u8>` or
//! `bytes::BytesMut`), which only grows amortised.
//!
//! # The request path in a proxy
//!
//! ```
//! use shardgate_http1::*;
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let limits = Limits::default();
//! let mut head = RequestHead::new(); // keep one per connection, reuse it
//! let mut upstream = Vec::new(); // keep one per connection, reuse it
//! let inbuf = b"GET /app/?q=1 HTTP/1.1\r\nHost: h1.test\r\nConnection: x-a\r\nX-A: 1\r\n\r\n";
//!
//! match head.parse(inbuf, &limits) {
//!     Ok(ParseStatus::Complete) => {}
//!     Ok(ParseStatus::Partial) => { /* read more bytes into inbuf, call again */ }
//!     Err(e) => {
//!         // Every error means: answer `e.status()` and close.
//!         let mut out = Vec::new();
//!         write_error_response(&mut out, e.status(), true);
//!         return;
//!     }
//! }
//! assert_eq!(head.path(inbuf), b"/app/?q=1");
//! assert_eq!(head.host(inbuf), Some(&b"h1.test"[..]));
//!
//! let opts = UpstreamRequest::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), Scheme::Http);
//! upstream.clear();
//! write_upstream_request(&head, inbuf, &opts, &mut upstream).expect("valid modifiers");
//! // upstream now holds the head to send; then stream the body according to
//! // head.body(): BodyKind::None / Length(n) (use LengthBody) / Chunked (use ChunkedDecoder).
//! // Bytes after head.head_len() + body belong to the next pipelined request.
//! # assert!(!upstream.windows(3).any(|w| w == b"X-A"));
//! ```
//!
//! # Rules a proxy must follow with this crate
//!
//! - Parse from the start of the unconsumed bytes each time (`Partial` means
//!   "read more and call again with the longer buffer"); spans are offsets
//!   into that slice, so keep the bytes until the upstream head is written.
//! - Any [`RequestError`] means: write [`write_error_response`]`(out,
//!   e.status(), true)`, send it, close. Never try to resynchronise.
//! - CONNECT is answered 501 by the parser ([`RequestError::ConnectNotSupported`]).
//! - Body: [`BodyKind::Length`] → forward exactly `n` bytes ([`LengthBody`]);
//!   [`BodyKind::Chunked`] → pass bytes through [`ChunkedDecoder::feed`] and
//!   forward only `consumed` bytes; on a [`ChunkError`] abort the upstream
//!   request (never complete it) and answer 400 + close if nothing was sent
//!   yet. Bytes after the body are the next pipelined request.
//! - [`RequestHead::expect_continue`]: send [`write_continue`] (or let the
//!   upstream's 100 through) before waiting for the body.
//! - Keep the client connection only if [`RequestHead::keep_alive`] and the
//!   whole request body was read.
//!
//! # The response path
//!
//! Parse the upstream head with [`ResponseHead::parse`] (give it the request
//! method: HEAD responses have no body). A [`ResponseError`] means 502 and
//! closing the upstream connection. [`ResponseHead::is_interim`] heads (100,
//! 103) are relayed and followed by the real response. Then
//! [`write_client_response`] writes the client head and returns a
//! [`ResponsePlan`] saying how to stream the body ([`ClientBody`]) and
//! whether to close the client connection afterwards. Reuse the upstream
//! connection only if [`ResponseHead::keep_alive`] and the body was read to
//! its end.
#![forbid(unsafe_code)]

mod body;
mod chars;
mod error;
mod head;
mod reply;
mod request;
mod response;
mod rewrite;

pub use body::{BodyProgress, ChunkedDecoder, ChunkedLimits, DecodeProgress, LengthBody};
pub use error::{ChunkError, RequestError, ResponseError, WriteError};
pub use head::{HeaderField, Method, ParseStatus, Span, Version};
pub use reply::{reason_phrase, write_continue, write_error_response, write_response};
pub use request::{BodyKind, Limits, MAX_HEADERS_CAP, RequestHead, TargetForm};
pub use response::{ResponseBody, ResponseHead};
pub use rewrite::{
    ClientBody, ClientResponse, HeaderMods, ResponsePlan, Scheme, UpstreamRequest,
    write_client_response, write_upstream_request,
};

/// A growable output buffer the writers append to. Implemented for
/// `Vec<u8>` and `bytes::BytesMut`; writers only append, never clear.
pub trait OutBuf {
    /// Append bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl OutBuf for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl OutBuf for bytes::BytesMut {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}
