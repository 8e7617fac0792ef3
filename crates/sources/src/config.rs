//! Sources described in configuration: [`SourceConfig`], shared by the pipeline's
//! `[[sources]]` entries and the command line's `[input]`, `[left]` and `[right]` tables.
//!
//! See [`SourceConfig`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use mergetag_model::config::{self, Format};
use mergetag_model::{EventSource, OnBadRow, Source};
use serde::{Deserialize, Serialize};

use crate::column_map::{ColumnMap, ColumnMapConfig, ColumnTarget, InvalidValues, Unmapped};
use crate::csv::CsvSource;
use crate::error::{Error, Result};
use crate::jsonl::JsonLinesBuilder;

/// What a configured source holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceFormat {
    /// CSV with a header row ([`CsvSource`]).
    Csv,
    /// JSON Lines, one record per line ([`JsonLinesSource`](crate::JsonLinesSource)).
    Jsonl,
    /// JSON Lines of Segment-style events (identify, track, page), for traits
    /// ([`JsonLinesEvents`](crate::JsonLinesEvents)).
    Events,
    /// A Parquet file, or a directory (or object-store prefix) of them with Hive partitions;
    /// opened by `mergetag-lake` (the feature `lake` of the `mergetag` facade), since Arrow
    /// and Parquet are not in this crate's build.
    Parquet,
}

impl SourceFormat {
    /// `csv`, `jsonl`, `events` or `parquet`, as configurations spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Jsonl => "jsonl",
            SourceFormat::Events => "events",
            SourceFormat::Parquet => "parquet",
        }
    }

    /// The facade feature and crate that open sources of this format, when this crate does
    /// not: `("lake", "mergetag-lake")` for Parquet.
    pub fn feature(self) -> Option<(&'static str, &'static str)> {
        match self {
            SourceFormat::Parquet => Some(("lake", "mergetag-lake")),
            _ => None,
        }
    }

    /// The record format a file name's extension names: `.csv`, `.tsv` and `.txt` are CSV,
    /// `.jsonl` and `.ndjson` JSON Lines, `.parquet` Parquet (events are never guessed).
    pub fn from_path(path: &Path) -> Option<SourceFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(SourceFormat::Csv),
            "jsonl" | "ndjson" => Some(SourceFormat::Jsonl),
            "parquet" => Some(SourceFormat::Parquet),
            _ => None,
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of system a configured source reads: a file (the default), or a live system
/// whose reader lives in an integration crate behind a feature of the `mergetag` facade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceKind {
    /// A file at `path`, read as its `format` says (the default).
    #[default]
    File,
    /// A PostgreSQL table or query (`mergetag-postgres`, feature `postgres`), described by
    /// the `[sources.settings]` table.
    Postgres,
    /// A HubSpot-style contacts API synced over HTTP (`mergetag-sync`, feature `http-sync`),
    /// described by the `[sources.settings]` table.
    Hubspot,
    /// Kafka topics read by a consumer group (`mergetag-kafka`, feature `kafka`), described
    /// by the `[sources.settings]` table.
    Kafka,
}

