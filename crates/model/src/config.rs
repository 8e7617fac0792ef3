//! Loading configuration documents (TOML or JSON) the same way in every crate: one
//! [`ParseError`] that names the origin, line and column, one [`load`] for text and one
//! [`from_path`] for files, chosen by extension with the same rule everywhere.
//!
//! Each crate keeps its own error enum and wraps these with `#[source]`; this module is the
//! one place that talks to the TOML and JSON parsers for configuration.
//!
//! ```
//! use mergetag_model::config::{self, Format};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     threshold: f64,
//! }
//!
//! let s: Settings = config::load("threshold = 0.9\n", "settings.toml", Format::Toml)?;
//! assert_eq!(s.threshold, 0.9);
//!
//! // Mistakes name the origin, line and column, and never repeat the whole document.
//! let err = config::load::<Settings>("threshold = 0.9\nthreshhold = 1\n", "settings.toml", Format::Toml)
//!     .unwrap_err();
//! assert_eq!((err.line, err.column), (2, 1));
//! assert!(err.to_string().starts_with("settings.toml: line 2, column 1: unknown field `threshhold`"));
//!
//! let err = config::load::<Settings>(r#"{"threshold": "high"}"#, "<json>", Format::Json).unwrap_err();
//! assert_eq!(err.line, 1);
//! # Ok::<(), mergetag_model::ParseError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::text_position::{line_col, without_json_position};

/// The text formats a configuration document may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file's extension names: `.toml` or `.json`, in any case. `None` for any
    /// other extension or none: the same rule for every configuration file of every crate.
    ///
    /// ```
    /// use mergetag_model::config::Format;
    ///
    /// assert_eq!(Format::from_path("rules/email.TOML"), Some(Format::Toml));
    /// assert_eq!(Format::from_path("map.json"), Some(Format::Json));
    /// assert_eq!(Format::from_path("map.yaml"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("toml") {
            Some(Format::Toml)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(Format::Json)
        } else {
            None
        }
    }

    /// `toml` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }

    /// The origin used for text that has no file name: `<toml>` or `<json>`.
    pub fn text_origin(self) -> &'static str {
        match self {
            Format::Toml => "<toml>",
            Format::Json => "<json>",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration document that could not be parsed: a syntax error, an unknown key, a value
/// of the wrong type. Names where (origin, 1-based line and column; 0 when unknown) and what,
/// in words that never repeat the document's values beyond what the parser quotes of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file name, or `<toml>` / `<json>` for text.
    pub origin: String,
    /// The 1-based line of the problem (0 when unknown).
    pub line: usize,
    /// The 1-based column of the problem, in characters (0 when unknown).
    pub column: usize,
    /// What the parser says, on one line.
    pub message: String,
}

impl ParseError {
    /// An error at `line`, `column` of `origin`.
    pub fn new(
        origin: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> ParseError {
        ParseError {
            origin: origin.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    /// `origin: line L, column C: message`, or `origin: message` when the position is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(
                f,
                "{}: line {}, column {}: {}",
                self.origin, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// A configuration file that could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file's extension names no format this loader reads.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file was read but does not parse (including text that is not UTF-8).
    Parse(ParseError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, .. } => write!(f, "cannot read {}", path.display()),
            LoadError::UnknownFormat { path } => write!(
                f,
                "{}: a configuration file must end in .toml or .json",
                path.display()
            ),
            LoadError::Parse(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Read { source, .. } => Some(source),
            LoadError::UnknownFormat { .. } => None,
            // The parse error is this error's whole message, not a cause behind it.
            LoadError::Parse(_) => None,
        }
    }
}

impl From<ParseError> for LoadError {
    fn from(e: ParseError) -> LoadError {
        LoadError::Parse(e)
    }
}

/// Parses `text`, written in `format`, into `T`; `origin` names it in errors (a file name, or
/// [`Format::text_origin`]).
///
/// # Errors
///
/// A [`ParseError`] with the line and column of a syntax error, an unknown key or a value of
/// the wrong type.
pub fn load<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    format: Format,
) -> Result<T, ParseError> {
    match format {
        Format::Toml => toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            ParseError::new(origin, line, column, one_line(e.message()))
        }),
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            ParseError::new(
                origin,
                e.line(),
                e.column(),
                one_line(without_json_position(&message)),
            )
        }),
    }
}

