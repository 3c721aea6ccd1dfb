//! What the control loop knows, shared with the admin server, and the
//! control plane's own metrics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use shardgate_gateway::{ObjectStatus, Objects};
use shardgate_ir::Snapshot;
use shardgate_snapshot::ReaderStatus;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

/// The latest view, replaced as a whole by the control loop.
#[derive(Debug, Default)]
pub struct View {
    /// The objects of the last load (last good content per file).
    pub objects: Objects,
    /// Statuses rendered for `objects`.
    pub status: Vec<ObjectStatus>,
    /// The snapshot this process published last, with its generation.
    pub published: Option<Snapshot>,
    /// Every data-plane shard has adopted `published`.
    pub adopted: bool,
    /// Data-plane processes and what their shards serve.
    pub readers: Vec<ReaderStatus>,
}

/// Control-plane metrics.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub published_generation: Gauge,
    pub translations: Counter,
    pub load_errors: Counter,
    pub config_errors: Gauge,
    pub last_translation_seconds: Gauge<f64, AtomicU64>,
    pub dataplane_readers: Gauge,
}

impl Metrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "shardgate_controlplane_published_generation",
            "Generation of the last snapshot published by this control plane",
            self.published_generation.clone(),
        );
        registry.register(
            "shardgate_controlplane_translations",
            "Translations of the configuration into a snapshot",
            self.translations.clone(),
        );
        registry.register(
            "shardgate_controlplane_load_errors",
            "Errors found while loading configuration (per load, summed)",
            self.load_errors.clone(),
        );
        registry.register(
            "shardgate_controlplane_config_errors",
            "Errors in the configuration as last loaded",
            self.config_errors.clone(),
        );
        registry.register(
            "shardgate_controlplane_last_translation_seconds",
            "Duration of the last translation",
            self.last_translation_seconds.clone(),
        );
        registry.register(
            "shardgate_controlplane_dataplane_readers",
            "Data-plane processes attached to the snapshot segment",
            self.dataplane_readers.clone(),
        );
    }
}

/// Shared between the control loop and the admin server.
#[derive(Debug)]
pub struct Shared {
    view: Mutex<View>,
    pub metrics: Metrics,
    pub registry: Registry,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        let metrics = Metrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        Arc::new(Shared {
            view: Mutex::new(View::default()),
            metrics,
            registry,
        })
    }

    /// The view; a poisoned lock (a panic elsewhere) still yields the data,
    /// which is always replaced whole and so never half-written.
    pub fn view(&self) -> MutexGuard<'_, View> {
        self.view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
