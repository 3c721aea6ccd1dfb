//! Shared (not process-private) futex wait and wake on a word of the mapped
//! control segment. The kernel keys a shared futex by the file's inode and
//! offset, so processes with different mappings of the same file meet.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// How a [`wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A `wake` reached this waiter (or a spurious wake-up).
    Woken,
    /// The word no longer held `expected` when the kernel looked.
    Changed,
    TimedOut,
    /// A signal arrived; the caller re-checks and waits again.
    Interrupted,
}

/// Sleep while `*word == expected`, at most `timeout`.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) -> Wake {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9, so it fits a c_long on every target.
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT reads the u32 at the given address, which is a live
    // AtomicU32 borrowed for the duration of the call; the timespec lives on
    // this stack frame; the remaining arguments are ignored by FUTEX_WAIT.
    // The kernel writes nothing into our memory.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    if rc == 0 {
        return Wake::Woken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Wake::Changed,
        Some(libc::ETIMEDOUT) => Wake::TimedOut,
        // EINTR, and anything unexpected: the caller's loop re-checks the
        // state and the deadline, so treating it as an interruption is safe.
        _ => Wake::Interrupted,
    }
}

/// Wake every process and thread sleeping on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key (no memory is read
    // or written through it); the word is a live AtomicU32 borrowed for the
    // call. The timeout, second address and value arguments are unused.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[test]
    #[cfg_attr(miri, ignore = "futex syscall")]
    fn wait_returns_at_once_when_the_word_differs() {
        let word = AtomicU32::new(5);
        assert_eq!(wait(&word, 4, Duration::from_secs(30)), Wake::Changed);
    }

    #[test]
    #[cfg_attr(miri, ignore = "futex syscall")]
    fn wait_times_out_without_a_wake() {
        let word = AtomicU32::new(1);
        let outcome = wait(&word, 1, Duration::from_millis(5));
        assert!(
            matches!(outcome, Wake::TimedOut | Wake::Interrupted),
            "{outcome:?}"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "futex syscall")]
    fn wake_reaches_a_sleeping_thread() {
        let word = Arc::new(AtomicU32::new(0));
        let w = Arc::clone(&word);
        // A long timeout: if the wake were lost this would report TimedOut
        // (after 60 s), never a false pass.
        let waiter = std::thread::spawn(move || {
            loop {
                match wait(&w, 0, Duration::from_secs(60)) {
                    Wake::Interrupted => continue,
                    Wake::Woken if w.load(Ordering::Acquire) == 0 => continue,
                    other => return other,
                }
            }
        });
        word.store(1, Ordering::Release);
        wake_all(&word);
        let outcome = waiter.join().expect("waiter thread");
        assert!(
            matches!(outcome, Wake::Woken | Wake::Changed),
            "{outcome:?}"
        );
    }
}
