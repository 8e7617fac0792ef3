//! The configuration files of `mergetag dedup` and `mergetag link`.
//!
//! Both are TOML; every table refuses unknown keys, and a problem is reported with the file's
//! name, line and column.
//!
//! # `mergetag dedup --config dedup.toml`: [`DedupFile`]
//!
//! ```toml
//! [input]                          # how INPUT.csv is read (an InputConfig)
//! id_column = "Id"                 # required: the column holding each row's unique id
//! preset = "salesforce_contacts"   # optional column map to start from: salesforce_contacts,
//!                                  # salesforce_leads, hubspot_contacts, dynamics_contacts,
//!                                  # segment_identify
//! delimiter = ","                  # optional, one ASCII character (default ",")
//! bad_rows = "skip"                # "skip" (default: reported on stderr, left out) or "fail"
//! ignore = ["Description"]         # optional: columns to drop
//! unmapped = "keep"                # optional: "keep" (default) or "reject" unmapped columns
//! invalid_values = "reject"        # optional: "reject" (default: a bad row) or "keep_text"
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
//! [dedup]                          # optional: a mergetag_dedup::DedupConfig, exactly as
//! threshold = 0.9                  # DedupConfig::from_toml_str reads it; when the table is
//! [[dedup.comparisons]]            # absent, DedupConfig::contacts() is used
//! field = "email"
//! kind = "email"
//! [[dedup.blocking]]
//! keys = [{ field = "email", transform = "email_key" }]
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

use std::collections::BTreeMap;
use std::path::Path;

use mergetag_dedup::DedupConfig;
use mergetag_normalize::{NormalizeConfig, RecordNormalizer};
use mergetag_sources::{ColumnMap, ColumnMapConfig, ColumnTarget, InvalidValues, Unmapped};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What happens to a row of an input file that cannot be read (ragged, not UTF-8, a value
/// that does not convert, an empty id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRows {
    /// The row is left out of the outputs, and reported on stderr with its position (never
    /// its values); the command goes on. The default.
    #[default]
    Skip,
    /// The command stops with an error listing the bad rows (exit code 2).
    Fail,
}

/// How one input CSV file is read: the `[input]` table of a [`DedupFile`], `[left]` and
/// `[right]` of a [`LinkFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// The column holding each row's id, unique in the file. Output files name records by it.
    /// It is the record's id, not one of its fields (matched loosely: case, spaces and
    /// punctuation are ignored).
    pub id_column: String,
    /// A column map preset to start from (`salesforce_contacts`, `hubspot_contacts`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The field delimiter, one ASCII character (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// What happens to bad rows (default [`BadRows::Skip`]).
    #[serde(default)]
    pub bad_rows: BadRows,
    /// Columns to drop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// What happens to columns the map does not mention (default: kept as attributes).
    #[serde(default)]
    pub unmapped: Unmapped,
    /// What happens to values that do not convert to their column's type (default: the row is
    /// a bad row).
    #[serde(default)]
    pub invalid_values: InvalidValues,
    /// Column name -> field (or `{ field, type }`), on top of the preset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnTarget>,
}

impl InputConfig {
    /// An input keyed by `id_column`, with every other setting at its default.
    pub fn new(id_column: &str) -> InputConfig {
        InputConfig {
            id_column: id_column.to_owned(),
            preset: None,
            delimiter: None,
            bad_rows: BadRows::Skip,
            ignore: Vec::new(),
            unmapped: Unmapped::Keep,
            invalid_values: InvalidValues::Reject,
            columns: BTreeMap::new(),
        }
    }

