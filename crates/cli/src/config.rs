//! The configuration files of `mergetag dedup` and `mergetag link`.
//!
//! Both are TOML; every table refuses unknown keys, and a problem is reported with the file's
//! name, line and column.
//!
//! # `mergetag dedup --config dedup.toml`: [`DedupFile`]
//!
//! ```toml
//! [input]                          # how INPUT.csv is read: a mergetag_sources::SourceConfig
//! id_column = "Id"                 # required: the column holding each row's unique id
//!                                  # (`key` is the same key)
//! preset = "salesforce_contacts"   # optional column map to start from: salesforce_contacts,
//!                                  # salesforce_leads, hubspot_contacts, dynamics_contacts,
//!                                  # segment_identify
//! delimiter = ","                  # optional, one ASCII character (default ",")
//! on_bad_row = "quarantine"        # default: reported on stderr, left out; or "fail"
//!                                  # (also spelt bad_rows = "skip" / "fail")
//! ignore = ["Description"]         # optional: columns to drop
//! unmapped = "keep"                # optional: "keep" (default) or "reject" unmapped columns
//! invalid_values = "reject"        # optional: "reject" (default: a bad row) or "keep_text"
//! format = "csv"                   # optional: csv (the default) or jsonl
//!
//! [input.columns]                  # optional: column -> field, added to the preset
//! Loyalty_Tier__c = "loyalty_tier"
//! Customer_Lifetime_Value__c = { field = "customer_lifetime_value", type = "float" }
//!
//! [normalize]                      # optional: a mergetag_normalize::NormalizeConfig,
//! [normalize.fields.birth_date]    # applied to every record before matching
//! normalizer = "date"
//! order = "MDY"
//!
//! [dedup]                          # optional (absent: DedupConfig::contacts()), as the
//! preset = "contacts"              # pipeline's [dedup]: a preset or `file = "..."`, with
//! threshold = 0.9                  # keys over it; or `comparisons` and `blocking` in full
//! # [[dedup.comparisons]]          # (mergetag::pipeline::config::DedupSection)
//! # field = "email"
//! # kind = "email"
//! ```
//!
//! # `mergetag link --config link.toml`: [`LinkFile`]
//!
//! The same, with one input table per side and the one-to-one switch at the top:
//!
//! ```toml
//! one_to_one = true                # optional (default false): link each record at most once
//!
//! [left]
//! id_column = "Id"
//! preset = "salesforce_contacts"
//!
//! [right]
//! id_column = "hs_object_id"
//! preset = "hubspot_contacts"
//!
//! # [normalize] and [dedup] as above
//! ```

use std::path::Path;

use mergetag::pipeline::config::DedupSection;
use mergetag_dedup::DedupConfig;
use mergetag_model::config::{Format, LoadError};
use mergetag_normalize::{NormalizeConfig, RecordNormalizer};
use mergetag_sources::{SourceConfig, SourceFormat};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the command line reads an input file: a [`SourceConfig`] whose `key` (written
/// `id_column`) names the one column holding each row's id. The file's path and the source's
/// name come from the command line.
pub type InputConfig = SourceConfig;

/// An input keyed by `id_column`, with every other setting at its default.
pub fn input(id_column: &str) -> InputConfig {
    let mut c = SourceConfig::default();
    c.key = vec![id_column.to_owned()];
    c
}

/// The id column of an input: its one key column.
///
/// # Errors
///
/// [`Error::Invalid`] (with `origin` and the table name `table`) when the input names no key
/// column, or several.
pub fn id_column<'a>(input: &'a InputConfig, origin: &str, table: &str) -> Result<&'a str> {
    match input.key.as_slice() {
        [id] if id.chars().any(char::is_alphanumeric) => Ok(id),
        _ => Err(Error::invalid(
            origin,
            format!("{table}.id_column: name the column that holds each row's id"),
        )),
    }
}

/// The input as it reads `path` (named after it): CSV unless `format` says otherwise.
pub fn for_path(input: &InputConfig, path: &Path) -> InputConfig {
    let mut c = input.clone();
    c.path = path.to_owned();
    c.name = path.display().to_string();
    c.format.get_or_insert(SourceFormat::Csv);
    c
}

/// Checks an input table: one id column, keys that suit the command line, and the rest as
/// [`SourceConfig::check`] does.
///
/// # Errors
///
/// [`Error::Invalid`] naming `origin` and the key (`input.delimiter`).
pub fn check_input(input: &InputConfig, origin: &str, table: &str) -> Result<()> {
    id_column(input, origin, table)?;
    for (key, set) in [
        ("join", input.join.is_some()),
        ("key_as", input.key_as.is_some()),
        ("name", !input.name.is_empty()),
        ("path", !input.path.as_os_str().is_empty()),
    ] {
        if set {
            return Err(Error::invalid(
                origin,
                format!("{table}.{key}: the command line sets this; remove it"),
            ));
        }
    }
    if input.format == Some(SourceFormat::Events) {
        return Err(Error::invalid(
            origin,
            format!("{table}.format: an input holds records: use csv or jsonl"),
        ));
    }
    for_path(input, Path::new("input"))
        .check()
        .map_err(|e| source_error(e, origin, table))
}