impl SourceKind {
    /// `file`, `postgres`, `hubspot` or `kafka`, as configurations spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Postgres => "postgres",
            SourceKind::Hubspot => "hubspot",
            SourceKind::Kafka => "kafka",
        }
    }

    /// The facade feature and crate that open sources of this kind, for error messages.
    pub fn feature(self) -> Option<(&'static str, &'static str)> {
        match self {
            SourceKind::File => None,
            SourceKind::Postgres => Some(("postgres", "mergetag-postgres")),
            SourceKind::Hubspot => Some(("http-sync", "mergetag-sync")),
            SourceKind::Kafka => Some(("kafka", "mergetag-kafka")),
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One source, as configuration files describe it, shared by the pipeline's `[[sources]]`
/// entries and the command line's `[input]`, `[left]` and `[right]` tables.
///
/// A source's configuration is tagged by its `format` (`csv`, `jsonl` or `events`; taken from
/// the file's extension when absent) and builds the reader itself
/// ([`SourceConfig::build`]), so that a program, the pipeline and the command line read a
/// source the same way, and a new kind of source is added here, in one place.
///
/// ```
/// use mergetag_model::{Record, Source};
/// use mergetag_sources::SourceConfig;
///
/// let config = SourceConfig::from_toml_str(r#"
///     name = "hubspot"
///     path = "hubspot_contacts.csv"       # relative to the base directory given to build()
///     preset = "hubspot_contacts"
///     on_bad_row = "quarantine"           # or "fail"
/// "#)?;
/// let mut source = config.build("../../examples/data")?;
/// let mut record = Record::default();
/// assert!(source.read_record(&mut record)?);
/// assert_eq!(record.id.source.as_str(), "hubspot");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The keys (every one optional but `name` and `path`):
///
/// ```toml
/// name = "salesforce"                 # names records, the report and errors
/// path = "salesforce_contacts.csv"    # the file, relative to the configuration's directory
/// format = "csv"                      # csv, jsonl, events or parquet (feature `lake`; default:
///                                     # from the extension:
///                                     # .csv/.tsv/.txt are csv, .jsonl/.ndjson are jsonl,
///                                     # .parquet is parquet)
/// on_bad_row = "quarantine"           # or "fail" (OnBadRow)
/// delimiter = ";"                     # CSV: one ASCII character (default ",")
/// max_line_bytes = 1048576            # JSON Lines: the longest line accepted
///
/// # The column map: a preset and inline keys (as in ColumnMapConfig), or a file.
/// preset = "salesforce_contacts"
/// key = "Id"                          # the key column(s), replacing the preset's
/// observed_at = ["updated_at"]
/// ignore = ["Photo"]
/// unmapped = "keep"                   # or "reject"
/// invalid_values = "reject"           # or "keep_text"
/// # column_map_file = "salesforce.toml"
/// [columns]
/// Loyalty_Tier__c = "loyalty_tier"
///
/// # How a pipeline uses the records (the command line refuses these):
/// join = "email"                      # join profiles on this field instead of deduplicating
/// key_as = "user_id"                  # copy the record key into this field
/// ```
///
/// The older spellings `id_column` (for `key`) and `bad_rows` (for `on_bad_row`) are accepted.
///
/// A live system instead of a file names its `kind` ([`SourceKind`]) and describes itself in
/// a `settings` table, which the integration crate that opens it reads (and refuses unknown
/// keys in); the column-map keys and `on_bad_row` apply as for files:
///
/// ```toml
/// [[sources]]
/// name = "crm"
/// kind = "postgres"                   # needs the facade's `postgres` feature
/// preset = "hubspot_contacts"
/// [sources.settings]
/// url = "host=127.0.0.1 user=app dbname=crm"
/// table = "contacts"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SourceConfig {
    /// The source's name, in record ids, reports and errors.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What the source reads: a file (the default) or a live system.
    #[serde(default, skip_serializing_if = "is_file")]
    pub kind: SourceKind,
    /// The file, relative to the base directory given to [`SourceConfig::build`].
    #[serde(default, skip_serializing_if = "is_empty_path")]
    pub path: PathBuf,
    /// A live system's settings, read by the crate that opens it (empty for files).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// The format (default: from the extension, see [`SourceFormat::from_path`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<SourceFormat>,
    /// What happens to rows that cannot be read (default [`OnBadRow::Quarantine`]).
    #[serde(default, alias = "bad_rows")]
    pub on_bad_row: OnBadRow,
    /// A column-map preset (`salesforce_contacts`, `salesforce_leads`, `hubspot_contacts`,
    /// `dynamics_contacts`, `segment_identify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The key column, or candidates in order; replaces the preset's key columns.
    #[serde(
        default,
        alias = "id_column",
        deserialize_with = "crate::column_map::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub key: Vec<String>,
    /// Timestamp fields whose first value becomes the observed-at time.
    #[serde(
        default,
        deserialize_with = "crate::column_map::one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub observed_at: Vec<String>,
    /// Columns to drop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// What happens to unmapped columns (`keep`, the default, or `reject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<Unmapped>,
    /// What happens to values that do not convert (`reject`, the default, or `keep_text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_values: Option<InvalidValues>,
    /// Column name -> field, or field and type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnTarget>,
    /// A column-map file (TOML or JSON) instead of the inline keys above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_map_file: Option<PathBuf>,
    /// CSV: the delimiter, one ASCII character (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// JSON Lines: the longest line accepted, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_line_bytes: Option<usize>,
    /// For a pipeline: join profiles on this field instead of deduplicating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    /// For a pipeline: copy the record key into this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_as: Option<String>,
}

/// Refuses setting values that TOML cannot hold (so that a configuration loaded from JSON
/// can be written as TOML): nulls, integers beyond 64-bit signed, and TOML dates (which
/// settings take as strings).
fn check_setting(path: &str, value: &serde_json::Value) -> Result<()> {
    use serde_json::Value as Json;
    match value {
        Json::Null => Err(Error::invalid(
            path,
            "null is not a setting; remove the key",
        )),
        Json::Number(n) if !n.is_i64() && !n.is_f64() => Err(Error::invalid(
            path,
            "the number is too large; write it as a string",
        )),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_setting(&format!("{path}[{i}]"), v)),
        Json::Object(map) => {
            if map.keys().any(|k| k.starts_with("$__toml_private")) {
                return Err(Error::invalid(
                    path,
                    "write dates and times in settings as strings (\"2026-01-01T00:00:00Z\")",
                ));
            }
            map.iter()
                .try_for_each(|(k, v)| check_setting(&format!("{path}.{k}"), v))
        }
        _ => Ok(()),
    }
}

