//! The control loop: load → translate → publish when the IR changed →
//! follow the data plane's acknowledgements and re-render status.

use crate::state::Shared;
use anyhow::Context;
use shardgate_gateway::{Objects, StatusInputs, translate_with};
use shardgate_ir::Snapshot;
use shardgate_provider_files::{DEFAULT_DEBOUNCE, FileProvider};
use shardgate_snapshot::Publisher;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often acknowledgements are polled while a generation waits for
/// adoption, and when everything is adopted (to notice data-plane restarts).
const POLL_WAITING: Duration = Duration::from_millis(20);
const POLL_SETTLED: Duration = Duration::from_millis(500);

pub struct Control {
    shared: Arc<Shared>,
    publisher: Publisher,
    /// The last published snapshot with its generation.
    published: Option<Snapshot>,
    /// A translation whose publish failed, retried on the next tick.
    unpublished: Option<Snapshot>,
    programmed: bool,
    /// Reported in every Gateway's `status.addresses`.
    gateway_address: String,
}

impl Control {
    pub fn new(
        shared: Arc<Shared>,
        snapshot_path: &Path,
        gateway_address: String,
    ) -> anyhow::Result<Self> {
        let publisher = Publisher::open(snapshot_path)
            .with_context(|| format!("opening the snapshot segment {}", snapshot_path.display()))?;
        Ok(Control {
            shared,
            publisher,
            published: None,
            unpublished: None,
            programmed: false,
            gateway_address,
        })
    }

    pub async fn run(
        mut self,
        config_dir: &Path,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let mut provider = FileProvider::new(config_dir, DEFAULT_DEBOUNCE)
            .with_context(|| format!("watching {}", config_dir.display()))?;
        let objects = provider.load();
        self.apply(objects);
        tokio::pin!(shutdown);
        loop {
            let poll = if self.programmed {
                POLL_SETTLED
            } else {
                POLL_WAITING
            };
            tokio::select! {
                () = &mut shutdown => break,
                changed = provider.next() => match changed {
                    Some(objects) => self.apply(objects),
                    None => anyhow::bail!("the config watcher stopped"),
                },
                () = tokio::time::sleep(poll) => self.tick(),
            }
        }
        tracing::info!("control plane stopping");
        Ok(())
    }

    /// A new load: translate, publish if the IR changed, render status.
    fn apply(&mut self, objects: Objects) {
        let m = &self.shared.metrics;
        m.load_errors.inc_by(objects.errors.len() as u64);
        m.config_errors
            .set(i64::try_from(objects.errors.len()).unwrap_or(i64::MAX));
        let started = Instant::now();
        let t = translate_with(&objects, &self.inputs(false));
        m.translations.inc();
        m.last_translation_seconds
            .set(started.elapsed().as_secs_f64());
        let changed = match &self.published {
            Some(p) => !same_config(p, &t.snapshot),
            None => true,
        };
        if changed {
            self.unpublished = Some(t.snapshot);
            self.programmed = false;
            self.try_publish();
        }
        self.shared.view().objects = objects;
        self.refresh(true);
    }

    /// Poll acknowledgements (and retry a failed publish).
    fn tick(&mut self) {
        if self.unpublished.is_some() {
            self.try_publish();
        }
        self.refresh(false);
    }

    fn try_publish(&mut self) {
        let Some(mut snapshot) = self.unpublished.take() else {
            return;
        };
        snapshot.generation = self.publisher.current_generation() + 1;
        // The translator keeps invalid values out of the IR; should one slip
        // through, the data plane would refuse the snapshot anyway, so keep
        // the last good one in place and say why.
        if let Err(e) = shardgate_ir::validate(&snapshot) {
            tracing::error!(error = %e, "translation produced an invalid snapshot; not publishing it");
            return;
        }
        let bytes = shardgate_ir::encode(&snapshot);
        match self.publisher.publish(&bytes) {
            Ok(()) => {
                tracing::info!(
                    generation = snapshot.generation,
                    bytes = bytes.len(),
                    listeners = snapshot.listeners.len(),
                    clusters = snapshot.clusters.len(),
                    "published snapshot"
                );
                let generation = i64::try_from(snapshot.generation).unwrap_or(i64::MAX);
                self.shared.metrics.published_generation.set(generation);
                self.published = Some(snapshot);
            }
            Err(e) => {
                tracing::error!(error = %e, "publishing the snapshot failed; retrying");
                self.unpublished = Some(snapshot);
            }
        }
    }

    /// Recompute adoption; re-render status when it changed (or `force`).
    fn refresh(&mut self, force: bool) {
        let readers = self.publisher.readers();
        let adopted = match &self.published {
            Some(p) => self.unpublished.is_none() && self.publisher.all_adopted(p.generation),
            None => false,
        };
        self.shared
            .metrics
            .dataplane_readers
            .set(i64::try_from(readers.len()).unwrap_or(i64::MAX));
        let flipped = adopted != self.programmed;
        if flipped {
            match (&self.published, adopted) {
                (Some(p), true) => tracing::info!(
                    generation = p.generation,
                    "every data-plane shard adopted the snapshot"
                ),
                _ => tracing::info!("the data plane no longer serves the current snapshot"),
            }
        }
        self.programmed = adopted;
        if flipped || force {
            let inputs = self.inputs(adopted);
            let status = {
                let view = self.shared.view();
                translate_with(&view.objects, &inputs).status
            };
            let mut view = self.shared.view();
            view.status = status;
            view.published = self.published.clone();
            view.adopted = adopted;
            view.readers = readers;
        } else {
            let mut view = self.shared.view();
            view.readers = readers;
        }
    }

    fn inputs(&self, programmed: bool) -> StatusInputs {
        StatusInputs::at_now(programmed, self.shared.view().status.clone())
            .with_gateway_address(&self.gateway_address)
    }
}

/// Equal apart from the generation.
fn same_config(a: &Snapshot, b: &Snapshot) -> bool {
    a.listeners == b.listeners && a.clusters == b.clusters
}
