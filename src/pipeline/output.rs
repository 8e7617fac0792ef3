//! What a run produced: [`RunOutput`], and the files [`RunOutput::write_to`] writes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mergetag_dedup::DedupResult;
use mergetag_mapping::Audience;
use mergetag_model::{Event, Profile, ProfileId, Record, RecordId, Source, Value};
use mergetag_validate::{Audit, QuarantineEntry, QuarantineWriter};
use serde::{Deserialize, Serialize};

use super::report::RunReport;
use crate::error::{Error, Result};

/// Everything a run produced.
///
/// It also keeps the run's sources, open, until [`RunOutput::commit_sources`] acknowledges
/// them once the results are stored (a Kafka consumer stays in its group until then, or until
/// the output is dropped). Since a source need not be `Send`, neither is a `RunOutput`.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutput {
    /// The accepted records, as the stages left them: first those that were deduplicated, in
    /// reading order, then those that were joined, in record-id order.
    pub records: Vec<Record>,
    /// The profile of each record: `profile_of[i]` for `records[i]`.
    pub profile_of: Vec<ProfileId>,
    /// The golden profiles, in profile-id order.
    pub profiles: Vec<Profile>,
    /// The computed traits (and engagement) of each profile: `traits[i]` for `profiles[i]`;
    /// empty maps when no trait or engagement stage ran.
    pub traits: Vec<BTreeMap<String, Value>>,
    /// The events read (from every event source, in reading order).
    pub events: Vec<Event>,
    /// The profile each event was attributed to: `event_profiles[i]` for `events[i]`; `None`
    /// when none of its identifiers resolves to a profile.
    pub event_profiles: Vec<Option<ProfileId>>,
    /// The result of deduplication, when it ran; its indices refer to the first
    /// `dedup.clusters.len()` entries of `records`.
    pub dedup: Option<DedupResult>,
    /// Everything quarantined, in the order met: rows the sources could not read, records
    /// that failed validation or a stage of yours, and unreadable event lines.
    pub quarantine: Vec<QuarantineEntry>,
    /// The data-quality audit of the validated records, when validation ran.
    pub audit: Option<Audit>,
    /// One audience per output, in the order configured.
    pub audiences: Vec<Audience>,
    /// The counts and timings.
    pub report: RunReport,
    /// The sources read, until they are acknowledged.
    pub(super) sources: ReadSources,
}

/// The sources a run read, each kept until [`RunOutput::commit_sources`] acknowledges it.
#[derive(Default)]
pub(super) struct ReadSources(pub(super) Vec<Box<dyn Source>>);

impl std::fmt::Debug for ReadSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|s| s.name().as_str()))
            .finish()
    }
}

/// `[outputs.parquet]` of a pipeline file: the run's tables written as Parquet (feature
/// `lake`; without it the key is an error saying so), each file atomically, by
/// `RunOutput::write_parquet_partitioned` after a run ([`run_config`](super::run_config) and
/// `mergetag run` do it).
///
/// ```toml
/// [outputs.parquet]
/// dir = "out/lake"                 # a local directory (relative to the pipeline file) or
///                                  # an object-store URL (file:///..., s3://bucket/prefix)
/// [outputs.parquet.partition_by]   # Hive partitions, per table (optional)
/// events = "date"                  # events/date=2026-11-21/part-0.parquet
/// audiences = "platform"           # audiences/platform=sendgrid/part-0.parquet
/// ```
///
/// The partitions each table allows ([`ParquetOutput::PARTITIONS`]): `events` by `date` (the
/// UTC day of `timestamp`, `YYYY-MM-DD`, which stays in the files), `month` (`YYYY-MM`) or
/// `kind`; `audiences` by `platform`;
/// `quarantine`, `members` and `clusters` by `source`; `segments` by `segment`. A partition
/// column leaves the files (Hive style) and is read back as text from the directory names
/// (null values under `__HIVE_DEFAULT_PARTITION__`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ParquetOutput {
    /// Where the tables go: a local directory (relative to the pipeline file) or an
    /// object-store URL.
    pub dir: String,
    /// Table -> how it is partitioned; unnamed tables are one file each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_by: BTreeMap<String, String>,
}

impl ParquetOutput {
    /// The partitions each table allows, as written in `partition_by`.
    pub const PARTITIONS: &[(&str, &[&str])] = &[
        ("events", &["date", "month", "kind"]),
        ("audiences", &["platform"]),
        ("quarantine", &["source"]),
        ("members", &["source"]),
        ("clusters", &["source"]),
        ("segments", &["segment"]),
    ];

    /// Output to `dir`, no table partitioned.
    pub fn new(dir: impl Into<String>) -> ParquetOutput {
        ParquetOutput {
            dir: dir.into(),
            partition_by: BTreeMap::new(),
        }
    }

