//! The header modifiers that apply to one message, kept inline so that a
//! route with filters costs no heap allocation per request.

use shardgate_http1::HeaderMods;

/// The Gateway API allows one modifier of each kind per rule and per
/// backendRef, and CORS adds one more to a response: three fit inline.
const INLINE: usize = 3;

/// An ordered list of modifiers; beyond [`INLINE`] (only possible with a
/// hand-written snapshot) it moves to the heap.
#[derive(Debug, Default)]
pub(crate) struct ModList<'a> {
    inline: [HeaderMods<'a>; INLINE],
    len: usize,
    spill: Vec<HeaderMods<'a>>,
}

impl<'a> ModList<'a> {
    pub(crate) fn push(&mut self, m: HeaderMods<'a>) {
        if self.spill.is_empty() && self.len < INLINE {
            self.inline[self.len] = m;
            self.len += 1;
            return;
        }
        if self.spill.is_empty() {
            self.spill.extend_from_slice(&self.inline[..self.len]);
        }
        self.spill.push(m);
    }

    /// In push order.
    pub(crate) fn as_slice(&self) -> &[HeaderMods<'a>] {
        match self.spill.is_empty() {
            true => &self.inline[..self.len],
            false => &self.spill,
        }
    }
}

impl<'a> FromIterator<HeaderMods<'a>> for ModList<'a> {
    fn from_iter<I: IntoIterator<Item = HeaderMods<'a>>>(iter: I) -> Self {
        let mut list = ModList::default();
        iter.into_iter().for_each(|m| list.push(m));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &ModList<'_>) -> Vec<String> {
        list.as_slice()
            .iter()
            .map(|m| m.remove.first().cloned().unwrap_or_default())
            .collect()
    }

    #[test]
    fn keeps_order_inline_and_after_spilling() {
        let removes: Vec<Vec<String>> = (0..5).map(|i| vec![format!("h{i}")]).collect();
        let mut list = ModList::default();
        assert!(list.as_slice().is_empty());
        for r in &removes[..3] {
            list.push(HeaderMods {
                remove: r,
                ..HeaderMods::default()
            });
        }
        assert_eq!(names(&list), ["h0", "h1", "h2"]);
        assert!(list.spill.is_empty(), "three stay inline");
        let all: ModList<'_> = removes
            .iter()
            .map(|r| HeaderMods {
                remove: r,
                ..HeaderMods::default()
            })
            .collect();
        assert_eq!(names(&all), ["h0", "h1", "h2", "h3", "h4"]);
    }
}