/// Reads the file at `path` and parses it by its extension ([`Format::from_path`]); errors
/// name the file.
///
/// # Errors
///
/// [`LoadError::Read`] when the file cannot be read, [`LoadError::UnknownFormat`] for an
/// extension other than `.toml` or `.json`, [`LoadError::Parse`] for text that is not UTF-8 or
/// does not parse.
pub fn from_path<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, LoadError> {
    let path = path.as_ref();
    let format = Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let (text, origin) = read_text(path)?;
    Ok(load(&text, &origin, format)?)
}

/// Reads a configuration file as UTF-8 text, returning it with its origin (the path as
/// displayed) for errors. For callers that parse the text themselves (several documents in
/// one file, or a format chosen otherwise).
///
/// # Errors
///
/// [`LoadError::Read`] when the file cannot be read, [`LoadError::Parse`] (at line 0) when it
/// is not UTF-8.
pub fn read_text(path: impl AsRef<Path>) -> Result<(String, String), LoadError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ParseError::new(
            origin.clone(),
            0,
            0,
            format!(
                "the file is not valid UTF-8 (byte {}); save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok((text, origin))
}

/// A parser message on one line, without trailing whitespace.
fn one_line(message: &str) -> String {
    message.trim_end().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        n: u32,
    }

    #[test]
    fn toml_and_json_agree() {
        let a: Doc = load("name = \"x\"\nn = 3\n", "a.toml", Format::Toml).unwrap();
        let b: Doc = load(r#"{"name": "x", "n": 3}"#, "a.json", Format::Json).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn positions_are_one_based_and_messages_one_line() {
        let e = load::<Doc>("name = \"x\"\nn = \"many\"\n", "a.toml", Format::Toml).unwrap_err();
        assert_eq!((e.line, e.column), (2, 5));
        assert!(!e.message.contains('\n'), "{e}");
        let e = load::<Doc>("{\n  \"name\": 1\n}", "a.json", Format::Json).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.message.contains("at line"), "{e}");
        assert!(e.to_string().starts_with("a.json: line 2, column"), "{e}");
    }

    #[test]
    fn files_by_extension_only() {
        let dir =
            std::env::temp_dir().join(format!("mergetag-model-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("d.TOML");
        std::fs::write(&toml_path, "name = \"x\"\n").unwrap();
        let d: Doc = from_path(&toml_path).unwrap();
        assert_eq!(d.name, "x");
        let yaml = dir.join("d.yaml");
        std::fs::write(&yaml, "name: x\n").unwrap();
        let e = from_path::<Doc>(&yaml).unwrap_err();
        assert!(matches!(e, LoadError::UnknownFormat { .. }), "{e}");
        let bad = dir.join("bad.json");
        std::fs::write(&bad, b"{\"name\": \"\xff\"}").unwrap();
        let e = from_path::<Doc>(&bad).unwrap_err();
        assert!(e.to_string().contains("not valid UTF-8 (byte 10)"), "{e}");
        let e = from_path::<Doc>(dir.join("missing.toml")).unwrap_err();
        assert!(matches!(e, LoadError::Read { .. }));
        assert!(std::error::Error::source(&e).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_position_is_left_out() {
        let e = ParseError::new("x.toml", 0, 0, "empty");
        assert_eq!(e.to_string(), "x.toml: empty");
        let m: BTreeMap<String, u32> = load("", "<toml>", Format::Toml).unwrap();
        assert!(m.is_empty());
    }
}
