//! The `[semantic]` table of a pipeline file: named SQL views, checked without DataFusion (the
//! names, and that each is one query), so that configurations load, and are fuzzed, without
//! the SQL engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `[semantic]` table of a pipeline file: named SQL views over the run's tables.
///
/// ```toml
/// [semantic.views]
/// favourite_category = """
///     SELECT profile_id, name AS category, count(*) AS n FROM events
///     WHERE kind = 'track' GROUP BY profile_id, name ORDER BY profile_id, n DESC, category"""
/// ```
///
/// A view with a `profile_id` column gives each profile its first row's values, which
/// mapping variables read as `source = "view.<view>.<column>"`.
///
/// Views are checked in three steps: [`SemanticConfig::check`] when the configuration loads
/// (names, and SQL that parses as one query; no DataFusion needed); `SemanticConfig::plan`
/// (feature `sql`) before any data is read, against the schemas the tables will have
/// (unknown tables, functions and columns, type errors; the exact rule for tables whose
/// columns depend on the data is there); and `SemanticLayer::add_views` (feature `sql`) over
/// the real tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SemanticConfig {
    /// View name -> SQL (one `SELECT`). Names are lowercase identifiers.
    #[serde(default)]
    pub views: BTreeMap<String, String>,
}

impl SemanticConfig {
    /// Parses a `[semantic]` table from TOML and checks the view names.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key: a syntax error, an unknown key, a bad view name.
    pub fn from_toml_str(text: &str) -> Result<SemanticConfig> {
        let c: SemanticConfig =
            toml::from_str(text).map_err(|e| Error::invalid("semantic", e.message().to_owned()))?;
        c.check()?;
        Ok(c)
    }

    /// Checks the view names (lowercase letters, digits and `_`, not starting with a digit)
    /// and that each is one query that parses (tables and columns are checked when the views
    /// are planned, `SemanticConfig::plan`, and when they are added to a layer,
    /// `SemanticLayer::add_view`; both with the feature `sql`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `semantic.views.<name>` for a bad name or no SQL,
    /// [`Error::View`] naming the view for SQL that does not parse or is not one query.
    pub fn check(&self) -> Result<()> {
        for (name, sql) in &self.views {
            let ok = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && name.chars().next().is_some_and(|c| !c.is_ascii_digit());
            if !ok {
                return Err(Error::invalid(
                    format!("semantic.views.{name}"),
                    "a view name is lowercase letters, digits and `_`, not starting with a digit",
                ));
            }
            if sql.trim().is_empty() {
                return Err(Error::invalid(
                    format!("semantic.views.{name}"),
                    "the view has no SQL; write a SELECT",
                ));
            }
            check_query(name, sql)?;
        }
        Ok(())
    }
}

/// Checks that `sql` is one query (`SELECT` or `WITH`), so that syntax errors are found when
/// the configuration loads, before any table exists. sqlparser is DataFusion's own parser (the
/// same version), with the generic dialect DataFusion uses by default.
fn check_query(name: &str, sql: &str) -> Result<()> {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;
    let view_error = |message: String| Error::View {
        view: name.to_owned(),
        message,
    };
    let statements =
        Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| view_error(e.to_string()))?;
    match statements.as_slice() {
        [Statement::Query(_)] => Ok(()),
        _ => Err(view_error(
            "a view is one query (SELECT or WITH); remove other statements".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_named_and_single_queries() {
        let ok = SemanticConfig::from_toml_str(
            "[views]\nfavourite = \"SELECT profile_id FROM traits\"\nw = \"WITH a AS (SELECT 1) SELECT * FROM a\"",
        )
        .unwrap();
        assert_eq!(ok.views.len(), 2);
        for (toml, expected) in [
            ("[views]\nBad = \"SELECT 1\"", "semantic.views.Bad"),
            ("[views]\n\"1x\" = \"SELECT 1\"", "semantic.views.1x"),
            ("[views]\nx = \" \"", "no SQL"),
            ("[views]\nx = \"SELEC 1\"", "view `x`"),
            ("[views]\nx = \"SELECT 1; SELECT 2\"", "one query"),
            ("[views]\nx = \"DROP TABLE profiles\"", "one query"),
            ("views = 3", "semantic"),
            ("[viewz]", "semantic"),
        ] {
            let e = SemanticConfig::from_toml_str(toml).unwrap_err().to_string();
            assert!(e.contains(expected), "{toml}: {e}");
        }
        // Deep nesting is an error, not a stack overflow.
        let deep = format!(
            "[views]\nx = \"SELECT {}1{}\"",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(SemanticConfig::from_toml_str(&deep).is_err());
    }
}
