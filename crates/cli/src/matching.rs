//! `mergetag dedup` and `mergetag link`: CSV files in, pairs and clusters CSV files out.
//!
//! Output formats:
//!
//! - pairs: header `id_a,id_b,match_probability,match_weight`; one row per pair at or above
//!   the threshold; ids from the configured id column. From `dedup`, `id_a < id_b` (byte-wise
//!   comparison of the ids) and rows are sorted by `(id_a, id_b)`; from `link`, `id_a` is the
//!   left file's record and rows are sorted the same way. Probabilities and weights are written
//!   in Rust's shortest round-trip form.
//! - clusters (`dedup` only): header `id,cluster_id`; one row per record read, in file order.
//!   Cluster ids are numbered from 0 in the order of each cluster's smallest id, so they do not
//!   depend on the order of the file.
//!
//! Results are identical for any number of threads; more than [`max_threads`] are lowered to
//! it ([`cap_threads`]).
//!
//! Outputs never overwrite inputs: an output path that is an input, the configuration or
//! another output (compared as canonical paths, through symlinks) is refused before anything is
//! read ([`refuse_overwrites`]). Each output is written to a temporary file in its directory
//! and renamed into place once all are written, so a failed run leaves no half-written file.
//!
//! ```
//! use mergetag_cli::config::DedupFile;
//! use mergetag_cli::matching::{dedup_records, read_records};
//! use mergetag_cli::Progress;
//!
//! let csv = "\
//! id,first_name,last_name,email
//! 1,Robert,Smith,bob.smith@gmail.com
//! 2,Bob,Smith,BobSmith+news@gmail.com
//! 3,Alice,Jones,alice@example.com
//! ";
//! let config = DedupFile::from_toml_str("[input]\nid_column = \"id\"\n", "dedup.toml")?;
//! let input = read_records(csv.as_bytes(), "people.csv", &config.input, None, &Progress::hidden())?;
//! assert!(input.skipped.is_empty());
//! let out = dedup_records(&config, &input, None, &Progress::hidden())?;
//! assert_eq!(out.pairs.len(), 1);
//! assert_eq!((out.pairs[0].id_a.as_str(), out.pairs[0].id_b.as_str()), ("1", "2"));
//! assert_eq!(out.clusters, [0, 0, 1]);
//! # Ok::<(), mergetag_cli::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use mergetag_dedup::Deduper;
use mergetag_model::{OnBadRow, Record, RecordKey, Reject, Source};
use mergetag_normalize::{ChangeLog, RecordNormalizer};
use mergetag_sources::Opened;

use crate::Progress;
use crate::config::{
    DedupFile, InputConfig, LinkFile, build_normalizer, check_input, id_column, source_error,
};
use crate::error::{Error, Result};

/// At most this many bad rows are listed one by one in messages; the count is always given.
pub const LISTED_BAD_ROWS: usize = 20;

/// Worker threads are never more than this, whatever the number of cores.
pub const THREAD_LIMIT: usize = 256;

/// The most worker threads `--threads` may ask for: four per core, at most [`THREAD_LIMIT`].
/// More would only add the cost of starting them (thousands of threads took minutes).
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_mul(4).min(THREAD_LIMIT)
}

/// `requested` threads lowered to [`max_threads`], with a note saying so when it was lowered.
pub fn cap_threads(requested: Option<usize>) -> (Option<usize>, Option<String>) {
    let max = max_threads();
    match requested {
        Some(n) if n > max => (
            Some(max),
            Some(format!(
                "--threads {n} is more than {max} (4 per core, at most {THREAD_LIMIT}); using {max}"
            )),
        ),
        other => (other, None),
    }
}

/// `path` as a canonical absolute path, through symlinks and `.`/`..`: the file's own when it
/// exists, else its directory's joined with its name (the file is yet to be written), else
/// `path` made absolute.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(parent), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

