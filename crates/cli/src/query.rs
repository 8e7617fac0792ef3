//! `mergetag query --config pipeline.toml "SELECT ..."` (feature `lake`): runs the pipeline
//! (writing nothing), registers its tables (`profiles`, `provenance`, `traits`, `events`,
//! `segments`, `quarantine`, `members`, `pairs`, `clusters`, `merge_log`, `audiences`; see
//! `RunOutput::tables` for their columns) and the file's `[semantic.views]` with DataFusion,
//! and prints the query's result.

use std::path::Path;

use mergetag::lake::OutputFormat;
use mergetag::pipeline::{Pipeline, PipelineConfig};

use crate::Progress;
use crate::error::{Error, Result};

/// Runs the pipeline file at `path` and the read-only query `sql` over its result, printed as
/// `format` says (a table, CSV or JSON Lines).
///
/// # Errors
///
/// [`Error::Pipeline`] with the facade's error: a bad configuration (with its line), a view
/// that does not plan (naming it), a query that fails (with DataFusion's message).
pub fn run_query(
    path: &Path,
    sql: &str,
    format: OutputFormat,
    progress: &Progress,
) -> Result<String> {
    let config = PipelineConfig::load(path).map_err(Error::Pipeline)?;
    progress.step(format!("loading {}", path.display()));
    let pipeline = Pipeline::from_config(&config).map_err(Error::Pipeline)?;
    let output = pipeline.run(|p| progress.update(crate::run::progress_message(&p), p.done));
    progress.finish();
    let output = output.map_err(Error::Pipeline)?;
    let layer = output
        .semantic_layer(config.semantic.as_ref())
        .map_err(Error::Pipeline)?;
    layer
        .query_text(sql, format)
        .map_err(|e| Error::Pipeline(mergetag::Error::Lake(e)))
}
