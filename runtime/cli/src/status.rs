//! `shardgate status`: fetch `/status` from an admin endpoint and print it.

use crate::args::StatusArgs;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub fn run(a: &StatusArgs) -> anyhow::Result<()> {
    let (status, body) = get(a.admin, "/status")?;
    if status != 200 {
        bail!("admin endpoint {} answered {status}: {body}", a.admin);
    }
    print!("{body}");
    Ok(())
}

/// A plain HTTP/1.1 GET with `Connection: close`.
pub fn get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to the admin endpoint {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .with_context(|| format!("reading the answer of {addr}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("{addr} sent no complete HTTP response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("{addr} sent a bad status line"))?;
    Ok((status, body.to_string()))
}