    /// Partitions the table `table` as `partition` says.
    pub fn partition(mut self, table: &str, partition: &str) -> ParquetOutput {
        self.partition_by
            .insert(table.to_owned(), partition.to_owned());
        self
    }

    /// Checks `partition_by`: known tables, and partitions they allow.
    ///
    /// # Errors
    ///
    /// `(key, message)`: the key under `outputs.parquet` and how to fix it.
    pub fn check(&self) -> std::result::Result<(), (String, String)> {
        if self.dir.trim().is_empty() {
            return Err((
                "dir".into(),
                "the directory is empty; write a path or a URL".into(),
            ));
        }
        for (table, p) in &self.partition_by {
            let at = format!("partition_by.{table}");
            let Some((_, allowed)) = Self::PARTITIONS.iter().find(|(t, _)| t == table) else {
                let tables: Vec<_> = Self::PARTITIONS.iter().map(|(t, _)| *t).collect();
                return Err((
                    at,
                    format!(
                        "the table {table} cannot be partitioned; partition one of {}",
                        tables.join(", ")
                    ),
                ));
            };
            if !allowed.contains(&p.trim()) {
                return Err((
                    at,
                    format!(
                        "{table} cannot be partitioned by `{p}`; use {}",
                        match allowed.split_last() {
                            Some((last, [])) => (*last).to_owned(),
                            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                            None => String::new(),
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The partition columns of `table` as readers see them (none when it is one file).
    pub fn partition_columns(&self, table: &str) -> Vec<&str> {
        // A table is partitioned by a column of its own name, or `date`.
        self.partition_by
            .get(table)
            .map(|p| vec![p.trim()])
            .unwrap_or_default()
    }
}

/// The files [`RunOutput::write_to`] writes.
pub mod files {
    /// The golden profiles, one JSON object a line.
    pub const PROFILES: &str = "profiles.jsonl";
    /// The quarantine, one JSON object a line, as `mergetag_validate::QuarantineReader` reads it.
    pub const QUARANTINE: &str = "quarantine.jsonl";
    /// The data-quality audit as JSON (when validation ran).
    pub const AUDIT_JSON: &str = "audit.json";
    /// The data-quality audit as a table (when validation ran).
    pub const AUDIT_TEXT: &str = "audit.txt";
    /// The run report as JSON.
    pub const REPORT_JSON: &str = "report.json";
    /// The run report as a readable summary.
    pub const REPORT_TEXT: &str = "report.txt";
}

impl RunOutput {
    /// The profile with id `id`.
    pub fn profile(&self, id: ProfileId) -> Option<&Profile> {
        self.index_of(id).map(|i| &self.profiles[i])
    }

    /// The traits (and engagement, and what profile stages added) of the profile `id`.
    pub fn traits_of(&self, id: ProfileId) -> Option<&BTreeMap<String, Value>> {
        self.index_of(id).and_then(|i| self.traits.get(i))
    }

    /// The profile the record `record` ended up in; `None` when it was quarantined (or never
    /// read).
    ///
    /// ```
    /// use mergetag::pipeline::{Pipeline, PipelineConfig};
    /// use mergetag::RecordId;
    ///
    /// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
    /// let output = Pipeline::from_config(&config)?.run(|_| {})?;
    /// let record = &output.records[0].id;
    /// let profile = output.profile_of_record(record).unwrap();
    /// assert!(profile.members.contains(record));
    /// assert!(output.traits_of(profile.id).is_some());
    /// assert!(output.profile_of_record(&RecordId::id("nowhere", "x")).is_none());
    /// # Ok::<(), mergetag::Error>(())
    /// ```
    pub fn profile_of_record(&self, record: &RecordId) -> Option<&Profile> {
        let i = self.records.iter().position(|r| &r.id == record)?;
        self.profile(*self.profile_of.get(i)?)
    }

    /// Each profile with its traits, in profile-id order.
    pub fn profiles_with_traits(
        &self,
    ) -> impl Iterator<Item = (&Profile, &BTreeMap<String, Value>)> {
        self.profiles.iter().zip(&self.traits)
    }

    /// Acknowledges the sources the run read, once its results are stored: calls
    /// [`Source::commit`] on each, so that a source that can acknowledge makes it durable (a
    /// Kafka source with `commit = "after_outputs"` commits its group's offsets, and the next
    /// run goes on after the messages this one read); other sources do nothing. Call it only
    /// when everything you keep of the run is stored for good ([`RunOutput::write_to`] has
    /// returned, your own store is written): what is acknowledged is not read again.
    /// [`run_config`](super::run_config) and `mergetag run` call it after writing every output;
    /// a run that fails before that commits nothing.
    ///
    /// Each source is acknowledged once, then closed (a Kafka consumer leaves its group);
    /// calling again does nothing. A source whose acknowledgement fails stays open, and the
    /// next call tries it again. Returns how many sources this call acknowledged.
    ///
    /// ```
    /// use mergetag::pipeline::{Pipeline, PipelineConfig};
    ///
    /// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
    /// let mut output = Pipeline::from_config(&config)?.run(|_| {})?;
    /// // ... store what you keep of `output` ...
    /// assert!(output.commit_sources()? > 0); // files acknowledge trivially
    /// assert_eq!(output.commit_sources()?, 0); // once only
    /// # Ok::<(), mergetag::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Commit`] naming the first source that failed, after every source was tried.
    pub fn commit_sources(&mut self) -> Result<usize> {
        let mut failed: Vec<(Box<dyn Source>, mergetag_model::SourceError)> = Vec::new();
        let mut acknowledged = 0;
        for mut source in std::mem::take(&mut self.sources.0) {
            match source.commit() {
                Ok(()) => acknowledged += 1,
                Err(e) => failed.push((source, e)),
            }
        }
        let mut errors = Vec::with_capacity(failed.len());
        for (source, e) in failed {
            self.sources.0.push(source);
            errors.push(e);
        }
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(acknowledged),
            Some(first) => Err(Error::Commit {
                others: errors.len(),
                source: first,
            }),
        }
    }

    fn index_of(&self, id: ProfileId) -> Option<usize> {
        self.profiles.binary_search_by_key(&id, |p| p.id).ok()
    }

    /// Writes the outputs to `dir` (created if needed): [`files::PROFILES`],
    /// [`files::QUARANTINE`], the audit ([`files::AUDIT_JSON`], [`files::AUDIT_TEXT`]), the
    /// report ([`files::REPORT_JSON`], [`files::REPORT_TEXT`]) and one `<platform>.jsonl` per
    /// audience, one request body (or, for `jsonl`, one recipient) a line. Returns the paths
    /// written.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming the file that could not be written.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })?;
        // Every file is written to a temporary file beside it first; only when all are
        // written are they renamed into place, so a failed run leaves no half-written file.
        let mut staged = Staged::default();
        staged.write(&dir.join(files::PROFILES), |w| {
            for p in &self.profiles {
                serde_json::to_writer(&mut *w, p).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
        staged.write(&dir.join(files::QUARANTINE), |w| {
            let mut q = QuarantineWriter::new(w);
            for entry in &self.quarantine {
                q.write_entry(entry).map_err(std::io::Error::other)?;
            }
            q.flush().map_err(std::io::Error::other)
        })?;
        if let Some(audit) = &self.audit {
            staged.write(&dir.join(files::AUDIT_JSON), |w| {
                w.write_all(to_json_pretty(audit).as_bytes())
            })?;
            staged.write(&dir.join(files::AUDIT_TEXT), |w| {
                w.write_all(audit.to_string().as_bytes())
            })?;
        }
        for audience in &self.audiences {
            staged.write(&dir.join(format!("{}.jsonl", audience.platform)), |w| {
                w.write_all(audience.to_jsonl().as_bytes())
            })?;
        }
        staged.write(&dir.join(files::REPORT_JSON), |w| {
            w.write_all(to_json_pretty(&self.report).as_bytes())
        })?;
        staged.write(&dir.join(files::REPORT_TEXT), |w| {
            w.write_all(self.report.to_string().as_bytes())
        })?;
        staged.commit()
    }
}

/// Files written to temporary paths, renamed into place together by [`Staged::commit`];
/// dropped without a commit, they are removed.
#[derive(Default)]
struct Staged {
    /// (temporary, final) paths.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Writes `path`'s content, through `fill`, to a temporary file beside it.
    fn write(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let err = |source| Error::Write {
            path: path.to_owned(),
            source,
        };
        let file = File::create(&temp).map_err(err)?;
        self.files.push((temp, path.to_owned()));
        let mut w = BufWriter::new(file);
        fill(&mut w).map_err(err)?;
        w.flush().map_err(err)
    }

    /// Renames every temporary file into place; returns the final paths.
    fn commit(mut self) -> Result<Vec<PathBuf>> {
        let files = std::mem::take(&mut self.files);
        let mut done = Vec::with_capacity(files.len());
        for (i, (temp, path)) in files.iter().enumerate() {
            if let Err(source) = fs::rename(temp, path) {
                // Put the rest back for the drop to remove.
                self.files = files[i..].to_vec();
                return Err(Error::Write {
                    path: path.clone(),
                    source,
                });
            }
            done.push(path.clone());
        }
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            let _ = fs::remove_file(temp);
        }
    }
}

fn to_json_pretty<T: serde::Serialize>(value: &T) -> String {
    // Our own types serialize to memory without failing.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}
