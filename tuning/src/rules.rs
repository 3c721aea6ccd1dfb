//! What an ingress node should look like, and why.

use std::path::{Path, PathBuf};

/// The value a setting should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// An integer at least this large.
    AtLeast(u64),
    /// Exactly this text (after whitespace normalisation).
    Exactly(&'static str),
    /// A port range `low high` at least this wide, recommended as given.
    PortRange { low: u64, high: u64 },
}

impl Want {
    pub fn satisfied_by(self, v: &str) -> bool {
        match self {
            Want::AtLeast(min) => v.parse::<u64>().is_ok_and(|n| n >= min),
            Want::Exactly(s) => v == s,
            Want::PortRange { low, high } => {
                let mut it = v.split(' ').map(str::parse::<u64>);
                match (it.next(), it.next()) {
                    (Some(Ok(a)), Some(Ok(b))) => b >= a && b - a >= high - low,
                    _ => false,
                }
            }
        }
    }

    pub fn recommended(self) -> String {
        match self {
            Want::AtLeast(n) => n.to_string(),
            Want::Exactly(s) => s.to_string(),
            Want::PortRange { low, high } => format!("{low} {high}"),
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    /// Path under the root; `{cpu}` expands to every `cpuN` directory.
    pub path: &'static str,
    pub per_cpu: bool,
    pub want: Want,
    pub why: &'static str,
}

impl Rule {
    /// Concrete files this rule reads under `root`.
    pub fn paths(&self, root: &Path) -> Vec<PathBuf> {
        if !self.per_cpu {
            return vec![root.join(self.path)];
        }
        let Some((dir, rest)) = self.path.split_once("{cpu}") else {
            return vec![root.join(self.path)];
        };
        let base = root.join(dir);
        let mut cpus: Vec<(u32, PathBuf)> = std::fs::read_dir(&base)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("cpu")?.parse::<u32>().ok()?;
                Some((n, e.path().join(rest.trim_start_matches('/'))))
            })
            .filter(|(_, p)| p.exists())
            .collect();
        cpus.sort();
        cpus.into_iter().map(|(_, p)| p).collect()
    }
}

/// The rules, in report order.
pub fn rules() -> &'static [Rule] {
    &[
        Rule {
            name: "net.core.somaxconn",
            path: "proc/sys/net/core/somaxconn",
            per_cpu: false,
            want: Want::AtLeast(4096),
            why: "listen backlog cap; shards listen with 4096",
        },
        Rule {
            name: "net.ipv4.tcp_max_syn_backlog",
            path: "proc/sys/net/ipv4/tcp_max_syn_backlog",
            per_cpu: false,
            want: Want::AtLeast(8192),
            why: "half-open connections kept during bursts",
        },
        Rule {
            name: "net.core.netdev_max_backlog",
            path: "proc/sys/net/core/netdev_max_backlog",
            per_cpu: false,
            want: Want::AtLeast(16384),
            why: "packets queued per CPU before the stack drops them",
        },
        Rule {
            name: "net.ipv4.ip_local_port_range",
            path: "proc/sys/net/ipv4/ip_local_port_range",
            per_cpu: false,
            want: Want::PortRange {
                low: 1024,
                high: 65000,
            },
            why: "ephemeral ports for upstream connections",
        },
        Rule {
            name: "net.ipv4.tcp_tw_reuse",
            path: "proc/sys/net/ipv4/tcp_tw_reuse",
            per_cpu: false,
            want: Want::Exactly("1"),
            why: "reuse TIME_WAIT ports for new upstream connections",
        },
        Rule {
            name: "fs.file-max",
            path: "proc/sys/fs/file-max",
            per_cpu: false,
            want: Want::AtLeast(1_048_576),
            why: "system-wide open files (one per connection)",
        },
        Rule {
            name: "fs.nr_open",
            path: "proc/sys/fs/nr_open",
            per_cpu: false,
            want: Want::AtLeast(1_048_576),
            why: "ceiling for a process's RLIMIT_NOFILE",
        },
        Rule {
            name: "kernel.io_uring_disabled",
            path: "proc/sys/kernel/io_uring_disabled",
            per_cpu: false,
            want: Want::Exactly("0"),
            why: "shards fall back to epoll when io_uring is disabled",
        },
        Rule {
            name: "cpufreq governor",
            path: "sys/devices/system/cpu/{cpu}/cpufreq/scaling_governor",
            per_cpu: true,
            want: Want::Exactly("performance"),
            why: "no frequency ramp-up latency on shard cores",
        },
    ]
}
