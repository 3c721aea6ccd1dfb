//! Socket probes that the async runtimes do not offer.

use std::os::fd::RawFd;

/// Whether a pooled, idle connection has been closed (or reset) by its peer,
/// without blocking and without consuming data: one `recv(MSG_PEEK |
/// MSG_DONTWAIT)`. A connection with unread bytes is also unusable for a new
/// request (the peer sent something unsolicited), so it counts as closed.
pub fn peer_closed(fd: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: `byte` is a valid, writable 1-byte buffer for the duration of
    // the call; MSG_DONTWAIT makes the call non-blocking; an invalid fd only
    // yields EBADF, which we treat as closed.
    let n = unsafe {
        libc::recv(
            fd,
            (&raw mut byte).cast::<libc::c_void>(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        !matches!(err.raw_os_error(), Some(libc::EAGAIN))
    } else {
        true
    }
}

/// Shut down the reading side of a socket so that a pending read on it
/// completes with end-of-file; used to wake idle keep-alive connections
/// during a drain. Errors (already closed) are ignored.
pub fn shutdown_read(fd: RawFd) {
    // SAFETY: shutdown(2) takes a plain descriptor and no memory; on a stale
    // or invalid descriptor it only returns an error, which is ignored.
    let _ = unsafe { libc::shutdown(fd, libc::SHUT_RD) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn detects_open_closed_and_unsolicited() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let c = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (mut s, _) = l.accept().expect("accept");
        assert!(!peer_closed(c.as_raw_fd()), "fresh connection looks closed");
        s.write_all(b"x").expect("write");
        s.flush().expect("flush");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(peer_closed(c.as_raw_fd()), "unsolicited bytes not noticed");
        let c2 = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (s2, _) = l.accept().expect("accept");
        drop(s2);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(peer_closed(c2.as_raw_fd()), "closed connection not noticed");
        assert!(peer_closed(-1));

        // shutdown_read makes a blocked reader see end-of-file.
        let c3 = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (_s3, _) = l.accept().expect("accept");
        let fd = c3.as_raw_fd();
        let reader = std::thread::spawn(move || {
            let mut c3 = c3;
            let mut b = [0u8; 8];
            std::io::Read::read(&mut c3, &mut b).expect("read")
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        shutdown_read(fd);
        assert_eq!(reader.join().expect("reader"), 0);
    }
}
