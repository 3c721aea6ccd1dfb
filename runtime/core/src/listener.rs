//! Listening sockets: one SO_REUSEPORT socket per shard per port, so the
//! kernel spreads connections across shards and no accept crosses cores.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// Listen backlog per shard socket.
pub const BACKLOG: i32 = 4096;

/// Bind a non-blocking TCP listener with SO_REUSEADDR and SO_REUSEPORT.
pub fn bind_reuseport(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sockets_share_a_port() {
        let a = bind_reuseport("127.0.0.1:0".parse().expect("addr")).expect("first");
        let addr = a.local_addr().expect("addr");
        let b = bind_reuseport(addr).expect("second on the same port");
        assert_eq!(b.local_addr().expect("addr"), addr);
        // A plain socket without SO_REUSEPORT cannot join them.
        assert!(std::net::TcpListener::bind(addr).is_err());
    }
}