fn is_file(k: &SourceKind) -> bool {
    *k == SourceKind::File
}

fn is_empty_path(p: &Path) -> bool {
    p.as_os_str().is_empty()
}

/// A configured source, opened: records, or events. Readers of files are `'static`; a reader
/// over a borrowed stream ([`SourceConfig::open_reader`]) lives as long as the stream.
pub enum Opened<'r> {
    /// A reader of records.
    Records(Box<dyn Source + 'r>),
    /// A reader of events.
    Events(Box<dyn EventSource + 'r>),
}

impl fmt::Debug for Opened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opened::Records(s) => f.debug_tuple("Records").field(&s.name().as_str()).finish(),
            Opened::Events(s) => f.debug_tuple("Events").field(&s.name().as_str()).finish(),
        }
    }
}

impl SourceConfig {
    /// A source named `name` reading the file at `path`, everything else at its default.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            path: path.into(),
            ..SourceConfig::default()
        }
    }

    /// Parses one source from TOML and checks it ([`SourceConfig::check`]).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a value
    /// of the wrong type; [`Error::Invalid`] naming the key at fault.
    pub fn from_toml_str(text: &str) -> Result<SourceConfig> {
        let c: SourceConfig = config::load(text, Format::Toml.text_origin(), Format::Toml)?;
        c.check()?;
        Ok(c)
    }

    /// Parses one source from JSON and checks it; as [`SourceConfig::from_toml_str`].
    ///
    /// # Errors
    ///
    /// As [`SourceConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<SourceConfig> {
        let c: SourceConfig = config::load(text, Format::Json.text_origin(), Format::Json)?;
        c.check()?;
        Ok(c)
    }

    /// The format: the configured one, or the one the path's extension names.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `format` when neither says.
    pub fn format(&self) -> Result<SourceFormat> {
        if let Some(f) = self.format {
            return Ok(f);
        }
        SourceFormat::from_path(&self.path).ok_or_else(|| {
            Error::invalid(
                "format",
                "cannot tell the format from the file name; add format = \"csv\", \"jsonl\" or \"events\"",
            )
        })
    }

    /// Whether any inline column-map key is set.
    fn has_inline_map(&self) -> bool {
        self.preset.is_some()
            || !self.key.is_empty()
            || !self.observed_at.is_empty()
            || !self.ignore.is_empty()
            || self.unmapped.is_some()
            || self.invalid_values.is_some()
            || !self.columns.is_empty()
    }

    /// The delimiter as a byte (default `,`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `delimiter` when it is not one ASCII character other than a quote
    /// or a line break.
    pub fn delimiter_byte(&self) -> Result<u8> {
        match self.delimiter.as_deref() {
            None => Ok(b','),
            Some(d) if d.len() == 1 && !matches!(d, "\"" | "\n" | "\r") => Ok(d.as_bytes()[0]),
            Some(_) => Err(Error::invalid(
                "delimiter",
                "use one ASCII character other than a quote or a line break, such as \",\", \";\" or \"\\t\"",
            )),
        }
    }

    /// Checks everything that can be checked without reading files: a name and a path, a
    /// known format, keys that suit it, and the inline column map. Errors name the key
    /// relative to this source (`delimiter`, `preset`, `columns.Email`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key and saying how to fix it.
    pub fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.trim() != self.name {
            return Err(Error::invalid(
                "name",
                "a source needs a name, without surrounding spaces",
            ));
        }
        if self.kind != SourceKind::File {
            return self.check_live();
        }
        if !self.settings.is_empty() {
            return Err(Error::invalid(
                "settings",
                "settings are for live sources (kind = \"postgres\", \"hubspot\" or \"kafka\"); remove them or set kind",
            ));
        }
        if self.path.as_os_str().is_empty() {
            return Err(Error::invalid("path", "the path is empty"));
        }
        let format = self.format()?;
        if self.delimiter.is_some() {
            if format != SourceFormat::Csv {
                return Err(Error::invalid(
                    "delimiter",
                    "the delimiter is for CSV sources only; remove it",
                ));
            }
            self.delimiter_byte()?;
        }
        if self.max_line_bytes.is_some()
            && format != SourceFormat::Jsonl
            && format != SourceFormat::Events
        {
            return Err(Error::invalid(
                "max_line_bytes",
                "max_line_bytes is for JSON Lines sources only; remove it",
            ));
        }
        for (key, v) in [("join", &self.join), ("key_as", &self.key_as)] {
            if let Some(f) = v {
                if f.trim().is_empty() || f.trim() != f {
                    return Err(Error::invalid(
                        key,
                        "the field name must be non-empty, without surrounding spaces",
                    ));
                }
                if format == SourceFormat::Events {
                    return Err(Error::invalid(
                        key,
                        "event sources have no records to join or key; remove it",
                    ));
                }
            }
        }
        if self.column_map_file.is_some() && self.has_inline_map() {
            return Err(Error::invalid(
                "column_map_file",
                "use either a column-map file or the inline keys (preset, key, columns, ...), not both",
            ));
        }
        if self.column_map_file.is_none() {
            self.inline_map()?;
        }
        Ok(())
    }

    /// The checks of a live source: no file keys, a settings table, a usable column map.
    fn check_live(&self) -> Result<()> {
        let kind = self.kind;
        for (key, set) in [
            ("path", !self.path.as_os_str().is_empty()),
            ("format", self.format.is_some()),
            ("delimiter", self.delimiter.is_some()),
            ("max_line_bytes", self.max_line_bytes.is_some()),
        ] {
            if set {
                return Err(Error::invalid(
                    key,
                    format!(
                        "a {kind} source reads no file; remove `{key}` and describe it under [sources.settings]"
                    ),
                ));
            }
        }
        if self.settings.is_empty() {
            return Err(Error::invalid(
                "settings",
                format!("a {kind} source needs a settings table saying where to read"),
            ));
        }
        for (key, value) in &self.settings {
            check_setting(&format!("settings.{key}"), value)?;
        }
        if self.column_map_file.is_some() && self.has_inline_map() {
            return Err(Error::invalid(
                "column_map_file",
                "use either a column-map file or the inline keys (preset, key, columns, ...), not both",
            ));
        }
        if self.column_map_file.is_none() {
            self.inline_map()?;
        }
        Ok(())
    }

    /// The inline column map, or `None` when no inline key is set.
    fn inline_map(&self) -> Result<Option<ColumnMap>> {
        if !self.has_inline_map() {
            return Ok(None);
        }
        let config = ColumnMapConfig {
            preset: self.preset.clone(),
            key: Vec::new(),
            observed_at: self.observed_at.clone(),
            ignore: self.ignore.clone(),
            unmapped: self.unmapped.unwrap_or_default(),
            invalid_values: self.invalid_values.unwrap_or_default(),
            columns: self.columns.clone(),
        };
        let mut map = config.build()?;
        if !self.key.is_empty() {
            map = map.without_key();
            for k in &self.key {
                if !k.chars().any(char::is_alphanumeric) {
                    return Err(Error::invalid(
                        "key",
                        "name the column that holds each row's key",
                    ));
                }
                map = map.with_key(k);
            }
        }
        Ok(Some(map))
    }

    /// The column map: the file's (resolved against `base_dir`), the inline one, or `None`
    /// when the source has neither (every column kept under its own name).
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the column-map file cannot be loaded, [`Error::Invalid`] when the
    /// map is inconsistent.
    pub fn column_map(&self, base_dir: impl AsRef<Path>) -> Result<Option<ColumnMap>> {
        match &self.column_map_file {
            Some(file) => Ok(Some(ColumnMap::from_path(resolve(
                base_dir.as_ref(),
                file,
            ))?)),
            None => self.inline_map(),
        }
    }

    /// The path, resolved against `base_dir` when it is relative.
    pub fn resolved_path(&self, base_dir: impl AsRef<Path>) -> PathBuf {
        resolve(base_dir.as_ref(), &self.path)
    }

    /// Checks the source and opens its file (relative paths are resolved against `base_dir`):
    /// records or events, as its format says.
    ///
    /// # Errors
    ///
    /// Those of [`SourceConfig::check`] and [`SourceConfig::column_map`]; [`Error::Io`] when
    /// the file cannot be opened; [`Error::Source`] when its header is unusable.
    pub fn open(&self, base_dir: impl AsRef<Path>) -> Result<Opened<'static>> {
        let base_dir = base_dir.as_ref();
        self.check()?;
        if let Some((feature, krate)) = self.kind.feature() {
            return Err(Error::invalid(
                "kind",
                format!(
                    "a {} source is opened by {krate}: enable the mergetag feature `{feature}` and open it there",
                    self.kind
                ),
            ));
        }
        if let Some((feature, krate)) = self.format()?.feature() {
            return Err(Error::invalid(
                "format",
                format!(
                    "a {} source is opened by {krate}: enable the mergetag feature `{feature}` and open it there",
                    self.format()?
                ),
            ));
        }
        let path = self.resolved_path(base_dir);
        let file = std::fs::File::open(&path).map_err(|source| Error::Io { path, source })?;
        self.open_reader(file, base_dir)
    }

    /// Opens a reader of records; see [`SourceConfig::open`].
    ///
    /// # Errors
    ///
    /// As [`SourceConfig::open`], and [`Error::Invalid`] at `format` for an events source.
    pub fn build(&self, base_dir: impl AsRef<Path>) -> Result<Box<dyn Source>> {
        match self.open(base_dir)? {
            Opened::Records(s) => Ok(s),
            Opened::Events(_) => Err(Error::invalid(
                "format",
                "an events source holds events, not records; open it with build_events",
            )),
        }
    }

    /// Opens a reader of events; see [`SourceConfig::open`].
    ///
    /// # Errors
    ///
    /// As [`SourceConfig::open`], and [`Error::Invalid`] at `format` for a record source.
    pub fn build_events(&self, base_dir: impl AsRef<Path>) -> Result<Box<dyn EventSource>> {
        match self.open(base_dir)? {
            Opened::Events(s) => Ok(s),
            Opened::Records(_) => Err(Error::invalid(
                "format",
                "this source holds records, not events; set format = \"events\"",
            )),
        }
    }

    /// Reads `reader` as this source's format says, instead of the file at its path (which
    /// may then be empty, but still names the format when `format` is absent). The column-map
    /// file, if any, is resolved against `base_dir`. The name is checked only for being
    /// non-empty; [`SourceConfig::check`] is not called.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a bad column map or delimiter, [`Error::Source`] when the header
    /// is unusable.
    pub fn open_reader<'r, R: Read + 'r>(
        &self,
        reader: R,
        base_dir: impl AsRef<Path>,
    ) -> Result<Opened<'r>> {
        if let Some((feature, krate)) = self.kind.feature() {
            return Err(Error::invalid(
                "kind",
                format!(
                    "a {} source is opened by {krate}, not over a stream: enable the mergetag feature `{feature}`",
                    self.kind
                ),
            ));
        }
        let map = self.column_map(base_dir)?;
        let format = match (self.format, self.path.as_os_str().is_empty()) {
            (None, true) => SourceFormat::Csv,
            _ => self.format()?,
        };
        let name = self.name.as_str();
        if let Some((feature, krate)) = format.feature() {
            return Err(Error::invalid(
                "format",
                format!(
                    "a {format} source is opened by {krate}, not over a stream: enable the mergetag feature `{feature}`"
                ),
            ));
        }
        Ok(match format {
            SourceFormat::Csv => {
                let mut csv = CsvSource::builder();
                csv.on_bad_row(self.on_bad_row)
                    .delimiter(self.delimiter_byte()?);
                if let Some(map) = &map {
                    csv.column_map(map.clone());
                }
                let source = csv.from_reader(name, reader)?;
                // A configured key column the header lacks would key every row by its number,
                // silently: refuse it.
                if let Some(map) = &map
                    && !self.key.is_empty()
                    && !source.columns().is_empty()
                    && !source
                        .columns()
                        .iter()
                        .any(|c| map.key_rank(c.as_str()).is_some())
                {
                    return Err(Error::invalid(
                        "key",
                        format!(
                            "the header has no column {} (the configured key); name a column `{name}` has",
                            self.key
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    ));
                }
                Opened::Records(Box::new(source))
            }
            SourceFormat::Jsonl | SourceFormat::Events | SourceFormat::Parquet => {
                let mut jsonl = JsonLinesBuilder::new();
                jsonl.on_bad_row(self.on_bad_row);
                if let Some(map) = map {
                    jsonl.column_map(map);
                }
                if let Some(n) = self.max_line_bytes {
                    jsonl.max_line_bytes(n);
                }
                if format == SourceFormat::Jsonl {
                    Opened::Records(Box::new(jsonl.records(name, reader)))
                } else {
                    Opened::Events(Box::new(jsonl.events(name, reader)))
                }
            }
        })
    }
}

fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::{Record, SourceErrorKind};

    #[test]
    fn format_from_extension_or_key() {
        let c = SourceConfig::new("a", "x.CSV");
        assert_eq!(c.format().unwrap(), SourceFormat::Csv);
        let c = SourceConfig::new("a", "x.ndjson");
        assert_eq!(c.format().unwrap(), SourceFormat::Jsonl);
        let e = SourceConfig::new("a", "x.xlsx").check().unwrap_err();
        assert!(e.to_string().starts_with("format: cannot tell"), "{e}");
        let c = SourceConfig::new("a", "x.parquet");
        assert_eq!(c.format().unwrap(), SourceFormat::Parquet);
        let e = c.build(".").err().unwrap();
        assert!(e.to_string().contains("feature `lake`"), "{e}");
        let c = SourceConfig {
            format: Some(SourceFormat::Events),
            ..SourceConfig::new("a", "x.log")
        };
        assert_eq!(c.format().unwrap(), SourceFormat::Events);
    }

    #[test]
    fn old_spellings_and_errors_with_positions() {
        let c = SourceConfig::from_toml_str(
            "name = \"a\"\npath = \"a.csv\"\nid_column = \"Id\"\nbad_rows = \"skip\"\n",
        )
        .unwrap();
        assert_eq!(c.key, ["Id"]);
        assert_eq!(c.on_bad_row, OnBadRow::Quarantine);
        let e =
            SourceConfig::from_toml_str("name = \"a\"\npath = \"a.csv\"\nsheet = 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("<toml>: line 3, column 1: unknown field `sheet`"),
            "{e}"
        );
        let e =
            SourceConfig::from_json_str(r#"{"name": "a", "path": "a.jsonl", "delimiter": ";"}"#)
                .unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { path, .. } if path == "delimiter"),
            "{e}"
        );
        let e = SourceConfig::from_toml_str("name = \"a\"\npath = \"a.csv\"\npreset = \"sap\"\n")
            .unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { path, .. } if path == "preset"),
            "{e}"
        );
        let e = SourceConfig::from_toml_str(
            "name = \"e\"\npath = \"e.jsonl\"\nformat = \"events\"\njoin = \"email\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("join: event sources"), "{e}");
    }

    #[test]
    fn reads_what_it_describes() {
        let c = SourceConfig {
            key: vec!["Email".into()],
            delimiter: Some(";".into()),
            preset: Some("salesforce_contacts".into()),
            on_bad_row: OnBadRow::Fail,
            ..SourceConfig::new("crm", "")
        };
        let text = "Id;Email;FirstName\n1;ada@example.com;Ada\n2;bob@example.com\n";
        let Opened::Records(mut s) = c.open_reader(text.as_bytes(), ".").unwrap() else {
            panic!("records expected")
        };
        let mut r = Record::default();
        assert!(s.read_record(&mut r).unwrap());
        assert_eq!(r.id.to_string(), "crm:ada@example.com"); // the key replaces the preset's
        let e = s.read_record(&mut r).unwrap_err();
        assert!(matches!(e.kind(), SourceErrorKind::RaggedRow { .. }));
        assert!(!s.read_record(&mut r).unwrap());
    }

    #[test]
    fn a_key_column_the_header_lacks_is_an_error() {
        let c = SourceConfig {
            key: vec!["customer_id".into()],
            ..SourceConfig::new("crm", "crm.csv")
        };
        let e = c
            .open_reader("id,email\n1,a@example.com\n".as_bytes(), ".")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "key: the header has no column `customer_id` (the configured key); name a column `crm` has"
        );
        // Matched loosely, as column maps match names.
        assert!(c.open_reader("Customer ID,email\n".as_bytes(), ".").is_ok());
    }

    #[test]
    fn opens_files_relative_to_the_base() {
        let c = SourceConfig {
            format: Some(SourceFormat::Events),
            ..SourceConfig::new("events", "events.jsonl")
        };
        let mut events = c.build_events("../../examples/data").unwrap();
        assert!(events.read_event().unwrap().is_some());
        let e = c.build("../../examples/data").err().unwrap();
        assert!(e.to_string().contains("build_events"), "{e}");
        let e = SourceConfig::new("x", "nowhere.csv")
            .build(".")
            .err()
            .unwrap();
        assert!(e.to_string().contains("nowhere.csv"), "{e}");
    }

    #[test]
    fn live_sources_need_settings_and_no_file_keys() {
        let c = SourceConfig::from_toml_str(
            "name = \"crm\"\nkind = \"postgres\"\npreset = \"hubspot_contacts\"\n[settings]\ntable = \"contacts\"\n",
        )
        .unwrap();
        assert_eq!(c.kind, SourceKind::Postgres);
        assert_eq!(c.settings["table"], serde_json::json!("contacts"));
        let e = c.open(".").err().unwrap();
        assert!(e.to_string().contains("feature `postgres`"), "{e}");
        let e = SourceConfig::from_toml_str("name = \"crm\"\nkind = \"hubspot\"\n").unwrap_err();
        assert!(e.to_string().starts_with("settings: "), "{e}");
        let e = SourceConfig::from_toml_str(
            "name = \"crm\"\nkind = \"postgres\"\npath = \"x.csv\"\n[settings]\nurl = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("path: "), "{e}");
        let e = SourceConfig::from_toml_str(
            "name = \"f\"\npath = \"x.csv\"\n[settings]\nurl = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("settings: "), "{e}");
        for (json, at) in [
            (r#"{"a": null}"#, "settings.a: null"),
            (
                r#"{"a": [1, {"b": 18446744073709551615}]}"#,
                "settings.a[1].b: the number",
            ),
        ] {
            let text = format!(r#"{{"name": "crm", "kind": "postgres", "settings": {json}}}"#);
            let e = SourceConfig::from_json_str(&text).unwrap_err();
            assert!(e.to_string().starts_with(at), "{e}");
        }
        let e = SourceConfig::from_toml_str(
            "name = \"crm\"\nkind = \"postgres\"\n[settings]\nsince = 2026-01-01T00:00:00Z\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("settings.since: write dates"),
            "{e}"
        );
    }
}
