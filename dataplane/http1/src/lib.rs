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
