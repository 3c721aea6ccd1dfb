//! Command-line arguments (the contract the lab and CI rely on).

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shardgate_proxy::{AdminAddr, DataPlaneConfig, Settings};
use shardgate_runtime::{DriverChoice, ShardPlan};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "shardgate",
    version,
    about = "Kubernetes Gateway API on a shard-per-core io_uring data plane"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Control plane on a YAML directory plus a supervised data-plane child.
    Up(UpArgs),
    /// The control plane alone.
    Controlplane(ControlplaneArgs),
    /// The data plane alone: one pinned shard per core.
    Dataplane(DataplaneArgs),
    /// The conformance echo backend.
    Echo(EchoArgs),
    /// Print every Gateway API object with its status, as YAML.
    Status(StatusArgs),
    /// Inspect and tune the host for an ingress node.
    Tune(TuneArgs),
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: TuneCommand,
    /// Root of the host's /proc and /sys (a different root inspects a copy).
    #[arg(long, default_value = "/", global = true)]
    pub root: String,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum TuneCommand {
    /// Report settings that limit a proxy owning every core; fails if any does.
    Check,
    /// Print the writes `apply` would perform.
    Plan,
    /// Perform them (root needed on a real host).
    Apply,
}

/// Shard placement, shared by `up` and `dataplane`.
#[derive(Debug, Args, Clone)]
pub struct ShardArgs {
    /// Number of shards (default: one per CPU in --cpus, or per available CPU).
    #[arg(long)]
    pub shards: Option<usize>,
    /// CPUs to pin shards to, e.g. `0,2-5`.
    #[arg(long)]
    pub cpus: Option<String>,
    /// Event driver: auto (io_uring, else epoll), io_uring or epoll.
    #[arg(long, default_value = "auto")]
    pub driver: DriverChoice,
    /// Longest graceful drain after SIGTERM/SIGINT, e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Bind every listener on this address instead of the Gateway's
    /// (e.g. 127.0.0.1 for a local run).
    #[arg(long)]
    pub bind_ip: Option<IpAddr>,
    /// Close a keep-alive client connection idle this long between requests.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub client_idle_timeout: Duration,
    /// Deadline for a backend's response head when the route sets no
    /// timeout (504 beyond it).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub response_timeout: Duration,
    /// Close a TLS client connection whose handshake takes longer.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub tls_handshake_timeout: Duration,
    /// Bytes read per I/O and the initial size of each of a connection's
    /// buffers (`16KiB`, `64KiB`, or bytes; 4 KiB to 1 MiB). Larger moves
    /// big bodies in fewer operations at the cost of memory per connection.
    #[arg(long, default_value = "16KiB", value_parser = parse_buffer_size)]
    pub io_buffer: usize,
}

/// `N`, `NKiB` or `NMiB`, between 4 KiB and 1 MiB.
fn parse_buffer_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 16KiB, 65536)"))?;
    let bytes = match unit {
        "" | "B" => Some(n),
        "KiB" => n.checked_mul(1024),
        "MiB" => n.checked_mul(1024 * 1024),
        other => return Err(format!("{s:?}: unknown unit {other:?} (B, KiB or MiB)")),
    };
    match bytes {
        Some(b) if (4 * 1024..=1024 * 1024).contains(&b) => Ok(b),
        _ => Err(format!("{s:?} is outside 4KiB..1MiB")),
    }
}

impl ShardArgs {
    pub fn plan(&self) -> anyhow::Result<ShardPlan> {
        let cpus = self
            .cpus
            .as_deref()
            .map(shardgate_runtime::parse_cpu_list)
            .transpose()?;
        let available = shardgate_runtime::cpus::available_cpus();
        Ok(shardgate_runtime::plan_shards(
            self.shards,
            cpus.as_deref(),
            &available,
        )?)
    }

