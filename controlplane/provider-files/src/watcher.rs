//! Debounced change notifications for a directory tree (inotify on Linux).

use crate::ProviderError;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// The debounce window used when none is configured.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(50);

/// Reports "something changed under the root", at most once per debounce
/// window. Watches recursively, so directories created later are covered;
/// editors that write a temporary file and rename it over the original show
/// up as a rename, which counts as a change like any other.
pub struct Watcher {
    rx: mpsc::UnboundedReceiver<()>,
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl Watcher {
    pub fn new(root: &Path, debounce: Duration) -> Result<Self, ProviderError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let handler = move |result: DebounceEventResult| {
            let relevant = match result {
                Ok(events) => events.iter().any(|e| relevant(&e.kind)),
                Err(errors) => {
                    for e in errors {
                        tracing::warn!(error = %e, "file watcher error; reloading to be safe");
                    }
                    true
                }
            };
            if relevant {
                // The receiver is gone only when the provider is dropped.
                let _ = tx.send(());
            }
        };
        let watch_err = |source| ProviderError::Watch {
            path: root.to_path_buf(),
            source,
        };
        let mut debouncer = new_debouncer(debounce, None, handler).map_err(watch_err)?;
        debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(watch_err)?;
        Ok(Watcher {
            rx,
            _debouncer: debouncer,
        })
    }

    /// Wait for the next change; changes that queued up meanwhile are folded
    /// into this one. `None` when the watcher thread is gone.
    pub async fn changed(&mut self) -> Option<()> {
        self.rx.recv().await?;
        while self.rx.try_recv().is_ok() {}
        Some(())
    }
}

/// Opening or reading a file (which the loader itself does) is not a change.
fn relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}