/// Refuses outputs that would overwrite an input or each other: each of `outputs` (what it
/// is, such as `--out-pairs`, and its path) is compared with every one of `inputs` (what it
/// is, such as `the input` or `the configuration`, and its path) and with the other outputs,
/// as canonical paths ([`canonical`]).
///
/// # Errors
///
/// [`Error::Usage`] naming both paths.
pub fn refuse_overwrites(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<()> {
    let inputs: Vec<_> = inputs.iter().map(|(w, p)| (*w, *p, canonical(p))).collect();
    let outputs: Vec<_> = outputs
        .iter()
        .map(|(w, p)| (*w, *p, canonical(p)))
        .collect();
    for (i, (what, path, c)) in outputs.iter().enumerate() {
        let clash = inputs
            .iter()
            .chain(&outputs[..i])
            .find(|(_, _, other)| other == c);
        if let Some((other_what, other_path, _)) = clash {
            return Err(Error::Usage(format!(
                "{what} {} is the same file as {other_what} {}; an output never overwrites an \
                 input or another output: choose another path",
                path.display(),
                other_path.display()
            )));
        }
    }
    Ok(())
}

/// Outputs written to temporary files beside their final paths, renamed into place by
/// [`Staged::commit`]; dropped before, it removes the temporary files.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    /// (temporary file, final path)
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Writes the output `path` with `write` into a temporary file in the directory of the
    /// file it will replace (through a symlink, its target), so that the rename stays on one
    /// file system. A write error names `path`, not the temporary file.
    pub(crate) fn write(
        &mut self,
        path: &Path,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let target = canonical(path);
        let name = target
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let temp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        self.files.push((temp.clone(), target));
        write(&temp).map_err(|e| match e {
            Error::Io { source, .. } => Error::io(path.display(), source),
            other => other,
        })
    }

    /// Renames every temporary file into place.
    pub(crate) fn commit(mut self) -> Result<()> {
        for (temp, target) in std::mem::take(&mut self.files) {
            std::fs::rename(&temp, &target).map_err(|e| Error::io(target.display(), e))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// The records of one input file.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The records read, in file order.
    pub records: Vec<Record>,
    /// Each record's id (from the id column), parallel to `records`.
    pub ids: Vec<String>,
    /// The rows left out, one message each naming the position and the problem, never the
    /// values.
    pub skipped: Vec<String>,
}

impl Input {
    /// A message saying how many rows of `name` were left out and listing the first
    /// [`LISTED_BAD_ROWS`], or `None` when none were.
    pub fn skipped_report(&self, name: &str) -> Option<String> {
        bad_rows_message(name, &self.skipped, "left out of the outputs")
    }
}

fn bad_rows_message(name: &str, rows: &[String], what: &str) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let n = rows.len();
    let mut m = format!(
        "{name}: {n} bad row{} {what}:",
        if n == 1 { "" } else { "s" }
    );
    for r in rows.iter().take(LISTED_BAD_ROWS) {
        m.push_str("\n  ");
        m.push_str(r);
    }
    if n > LISTED_BAD_ROWS {
        m.push_str(&format!("\n  ... and {} more", n - LISTED_BAD_ROWS));
    }
    Some(m)
}

/// Opens and reads an input file; see [`read_records`]. `origin` (the configuration file)
/// and `table` (`input`, `left`, `right`) name configuration problems; a column-map file is
/// resolved against the configuration's directory.
///
/// # Errors
///
/// [`Error::Invalid`] for a bad column map or delimiter; [`Error::Io`] when the file cannot be
/// opened; else as [`read_records`].
pub fn read_file(
    path: &Path,
    input: &InputConfig,
    table: &str,
    origin: &str,
    normalizer: Option<&RecordNormalizer>,
    progress: &Progress,
) -> Result<Input> {
    // Configuration problems name the configuration file and its table.
    check_input(input, origin, table)?;
    let file = File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let name = path.display().to_string();
    progress.step(format!("reading {name}"));
    let base = Path::new(origin).parent().unwrap_or(Path::new(""));
    let config = crate::config::for_path(input, path);
    let at = Table {
        origin,
        table,
        base,
    };
    read_from(file, &name, &config, &at, normalizer, progress)
}

/// Where an input's configuration is: its file, its table, the directory of the file.
struct Table<'a> {
    origin: &'a str,
    table: &'a str,
    base: &'a Path,
}

