//! Which cores the shards run on: `--shards N` and `--cpus 0,2-5`.

/// The cores chosen for the shards, one entry per shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// `cores[i]` is the CPU id shard `i` is pinned to; `None` when the
    /// platform cannot report cores (the shard then runs unpinned).
    pub cores: Vec<Option<usize>>,
}

impl ShardPlan {
    pub fn len(&self) -> usize {
        self.cores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cores.is_empty()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuSetError {
    #[error("--cpus {input:?}: {reason}")]
    Syntax { input: String, reason: String },
    #[error(
        "--cpus names CPU {cpu}, which is not available to this process (available: {available:?})"
    )]
    Unavailable { cpu: usize, available: Vec<usize> },
    #[error("--shards {shards} needs at least one core, and --cpus lists {cpus}")]
    TooFew { shards: usize, cpus: usize },
    #[error("--shards must be at least 1")]
    Zero,
}

/// Parse a CPU list such as `0,2-5` (sorted, duplicates removed).
pub fn parse_cpu_list(input: &str) -> Result<Vec<usize>, CpuSetError> {
    let err = |reason: &str| CpuSetError::Syntax {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Vec::new();
    for part in input.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(err("empty element"));
        }
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| err(&format!("{s:?} is not a CPU number")))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(err(&format!("range {part} is reversed")));
                }
                if b - a > 4096 {
                    return Err(err(&format!("range {part} is too large")));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Decide the shard-to-core mapping.
///
/// * neither given: one shard per available core;
/// * `--cpus` only: one shard per listed core;
/// * `--shards` only: the first N available cores (N may exceed the core
///   count, then shards wrap around the cores);
/// * both: N shards spread round-robin over the listed cores.
pub fn plan_shards(
    shards: Option<usize>,
    cpus: Option<&[usize]>,
    available: &[usize],
) -> Result<ShardPlan, CpuSetError> {
    if shards == Some(0) {
        return Err(CpuSetError::Zero);
    }
    if let Some(list) = cpus {
        if let Some(&cpu) = list.iter().find(|c| !available.contains(c)) {
            return Err(CpuSetError::Unavailable {
                cpu,
                available: available.to_vec(),
            });
        }
        if list.is_empty() {
            return Err(CpuSetError::TooFew {
                shards: shards.unwrap_or(1),
                cpus: 0,
            });
        }
    }
    let pool: Vec<usize> = cpus
        .map(<[usize]>::to_vec)
        .unwrap_or_else(|| available.to_vec());
    if pool.is_empty() {
        // The platform did not report cores: run unpinned.
        let n = shards.unwrap_or(1);
        return Ok(ShardPlan {
            cores: vec![None; n],
        });
    }
    let n = shards.unwrap_or(pool.len());
    Ok(ShardPlan {
        cores: (0..n).map(|i| Some(pool[i % pool.len()])).collect(),
    })
}

/// The CPU ids this process may run on.
pub fn available_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_ranges() {
        assert_eq!(parse_cpu_list("0,2-5"), Ok(vec![0, 2, 3, 4, 5]));
        assert_eq!(parse_cpu_list(" 3 , 1,1"), Ok(vec![1, 3]));
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("5-2").is_err());
        assert!(parse_cpu_list("a").is_err());
        assert!(parse_cpu_list("1,,2").is_err());
    }

    #[test]
    fn plans() {
        let avail = [0, 1, 2, 3];
        assert_eq!(plan_shards(None, None, &avail).map(|p| p.len()), Ok(4));
        let p = plan_shards(Some(2), Some(&[1, 3]), &avail).expect("valid");
        assert_eq!(p.cores, vec![Some(1), Some(3)]);
        let p = plan_shards(Some(3), Some(&[2]), &avail).expect("valid");
        assert_eq!(p.cores, vec![Some(2); 3]);
        assert_eq!(
            plan_shards(None, Some(&[7]), &avail),
            Err(CpuSetError::Unavailable {
                cpu: 7,
                available: avail.to_vec()
            })
        );
        assert_eq!(plan_shards(Some(0), None, &avail), Err(CpuSetError::Zero));
        assert_eq!(
            plan_shards(Some(2), None, &[]).map(|p| p.cores),
            Ok(vec![None, None])
        );
    }
}
