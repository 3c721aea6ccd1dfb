//! `shardgate-lab fixed-server`: the trivial fixed-response server.

use crate::args::plan_from_cpus;
use anyhow::Context;
use clap::Args;
use shardgate_loadgen::FixedServer;
use shardgate_loadgen::fixed::{DEFAULT_BODY, Expect, FixedConfig};
use shardgate_runtime::DriverChoice;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FixedServerArgs {
    /// Address to listen on (port 0 picks one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub listen: SocketAddr,
    /// CPUs to run on, one shard each (default: one unpinned shard).
    #[arg(long)]
    pub cpus: Option<String>,
    /// Event driver: auto, io_uring or epoll.
    #[arg(long, default_value = "auto")]
    pub driver: DriverChoice,
    /// Response body size in bytes (over gRPC: the message size).
    #[arg(long, default_value_t = DEFAULT_BODY)]
    pub body_size: usize,
    /// `NAME:VALUE` every request must carry (else 400, or grpc-status 3);
    /// repeatable.
    #[arg(long = "expect-header")]
    pub expect_header: Vec<String>,
    /// A header no request may carry; repeatable.
    #[arg(long = "forbid-header")]
    pub forbid_header: Vec<String>,
}

fn expect_of(a: &FixedServerArgs) -> anyhow::Result<Expect> {
    let present = a
        .expect_header
        .iter()
        .map(|h| {
            let (n, v) = h
                .split_once(':')
                .with_context(|| format!("--expect-header {h:?}: want NAME:VALUE"))?;
            Ok((n.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Expect {
        present,
        absent: a
            .forbid_header
            .iter()
            .map(|n| n.trim().to_ascii_lowercase())
            .collect(),
    })
}

pub fn run(a: FixedServerArgs) -> anyhow::Result<ExitCode> {
    let plan = plan_from_cpus(a.cpus.as_deref())?;
    let config = FixedConfig {
        body: a.body_size,
        expect: expect_of(&a)?,
    };
    let server = FixedServer::start_with(a.listen, &plan, a.driver, config)?;
    println!("fixed-server listening on {}", server.addr);
    server.wait();
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_expectations_parse() {
        let a = FixedServerArgs {
            listen: "127.0.0.1:0".parse().expect("addr"),
            cpus: None,
            driver: DriverChoice::Auto,
            body_size: 1,
            expect_header: vec!["X-Lab-Set: set".into()],
            forbid_header: vec!["X-Lab-Remove".into()],
        };
        let e = expect_of(&a).expect("valid");
        assert_eq!(e.present, vec![("x-lab-set".into(), "set".into())]);
        assert_eq!(e.absent, vec!["x-lab-remove".to_string()]);
        let bad = FixedServerArgs {
            expect_header: vec!["novalue".into()],
            ..a
        };
        assert!(expect_of(&bad).is_err());
    }
}
