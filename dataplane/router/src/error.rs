//! Why a snapshot cannot be compiled into a routing table.

/// A snapshot the data plane cannot serve exactly. Every variant names the
/// listener and, where there is one, the virtual host and route at fault.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The structural validation of the IR failed.
    #[error("snapshot rejected: {0}")]
    Invalid(#[from] shardgate_ir::IrError),

    /// A regular expression does not compile (syntax, or over the size limit).
    #[error(transparent)]
    Regex(Box<RegexError>),

    /// Two virtual hosts claim the same hostname, so which routes apply (and
    /// in which order) is undefined; the control plane must merge them.
    #[error(
        "listener {listener}: hostname {hostname:?} is claimed by virtual hosts {first} and {second}"
    )]
    DuplicateHostname {
        listener: String,
        hostname: String,
        first: String,
        second: String,
    },

    /// Two virtual hosts without hostnames: both would match every host.
    #[error("listener {listener}: virtual hosts {first} and {second} both match any host")]
    DuplicateCatchAll {
        listener: String,
        first: String,
        second: String,
    },

    /// A hostname that no request host can ever match after normalisation.
    #[error(
        "listener {listener}, virtual host {virtual_host}: hostname {hostname:?} can never match: {reason}"
    )]
    UnmatchableHostname {
        listener: String,
        virtual_host: String,
        hostname: String,
        reason: &'static str,
    },

    /// The conditions of one virtual host outgrow the table's 32-bit offsets.
    #[error("listener {listener}, virtual host {virtual_host}: too much {what} for one table")]
    TooLarge {
        listener: String,
        virtual_host: String,
        what: &'static str,
    },

    /// More route matches in one virtual host than the table can number.
    #[error(
        "listener {listener}, virtual host {virtual_host}: {count} route matches exceed the limit of {limit}"
    )]
    TooManyMatches {
        listener: String,
        virtual_host: String,
        count: usize,
        limit: usize,
    },
}

/// A regular expression of a route that does not compile.
#[derive(Debug, thiserror::Error)]
#[error(
    "listener {listener}, virtual host {virtual_host}, route {route}: \
     {field} regex {pattern:?} does not compile: {source}"
)]
pub struct RegexError {
    pub listener: String,
    pub virtual_host: String,
    pub route: String,
    /// Which condition: `path`, `header "name"`, `query parameter "name"`.
    pub field: String,
    pub pattern: String,
    pub source: regex::Error,
}
