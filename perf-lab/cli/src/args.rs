//! Argument helpers shared by the subcommands.

use anyhow::Context;
use shardgate_runtime::ShardPlan;
use std::time::Duration;

/// `30s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number with ms, s or m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?}: unknown unit {unit:?} (use ms, s or m)")),
    }
}

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
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("").is_err());
    }

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