/// A source error about the input table `table` of the configuration `origin`.
pub(crate) fn source_error(e: mergetag_sources::Error, origin: &str, table: &str) -> Error {
    match e {
        mergetag_sources::Error::Invalid { path, message } => {
            Error::invalid(origin, format!("{table}.{path}: {message}"))
        }
        e @ mergetag_sources::Error::Load(_) => {
            Error::invalid(origin, format!("{table}.column_map_file: {e}"))
        }
        e => Error::Input(e.to_string()),
    }
}

/// The `[dedup]` table of a file as written: a preset (or a file) with keys over it, or a
/// whole `DedupConfig`; see [`DedupSection`].
fn resolve_dedup(section: Option<&DedupSection>, origin: &str) -> Result<DedupConfig> {
    let Some(section) = section else {
        return Ok(DedupConfig::contacts());
    };
    let base = Path::new(origin).parent().unwrap_or(Path::new(""));
    section
        .resolve(base, origin)
        .map(|(dedup, _)| dedup)
        .map_err(|e| match e {
            mergetag::Error::Invalid { path, message, .. } => {
                Error::invalid(origin, format!("{path}: {message}"))
            }
            mergetag::Error::Read { path, source } => Error::io(path.display(), source),
            e => Error::invalid(origin, e.to_string()),
        })
}

/// A dedup file as written, before its `[dedup]` table is resolved.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedupFile {
    input: InputConfig,
    #[serde(default)]
    normalize: Option<NormalizeConfig>,
    #[serde(default)]
    dedup: Option<DedupSection>,
}

/// A link file as written, before its `[dedup]` table is resolved.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkFile {
    #[serde(default)]
    one_to_one: bool,
    left: InputConfig,
    right: InputConfig,
    #[serde(default)]
    normalize: Option<NormalizeConfig>,
    #[serde(default)]
    dedup: Option<DedupSection>,
}

/// The configuration file of `mergetag dedup`; see the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DedupFile {
    /// How the input file is read.
    pub input: InputConfig,
    /// Normalization applied to every record before matching (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<NormalizeConfig>,
    /// The deduplication: the `[dedup]` table resolved (default [`DedupConfig::contacts`]).
    pub dedup: DedupConfig,
}

