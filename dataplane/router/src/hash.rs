//! Byte-string maps probed by prefix without allocating.
//!
//! Path and host lookups need the hash of several prefixes of one byte
//! string (every segment boundary of a path, every label boundary of a
//! reversed host). [`PrefixHasher`] walks the string once, eight bytes at a
//! time, and yields the hash of any prefix on demand, so probing all
//! boundaries costs O(length) rather than O(length × boundaries).
//!
//! [`BytesMap`] is keyed by that hash and always compares the stored key
//! bytes, so a hash collision can cost a comparison but never a wrong answer.
//! Keys come from configuration, not from requests, so a fixed (unseeded)
//! hash is fine: a client can only choose which bucket it probes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn absorb(state: u64, word: u64) -> u64 {
    (state ^ word).wrapping_mul(MULTIPLIER).rotate_left(27)
}

/// Final avalanche (the 64-bit finaliser of MurmurHash3), so that both the
/// low bits (bucket index) and the high bits (tag) of the map are well mixed.
#[inline]
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// The first eight bytes (fewer: zero-padded) as a little-endian word.
#[inline]
fn load(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(word) => u64::from_le_bytes(*word),
        None => bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    }
}

/// Hashes prefixes of one byte string, reusing the work done for shorter
/// prefixes when asked in non-decreasing order of length.
pub(crate) struct PrefixHasher<'a> {
    bytes: &'a [u8],
    state: u64,
    /// Bytes folded into `state`; always a multiple of eight.
    absorbed: usize,
}

impl<'a> PrefixHasher<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        PrefixHasher {
            bytes,
            state: 0,
            absorbed: 0,
        }
    }

    /// Hash of `bytes[..end]` (`end` is clamped to the length). The value
    /// depends only on those bytes, never on earlier calls; asking for a
    /// shorter prefix than before merely restarts the walk.
    #[inline]
    pub(crate) fn hash_to(&mut self, end: usize) -> u64 {
        let end = end.min(self.bytes.len());
        if end < self.absorbed {
            self.state = 0;
            self.absorbed = 0;
        }
        while self.absorbed + 8 <= end {
            let word = load(&self.bytes[self.absorbed..end]);
            self.state = absorb(self.state, word);
            self.absorbed += 8;
        }
        let tail = load(&self.bytes[self.absorbed..end]);
        avalanche(absorb(self.state, tail) ^ end as u64)
    }
}

/// Hash of a whole byte string, as [`PrefixHasher::hash_to`] computes it.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    PrefixHasher::new(bytes).hash_to(bytes.len())
}

/// A `Hasher` for keys that are already hashes.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type ByHash<V> = HashMap<u64, (Box<[u8]>, V), BuildHasherDefault<PassThrough>>;

/// Map from byte strings to values, probed with a precomputed hash.
#[derive(Debug)]
pub(crate) struct BytesMap<V> {
    primary: ByHash<V>,
    /// Keys whose hash is already taken by another key: practically always
    /// empty, searched only when the primary slot holds a different key.
    overflow: Vec<(u64, Box<[u8]>, V)>,
    max_key_len: usize,
    /// Bit `n` is set when some key is `n` bytes long (`n < 256`); lets a
    /// probe skip prefixes of lengths that no key has.
    lengths: [u64; 4],
}

impl<V> Default for BytesMap<V> {
    fn default() -> Self {
        BytesMap {
            primary: HashMap::default(),
            overflow: Vec::new(),
            max_key_len: 0,
            lengths: [0; 4],
        }
    }
}

impl<V> BytesMap<V> {
    pub(crate) fn is_empty(&self) -> bool {
        self.primary.is_empty()
    }

    /// Length of the longest key: longer probes can be skipped.
    pub(crate) fn max_key_len(&self) -> usize {
        self.max_key_len
    }

    /// Whether some key may be `len` bytes long (exact below 256 bytes,
    /// otherwise conservatively true up to the longest key).
    #[inline]
    pub(crate) fn has_key_len(&self, len: usize) -> bool {
        match self.lengths.get(len / 64) {
            Some(bits) => bits & (1 << (len % 64)) != 0,
            None => len <= self.max_key_len,
        }
    }

