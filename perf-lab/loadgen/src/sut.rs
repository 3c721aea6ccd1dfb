//! CPU time of the system under test, read from `/proc`: `utime + stime` of
//! chosen processes and all their descendants (`/proc/PID/stat` already sums
//! a process's threads), and the busy time of one core from `/proc/stat`.
//! Both are in clock ticks of `USER_HZ`, which Linux fixes at 100 per second
//! for these files on every mainstream architecture.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use thiserror::Error;

/// Clock ticks per second in `/proc/*/stat` and `/proc/stat`.
pub const USER_HZ: f64 = 100.0;

#[derive(Debug, Error)]
pub enum SutError {
    #[error("/proc/{pid}/stat: process not found")]
    NoProcess { pid: u32 },
    #[error("no running process has {pattern:?} in its command line")]
    NoMatch { pattern: String },
    #[error("/proc/stat has no line for cpu{core}")]
    NoCore { core: usize },
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One line of `/proc/PID/stat`, the fields we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub ppid: u32,
    /// utime + stime, in ticks.
    pub ticks: u64,
}

/// Parse `/proc/PID/stat` text. The command name sits in parentheses and
/// may contain spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let pid = text[..open].trim().parse().ok()?;
    let close = text.rfind(')')?;
    let mut f = text[close + 1..].split_ascii_whitespace();
    // After ')': state(3) ppid(4) pgrp session tty tpgid flags minflt cminflt
    // majflt cmajflt utime(14) stime(15).
    let ppid = f.nth(1)?.parse().ok()?;
    let utime: u64 = f.nth(9)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        ppid,
        ticks: utime + stime,
    })
}

/// Every process currently in `/proc`.
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_proc_stat(pid).ok())
        .collect()
}

pub fn read_proc_stat(pid: u32) -> Result<ProcStat, SutError> {
    let text =
        fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|_| SutError::NoProcess { pid })?;
    parse_proc_stat(&text).ok_or(SutError::NoProcess { pid })
}

/// `roots` and every descendant of them, found through parent pids.
pub fn with_descendants(roots: &[u32], procs: &[ProcStat]) -> BTreeSet<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<u32> = roots.to_vec();
    while let Some(pid) = stack.pop() {
        if out.insert(pid)
            && let Some(kids) = children.get(&pid)
        {
            stack.extend(kids);
        }
    }
    out
}

/// Processes whose command line contains `pattern`, except this process
/// and its ancestors (whose command lines name the pattern as an argument).
pub fn find_by_cmdline(pattern: &str) -> Result<Vec<u32>, SutError> {
    let procs = all_processes();
    let mut exclude = BTreeSet::new();
    let mut pid = std::process::id();
    while pid > 1 && exclude.insert(pid) {
        pid = procs.iter().find(|p| p.pid == pid).map_or(0, |p| p.ppid);
    }
    let found: Vec<u32> = procs
        .iter()
        .map(|p| p.pid)
        .filter(|pid| !exclude.contains(pid))
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c: Vec<u8> = c.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
                String::from_utf8_lossy(&c).contains(pattern)
            })
        })
        .collect();
    if found.is_empty() {
        return Err(SutError::NoMatch {
            pattern: pattern.to_string(),
        });
    }
    Ok(found)
}

/// Ticks used so far by each process of the tree under `roots`.
pub fn sample_tree(roots: &[u32]) -> BTreeMap<u32, u64> {
    let procs = all_processes();
    let tree = with_descendants(roots, &procs);
    procs
        .iter()
        .filter(|p| tree.contains(&p.pid))
        .map(|p| (p.pid, p.ticks))
        .collect()
}

/// Ticks spent between two samples of a process tree. A process that
/// appeared in between counts from zero; one that exited is lost (its time
/// moves to its parent's `cutime` only once reaped, which we do not read).
pub fn tree_delta(before: &BTreeMap<u32, u64>, after: &BTreeMap<u32, u64>) -> u64 {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum()
}

/// Busy and total ticks of one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoreTicks {
    pub busy: u64,
    pub total: u64,
}

/// Parse the `cpuN` line of `/proc/stat` text.
pub fn parse_core_ticks(stat: &str, core: usize) -> Option<CoreTicks> {
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|l| l.split_ascii_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    // (guest time is already counted in user).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let idle = get(3) + get(4);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    Some(CoreTicks {
        busy,
        total: busy + idle,
    })
}

pub fn read_core_ticks(core: usize) -> Result<CoreTicks, SutError> {
    let path = Path::new("/proc/stat");
    let text = fs::read_to_string(path).map_err(|source| SutError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_core_ticks(&text, core).ok_or(SutError::NoCore { core })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let line = "4242 (a b) c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(
            parse_proc_stat(line),
            Some(ProcStat {
                pid: 4242,
                ppid: 17,
                ticks: 325
            })
        );
        assert_eq!(parse_proc_stat("garbage"), None);
    }

    #[test]
    fn descendants_and_deltas() {
        let p = |pid, ppid| ProcStat {
            pid,
            ppid,
            ticks: 0,
        };
        let procs = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(20, 1)];
        let tree = with_descendants(&[10], &procs);
        assert_eq!(tree.into_iter().collect::<Vec<_>>(), vec![10, 11, 12]);
        let before = BTreeMap::from([(10, 100), (11, 5)]);
        let after = BTreeMap::from([(10, 150), (11, 5), (12, 7)]);
        assert_eq!(tree_delta(&before, &after), 57);
    }

    #[test]
    fn core_lines() {
        let stat =
            "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 40 5 6 7 8 9 10\ncpu1 9 9 9 9 9 9 9 9 0 0\n";
        assert_eq!(
            parse_core_ticks(stat, 0),
            Some(CoreTicks {
                busy: 1 + 2 + 3 + 6 + 7 + 8,
                total: 1 + 2 + 3 + 6 + 7 + 8 + 40 + 5
            })
        );
        assert_eq!(parse_core_ticks(stat, 2), None);
    }

    #[test]
    fn live_proc_reads() {
        let me = read_proc_stat(std::process::id()).expect("own stat");
        assert_eq!(me.pid, std::process::id());
        let tree = sample_tree(&[std::process::id()]);
        assert!(tree.contains_key(&std::process::id()));
        assert!(read_core_ticks(0).expect("cpu0").total > 0);
        assert!(matches!(
            find_by_cmdline("no-such-process-\u{1}-pattern"),
            Err(SutError::NoMatch { .. })
        ));
    }
}