/// Reads the records of a stream named `name`, as `input` says (CSV unless its `format` says
/// `jsonl`), normalizing each with `normalizer`. Bad rows and rows with an empty id are left
/// out and listed in [`Input::skipped`] (or fail the read under `on_bad_row = "fail"`).
///
/// # Errors
///
/// [`Error::Input`] when the header has no id column, when two rows have the same id, when a
/// row cannot be read at all, or for bad rows under `on_bad_row = "fail"`; [`Error::Invalid`]
/// for a bad column map.
pub fn read_records(
    reader: impl Read,
    name: &str,
    input: &InputConfig,
    normalizer: Option<&RecordNormalizer>,
    progress: &Progress,
) -> Result<Input> {
    let mut config = input.clone();
    config.name = name.to_owned();
    let at = Table {
        origin: name,
        table: "input",
        base: Path::new(""),
    };
    read_from(reader, name, &config, &at, normalizer, progress)
}

fn read_from(
    reader: impl Read,
    name: &str,
    input: &InputConfig,
    at: &Table<'_>,
    normalizer: Option<&RecordNormalizer>,
    progress: &Progress,
) -> Result<Input> {
    let id_col = id_column(input, at.origin, at.table)?;
    // Every bad row is collected, so that a failure lists them all.
    let mut reading = input.clone();
    reading.on_bad_row = OnBadRow::Quarantine;
    let mut source = match reading
        .open_reader(reader, at.base)
        .map_err(|e| source_error(e, at.origin, at.table))?
    {
        Opened::Records(s) => s,
        Opened::Events(_) => {
            return Err(Error::invalid(
                at.origin,
                format!(
                    "{}.format: an input holds records: use csv or jsonl",
                    at.table
                ),
            ));
        }
    };
    let wanted = column_key(id_col);
    let columns = source.columns();
    if !columns.is_empty() && !columns.iter().any(|c| column_key(c.as_str()) == wanted) {
        return Err(Error::Input(format!(
            "{name}: the header has no column `{id_col}` (the configured id_column)"
        )));
    }
    let mut out = Input::default();
    // Row numbers of the records, for messages about duplicate ids.
    let mut rows: Vec<u64> = Vec::new();
    // Bad rows with their row numbers (0 when unknown).
    let mut skipped: Vec<(u64, String)> = Vec::new();
    let mut record = Record::default();
    let mut log = ChangeLog::new();
    let mut rejects: Vec<Reject> = Vec::new();
    // Data rows read so far, bad ones included: the row number of the latest record.
    let mut row = 0u64;
    loop {
        let read = source.read_record(&mut record);
        source.drain_rejects(&mut rejects);
        row += rejects.len() as u64;
        skipped.extend(
            rejects
                .drain(..)
                .map(|r| (r.position.record.unwrap_or(0), r.to_error().to_string())),
        );
        match read {
            Ok(false) => break,
            Ok(true) => {
                progress.inc(1);
                row += 1;
                let id = match &record.id.key {
                    RecordKey::Id(id) if !id.trim().is_empty() => id.clone(),
                    _ => {
                        skipped.push((
                            row,
                            format!("{name}: record {row}: the id column `{id_col}` is empty"),
                        ));
                        continue;
                    }
                };
                if let Some(n) = normalizer {
                    log.clear();
                    n.normalize(&mut record, &mut log);
                }
                out.ids.push(id);
                rows.push(row);
                out.records.push(std::mem::take(&mut record));
            }
            Err(e) if e.is_recoverable() => {
                row += 1;
                skipped.push((e.position().record.unwrap_or(0), e.to_string()));
            }
            Err(e) => return Err(Error::Input(e.to_string())),
        }
    }
    // Bad rows in file order (those without a position last, in the order met).
    skipped.sort_by_key(|(row, _)| if *row == 0 { u64::MAX } else { *row });
    out.skipped = skipped.into_iter().map(|(_, m)| m).collect();
    if input.on_bad_row == OnBadRow::Fail && !out.skipped.is_empty() {
        let m = bad_rows_message(name, &out.skipped, "(bad_rows = \"fail\")").unwrap_or_default();
        return Err(Error::Input(m));
    }
    let mut seen: HashMap<&str, u64> = HashMap::with_capacity(out.ids.len());
    for (id, &row) in out.ids.iter().zip(&rows) {
        if let Some(first) = seen.insert(id.as_str(), row) {
            return Err(Error::Input(format!(
                "{name}: records {first} and {row} have the same id; the values of the id \
                 column `{id_col}` must be unique"
            )));
        }
    }
    Ok(out)
}