    /// The column map: the preset (if any), the columns, and the id column as the only key.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (with `origin` and the table name `table`) for an empty id column, an
    /// unknown preset or a bad column entry.
    pub fn column_map(&self, origin: &str, table: &str) -> Result<ColumnMap> {
        if self.id_column.trim().is_empty() || !self.id_column.chars().any(char::is_alphanumeric) {
            return Err(Error::invalid(
                origin,
                format!("{table}.id_column: name the column that holds each row's id"),
            ));
        }
        let config = ColumnMapConfig {
            preset: self.preset.clone(),
            ignore: self.ignore.clone(),
            unmapped: self.unmapped,
            invalid_values: self.invalid_values,
            columns: self.columns.clone(),
            ..ColumnMapConfig::default()
        };
        let map = config
            .build()
            .map_err(|e| Error::invalid(origin, format!("{table}: {e}")))?;
        Ok(map.without_key().with_key(&self.id_column))
    }

    /// The delimiter as a byte.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when it is not one ASCII character other than a quote or a line
    /// break.
    pub fn delimiter_byte(&self, origin: &str, table: &str) -> Result<u8> {
        match self.delimiter {
            None => Ok(b','),
            Some(c) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => Ok(c as u8),
            Some(_) => Err(Error::invalid(
                origin,
                format!(
                    "{table}.delimiter: use one ASCII character other than a quote or a line \
                     break, such as \",\", \";\" or \"\\t\""
                ),
            )),
        }
    }

    fn check(&self, origin: &str, table: &str) -> Result<()> {
        self.column_map(origin, table)?;
        self.delimiter_byte(origin, table)?;
        Ok(())
    }
}

/// The configuration file of `mergetag dedup`; see the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupFile {
    /// How the input file is read.
    pub input: InputConfig,
    /// Normalization applied to every record before matching (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<NormalizeConfig>,
    /// The deduplication (default [`DedupConfig::contacts`]).
    #[serde(default = "DedupConfig::contacts")]
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
        let file: DedupFile = parse_toml(text, origin)?;
        file.input.check(origin, "input")?;
        check_common(origin, file.normalize.as_ref(), &file.dedup)?;
        Ok(file)
    }

    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, else as [`DedupFile::from_toml_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<DedupFile> {
        let (text, origin) = read_config(path.as_ref())?;
        DedupFile::from_toml_str(&text, &origin)
    }
}

/// The configuration file of `mergetag link`; see the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The comparisons, blocking and threshold (default [`DedupConfig::contacts`]).
    #[serde(default = "DedupConfig::contacts")]
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
        let file: LinkFile = parse_toml(text, origin)?;
        file.left.check(origin, "left")?;
        file.right.check(origin, "right")?;
        check_common(origin, file.normalize.as_ref(), &file.dedup)?;
        Ok(file)
    }

    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, else as [`LinkFile::from_toml_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<LinkFile> {
        let (text, origin) = read_config(path.as_ref())?;
        LinkFile::from_toml_str(&text, &origin)
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

fn check_common(
    origin: &str,
    normalize: Option<&NormalizeConfig>,
    dedup: &DedupConfig,
) -> Result<()> {
    build_normalizer(origin, normalize)?;
    mergetag_dedup::Deduper::new(dedup.clone())
        .map_err(|e| Error::invalid(origin, format!("dedup: {e}")))?;
    Ok(())
}

/// Reads a configuration file as UTF-8 text; returns it with its name for errors.
pub(crate) fn read_config(path: &Path) -> Result<(String, String)> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(&origin, e))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Parse {
        origin: origin.clone(),
        line: 0,
        column: 0,
        message: format!(
            "the file is not valid UTF-8 (byte {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })?;
    Ok((text, origin))
}

/// Parses TOML into `T`, with the position of any problem.
pub(crate) fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| {
            mergetag_model::text_position::line_col(text, s.start)
        });
        Error::Parse {
            origin: origin.to_owned(),
            line,
            column,
            message: e.message().trim_end().replace('\n', " "),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_defaults() {
        let f = DedupFile::from_toml_str("[input]\nid_column = \"id\"\n", "x").unwrap();
        assert_eq!(f.input, InputConfig::new("id"));
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
        assert!(e.to_string().contains("missing field `comparisons`"), "{e}");
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
