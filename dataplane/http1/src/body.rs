//! Body framing helpers: a streaming chunked validator/decoder and a
//! Content-Length counter. Both work on whatever slice of bytes the caller
//! has, tell it how many belong to the body, and never copy.

use std::ops::Range;

use crate::chars::{is_field_value_byte, is_tchar};
use crate::error::ChunkError;

/// Limits applied while validating a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedLimits {
    /// A chunk-size line including extensions, without CRLF. Default 4 KiB.
    pub max_line: usize,
    /// The whole trailer section. Default 16 KiB.
    pub max_trailer: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits {
            max_line: 4096,
            max_trailer: 16 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    SizeOws,
    ExtStart,
    ExtName,
    ExtAfterName,
    ExtValStart,
    ExtValToken,
    ExtQuoted,
    ExtQuotedEscape,
    ExtAfterVal,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    FinalLf,
    Done,
}

/// Result of [`ChunkedDecoder::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyProgress {
    /// How many bytes at the start of the input belong to the body (forward
    /// exactly these, verbatim).
    pub consumed: usize,
    /// The body ended within those bytes; anything after `consumed` is the
    /// next pipelined message.
    pub done: bool,
}

/// Result of [`ChunkedDecoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeProgress {
    /// Bytes of the input processed (framing and data).
    pub consumed: usize,
    /// Chunk data inside `input[..consumed]` (possibly empty).
    pub data: Range<usize>,
    /// The body (including trailers) is complete.
    pub done: bool,
}

