//! Owned-buffer I/O helpers over monoio's rent traits.

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use std::io;
use std::ops::Range;

/// Read once, appending to `buf` (at least `min_spare` bytes of room are
/// made first). Returns the byte count (0 at end of input) and the buffer.
pub async fn read_into<S: AsyncReadRent>(
    stream: &mut S,
    mut buf: Vec<u8>,
    min_spare: usize,
) -> (io::Result<usize>, Vec<u8>) {
    if buf.capacity() - buf.len() < min_spare {
        buf.reserve(min_spare);
    }
    let (len, cap) = (buf.len(), buf.capacity());
    let (res, slice) = stream.read(buf.slice_mut(len..cap)).await;
    (res, slice.into_inner())
}

/// Write `buf[range]` completely, then hand the whole buffer back.
pub async fn write_slice<S: AsyncWriteRent>(
    stream: &mut S,
    buf: Vec<u8>,
    range: Range<usize>,
) -> (io::Result<usize>, Vec<u8>) {
    if range.is_empty() {
        return (Ok(0), buf);
    }
    let (res, slice) = stream.write_all(buf.slice(range)).await;
    (res, slice.into_inner())
}