/// A column name for loose matching: lower case, letters and digits only (as column maps
/// match them).
fn column_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// One row of a pairs file.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// The first id (the smaller one from `dedup`, the left one from `link`).
    pub id_a: String,
    /// The second id.
    pub id_b: String,
    /// The match probability, in `[0, 1]`.
    pub match_probability: f64,
    /// The match weight (log2 of the odds).
    pub match_weight: f64,
}

/// What `dedup` found.
#[derive(Debug, Clone, Default)]
pub struct DedupOutput {
    /// The pairs at or above the threshold, sorted by `(id_a, id_b)`.
    pub pairs: Vec<PairRow>,
    /// Each record's cluster, parallel to [`Input::records`].
    pub clusters: Vec<u32>,
    /// The number of clusters.
    pub cluster_count: usize,
    /// What probably makes the result useless (a compared field no record has, EM that did
    /// not run or converge, many records and no pair); printed on stderr by the command.
    pub warnings: Vec<mergetag_dedup::DedupWarning>,
    /// The pairwise precision, recall and F1 the model expects (no labels needed).
    pub quality: mergetag_dedup::QualityEstimate,
    /// The blocking analysis, when asked for ([`dedup_records_analyzed`]).
    pub analysis: Option<mergetag_dedup::BlockingAnalysis>,
    /// The blocking passes chosen from the data, when the configuration had none.
    pub chosen_blocking: Option<mergetag_dedup::ChosenBlocking>,
    /// How long the deduplicator's phases took.
    pub timings: mergetag_dedup::DedupTimings,
}