/// Streaming validator/decoder for the chunked transfer coding
/// (RFC 9112 §7.1): chunk-size (1*HEXDIG, overflow-checked), extensions
/// (`*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`,
/// ignored), CRLF after every line and chunk, and a trailer section of
/// well-formed field lines. Bare LF, bare CR, obs-fold and any byte outside
/// the grammar are errors; after an error the connection must be closed.
///
/// Reuse one per connection with [`ChunkedDecoder::reset`].
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    limits: ChunkedLimits,
    size: u64,
    digits: u32,
    line_len: usize,
    trailer_len: usize,
    data_total: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder with default limits.
    pub fn new() -> Self {
        Self::with_limits(ChunkedLimits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            state: State::Size,
            limits,
            size: 0,
            digits: 0,
            line_len: 0,
            trailer_len: 0,
            data_total: 0,
        }
    }

    /// Start a new body (keeps the limits).
    pub fn reset(&mut self) {
        *self = Self::with_limits(self.limits);
    }

    /// The last-chunk and trailer section have been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded data bytes seen so far (sum of chunk sizes).
    pub fn data_len(&self) -> u64 {
        self.data_total
    }

    /// Validate the next body bytes, to be forwarded verbatim. Processes as
    /// much of `input` as belongs to the body.
    pub fn feed(&mut self, input: &[u8]) -> Result<BodyProgress, ChunkError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            let (n, _) = self.step(&input[pos..])?;
            pos += n;
        }
        Ok(BodyProgress {
            consumed: pos,
            done: self.state == State::Done,
        })
    }

    /// Decode: like [`ChunkedDecoder::feed`] but stops right after each
    /// piece of chunk data so the caller can use it. Call repeatedly on the
    /// rest of the input until `consumed` reaches its end or `done`.
    pub fn decode(&mut self, input: &[u8]) -> Result<DecodeProgress, ChunkError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            let (n, data) = self.step(&input[pos..])?;
            let start = pos;
            pos += n;
            if data > 0 {
                return Ok(DecodeProgress {
                    consumed: pos,
                    data: start..start + data,
                    done: false,
                });
            }
        }
        Ok(DecodeProgress {
            consumed: pos,
            data: pos..pos,
            done: self.state == State::Done,
        })
    }

    /// Process a prefix of `input` (non-empty). Returns bytes consumed and,
    /// when in the data state, how many of them were chunk data (all of
    /// them). Framing bytes are processed until data starts or input ends.
    fn step(&mut self, input: &[u8]) -> Result<(usize, usize), ChunkError> {
        if self.state == State::Data {
            let n = (input.len() as u64).min(self.size) as usize;
            self.size -= n as u64;
            self.data_total += n as u64;
            if self.size == 0 {
                self.state = State::DataCr;
            }
            return Ok((n, n));
        }
        for (i, &b) in input.iter().enumerate() {
            self.byte(b)?;
            if matches!(self.state, State::Data | State::Done) {
                return Ok((i + 1, 0));
            }
        }
        Ok((input.len(), 0))
    }

    fn byte(&mut self, b: u8) -> Result<(), ChunkError> {
        use State::*;
        let in_size_line = matches!(
            self.state,
            Size | SizeOws
                | ExtStart
                | ExtName
                | ExtAfterName
                | ExtValStart
                | ExtValToken
                | ExtQuoted
                | ExtQuotedEscape
                | ExtAfterVal
        );
        if in_size_line && b != b'\r' {
            self.line_len += 1;
            if self.line_len > self.limits.max_line {
                return Err(ChunkError::LineTooLong);
            }
        }
        if matches!(
            self.state,
            TrailerStart | TrailerName | TrailerValue | TrailerLf
        ) {
            self.trailer_len += 1;
            if self.trailer_len > self.limits.max_trailer {
                return Err(ChunkError::TrailerTooLarge);
            }
        }
        let ows = b == b' ' || b == b'\t';
        self.state = match self.state {
            Size => {
                if let Some(d) = hex_value(b) {
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(ChunkError::SizeOverflow)?;
                    self.digits += 1;
                    Size
                } else if self.digits == 0 {
                    return Err(ChunkError::InvalidSize);
                } else if ows {
                    SizeOws
                } else if b == b';' {
                    ExtStart
                } else if b == b'\r' {
                    SizeLf
                } else {
                    return Err(ChunkError::InvalidSize);
                }
            }
            SizeOws => match b {
                _ if ows => SizeOws,
                b';' => ExtStart,
                _ => return Err(ChunkError::InvalidSize),
            },
            ExtStart => match b {
                _ if ows => ExtStart,
                _ if is_tchar(b) => ExtName,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtName => match b {
                _ if is_tchar(b) => ExtName,
                _ if ows => ExtAfterName,
                b'=' => ExtValStart,
                b';' => ExtStart,
                b'\r' => SizeLf,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtAfterName => match b {
                _ if ows => ExtAfterName,
                b'=' => ExtValStart,
                b';' => ExtStart,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtValStart => match b {
                _ if ows => ExtValStart,
                b'"' => ExtQuoted,
                _ if is_tchar(b) => ExtValToken,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtValToken => match b {
                _ if is_tchar(b) => ExtValToken,
                _ if ows => ExtAfterVal,
                b';' => ExtStart,
                b'\r' => SizeLf,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtQuoted => match b {
                b'"' => ExtAfterVal,
                b'\\' => ExtQuotedEscape,
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => ExtQuoted,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtQuotedEscape => match b {
                b'\t' | 0x20..=0x7e | 0x80..=0xff => ExtQuoted,
                _ => return Err(ChunkError::InvalidExtension),
            },
            ExtAfterVal => match b {
                _ if ows => ExtAfterVal,
                b';' => ExtStart,
                b'\r' => SizeLf,
                _ => return Err(ChunkError::InvalidExtension),
            },
            SizeLf => {
                if b != b'\n' {
                    return Err(ChunkError::MissingCrlf);
                }
                self.line_len = 0;
                self.digits = 0;
                if self.size == 0 { TrailerStart } else { Data }
            }
            DataCr => match b {
                b'\r' => DataLf,
                _ => return Err(ChunkError::MissingCrlf),
            },
            DataLf => match b {
                b'\n' => Size,
                _ => return Err(ChunkError::MissingCrlf),
            },
            TrailerStart => match b {
                b'\r' => FinalLf,
                _ if is_tchar(b) => TrailerName,
                _ => return Err(ChunkError::InvalidTrailer),
            },
            TrailerName => match b {
                _ if is_tchar(b) => TrailerName,
                b':' => TrailerValue,
                _ => return Err(ChunkError::InvalidTrailer),
            },
            TrailerValue => match b {
                b'\r' => TrailerLf,
                _ if is_field_value_byte(b) => TrailerValue,
                _ => return Err(ChunkError::InvalidTrailer),
            },
            TrailerLf => match b {
                b'\n' => TrailerStart,
                _ => return Err(ChunkError::InvalidTrailer),
            },
            FinalLf => match b {
                b'\n' => Done,
                _ => return Err(ChunkError::MissingCrlf),
            },
            // `step` handles Data in bulk and never feeds bytes after Done.
            Data | Done => self.state,
        };
        Ok(())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Counts a Content-Length body down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LengthBody {
    remaining: u64,
}

impl LengthBody {
    /// A body of `len` bytes.
    pub fn new(len: u64) -> Self {
        LengthBody { remaining: len }
    }

    /// Of `available` bytes just received, how many belong to the body
    /// (the rest is the next message). Counts them as done.
    pub fn take(&mut self, available: usize) -> usize {
        let n = (available as u64).min(self.remaining) as usize;
        self.remaining -= n as u64;
        n
    }

    /// Bytes still expected.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// All bytes have been seen.
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests;
