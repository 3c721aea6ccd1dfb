//! Weighted choice among a route's backends.

use shardgate_ir::{BackendTarget, WeightedBackend};

/// A route's backends with precomputed running sums of their weights.
#[derive(Debug)]
pub struct WeightedBackends {
    /// As given in the snapshot, weight-0 entries included.
    backends: Box<[WeightedBackend]>,
    /// Backends with a positive weight, in snapshot order.
    targets: Box<[WeightedBackend]>,
    /// `ends[i]` is the sum of the weights of `targets[..=i]`.
    ends: Box<[u64]>,
}

impl WeightedBackends {
    /// `None` when no backend has a positive weight (the IR validation
    /// refuses such a route).
    pub(crate) fn new(backends: &[WeightedBackend]) -> Option<Self> {
        let mut sum = 0u64;
        let (targets, ends) = backends
            .iter()
            .filter(|b| b.weight > 0)
            .map(|b| {
                sum += u64::from(b.weight);
                (b.clone(), sum)
            })
            .unzip::<_, _, Vec<_>, Vec<_>>();
        if targets.is_empty() {
            return None;
        }
        Some(WeightedBackends {
            backends: backends.into(),
            targets: targets.into(),
            ends: ends.into(),
        })
    }

    /// Weighted choice given a uniformly random `u32` from the caller's
    /// per-shard RNG: O(log n) over the running sums; weight-0 backends are
    /// never chosen.
    ///
    /// `random` is scaled onto `0..total_weight` by multiplication, so each
    /// backend receives a share of the `u32` range proportional to its
    /// weight (exact to within one value per backend).
    #[inline]
    pub fn pick(&self, random: u32) -> &BackendTarget {
        &self.pick_backend(random).target
    }

    /// Like [`WeightedBackends::pick`], with the chosen backend's own
    /// filters (`backendRefs[].filters`) alongside its target.
    #[inline]
    pub fn pick_backend(&self, random: u32) -> &WeightedBackend {
        let total = self.total_weight();
        let point = ((u128::from(random) * u128::from(total)) >> 32) as u64;
        // `point < total == ends[last]`, so the index is in range; the
        // constructor guarantees at least one target.
        let at = self.ends.partition_point(|&end| end <= point);
        &self.targets[at.min(self.targets.len() - 1)]
    }

    /// Sum of all weights (positive).
    pub fn total_weight(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The backends as the snapshot lists them, weight-0 ones included.
    pub fn backends(&self) -> &[WeightedBackend] {
        &self.backends
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardgate_ir::{Filter, HeaderModifier};

    fn wb(weights: &[u32]) -> WeightedBackends {
        let list: Vec<_> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| WeightedBackend {
                weight,
                target: BackendTarget::Cluster(i as u32),
                filters: Vec::new(),
            })
            .collect();
        WeightedBackends::new(&list).expect("some weight is positive")
    }

    fn index(t: &BackendTarget) -> usize {
        match t {
            BackendTarget::Cluster(i) => *i as usize,
            BackendTarget::Invalid { .. } => usize::MAX,
        }
    }

    /// Picks for `n` random values evenly spread over the whole `u32` range.
    fn spread(b: &WeightedBackends, weights: usize, n: u64) -> Vec<u64> {
        let mut counts = vec![0u64; weights];
        for k in 0..n {
            let r = ((k << 32) / n) as u32;
            counts[index(b.pick(r))] += 1;
        }
        counts
    }

    #[test]
    fn shares_follow_weights_and_skip_zero() {
        let b = wb(&[1, 0, 3, 0, 4]);
        assert_eq!(b.total_weight(), 8);
        assert_eq!(b.backends().len(), 5);
        assert_eq!(spread(&b, 5, 8_000), vec![1_000, 0, 3_000, 0, 4_000]);
    }

    #[test]
    fn extremes_of_the_random_range() {
        let b = wb(&[0, 2, 0, 5, 0]);
        assert_eq!(index(b.pick(0)), 1);
        assert_eq!(index(b.pick(u32::MAX)), 3);
        let one = wb(&[0, 7]);
        for r in [0, 1, u32::MAX / 2, u32::MAX] {
            assert_eq!(index(one.pick(r)), 1);
        }
    }

    #[test]
    fn huge_weights_do_not_overflow() {
        let b = wb(&[u32::MAX, u32::MAX, u32::MAX]);
        assert_eq!(b.total_weight(), 3 * u64::from(u32::MAX));
        for (i, c) in spread(&b, 3, 3_000).into_iter().enumerate() {
            assert!(c.abs_diff(1_000) <= 1, "backend {i} got {c}");
        }
        assert_eq!(index(b.pick(u32::MAX)), 2);
    }

    #[test]
    fn invalid_targets_are_chosen_like_clusters() {
        let list = [
            WeightedBackend {
                weight: 1,
                target: BackendTarget::Invalid { status: 500 },
                filters: Vec::new(),
            },
            WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster(0),
                filters: Vec::new(),
            },
        ];
        let b = WeightedBackends::new(&list).expect("positive weights");
        assert_eq!(*b.pick(0), BackendTarget::Invalid { status: 500 });
        assert_eq!(*b.pick(u32::MAX), BackendTarget::Cluster(0));
    }

    #[test]
    fn picked_backend_carries_its_own_filters() {
        let header = |v: &str| {
            vec![Filter::RequestHeaderModifier(HeaderModifier {
                set: vec![("x-backend".into(), v.into())],
                ..HeaderModifier::default()
            })]
        };
        let list = [
            WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster(0),
                filters: header("a"),
            },
            WeightedBackend {
                weight: 0,
                target: BackendTarget::Cluster(1),
                filters: header("zero"),
            },
            WeightedBackend {
                weight: 1,
                target: BackendTarget::Cluster(2),
                filters: Vec::new(),
            },
        ];
        let b = WeightedBackends::new(&list).expect("positive weights");
        assert_eq!(b.pick_backend(0).filters, header("a"));
        assert_eq!(b.pick_backend(u32::MAX).target, BackendTarget::Cluster(2));
        assert!(b.pick_backend(u32::MAX).filters.is_empty());
    }

    #[test]
    fn all_zero_weights_are_refused() {
        assert!(WeightedBackends::new(&[]).is_none());
        let zero = [WeightedBackend {
            weight: 0,
            target: BackendTarget::Cluster(0),
            filters: Vec::new(),
        }];
        assert!(WeightedBackends::new(&zero).is_none());
    }
}
