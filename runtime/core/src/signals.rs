//! SIGTERM / SIGINT: the first one starts a graceful drain, a second one of
//! either kind asks for an immediate stop.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io;

/// What the process should do after a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Stop accepting, finish in-flight requests, then exit.
    Drain,
    /// Exit now.
    Immediate,
}

/// Start a thread that calls `on_signal` for SIGTERM/SIGINT: `Drain` for the
/// first, `Immediate` for every later one.
pub fn watch<F>(on_signal: F) -> io::Result<()>
where
    F: Fn(Shutdown) + Send + 'static,
{
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut seen = 0u32;
            for sig in signals.forever() {
                seen += 1;
                tracing::info!(signal = sig, "shutdown signal");
                on_signal(if seen == 1 {
                    Shutdown::Drain
                } else {
                    Shutdown::Immediate
                });
            }
        })?;
    Ok(())
}

/// Ask process `pid` to drain (SIGTERM). False when it does not exist.
pub fn terminate(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

/// Have the kernel send this process SIGTERM (a drain) when its parent
/// dies, e.g. when `shardgate up` is killed with SIGKILL. Returns false when
/// `parent` is already gone (then no signal will ever come).
///
/// The signal follows the *thread* that forked this process; `up` forks
/// from a long-lived runtime worker, so that is its whole lifetime.
pub fn terminate_with_parent(parent: u32) -> io::Result<bool> {
    let sig = libc::c_ulong::try_from(libc::SIGTERM).unwrap_or(15);
    // SAFETY: PR_SET_PDEATHSIG takes a signal number by value and touches no
    // memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid has no preconditions. Checked after the prctl, so a
    // parent that died before it is still noticed.
    let now = unsafe { libc::getppid() };
    Ok(u32::try_from(now).is_ok_and(|p| p == parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminate_stops_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        assert!(terminate(child.id()));
        let status = child.wait().expect("wait");
        assert!(!status.success());
        assert!(!terminate(u32::MAX));
    }
}
