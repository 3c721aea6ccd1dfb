//! Process liveness from `/proc/PID/stat`: a pid plus the process start time
//! identifies one process even after the pid is reused.

/// The start time (clock ticks after boot) of this process; 0 if `/proc`
/// cannot tell, in which case liveness falls back to the pid alone.
pub(crate) fn own_start_time() -> u64 {
    start_time("self")
}

pub(crate) fn start_time(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0, |(_, start)| start)
}

/// Whether the process `pid` that started at `start` (0: unknown) still runs.
/// Zombies count as dead: they will never acknowledge anything again.
pub(crate) fn is_alive(pid: u32, start: u64) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid_t <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => match parse_stat(&stat) {
            Some((state, started)) => {
                !matches!(state, 'Z' | 'X' | 'x') && (start == 0 || started == start)
            }
            // Unparseable: do not reclaim on a guess.
            None => true,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => signal_zero_says_alive(pid_t),
    }
}

/// `kill(pid, 0)`: the fallback when `/proc` is unreadable.
fn signal_zero_says_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 performs only the existence and permission check and
    // delivers nothing; `pid` is positive, so it names one process.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// State letter and start time (field 22) of a `/proc/PID/stat` line. The
/// command name (field 2) may contain spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `fields` now stands after field 3; field 22 is 19 further on.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (we(ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                        1 2 0 0 20 0 1 0 987654 1000000 100 18446744073709551615";

    #[test]
    fn parses_state_and_start_time_past_a_hostile_comm() {
        assert_eq!(parse_stat(STAT), Some(('S', 987654)));
        assert_eq!(parse_stat("1 (init) R 0"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc")]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let start = own_start_time();
        assert_ne!(start, 0, "/proc/self/stat unreadable");
        let me = std::process::id();
        assert!(is_alive(me, start));
        assert!(is_alive(me, 0));
        assert!(!is_alive(me, start + 1), "pid reuse not detected");
        assert!(!is_alive(0, 0));
    }

    #[test]
    #[cfg_attr(miri, ignore = "spawns a process")]
    fn a_killed_and_reaped_child_is_dead() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        let start = start_time(&pid.to_string());
        assert_ne!(start, 0);
        assert!(is_alive(pid, start));
        let pid_t = libc::pid_t::try_from(pid).expect("pid fits pid_t");
        assert!(signal_zero_says_alive(pid_t));
        child.kill().expect("kill sleep");
        child.wait().expect("reap sleep");
        // With its start time the check stays right even if the pid is reused.
        assert!(!is_alive(pid, start));
        assert!(!signal_zero_says_alive(pid_t), "kill(pid, 0) fallback");
    }
}