    /// The value for `key`, inserted by `make` when absent.
    pub(crate) fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        self.get_or_insert_hashed(hash_bytes(key), key, make)
    }

    fn get_or_insert_hashed(&mut self, hash: u64, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        self.max_key_len = self.max_key_len.max(key.len());
        if let Some(bits) = self.lengths.get_mut(key.len() / 64) {
            *bits |= 1 << (key.len() % 64);
        }
        match self.primary.entry(hash) {
            Entry::Vacant(slot) => &mut slot.insert((key.into(), make())).1,
            Entry::Occupied(slot) if *slot.get().0 == *key => &mut slot.into_mut().1,
            Entry::Occupied(_) => {
                let found = self
                    .overflow
                    .iter()
                    .position(|(h, k, _)| *h == hash && **k == *key);
                let at = match found {
                    Some(at) => at,
                    None => {
                        self.overflow.push((hash, key.into(), make()));
                        self.overflow.len() - 1
                    }
                };
                &mut self.overflow[at].2
            }
        }
    }

    /// The value for `key`, whose hash (from [`PrefixHasher`]) is `hash`.
    #[inline]
    pub(crate) fn get(&self, hash: u64, key: &[u8]) -> Option<&V> {
        match self.primary.get(&hash) {
            Some((k, v)) if **k == *key => Some(v),
            Some(_) => self
                .overflow
                .iter()
                .find(|(h, k, _)| *h == hash && **k == *key)
                .map(|(_, _, v)| v),
            None => None,
        }
    }

    /// Every value, for finishing touches after building.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.primary
            .values_mut()
            .map(|(_, v)| v)
            .chain(self.overflow.iter_mut().map(|(_, _, v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_hash_depends_only_on_the_prefix() {
        let s = b"/alpha/beta/gamma/delta-epsilon";
        let mut walker = PrefixHasher::new(s);
        for end in 0..=s.len() {
            assert_eq!(walker.hash_to(end), hash_bytes(&s[..end]), "end {end}");
        }
        // Going backwards restarts and still agrees.
        assert_eq!(walker.hash_to(3), hash_bytes(&s[..3]));
        // Past the end is clamped.
        assert_eq!(walker.hash_to(usize::MAX), hash_bytes(s));
    }

    #[test]
    fn prefix_hash_separates_lengths_and_bytes() {
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"/a"), hash_bytes(b"/a\0"));
        assert_ne!(hash_bytes(b"/abcdefgh"), hash_bytes(b"/abcdefgi"));
        assert_ne!(hash_bytes(b"12345678"), hash_bytes(b"1234567"));
    }

    #[test]
    fn map_finds_keys_and_rejects_others() {
        let mut m = BytesMap::default();
        *m.get_or_insert_with(b"/foo", || 0) += 1;
        *m.get_or_insert_with(b"/foo", || 0) += 1;
        *m.get_or_insert_with(b"/foobar", || 0) += 5;
        assert_eq!(m.get(hash_bytes(b"/foo"), b"/foo"), Some(&2));
        assert_eq!(m.get(hash_bytes(b"/foobar"), b"/foobar"), Some(&5));
        assert_eq!(m.get(hash_bytes(b"/bar"), b"/bar"), None);
        // Right hash, wrong bytes: refused by the key comparison.
        assert_eq!(m.get(hash_bytes(b"/foo"), b"/fox"), None);
        assert_eq!(m.max_key_len(), 7);
        assert!(m.has_key_len(4) && m.has_key_len(7));
        assert!(!m.has_key_len(0) && !m.has_key_len(5) && !m.has_key_len(300));
        let long = vec![b'x'; 300];
        m.get_or_insert_with(&long, || 9);
        assert!(m.has_key_len(300) && m.has_key_len(299) && !m.has_key_len(301));
        assert_eq!(m.get(hash_bytes(&long), &long), Some(&9));
    }

    #[test]
    fn colliding_hashes_keep_both_keys() {
        let mut m = BytesMap::default();
        *m.get_or_insert_hashed(42, b"one", || 0) = 1;
        *m.get_or_insert_hashed(42, b"two", || 0) = 2;
        *m.get_or_insert_hashed(42, b"three", || 0) = 3;
        *m.get_or_insert_hashed(42, b"two", || 0) += 20;
        assert_eq!(m.get(42, b"one"), Some(&1));
        assert_eq!(m.get(42, b"two"), Some(&22));
        assert_eq!(m.get(42, b"three"), Some(&3));
        assert_eq!(m.get(42, b"four"), None);
        assert_eq!(m.values_mut().count(), 3);
    }
}
