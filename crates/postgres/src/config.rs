//! [`PostgresSettings`]: the `[sources.settings]` table of a `kind = "postgres"` source.

use std::path::Path;

use mergetag_model::Value;
use mergetag_sources::{SourceConfig, SourceKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::source::{PostgresSource, PostgresSourceBuilder};

/// Where a `kind = "postgres"` source reads, as its `[sources.settings]` table says. Unknown
/// keys are errors.
///
/// ```toml
/// [[sources]]
/// name = "crm"
/// kind = "postgres"
/// preset = "hubspot_contacts"          # column-map keys as for files; key = "id", ...
/// on_bad_row = "quarantine"            # rows with values that do not convert
/// [sources.settings]
/// url_env = "CRM_DATABASE_URL"         # or url = "host=... user=... dbname=..." (no password
///                                      # in files: use url_env, or a .pgpass file)
/// table = "public.contacts"            # or query = "SELECT ... FROM ..."
/// watermark = "updated_at"             # incremental: rows after the last one read
/// since = "2026-01-01T00:00:00Z"       # start after this value (optional)
/// state_table = "mergetag_watermarks"  # keep the watermark in the database (optional)
/// batch_rows = 1000                    # rows per round trip (default 1000)
/// ```
///
/// ```
/// use mergetag_postgres::PostgresSettings;
/// use mergetag_sources::SourceConfig;
///
/// let config = SourceConfig::from_toml_str(r#"
///     name = "crm"
///     kind = "postgres"
///     key = "id"
///     [settings]
///     url = "host=127.0.0.1 user=app dbname=crm"
///     table = "contacts"
///     watermark = "updated_at"
/// "#)?;
/// let settings = PostgresSettings::from_source_config(&config)?;
/// assert_eq!(settings.table.as_deref(), Some("contacts"));
///
/// let typo = SourceConfig::from_toml_str("name = \"crm\"\nkind = \"postgres\"\n[settings]\ntabel = \"x\"\n")?;
/// let err = PostgresSettings::from_source_config(&typo).unwrap_err();
/// assert!(err.to_string().starts_with("settings: unknown field `tabel`"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PostgresSettings {
    /// The connection: a `postgresql://` URL or libpq `key=value` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An environment variable holding the connection, instead of `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The table or view, optionally schema-qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// A `SELECT` query, instead of `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The watermark column, for incremental reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// Read only rows whose watermark is greater than this (converted to the column's type
    /// by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// A table to keep the watermark in between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_table: Option<String>,
    /// Rows fetched per round trip (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_rows: Option<u32>,
}

impl PostgresSettings {
    /// The settings of a `kind = "postgres"` source, checked.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `kind` for another kind of source, at `settings` for an unknown
    /// key or a value of the wrong type, and as [`PostgresSettings::check`].
    pub fn from_source_config(config: &SourceConfig) -> Result<PostgresSettings> {
        if config.kind != SourceKind::Postgres {
            return Err(Error::invalid("kind", "this is not a postgres source"));
        }
        let table = serde_json::Value::Object(config.settings.clone().into_iter().collect());
        let settings: PostgresSettings =
            serde_json::from_value(table).map_err(|e| Error::invalid("settings", e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks that the settings say where to connect and what to read, once each.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key (`settings.table`) and how to fix it.
    pub fn check(&self) -> Result<()> {
        match (&self.url, &self.url_env) {
            (None, None) => {
                return Err(Error::invalid(
                    "settings.url",
                    "say where to connect: url = \"host=... dbname=...\" or url_env = \"VARIABLE\"",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "settings.url_env",
                    "give url or url_env, not both",
                ));
            }
            _ => {}
        }
        match (&self.table, &self.query) {
            (None, None) => Err(Error::invalid(
                "settings.table",
                "name a table (table = \"contacts\") or a query (query = \"SELECT ...\")",
            )),
            (Some(_), Some(_)) => Err(Error::invalid(
                "settings.query",
                "give table or query, not both",
            )),
            (Some(t), None) if t.trim().is_empty() || t.split('.').any(str::is_empty) => {
                Err(Error::invalid(
                    "settings.table",
                    "the table name is empty or has an empty part",
                ))
            }
            (None, Some(q)) if q.trim().is_empty() => {
                Err(Error::invalid("settings.query", "the query is empty"))
            }
            _ if self.since.is_some() && self.watermark.is_none() => Err(Error::invalid(
                "settings.since",
                "since needs a watermark column: add watermark = \"updated_at\"",
            )),
            _ if self.state_table.is_some() && self.watermark.is_none() => Err(Error::invalid(
                "settings.state_table",
                "a state table keeps a watermark: add watermark = \"updated_at\"",
            )),
            _ if self.batch_rows == Some(0) => Err(Error::invalid(
                "settings.batch_rows",
                "fetch at least 1 row per round trip",
            )),
            _ => Ok(()),
        }
    }

    /// The connection string: `url`, or the value of the variable `url_env` names.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `settings.url_env` when the variable is not set.
    pub fn connection(&self) -> Result<String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        let var = self.url_env.as_deref().unwrap_or_default();
        std::env::var(var).map_err(|_| {
            Error::invalid(
                "settings.url_env",
                format!("the environment variable `{var}` is not set (or not UTF-8)"),
            )
        })
    }
}

/// Opens the `kind = "postgres"` source `config` describes: its settings, its column map
/// (a file resolved against `base_dir`) and its `on_bad_row`.
///
/// # Errors
///
/// Those of [`PostgresSettings::from_source_config`], [`SourceConfig::check`] and
/// [`PostgresSourceBuilder::connect`].
pub fn open(config: &SourceConfig, base_dir: impl AsRef<Path>) -> Result<PostgresSource> {
    config.check()?;
    let settings = PostgresSettings::from_source_config(config)?;
    let mut b = PostgresSourceBuilder::default();
    match (&settings.table, &settings.query) {
        (Some(t), _) => b.table(t),
        (None, Some(q)) => b.query(q),
        (None, None) => unreachable_settings()?,
    };
    if let Some(map) = config.column_map(base_dir)? {
        b.column_map(map);
    }
    b.on_bad_row(config.on_bad_row);
    if let Some(w) = &settings.watermark {
        b.watermark(w);
    }
    if let Some(s) = &settings.since {
        b.since(Value::Text(s.clone()));
    }
    if let Some(t) = &settings.state_table {
        b.state_table(t);
    }
    if let Some(n) = settings.batch_rows {
        b.batch_rows(n);
    }
    b.connect(&config.name, &settings.connection()?)
}

/// `check` refuses settings without a table or a query; an error rather than a panic all
/// the same.
fn unreachable_settings() -> Result<&'static mut PostgresSourceBuilder> {
    Err(Error::invalid("settings.table", "name a table or a query"))
}
