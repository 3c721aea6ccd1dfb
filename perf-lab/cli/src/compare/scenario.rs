//! The scenarios `compare` can run.

/// A load shape, run identically against every proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Small GETs (13-byte body) on kept-alive client connections,
    /// closed loop: the plain request-forwarding cost.
    SmallGetKeepalive,
    /// Small GETs, a new client connection per request (`Connection:
    /// close`), closed loop: accept and connection set-up cost; upstream
    /// connections stay kept-alive.
    NewConnection,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::SmallGetKeepalive => "small-get-keepalive",
            Scenario::NewConnection => "new-connection",
        }
    }

    /// Client connections (default; `--connections` overrides).
    pub fn connections(self) -> usize {
        match self {
            Scenario::SmallGetKeepalive => 32,
            Scenario::NewConnection => 16,
        }
    }

    pub fn new_conn(self) -> bool {
        self == Scenario::NewConnection
    }

    pub fn path(self) -> &'static str {
        "/"
    }
}
