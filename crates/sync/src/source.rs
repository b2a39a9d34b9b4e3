//! The configured sources, dispatched by kind.

use tenax_model::SourceKind;
use tenax_source::{Result, SourceError, SourceEvent, SourceOutcome, SyncRequest};
use tenax_source_ot::OtSource;
use tenax_source_sc::ScSource;
use tenax_source_vm::VmSource;
use tokio::sync::mpsc;

use crate::config::SourceConfig;

/// A ready-to-run source of any kind.
#[derive(Debug, Clone)]
pub enum AnySource {
    /// Tenable Vulnerability Management.
    Vm(VmSource),
    /// Tenable Security Center.
    Sc(ScSource),
    /// Tenable OT Security.
    Ot(OtSource),
}

impl AnySource {
    /// Validates a config entry and builds the source (HTTP client included).
    pub fn build(cfg: &SourceConfig) -> Result<AnySource> {
        match cfg {
            SourceConfig::Vm(c) => {
                let s = c.resolve().map_err(SourceError::Config)?;
                Ok(AnySource::Vm(VmSource::new(s)?))
            }
            SourceConfig::Sc(c) => {
                let s = c.resolve().map_err(SourceError::Config)?;
                Ok(AnySource::Sc(ScSource::new(s)?))
            }
            SourceConfig::Ot(c) => {
                let s = c.resolve().map_err(SourceError::Config)?;
                Ok(AnySource::Ot(OtSource::new(s)?))
            }
        }
    }

    /// Source name.
    pub fn name(&self) -> &str {
        match self {
            AnySource::Vm(s) => s.name(),
            AnySource::Sc(s) => s.name(),
            AnySource::Ot(s) => s.name(),
        }
    }

    /// Product.
    pub fn kind(&self) -> SourceKind {
        match self {
            AnySource::Vm(_) => SourceKind::Vm,
            AnySource::Sc(_) => SourceKind::Sc,
            AnySource::Ot(_) => SourceKind::Ot,
        }
    }

    /// Checkpoint keys the source reads.
    pub fn checkpoint_keys(&self) -> &'static [&'static str] {
        match self {
            AnySource::Vm(_) => &[
                tenax_source_vm::WINDOW_KEY,
                "vm.export.assets",
                "vm.export.assets_deleted",
                "vm.export.assets_terminated",
                "vm.export.vulns",
            ],
            AnySource::Sc(_) => &[tenax_source_sc::WINDOW_KEY],
            AnySource::Ot(_) => &[tenax_source_ot::ASSETS_KEY, tenax_source_ot::EVENTS_KEY],
        }
    }

    /// The checkpoint key whose presence makes a run incremental.
    pub fn window_key(&self) -> &'static str {
        match self {
            AnySource::Vm(_) => tenax_source_vm::WINDOW_KEY,
            AnySource::Sc(_) => tenax_source_sc::WINDOW_KEY,
            AnySource::Ot(_) => tenax_source_ot::ASSETS_KEY,
        }
    }

    /// Read-only connection test.
    pub async fn check(&self) -> Result<Vec<String>> {
        match self {
            AnySource::Vm(s) => s.check().await,
            AnySource::Sc(s) => s.check().await,
            AnySource::Ot(s) => s.check().await,
        }
    }

    /// One sync.
    pub async fn run(
        &self,
        req: SyncRequest,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<SourceOutcome> {
        match self {
            AnySource::Vm(s) => s.run(req, tx).await,
            AnySource::Sc(s) => s.run(req, tx).await,
            AnySource::Ot(s) => s.run(req, tx).await,
        }
    }
}
