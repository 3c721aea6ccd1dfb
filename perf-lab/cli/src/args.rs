//! Argument helpers shared by the subcommands.

use anyhow::Context;
use shardgate_runtime::ShardPlan;

pub use shardgate_runtime::parse_duration;

/// One shard per CPU of `--cpus`; without it, one unpinned shard.
pub fn plan_from_cpus(cpus: Option<&str>) -> anyhow::Result<ShardPlan> {
    match cpus {
        None => Ok(ShardPlan { cores: vec![None] }),
        Some(list) => {
            let cpus = shardgate_runtime::parse_cpu_list(list)?;
            let available = shardgate_runtime::cpus::available_cpus();
            shardgate_runtime::plan_shards(None, Some(&cpus), &available)
                .with_context(|| format!("--cpus {list}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        assert_eq!(plan_from_cpus(None).expect("plan").cores, vec![None]);
        assert_eq!(
            plan_from_cpus(Some("0")).expect("plan").cores,
            vec![Some(0)]
        );
        assert!(plan_from_cpus(Some("99999")).is_err());
    }
}