/// Runs `f` on a pool of `threads` threads, or on the global pool when `None`.
fn on_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| Error::Usage(format!("--threads {n}: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// Deduplicates the records of `input` as `config` says, on `threads` threads.
///
/// # Errors
///
/// [`Error::Invalid`] when the dedup configuration is not valid; [`Error::Usage`] when the
/// thread pool cannot be built.
pub fn dedup_records(
    config: &DedupFile,
    input: &Input,
    threads: Option<usize>,
    progress: &Progress,
) -> Result<DedupOutput> {
    dedup_records_analyzed(config, input, threads, progress, false)
}

/// As [`dedup_records`]; with `analyze`, the blocking analysis too
/// ([`mergetag_dedup::Deduper::analyse`]: the matches each pass finds, estimated recall and
/// suggested passes).
///
/// # Errors
///
/// As [`dedup_records`].
pub fn dedup_records_analyzed(
    config: &DedupFile,
    input: &Input,
    threads: Option<usize>,
    progress: &Progress,
    analyze: bool,
) -> Result<DedupOutput> {
    let deduper =
        Deduper::new(config.dedup.clone()).map_err(|e| Error::invalid("dedup", e.to_string()))?;
    progress.step(format!("deduplicating {} records", input.records.len()));
    let result = on_threads(threads, || deduper.run(&input.records))?;
    let mut pairs: Vec<PairRow> = result
        .matches
        .iter()
        .map(|m| {
            let (a, b) = (&input.ids[m.a], &input.ids[m.b]);
            let (id_a, id_b) = if a <= b { (a, b) } else { (b, a) };
            PairRow {
                id_a: id_a.clone(),
                id_b: id_b.clone(),
                match_probability: m.probability,
                match_weight: m.weight,
            }
        })
        .collect();
    pairs.sort_by(|x, y| (&x.id_a, &x.id_b).cmp(&(&y.id_a, &y.id_b)));
    let warnings = deduper.diagnose(&input.records, &result);
    let analysis = if analyze {
        progress.step("analysing blocking");
        Some(on_threads(threads, || {
            deduper.analyse(&input.records, &result)
        })?)
    } else {
        None
    };
    Ok(DedupOutput {
        pairs,
        clusters: result.clusters,
        cluster_count: result.cluster_count,
        warnings,
        quality: result.quality,
        analysis,
        chosen_blocking: result.chosen_blocking,
        timings: result.timings,
    })
}

/// Links the records of `left` and `right` as `config` says (one-to-one when `one_to_one` or
/// the configuration says so), on `threads` threads. Pairs have the left id first and are
/// sorted by `(id_a, id_b)`.
///
/// # Errors
///
/// As [`dedup_records`].
pub fn link_records(
    config: &LinkFile,
    left: &Input,
    right: &Input,
    one_to_one: bool,
    threads: Option<usize>,
    progress: &Progress,
) -> Result<Vec<PairRow>> {
    let deduper =
        Deduper::new(config.dedup.clone()).map_err(|e| Error::invalid("dedup", e.to_string()))?;
    progress.step(format!(
        "linking {} and {} records",
        left.records.len(),
        right.records.len()
    ));
    let one_to_one = one_to_one || config.one_to_one;
    let result = on_threads(threads, || {
        deduper.link(&left.records, &right.records, one_to_one)
    })?;
    let mut pairs: Vec<PairRow> = result
        .links
        .iter()
        .map(|l| PairRow {
            id_a: left.ids[l.left].clone(),
            id_b: right.ids[l.right].clone(),
            match_probability: l.probability,
            match_weight: l.weight,
        })
        .collect();
    pairs.sort_by(|x, y| (&x.id_a, &x.id_b).cmp(&(&y.id_a, &y.id_b)));
    Ok(pairs)
}

/// Writes a pairs file: header `id_a,id_b,match_probability,match_weight`.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be written.
pub fn write_pairs(path: &Path, pairs: &[PairRow]) -> Result<()> {
    let name = path.display().to_string();
    let mut w = csv_writer(path)?;
    let io = |e: csv::Error| Error::io(&name, e.into());
    w.write_record(["id_a", "id_b", "match_probability", "match_weight"])
        .map_err(io)?;
    for p in pairs {
        w.write_record([
            p.id_a.as_str(),
            p.id_b.as_str(),
            &p.match_probability.to_string(),
            &p.match_weight.to_string(),
        ])
        .map_err(io)?;
    }
    finish(w, &name)
}

/// Writes a clusters file: header `id,cluster_id`, one row per record, in input order.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be written.
pub fn write_clusters(path: &Path, ids: &[String], clusters: &[u32]) -> Result<()> {
    let name = path.display().to_string();
    let mut w = csv_writer(path)?;
    let io = |e: csv::Error| Error::io(&name, e.into());
    w.write_record(["id", "cluster_id"]).map_err(io)?;
    for (id, c) in ids.iter().zip(clusters) {
        w.write_record([id.as_str(), &c.to_string()]).map_err(io)?;
    }
    finish(w, &name)
}

fn csv_writer(path: &Path) -> Result<csv::Writer<BufWriter<File>>> {
    let file = File::create(path).map_err(|e| Error::io(path.display(), e))?;
    Ok(csv::Writer::from_writer(BufWriter::new(file)))
}

fn finish(w: csv::Writer<BufWriter<File>>, name: &str) -> Result<()> {
    let mut inner = w
        .into_inner()
        .map_err(|e| Error::io(name, std::io::Error::other(e.to_string())))?;
    inner.flush().map_err(|e| Error::io(name, e))
}

/// A summary of a finished `dedup`, for stderr.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DedupSummary {
    /// Records read.
    pub records: usize,
    /// Bad rows left out.
    pub skipped: usize,
    /// Pairs written.
    pub pairs: usize,
    /// Clusters.
    pub clusters: usize,
    /// The pairwise precision, recall and F1 the model expects.
    pub quality: mergetag_dedup::QualityEstimate,
    /// The blocking analysis, when asked for.
    pub analysis: Option<mergetag_dedup::BlockingAnalysis>,
    /// The blocking passes chosen from the data, when the configuration had none.
    pub chosen_blocking: Option<mergetag_dedup::ChosenBlocking>,
    /// Wall-clock time per step, in order: reading, each phase of the deduplicator (see
    /// [`mergetag_dedup::DedupTimings`]), the checks of the result, writing.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// The whole `dedup` command: reads `input_path`, deduplicates, writes both files. Bad rows
/// are reported through `warn` before the work goes on. `origin` is the configuration file.
///
/// Both files are written to temporary files first and renamed into place when both are
/// written.
///
/// # Errors
///
/// [`Error::Usage`] when an output is the input, the configuration or the other output
/// ([`refuse_overwrites`]); any [`Error`] of the steps.
#[allow(clippy::too_many_arguments)]
pub fn run_dedup(
    config: &DedupFile,
    origin: &str,
    input_path: &Path,
    pairs_path: &Path,
    clusters_path: &Path,
    threads: Option<usize>,
    analyze: bool,
    progress: &Progress,
    warn: &mut dyn FnMut(&str),
) -> Result<DedupSummary> {
    refuse_overwrites(
        &[
            ("the input", input_path),
            ("the configuration", Path::new(origin)),
        ],
        &[
            ("--out-pairs", pairs_path),
            ("--out-clusters", clusters_path),
        ],
    )?;
    let clock = std::time::Instant::now();
    let normalizer = build_normalizer(origin, config.normalize.as_ref())?;
    let input = read_file(
        input_path,
        &config.input,
        "input",
        origin,
        normalizer.as_ref(),
        progress,
    )?;
    let read = clock.elapsed();
    if let Some(m) = input.skipped_report(&input_path.display().to_string()) {
        progress.suspend(|| warn(&m));
    }
    let out = dedup_records_analyzed(config, &input, threads, progress, analyze)?;
    let deduplicated = clock.elapsed();
    for w in &out.warnings {
        progress.suspend(|| warn(&format!("warning: {w}")));
    }
    progress.step("writing");
    let mut staged = Staged::default();
    staged.write(pairs_path, |temp| write_pairs(temp, &out.pairs))?;
    staged.write(clusters_path, |temp| {
        write_clusters(temp, &input.ids, &out.clusters)
    })?;
    staged.commit()?;
    progress.finish();
    let t = out.timings;
    let timings = vec![
        ("read", read),
        ("choose blocking", t.choose_blocking),
        ("prepare", t.prepare),
        ("blocking", t.blocking),
        ("comparing", t.comparing),
        ("training", t.training),
        ("scoring", t.scoring),
        (
            "checks",
            deduplicated.saturating_sub(read).saturating_sub(t.total()),
        ),
        ("writing", clock.elapsed().saturating_sub(deduplicated)),
    ];
    Ok(DedupSummary {
        timings,
        records: input.records.len(),
        skipped: input.skipped.len(),
        pairs: out.pairs.len(),
        clusters: out.cluster_count,
        quality: out.quality,
        analysis: out.analysis,
        chosen_blocking: out.chosen_blocking,
    })
}

/// The whole `link` command: reads both files, links them, writes the pairs file (through a
/// temporary file renamed into place). Bad rows are reported through `warn` before the work
/// goes on. Returns the number of pairs written. `origin` is the configuration file.
///
/// # Errors
///
/// [`Error::Usage`] when the output is an input or the configuration
/// ([`refuse_overwrites`]); any [`Error`] of the steps.
#[allow(clippy::too_many_arguments)]
pub fn run_link(
    config: &LinkFile,
    origin: &str,
    left_path: &Path,
    right_path: &Path,
    pairs_path: &Path,
    one_to_one: bool,
    threads: Option<usize>,
    progress: &Progress,
    warn: &mut dyn FnMut(&str),
) -> Result<usize> {
    refuse_overwrites(
        &[
            ("the left input", left_path),
            ("the right input", right_path),
            ("the configuration", Path::new(origin)),
        ],
        &[("--out-pairs", pairs_path)],
    )?;
    let normalizer = build_normalizer(origin, config.normalize.as_ref())?;
    let mut sides = Vec::with_capacity(2);
    for (path, input, table) in [
        (left_path, &config.left, "left"),
        (right_path, &config.right, "right"),
    ] {
        let side = read_file(path, input, table, origin, normalizer.as_ref(), progress)?;
        if let Some(m) = side.skipped_report(&path.display().to_string()) {
            progress.suspend(|| warn(&m));
        }
        sides.push(side);
    }
    let pairs = link_records(config, &sides[0], &sides[1], one_to_one, threads, progress)?;
    progress.step("writing");
    let mut staged = Staged::default();
    staged.write(pairs_path, |temp| write_pairs(temp, &pairs))?;
    staged.commit()?;
    progress.finish();
    Ok(pairs.len())
}
