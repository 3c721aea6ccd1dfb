//! Virtual host selection by request host.
//!
//! The host is normalised (port stripped, one trailing dot ignored, ASCII
//! lower-cased) into a stack buffer *reversed*, so that a wildcard suffix
//! such as `.example.com` becomes a prefix (`moc.elpmaxe.`) and one
//! forward [`PrefixHasher`] walk yields the hash of every candidate suffix
//! and of the whole name.

use crate::error::CompileError;
use crate::hash::{BytesMap, PrefixHasher};
use shardgate_ir::{HostMatch, Listener};

/// Longest host name (RFC 1035, without the trailing dot). Longer request
/// hosts can only reach the catch-all virtual host.
pub const MAX_HOST_LEN: usize = 253;

/// The name part of a `Host` value: without `:port` (an IPv6 literal keeps
/// its brackets) and without one trailing dot. Case is left as received.
pub fn normalise_host(host: &[u8]) -> &[u8] {
    let name = if host.first() == Some(&b'[') {
        match memchr::memchr(b']', host) {
            Some(close) => &host[..=close],
            None => host,
        }
    } else {
        match memchr::memchr(b':', host) {
            Some(colon) => &host[..colon],
            None => host,
        }
    };
    name.strip_suffix(b".").unwrap_or(name)
}

fn reversed(name: &str) -> Vec<u8> {
    name.bytes().rev().collect()
}

/// Which virtual host (by index) serves which host.
#[derive(Debug, Default)]
pub(crate) struct HostIndex {
    /// Reversed full names.
    exact: BytesMap<u32>,
    /// Reversed suffixes, each ending with `.`.
    wildcard: BytesMap<u32>,
    catch_all: Option<u32>,
}

impl HostIndex {
    pub(crate) fn build(listener: &Listener) -> Result<Self, CompileError> {
        let mut index = HostIndex::default();
        for (i, vh) in listener.virtual_hosts.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| CompileError::TooManyMatches {
                listener: listener.name.clone(),
                virtual_host: vh.name.clone(),
                count: listener.virtual_hosts.len(),
                limit: u32::MAX as usize,
            })?;
            if vh.hostnames.is_empty() {
                if let Some(first) = index.catch_all {
                    return Err(CompileError::DuplicateCatchAll {
                        listener: listener.name.clone(),
                        first: listener.virtual_hosts[first as usize].name.clone(),
                        second: vh.name.clone(),
                    });
                }
                index.catch_all = Some(id);
                continue;
            }
            for h in &vh.hostnames {
                let (map, name) = match h {
                    HostMatch::Exact(n) => (&mut index.exact, n),
                    HostMatch::Wildcard(n) => (&mut index.wildcard, n),
                };
                let unmatchable = |reason| CompileError::UnmatchableHostname {
                    listener: listener.name.clone(),
                    virtual_host: vh.name.clone(),
                    hostname: name.clone(),
                    reason,
                };
                let reach = match h {
                    HostMatch::Exact(_) => name.len(),
                    // At least one byte must precede the suffix.
                    HostMatch::Wildcard(_) => name.len() + 1,
                };
                if reach > MAX_HOST_LEN {
                    return Err(unmatchable("longer than 253 bytes"));
                }
                if name.ends_with('.') {
                    return Err(unmatchable(
                        "request hosts are compared without a trailing dot",
                    ));
                }
                if name.contains(':') {
                    return Err(unmatchable("request hosts are compared without a port"));
                }
                let owner = *map.get_or_insert_with(&reversed(name), || id);
                if owner != id {
                    return Err(CompileError::DuplicateHostname {
                        listener: listener.name.clone(),
                        hostname: name.clone(),
                        first: listener.virtual_hosts[owner as usize].name.clone(),
                        second: vh.name.clone(),
                    });
                }
            }
        }
        Ok(index)
    }

    /// Exact name first, then the longest wildcard suffix, then the
    /// catch-all.
    pub(crate) fn select(&self, host: &[u8]) -> Option<u32> {
        let name = normalise_host(host);
        if name.is_empty()
            || name.len() > MAX_HOST_LEN
            || (self.exact.is_empty() && self.wildcard.is_empty())
        {
            return self.catch_all;
        }
        let mut buf = [0u8; MAX_HOST_LEN];
        for (dst, src) in buf.iter_mut().zip(name.iter().rev()) {
            *dst = src.to_ascii_lowercase();
        }
        let rev = &buf[..name.len()];
        let mut hasher = PrefixHasher::new(rev);

        // Suffixes in increasing length, so the last hit is the longest.
        // A suffix must leave at least one byte of the name before it.
        let mut wildcard_hit = None;
        if !self.wildcard.is_empty() {
            let limit = self.wildcard.max_key_len().min(rev.len() - 1);
            for end in 1..=limit {
                if rev[end - 1] == b'.'
                    && self.wildcard.has_key_len(end)
                    && let Some(&vh) = self.wildcard.get(hasher.hash_to(end), &rev[..end])
                {
                    wildcard_hit = Some(vh);
                }
            }
        }
        if self.exact.has_key_len(rev.len())
            && let Some(&vh) = self.exact.get(hasher.hash_to(rev.len()), rev)
        {
            return Some(vh);
        }
        wildcard_hit.or(self.catch_all)
    }
}

#[cfg(test)]
mod tests;
