//! The small async runtime that drives object stores and DataFusion from blocking code.

use std::future::Future;

use crate::error::{Error, Result};

/// A current-thread Tokio runtime: the callers of this crate are blocking (a [`Source`] is
/// read record by record), so each reader or session owns one and blocks on it.
///
/// Calling into it from inside another Tokio runtime's task is not supported (Tokio refuses
/// to block a runtime thread); use a blocking thread (`spawn_blocking`) there.
///
/// [`Source`]: mergetag_model::Source
pub(crate) struct Runtime(tokio::runtime::Runtime);

impl Runtime {
    pub(crate) fn new() -> Result<Runtime> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Io {
                path: "<runtime>".into(),
                source: std::io::Error::other(
                    "mergetag-lake blocks on its own runtime; call it from a blocking thread (spawn_blocking), not from an async task",
                ),
            });
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(Runtime)
            .map_err(|source| Error::Io {
                path: "<runtime>".into(),
                source,
            })
    }

    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }
}
