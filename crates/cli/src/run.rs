//! `mergetag run --config pipeline.toml`: the whole pipeline from one file, through
//! [`mergetag::pipeline::run_config`]. The file's format is described in
//! [`mergetag::pipeline::config`]; its `[outputs] dir` says where the outputs are written.

use std::path::{Path, PathBuf};

use mergetag::pipeline::{self, PipelineConfig, RunOutput, files};

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

/// The files a run of `config` may write: `outputs.dir` joined with each name of
/// [`files`] and `<platform>.jsonl` for each configured platform; none without `outputs.dir`.
pub fn output_files(config: &PipelineConfig) -> Vec<PathBuf> {
    let Some(dir) = config.output_dir() else {
        return Vec::new();
    };
    let mut names: Vec<String> = [
        files::PROFILES,
        files::QUARANTINE,
        files::AUDIT_JSON,
        files::AUDIT_TEXT,
        files::REPORT_JSON,
        files::REPORT_TEXT,
    ]
    .iter()
    .map(|n| (*n).to_owned())
    .collect();
    if let Some(outputs) = &config.outputs {
        let platforms = outputs.platforms.iter().chain(outputs.mapping.keys());
        names.extend(platforms.map(|p| format!("{p}.jsonl")));
    }
    // A platform with its own mapping is listed under both keys: one file each.
    names.sort();
    names.dedup();
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// Refuses a pipeline whose outputs ([`output_files`]) would overwrite one of its sources, a
/// source's column-map file or the pipeline file at `path`.
///
/// # Errors
///
/// [`Error::Usage`] naming the output and the input.
pub fn refuse_overwrites(path: &Path, config: &PipelineConfig) -> Result<()> {
    let mut inputs: Vec<(String, PathBuf)> = vec![("the pipeline file".into(), path.to_owned())];
    for (i, source) in config.sources.iter().enumerate() {
        let name = if source.name.is_empty() {
            format!("sources[{i}]")
        } else {
            format!("source `{}`", source.name)
        };
        inputs.push((name.clone(), source.resolved_path(config.base_dir())));
        if let Some(map) = &source.column_map_file {
            inputs.push((format!("the column map of {name}"), config.resolve(map)));
        }
    }
    let outputs = output_files(config);
    let inputs: Vec<(&str, &Path)> = inputs
        .iter()
        .map(|(w, p)| (w.as_str(), p.as_path()))
        .collect();
    let outputs: Vec<(&str, &Path)> = outputs
        .iter()
        .map(|p| ("the output", p.as_path()))
        .collect();
    crate::matching::refuse_overwrites(&inputs, &outputs)
}

/// What `mergetag run` did: the run's output, and where it wrote its files (`None` when the
/// pipeline file has no `outputs.dir`: nothing was written).
#[derive(Debug)]
pub struct Ran {
    /// The run's output.
    pub output: RunOutput,
    /// The directory written to, and the files written there.
    pub written: Option<(PathBuf, Vec<PathBuf>)>,
    /// Where the Parquet tables went (`[outputs.parquet]`, feature `lake`), and each file
    /// written there with its size; `None` without Parquet outputs.
    pub parquet: Option<(String, Vec<(String, u64)>)>,
}

/// Loads the pipeline file at `path` (once), runs it with its progress on `progress`, writes
/// its outputs where the file says, and then, only then, acknowledges its sources
/// ([`RunOutput::commit_sources`]: a Kafka source with `commit = "after_outputs"` commits).
/// Without `outputs.dir` or `[outputs.parquet]` nothing is written and nothing acknowledged.
///
/// # Errors
///
/// [`Error::Usage`] when an output file would overwrite a source or the pipeline file
/// ([`refuse_overwrites`]); [`Error::Pipeline`] with the facade's error: the file's line and
/// column for a bad configuration, the file for a read or write failure, the source for a
/// commit refused.
pub fn run_pipeline(path: &Path, progress: &Progress) -> Result<Ran> {
    let config = PipelineConfig::load(path).map_err(Error::Pipeline)?;
    refuse_overwrites(path, &config)?;
    progress.step(format!("loading {}", path.display()));
    let pipeline = pipeline::Pipeline::from_config(&config).map_err(Error::Pipeline)?;
    let output = pipeline.run(|p| progress.update(progress_message(&p), p.done));
    progress.finish();
    let mut output = output.map_err(Error::Pipeline)?;
    let written = match config.output_dir() {
        Some(dir) => {
            let files = output.write_to(&dir).map_err(Error::Pipeline)?;
            Some((dir, files))
        }
        None => None,
    };
    #[cfg(feature = "lake")]
    let parquet = match config.parquet_dir().map_err(Error::Pipeline)? {
        Some(dir) => {
            let files = config.write_parquet(&output).map_err(Error::Pipeline)?;
            Some((dir.url().to_owned(), files))
        }
        None => None,
    };
    #[cfg(not(feature = "lake"))]
    let parquet = None;
    // Every output is written: only now are the sources acknowledged.
    if written.is_some() || parquet.is_some() {
        output.commit_sources().map_err(Error::Pipeline)?;
    }
    Ok(Ran {
        output,
        written,
        parquet,
    })
}

/// The line `mergetag run` prints on stderr after a run: where it wrote, or that it wrote
/// nothing.
pub fn written_line(ran: &Ran) -> String {
    let mut line = written_files(ran);
    if let Some((dir, files)) = &ran.parquet {
        line.push_str(&format!(
            "\nmergetag run: wrote {} Parquet files to {dir}",
            files.len()
        ));
    }
    line
}

fn written_files(ran: &Ran) -> String {
    match &ran.written {
        Some((dir, files)) => format!(
            "mergetag run: wrote {} files to {}",
            files.len(),
            dir.display()
        ),
        None => "mergetag run: the pipeline file has no outputs.dir, so nothing was written; add [outputs] dir = \"...\" to write the outputs".to_owned(),
    }
}
