//! Host inspection and tuning for ingress nodes: `shardgate tune check`
//! reports kernel settings that limit a proxy that owns every core,
//! `plan` prints the writes that would fix them, `apply` performs them.
//!
//! Every setting is read from and written to a file under a root directory
//! (`/` on a real host), so the whole logic is tested on a fake tree.
#![forbid(unsafe_code)]

mod rules;

pub use rules::{Rule, Want, rules};

use std::fmt;
use std::path::{Path, PathBuf};

/// The outcome of one rule on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub name: String,
    /// The file that holds the setting (under the root).
    pub path: PathBuf,
    /// `None` when the file does not exist (kernel without the setting).
    pub current: Option<String>,
    pub recommended: String,
    pub ok: bool,
    pub why: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.ok { "ok  " } else { "TUNE" };
        let current = self.current.as_deref().unwrap_or("(absent)");
        write!(
            f,
            "{state} {:<40} current {:<18} recommended {:<18} {}",
            self.name, current, self.recommended, self.why
        )
    }
}

/// One write that `apply` performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: PathBuf,
    pub from: String,
    pub to: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Read every rule's setting under `root` and judge it.
pub fn check(root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules() {
        for path in rule.paths(root) {
            let current = std::fs::read_to_string(&path).ok().map(|s| normalise(&s));
            let ok = match &current {
                Some(v) => rule.want.satisfied_by(v),
                // A setting this kernel does not have cannot limit it.
                None => true,
            };
            let name = match path.strip_prefix(root) {
                Ok(rel) if rule.per_cpu => format!("{} ({})", rule.name, cpu_of(rel)),
                _ => rule.name.to_string(),
            };
            out.push(Finding {
                name,
                path,
                current,
                recommended: rule.want.recommended(),
                ok,
                why: rule.why,
            });
        }
    }
    out
}

/// The writes that would make every failing finding pass.
pub fn plan(findings: &[Finding]) -> Vec<Write> {
    findings
        .iter()
        .filter(|f| !f.ok)
        .filter_map(|f| {
            f.current.as_ref().map(|from| Write {
                path: f.path.clone(),
                from: from.clone(),
                to: f.recommended.clone(),
            })
        })
        .collect()
}

/// Perform `writes`; every write is attempted, errors are returned per write.
pub fn apply(writes: &[Write]) -> Vec<Result<&Write, TuneError>> {
    writes
        .iter()
        .map(|w| {
            std::fs::write(&w.path, format!("{}\n", w.to))
                .map(|()| w)
                .map_err(|source| TuneError::Write {
                    path: w.path.clone(),
                    source,
                })
        })
        .collect()
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cpu_of(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .find(|c| {
            c.starts_with("cpu") && c[3..].chars().all(|ch| ch.is_ascii_digit()) && c.len() > 3
        })
        .map_or_else(|| "?".into(), |c| c.into_owned())
}

#[cfg(test)]
mod tests;