impl DedupFile {
    /// Parses and checks a configuration; `origin` names it in errors (a file name).
    ///
    /// ```
    /// use mergetag_cli::config::DedupFile;
    ///
    /// let config = DedupFile::from_toml_str("[input]\nid_column = \"Id\"\n", "dedup.toml")?;
    /// assert_eq!(config.dedup, mergetag_dedup::DedupConfig::contacts());
    ///
    /// let err = DedupFile::from_toml_str("[input]\nid_column = \"Id\"\nsheet = 1\n", "dedup.toml")
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("dedup.toml: line 3, column 1: unknown field `sheet`"));
    /// # Ok::<(), mergetag_cli::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a wrong
    /// type; [`Error::Invalid`] for settings that parse but cannot work (an unknown preset, a
    /// threshold outside `(0, 1)`, ...).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<DedupFile> {
        Self::parse(text, origin, Format::Toml)
    }

    fn parse(text: &str, origin: &str, format: Format) -> Result<DedupFile> {
        let raw: RawDedupFile = parse(text, origin, format)?;
        let file = DedupFile {
            dedup: resolve_dedup(raw.dedup.as_ref(), origin)?,
            input: raw.input,
            normalize: raw.normalize,
        };
        check_input(&file.input, origin, "input")?;
        // The [dedup] table was checked when resolved; the normalization is checked here.
        build_normalizer(origin, file.normalize.as_ref())?;
        Ok(file)
    }

    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, else as [`DedupFile::from_toml_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<DedupFile> {
        let (text, origin, format) = read_config(path.as_ref())?;
        DedupFile::parse(&text, &origin, format)
    }
}

/// The configuration file of `mergetag link`; see the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkFile {
    /// Link each record at most once, strongest pairs first (default false; the command's
    /// `--one-to-one` flag turns it on too).
    #[serde(default)]
    pub one_to_one: bool,
    /// How the left file is read.
    pub left: InputConfig,
    /// How the right file is read.
    pub right: InputConfig,
    /// Normalization applied to every record of both sides before matching (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<NormalizeConfig>,
    /// The comparisons, blocking and threshold: the `[dedup]` table resolved (default
    /// [`DedupConfig::contacts`]).
    pub dedup: DedupConfig,
}

impl LinkFile {
    /// Parses and checks a configuration; `origin` names it in errors (a file name).
    ///
    /// ```
    /// use mergetag_cli::config::LinkFile;
    ///
    /// let toml = r#"
    ///     one_to_one = true
    ///     [left]
    ///     id_column = "Id"
    ///     preset = "salesforce_contacts"
    ///     [right]
    ///     id_column = "hs_object_id"
    ///     preset = "hubspot_contacts"
    /// "#;
    /// let config = LinkFile::from_toml_str(toml, "link.toml")?;
    /// assert!(config.one_to_one);
    /// # Ok::<(), mergetag_cli::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DedupFile::from_toml_str`].
    pub fn from_toml_str(text: &str, origin: &str) -> Result<LinkFile> {
        Self::parse(text, origin, Format::Toml)
    }

    fn parse(text: &str, origin: &str, format: Format) -> Result<LinkFile> {
        let raw: RawLinkFile = parse(text, origin, format)?;
        let file = LinkFile {
            dedup: resolve_dedup(raw.dedup.as_ref(), origin)?,
            one_to_one: raw.one_to_one,
            left: raw.left,
            right: raw.right,
            normalize: raw.normalize,
        };
        check_input(&file.left, origin, "left")?;
        check_input(&file.right, origin, "right")?;
        // The [dedup] table was checked when resolved; the normalization is checked here.
        build_normalizer(origin, file.normalize.as_ref())?;
        Ok(file)
    }

    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, else as [`LinkFile::from_toml_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<LinkFile> {
        let (text, origin, format) = read_config(path.as_ref())?;
        LinkFile::parse(&text, &origin, format)
    }
}

/// Builds the optional record normalizer.
pub(crate) fn build_normalizer(
    origin: &str,
    normalize: Option<&NormalizeConfig>,
) -> Result<Option<RecordNormalizer>> {
    normalize
        .map(|n| {
            n.build()
                .map_err(|e| Error::invalid(origin, format!("normalize: {e}")))
        })
        .transpose()
}

/// Reads a configuration file as UTF-8 text; returns it with its name for errors and the
/// format its extension names (`.json` is JSON; the command line's files are TOML otherwise).
pub(crate) fn read_config(path: &Path) -> Result<(String, String, Format)> {
    let (text, origin) = mergetag_model::config::read_text(path).map_err(|e| match e {
        LoadError::Read { source, .. } => Error::io(path.display(), source),
        LoadError::Parse(p) => Error::Parse(p),
        e => Error::invalid(&path.display().to_string(), e.to_string()),
    })?;
    let format = Format::from_path(path).unwrap_or(Format::Toml);
    Ok((text, origin, format))
}

/// Parses a configuration document into `T` through the model's loader, with the position of
/// any problem.
pub(crate) fn parse<T: DeserializeOwned>(text: &str, origin: &str, format: Format) -> Result<T> {
    Ok(mergetag_model::config::load(text, origin, format)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_defaults() {
        let f = DedupFile::from_toml_str("[input]\nid_column = \"id\"\n", "x").unwrap();
        assert_eq!(f.input, input("id"));
        assert!(f.normalize.is_none());
    }

    #[test]
    fn errors_name_the_position() {
        let e = DedupFile::from_toml_str("[input]\nid_column = 3\n", "d.toml").unwrap_err();
        assert!(
            e.to_string().starts_with("d.toml: line 2, column 13:"),
            "{e}"
        );
        let e = DedupFile::from_toml_str(
            "[input]\nid_column = \"id\"\n[dedup]\nthreshold = 0.5\n",
            "d.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("dedup: write preset = \"contacts\", a file, or `comparisons`"),
            "{e}"
        );
        // A preset with one key over it.
        let f = DedupFile::from_toml_str(
            "[input]\nid_column = \"id\"\n[dedup]\npreset = \"contacts\"\nthreshold = 0.97\n",
            "d.toml",
        )
        .unwrap();
        assert_eq!(f.dedup.threshold, 0.97);
        assert_eq!(
            f.dedup.comparisons,
            mergetag_dedup::DedupConfig::contacts().comparisons
        );
        let e =
            DedupFile::from_toml_str("[input]\nid_column = \"id\"\npreset = \"sap\"\n", "d.toml")
                .unwrap_err();
        assert!(e.to_string().contains("unknown preset `sap`"), "{e}");
        let e =
            DedupFile::from_toml_str("[input]\nid_column = \"id\"\ndelimiter = \"é\"\n", "d.toml")
                .unwrap_err();
        assert!(e.to_string().contains("input.delimiter"), "{e}");
        let e = DedupFile::from_toml_str("[input]\nid_column = \" \"\n", "d.toml").unwrap_err();
        assert!(e.to_string().contains("input.id_column"), "{e}");
    }

    #[test]
    fn link_needs_both_sides() {
        let e = LinkFile::from_toml_str("[left]\nid_column = \"a\"\n", "l.toml").unwrap_err();
        assert!(e.to_string().contains("missing field `right`"), "{e}");
    }
}
