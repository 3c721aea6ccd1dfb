//! `shardgate-lab fixed-server`: the trivial fixed-response server.

use crate::args::plan_from_cpus;
use clap::Args;
use shardgate_loadgen::FixedServer;
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
}

pub fn run(a: FixedServerArgs) -> anyhow::Result<ExitCode> {
    let plan = plan_from_cpus(a.cpus.as_deref())?;
    let server = FixedServer::start(a.listen, &plan, a.driver)?;
    println!("fixed-server listening on {}", server.addr);
    server.wait();
    Ok(ExitCode::SUCCESS)
}