    /// The same options as `dataplane` flags, for the child of `up`.
    pub fn to_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(n) = self.shards {
            f.extend(["--shards".into(), n.to_string()]);
        }
        if let Some(c) = &self.cpus {
            f.extend(["--cpus".into(), c.clone()]);
        }
        let driver = match self.driver {
            DriverChoice::Auto => "auto",
            DriverChoice::IoUring => "io_uring",
            DriverChoice::Epoll => "epoll",
        };
        f.extend(["--driver".into(), driver.into()]);
        f.extend([
            "--drain-timeout".into(),
            format!("{}ms", self.drain_timeout.as_millis()),
        ]);
        if let Some(ip) = self.bind_ip {
            f.extend(["--bind-ip".into(), ip.to_string()]);
        }
        f.extend([
            "--client-idle-timeout".into(),
            format!("{}ms", self.client_idle_timeout.as_millis()),
            "--response-timeout".into(),
            format!("{}ms", self.response_timeout.as_millis()),
            "--tls-handshake-timeout".into(),
            format!("{}ms", self.tls_handshake_timeout.as_millis()),
            "--io-buffer".into(),
            self.io_buffer.to_string(),
        ]);
        f
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory of Gateway API YAML (watched for changes).
    #[arg(long)]
    pub config: PathBuf,
    /// Admin endpoint: /ready, /metrics, /status, /config_dump.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// Shared-memory segment for snapshots (default: /dev/shm/shardgate-<pid>).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// The address clients reach the Gateways at (status.addresses);
    /// default: --bind-ip, else 127.0.0.1.
    #[arg(long)]
    pub gateway_address: Option<String>,
    #[command(flatten)]
    pub shards: ShardArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Provider {
    /// A directory of YAML files.
    Files,
}

#[derive(Debug, Args)]
pub struct ControlplaneArgs {
    #[arg(long, value_enum, default_value = "files")]
    pub provider: Provider,
    /// Directory of Gateway API YAML (with --provider files).
    #[arg(long)]
    pub config: PathBuf,
    /// Shared-memory segment to publish snapshots to.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Admin endpoint address.
    #[arg(long)]
    pub admin: Option<SocketAddr>,
    /// The data plane's admin unix socket, folded into /metrics and /ready.
    #[arg(long)]
    pub dataplane_admin: Option<PathBuf>,
    /// The address clients reach the Gateways at (status.addresses);
    /// default 127.0.0.1.
    #[arg(long)]
    pub gateway_address: Option<String>,
}

impl ControlplaneArgs {
    pub fn config(&self) -> shardgate_controlplane::Config {
        match self.provider {
            Provider::Files => shardgate_controlplane::Config {
                config_dir: self.config.clone(),
                snapshot_path: self.snapshot.clone(),
                admin: self.admin,
                dataplane_admin: self.dataplane_admin.clone(),
                gateway_address: self.gateway_address.clone(),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct DataplaneArgs {
    /// The control plane's shared-memory segment.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Admin endpoint (TCP): /ready, /metrics, /config_dump.
    #[arg(long)]
    pub admin: Option<SocketAddr>,
    /// Admin endpoint on a unix socket (used by `up`).
    #[arg(long)]
    pub admin_socket: Option<PathBuf>,
    /// Drain when process PID (the `up` that started us) dies.
    #[arg(long, hide = true, value_name = "PID")]
    pub exit_with_parent: Option<u32>,
    #[command(flatten)]
    pub shards: ShardArgs,
}

impl DataplaneArgs {
    pub fn config(&self) -> anyhow::Result<DataPlaneConfig> {
        let plan = self.shards.plan().context("choosing shard cores")?;
        let mut admin = Vec::new();
        admin.extend(self.admin.map(AdminAddr::Tcp));
        admin.extend(self.admin_socket.clone().map(AdminAddr::Unix));
        Ok(DataPlaneConfig {
            snapshot: self.snapshot.clone(),
            plan,
            driver: self.shards.driver,
            admin,
            drain_timeout: self.shards.drain_timeout,
            settings: Settings {
                client_idle_timeout: self.shards.client_idle_timeout,
                response_timeout: self.shards.response_timeout,
                tls_handshake_timeout: self.shards.tls_handshake_timeout,
                buffer_size: self.shards.io_buffer,
                ..Settings::default()
            },
            bind_ip: self.shards.bind_ip,
        })
    }
}

#[derive(Debug, Args)]
pub struct EchoArgs {
    #[arg(long)]
    pub listen: SocketAddr,
    #[arg(long)]
    pub pod: String,
    #[arg(long)]
    pub namespace: String,
    #[arg(long)]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The admin endpoint of `shardgate up` or `shardgate controlplane`.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
}

pub use shardgate_runtime::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flags_round_trip() {
        let cli = Cli::try_parse_from([
            "shardgate",
            "up",
            "--config",
            "d",
            "--shards",
            "3",
            "--cpus",
            "0-1",
            "--driver",
            "epoll",
            "--drain-timeout",
            "5s",
            "--response-timeout",
            "1500ms",
            "--io-buffer",
            "64KiB",
        ])
        .expect("valid");
        let Command::Up(up) = cli.command else {
            panic!("parsed as another command");
        };
        let mut argv = vec![
            "shardgate".to_string(),
            "dataplane".into(),
            "--snapshot".into(),
            "p".into(),
        ];
        argv.extend(up.shards.to_flags());
        let cli = Cli::try_parse_from(argv).expect("child flags parse");
        let Command::Dataplane(dp) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(dp.shards.shards, Some(3));
        assert_eq!(dp.shards.cpus.as_deref(), Some("0-1"));
        assert_eq!(dp.shards.driver, DriverChoice::Epoll);
        assert_eq!(dp.shards.drain_timeout, Duration::from_secs(5));
        assert_eq!(dp.shards.response_timeout, Duration::from_millis(1500));
        assert_eq!(dp.shards.client_idle_timeout, Duration::from_secs(60));
        let cfg = dp.config().expect("config");
        assert_eq!(cfg.settings.response_timeout, Duration::from_millis(1500));
        assert_eq!(cfg.settings.buffer_size, 64 * 1024);
    }

    #[test]
    fn buffer_sizes() {
        assert_eq!(parse_buffer_size("16KiB"), Ok(16 * 1024));
        assert_eq!(parse_buffer_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_buffer_size("65536"), Ok(65536));
        for bad in ["1KiB", "2MiB", "16kb", "", "KiB", "99999999999999999999MiB"] {
            assert!(parse_buffer_size(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
