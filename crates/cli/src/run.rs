//! `mergetag run --config pipeline.toml`: the whole pipeline from one file, through
//! [`mergetag::pipeline::run_config`]. The file's format is described in
//! [`mergetag::pipeline::config`]; its `[outputs] dir` says where the outputs are written.

use std::path::Path;

use mergetag::pipeline::{self, RunOutput};

use crate::Progress;
use crate::error::{Error, Result};

/// The progress line's text for one report of the pipeline's progress callback.
pub fn progress_message(p: &pipeline::Progress) -> String {
    let mut m = p.step.to_string();
    if let Some(item) = &p.item {
        m.push(' ');
        m.push_str(item);
    }
    if let Some(total) = p.total {
        m.push_str(&format!(" (of {total})"));
    }
    m
}

/// Loads the pipeline file at `path`, runs it with its progress on `progress`, and writes its
/// outputs where the file says.
///
/// # Errors
///
/// [`Error::Pipeline`] with the facade's error: the file's line and column for a bad
/// configuration, the file for a read or write failure.
pub fn run_pipeline(path: &Path, progress: &Progress) -> Result<RunOutput> {
    progress.step(format!("loading {}", path.display()));
    let output = pipeline::run_config(path, |p| progress.update(progress_message(&p), p.done))
        .map_err(Error::Pipeline);
    progress.finish();
    output
}
