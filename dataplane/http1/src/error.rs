//! Typed errors. Every request error maps to one status code and always
//! means "answer, then close the connection": after a framing or syntax
//! error the byte stream can no longer be trusted.

use thiserror::Error;

/// Why a request head was rejected. See [`RequestError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("malformed request-line")]
    BadRequestLine,
    #[error("method is not a token")]
    InvalidMethod,
    #[error("method longer than the configured limit")]
    MethodTooLong,
    #[error("CONNECT is not supported by this gateway")]
    ConnectNotSupported,
    #[error("invalid request-target")]
    InvalidTarget,
    #[error("request-target form not allowed with this method")]
    TargetFormNotAllowed,
    #[error("malformed HTTP-version")]
    MalformedVersion,
    #[error("HTTP version not supported (only HTTP/1.0 and HTTP/1.1)")]
    UnsupportedVersion,
    #[error("request-line longer than the configured limit")]
    RequestLineTooLong,
    #[error("request head larger than the configured limit")]
    HeadTooLarge,
    #[error("more header fields than the configured limit")]
    TooManyHeaders,
    #[error("invalid header field name")]
    InvalidHeaderName,
    #[error("whitespace between header field name and colon")]
    SpaceBeforeColon,
    #[error("obsolete line folding in a header field")]
    ObsFold,
    #[error("invalid byte in header field value (NUL, control or bare CR)")]
    InvalidHeaderValue,
    #[error("bare LF used as line terminator")]
    BareLf,
    #[error("bare CR in the head")]
    BareCr,
    #[error("HTTP/1.1 request without Host")]
    MissingHost,
    #[error("more than one Host header field")]
    MultipleHost,
    #[error("invalid Host value")]
    InvalidHost,
    #[error("invalid Content-Length value")]
    InvalidContentLength,
    #[error("Content-Length values differ")]
    ConflictingContentLength,
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
    #[error("chunked is not the final transfer coding, or is applied twice")]
    ChunkedNotFinal,
    #[error("empty or malformed Transfer-Encoding")]
    InvalidTransferEncoding,
    #[error("unsupported transfer coding (only chunked)")]
    UnsupportedTransferCoding,
}

impl RequestError {
    /// The status code to answer with: 400, 414, 431, 501 or 505.
    pub fn status(self) -> u16 {
        use RequestError::*;
        match self {
            RequestLineTooLong => 414,
            HeadTooLarge | TooManyHeaders => 431,
            MethodTooLong | ConnectNotSupported | UnsupportedTransferCoding => 501,
            UnsupportedVersion => 505,
            _ => 400,
        }
    }

    /// Always true: after any request error the connection must be closed.
    pub fn closes_connection(self) -> bool {
        true
    }
}

/// Why an upstream response head was rejected. The proxy answers 502 and
/// closes the upstream connection (and the client connection if part of the
/// response was already sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ResponseError {
    #[error("malformed status-line")]
    BadStatusLine,
    #[error("HTTP version not supported in response")]
    UnsupportedVersion,
    #[error("response head larger than the configured limit")]
    HeadTooLarge,
    #[error("more header fields than the configured limit")]
    TooManyHeaders,
    #[error("invalid header field in response")]
    InvalidHeader,
    #[error("bare CR or bare LF in response head")]
    BareLineEnd,
    #[error("invalid Content-Length in response")]
    InvalidContentLength,
    #[error("Content-Length values differ in response")]
    ConflictingContentLength,
    #[error("both Content-Length and Transfer-Encoding in response")]
    ContentLengthWithTransferEncoding,
    #[error("Transfer-Encoding other than chunked in response")]
    UnsupportedTransferCoding,
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingInHttp10,
}

impl ResponseError {
    /// Always 502 Bad Gateway.
    pub fn status(self) -> u16 {
        502
    }
}

/// A violation of the chunked transfer coding (RFC 9112 §7.1). For a request
/// body answer [`ChunkError::status`] (400) and close; for a response body
/// abort both connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ChunkError {
    #[error("invalid chunk-size")]
    InvalidSize,
    #[error("chunk-size overflows 64 bits")]
    SizeOverflow,
    #[error("invalid chunk extension")]
    InvalidExtension,
    #[error("chunk-size line longer than the configured limit")]
    LineTooLong,
    #[error("missing CRLF after chunk data or chunk-size line")]
    MissingCrlf,
    #[error("invalid trailer field")]
    InvalidTrailer,
    #[error("trailer section larger than the configured limit")]
    TrailerTooLarge,
}

impl ChunkError {
    /// 400 Bad Request (for request bodies).
    pub fn status(self) -> u16 {
        400
    }
}

/// The caller asked a writer for something it must not emit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WriteError {
    #[error("header modifier name {0:?} is not a valid token")]
    InvalidModifierName(String),
    #[error("header modifier value for {0:?} contains CR, LF, NUL or control bytes")]
    InvalidModifierValue(String),
    #[error("path override is not an origin-form target")]
    InvalidPathOverride,
    #[error("host override is not a valid authority")]
    InvalidHostOverride,
    #[error(
        "upstream answered 101 Switching Protocols to a request whose upgrade was not forwarded"
    )]
    UnexpectedSwitchingProtocols,
}
