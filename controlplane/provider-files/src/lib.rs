//! The file provider: Gateway API objects (and the Services and
//! EndpointSlices behind them) from a directory of ordinary Kubernetes YAML,
//! reloaded whenever the directory changes.
//!
//! * [`Loader`] reads the directory recursively (`.yaml` / `.yml`, several
//!   documents per file) into [`shardgate_gateway::Objects`] plus errors.
//! * [`Watcher`] reports changes, debounced, on tokio.
//! * [`FileProvider`] ties the two together: `load()` once, then `next()`
//!   for every change.
//!
//! A bad edit must not take routes down: when a file stops being valid YAML,
//! the loader keeps serving the objects of the last version of that file
//! that parsed, and reports the error. A file that parses but holds some
//! invalid objects contributes its valid ones (the invalid ones are
//! reported). A deleted file contributes nothing.
#![forbid(unsafe_code)]

mod loader;
mod watcher;

pub use loader::Loader;
pub use watcher::{DEFAULT_DEBOUNCE, Watcher};

use shardgate_gateway::Objects;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the provider could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("config directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot watch config directory {path}: {source}")]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
}

/// A watched directory of YAML.
pub struct FileProvider {
    loader: Loader,
    watcher: Watcher,
}

impl FileProvider {
    /// Watch `root` (which must exist and be a directory) with the given
    /// debounce window.
    pub fn new(root: &Path, debounce: Duration) -> Result<Self, ProviderError> {
        let meta = std::fs::metadata(root).map_err(|source| ProviderError::Dir {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ProviderError::Dir {
                path: root.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        // Watch before the first load, so that no change falls in between.
        let watcher = Watcher::new(root, debounce)?;
        Ok(FileProvider {
            loader: Loader::new(root),
            watcher,
        })
    }

    /// Read the directory now.
    pub fn load(&mut self) -> Objects {
        self.loader.load()
    }

    /// Wait for the next change and read the directory again. `None` when
    /// the watcher has stopped.
    pub async fn next(&mut self) -> Option<Objects> {
        self.watcher.changed().await?;
        Some(self.loader.load())
    }
}
