//! What a run produced: [`RunOutput`], and the files [`RunOutput::write_to`] writes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mergetag_dedup::DedupResult;
use mergetag_mapping::Audience;
use mergetag_model::{Profile, ProfileId, Record, Value};
use mergetag_validate::{Audit, QuarantineEntry, QuarantineWriter};

use super::report::RunReport;
use crate::error::{Error, Result};

/// Everything a run produced.
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
        let mut written = Vec::new();
        let write_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Write { path, source }
        };

        let path = dir.join(files::PROFILES);
        write_lines(&path, self.profiles.iter())?;
        written.push(path);

        let path = dir.join(files::QUARANTINE);
        let file = File::create(&path).map_err(write_err(&path))?;
        let mut q = QuarantineWriter::new(BufWriter::new(file));
        for entry in &self.quarantine {
            q.write_entry(entry).map_err(|e| Error::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        }
        q.flush().map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        written.push(path);

        if let Some(audit) = &self.audit {
            let path = dir.join(files::AUDIT_JSON);
            fs::write(&path, to_json_pretty(audit)).map_err(write_err(&path))?;
            written.push(path);
            let path = dir.join(files::AUDIT_TEXT);
            fs::write(&path, audit.to_string()).map_err(write_err(&path))?;
            written.push(path);
        }

        for audience in &self.audiences {
            let path = dir.join(format!("{}.jsonl", audience.platform));
            fs::write(&path, audience.to_jsonl()).map_err(write_err(&path))?;
            written.push(path);
        }

        let path = dir.join(files::REPORT_JSON);
        fs::write(&path, to_json_pretty(&self.report)).map_err(write_err(&path))?;
        written.push(path);
        let path = dir.join(files::REPORT_TEXT);
        fs::write(&path, self.report.to_string()).map_err(write_err(&path))?;
        written.push(path);
        Ok(written)
    }
}

fn to_json_pretty<T: serde::Serialize>(value: &T) -> String {
    // Our own types serialize to memory without failing.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

fn write_lines<'a, T: serde::Serialize + 'a>(
    path: &Path,
    items: impl Iterator<Item = &'a T>,
) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut f = BufWriter::new(File::create(path).map_err(err)?);
    for item in items {
        serde_json::to_writer(&mut f, item).map_err(|e| err(std::io::Error::other(e)))?;
        f.write_all(b"\n").map_err(err)?;
    }
    f.flush().map_err(err)
}
