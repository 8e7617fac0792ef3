//! The crate's error type: broken configuration. Findings about recipients (a fallback used, a
//! value over a platform limit, a suppressed address) are reports, never errors.

use std::path::Path;

use mergetag_model::config::{self, Format, LoadError, ParseError};

/// What can go wrong when loading or building a mapping, trait or segment configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document could not be parsed (bad syntax, an unknown key, a wrong
    /// type), with its origin, line and column; from text or from a file.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A configuration file could not be loaded: it cannot be read, or its extension is not
    /// `.toml` or `.json`. A file that was read but does not parse is [`Error::Parse`].
    #[error(transparent)]
    Load(LoadError),
    /// A template's engine rejects it (an unclosed block, a stray end tag, a malformed
    /// expression): the engine's message, at the line and column it gives.
    #[error("{syntax} template{}: {message}", match (line, column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c}"),
        (Some(l), None) => format!(", line {l}"),
        _ => String::new(),
    })]
    Template {
        /// `handlebars` or `liquid`.
        syntax: &'static str,
        /// The line (from 1), when the engine gives one.
        line: Option<usize>,
        /// The column (from 1), when the engine gives one.
        column: Option<usize>,
        /// The engine's message.
        message: String,
    },
    /// A configuration parsed but is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the configuration, as a dotted path (`variables.first_name.source`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl Error {
    /// Puts `prefix` in front of an [`Error::Invalid`]'s path (`source` under `variables[2]`
    /// is `variables[2].source`); other errors are returned as they are.
    pub(crate) fn under(self, prefix: &str) -> Error {
        match self {
            Error::Invalid { path, message } => Error::Invalid {
                path: if path.is_empty() {
                    prefix.to_owned()
                } else {
                    format!("{prefix}.{path}")
                },
                message,
            },
            e => e,
        }
    }
}

impl From<LoadError> for Error {
    /// [`LoadError::Parse`] becomes [`Error::Parse`], so that a parse error is always one
    /// variant whether it came from text or a file; the rest is [`Error::Load`].
    fn from(e: LoadError) -> Error {
        match e {
            LoadError::Parse(p) => Error::Parse(p),
            e => Error::Load(e),
        }
    }
}

/// Parses `text` as `format`, naming it `<toml>` or `<json>` in errors.
pub(crate) fn load_str<T: serde::de::DeserializeOwned>(text: &str, format: Format) -> Result<T> {
    Ok(config::load(text, format.text_origin(), format)?)
}

/// Reads and parses a `.toml` or `.json` file, naming it in errors.
pub(crate) fn load_path<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    Ok(config::from_path(path)?)
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngagementConfig, MappingConfig, SegmentSetConfig, TraitSetConfig};

    fn position(e: Error) -> (String, usize, usize, String) {
        match e {
            Error::Parse(p) => (p.origin, p.line, p.column, p.message),
            other => panic!("not a parse error: {other:?}"),
        }
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let (origin, line, column, m) = position(
            MappingConfig::from_toml_str(
                "platform = \"sendgrid\"\n\n[[variables]]\nname = \"n\"\nsorce = \"profile.x\"\n",
            )
            .unwrap_err(),
        );
        assert_eq!((origin.as_str(), line, column), ("<toml>", 5, 1));
        assert!(m.contains("unknown field `sorce`"), "{m}");

        let (origin, line, column, m) = position(
            MappingConfig::from_json_str("{\n  \"variables\": [],\n  \"platfrom\": \"braze\"\n}")
                .unwrap_err(),
        );
        assert_eq!((origin.as_str(), line), ("<json>", 3));
        assert!(column > 0);
        assert!(
            m.contains("unknown field `platfrom`") && !m.contains("at line"),
            "{m}"
        );

        let (_, line, column, _) = position(
            TraitSetConfig::from_toml_str("[[traits]]\nname = \"t\"\naggregate = \"total\"\n")
                .unwrap_err(),
        );
        assert_eq!((line, column), (3, 13));
        let (_, line, _, m) =
            position(EngagementConfig::from_toml_str("\nhalf_life = 7\n").unwrap_err());
        assert_eq!(line, 2);
        assert!(m.contains("unknown field `half_life`"), "{m}");
        let (_, line, _, _) = position(
            SegmentSetConfig::from_json_str("{\"segments\": [\n{\"name\": 1}]}").unwrap_err(),
        );
        assert_eq!(line, 2);
        let e = MappingConfig::from_toml_str("[[variables]]\nname = 1\n").unwrap_err();
        assert!(
            e.to_string().starts_with("<toml>: line 2, column 8: "),
            "{e}"
        );
    }

    #[test]
    fn files_are_read_by_extension() {
        let dir = std::env::temp_dir().join(format!("mergetag-mapping-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("map.JSON");
        std::fs::write(&json, r#"{"platform": "braze", "variables": []}"#).unwrap();
        assert!(MappingConfig::from_path(&json).unwrap().platform.is_some());
        let toml = dir.join("traits.toml");
        std::fs::write(&toml, "[[traits]]\nname = \"t\"\naggregat = \"count\"\n").unwrap();
        let e = TraitSetConfig::from_path(&toml).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: line 3, column 1: ", toml.display())),
            "{e}"
        );
        assert!(matches!(e, Error::Parse(_)));
        let yaml = dir.join("segments.yaml");
        std::fs::write(&yaml, "").unwrap();
        let e = SegmentSetConfig::from_path(&yaml).unwrap_err();
        assert!(
            matches!(e, Error::Load(LoadError::UnknownFormat { .. })),
            "{e:?}"
        );
        let e = EngagementConfig::from_path(dir.join("missing.toml")).unwrap_err();
        assert!(matches!(e, Error::Load(LoadError::Read { .. })), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn element_configs_build_alone_with_relative_paths() {
        use crate::{ConditionConfig, TraitConfig, VariableConfig};
        let path = |e: Error| match e {
            Error::Invalid { path, .. } => path,
            other => panic!("{other:?}"),
        };
        let v: VariableConfig = toml::from_str("name = \"n\"\nsource = \"crm.x\"\n").unwrap();
        assert_eq!(path(v.build().unwrap_err()), "source");
        let m = MappingConfig {
            platform: None,
            variables: vec![v],
        };
        assert_eq!(path(m.build().unwrap_err()), "variables[0].source");
        let t: TraitConfig = toml::from_str("name = \"t\"\naggregate = \"sum\"\n").unwrap();
        assert_eq!(path(t.build().unwrap_err()), "property");
        let c: ConditionConfig = toml::from_str("all = [{ field = \"profile.x\" }]\n").unwrap();
        assert_eq!(path(c.build().unwrap_err()), "all[0].op");
        let ok: ConditionConfig =
            toml::from_str("field = \"profile.x\"\nop = \"exists\"\n").unwrap();
        assert!(ok.build().is_ok());
    }
}
