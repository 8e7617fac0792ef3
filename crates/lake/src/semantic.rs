//! The semantic layer: profiles, traits, events, segments and any Parquet dataset as
//! DataFusion tables, named SQL views over them checked when they are added, and the
//! per-profile values of those views for mapping variables.

use std::fmt;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::prelude::ParquetReadOptions;
use serde::{Deserialize, Serialize};

use crate::views::SemanticConfig;

use crate::error::{Error, Result};
use crate::location::Location;
use crate::runtime::Runtime;
use crate::values::ProfileRows;

/// How [`SemanticLayer::query_text`] prints a result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputFormat {
    /// An aligned text table.
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON Lines, one object a row.
    Json,
}

impl std::str::FromStr for OutputFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<OutputFormat> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" | "jsonl" => Ok(OutputFormat::Json),
            _ => Err(Error::invalid("format", "use table, csv or json")),
        }
    }
}

/// DataFusion over the tables of a run and any Parquet dataset, with named views.
///
/// Queries are read-only (no DDL, no DML) and run on one partition, so that results come in
/// a deterministic order.
///
/// ```
/// use mergetag_lake::{SemanticLayer, TableBuilder};
/// use mergetag_model::Value;
///
/// let mut t = TableBuilder::new("traits");
/// t.push_row([("profile_id", Value::Int(1)), ("orders", Value::Int(3))]);
/// t.push_row([("profile_id", Value::Int(2)), ("orders", Value::Int(0))]);
/// let mut layer = SemanticLayer::new()?;
/// layer.register_batches("traits", vec![t.finish()?])?;
/// layer.add_view("buyers", "SELECT profile_id, orders > 0 AS buyer FROM traits")?;
/// let views = layer.profile_values()?;
/// assert_eq!(views[0].view(), "buyers");
/// assert_eq!(views[0].value(1, 0), Some(Value::Bool(true)));
///
/// // A view is checked when it is added: an unknown column is an error naming the view.
/// let e = layer.add_view("bad", "SELECT nope FROM traits").unwrap_err();
/// assert!(e.to_string().starts_with("view `bad`: "), "{e}");
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
pub struct SemanticLayer {
    rt: Runtime,
    ctx: SessionContext,
    views: Vec<String>,
}

impl fmt::Debug for SemanticLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemanticLayer")
            .field("views", &self.views)
            .finish_non_exhaustive()
    }
}

fn query_error(e: impl fmt::Display) -> Error {
    Error::Query {
        message: e.to_string(),
    }
}

impl SemanticLayer {
    /// An empty layer.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when called from inside an async runtime (see the crate docs).
    pub fn new() -> Result<SemanticLayer> {
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .with_information_schema(true);
        Ok(SemanticLayer {
            rt: Runtime::new()?,
            ctx: SessionContext::new_with_config(config),
            views: Vec::new(),
        })
    }

    /// The DataFusion session, for anything this type does not offer.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers `batches` (of one schema) as the table `name`, replacing one of that name.
    ///
    /// # Errors
    ///
    /// [`Error::Query`] when the batches' schemas differ.
    pub fn register_batches(&mut self, name: &str, batches: Vec<RecordBatch>) -> Result<()> {
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => Arc::new(arrow::datatypes::Schema::empty()),
        };
        let table = MemTable::try_new(schema, vec![batches]).map_err(query_error)?;
        let _ = self.ctx.deregister_table(name).map_err(query_error)?;
        self.ctx
            .register_table(name, Arc::new(table))
            .map_err(query_error)?;
        Ok(())
    }

    /// Registers the Parquet file or dataset at `location` as the table `name` (Hive
    /// partitions are not inferred here; name them with
    /// [`SemanticLayer::register_parquet_partitioned`], or read partitioned data through
    /// [`ArrowSource`](crate::ArrowSource)).
    ///
    /// # Errors
    ///
    /// [`Error::Query`] when the location cannot be read as Parquet.
    pub fn register_parquet(&mut self, name: &str, location: &Location) -> Result<()> {
        let url = url::Url::parse(location.store_url())
            .map_err(|e| Error::location(location.url(), e.to_string()))?;
        self.ctx
            .register_object_store(&url, location.store().clone());
        let _ = self.ctx.deregister_table(name).map_err(query_error)?;
        self.rt
            .block_on(self.ctx.register_parquet(
                name,
                location.url(),
                ParquetReadOptions::default(),
            ))
            .map_err(query_error)
    }

    /// Registers the Hive-partitioned Parquet dataset at `location` as the table `name`:
    /// its files under `<key>=<value>/` directories, one level per key of `partitions` (in
    /// order), which become columns of type `Utf8` after the files' columns, as
    /// [`write_table`](crate::write_table) writes them. Files outside such directories are
    /// not read.
    ///
    /// ```
    /// use mergetag_lake::{Location, Partitioning, SemanticLayer, TableBuilder, write_table};
    /// use mergetag_model::Value;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let lake = Location::parse(&dir.path().display().to_string(), ".")?;
    /// let mut t = TableBuilder::new("audiences");
    /// t.push_row([("platform", Value::from("sendgrid")), ("profile_id", Value::Int(1))]);
    /// t.push_row([("platform", Value::from("braze")), ("profile_id", Value::Int(2))]);
    /// write_table(&lake, "audiences", &t.finish()?, Some(&Partitioning::Column("platform".into())))?;
    ///
    /// let mut layer = SemanticLayer::new()?;
    /// layer.register_parquet_partitioned("audiences", &lake.child("audiences"), &["platform"])?;
    /// let csv = layer.query_text(
    ///     "SELECT platform, profile_id FROM audiences ORDER BY platform",
    ///     mergetag_lake::OutputFormat::Csv,
    /// )?;
    /// assert_eq!(csv, "platform,profile_id\nbraze,2\nsendgrid,1\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Query`] when the location cannot be read as Parquet.
    pub fn register_parquet_partitioned(
        &mut self,
        name: &str,
        location: &Location,
        partitions: &[&str],
    ) -> Result<()> {
        let url = url::Url::parse(location.store_url())
            .map_err(|e| Error::location(location.url(), e.to_string()))?;
        self.ctx
            .register_object_store(&url, location.store().clone());
        let _ = self.ctx.deregister_table(name).map_err(query_error)?;
        let cols = partitions
            .iter()
            .map(|p| ((*p).to_owned(), arrow::datatypes::DataType::Utf8))
            .collect();
        // A directory: DataFusion lists it when the URL ends with a slash.
        let dir = format!("{}/", location.url().trim_end_matches('/'));
        self.rt
            .block_on(self.ctx.register_parquet(
                name,
                &dir,
                ParquetReadOptions::default().table_partition_cols(cols),
            ))
            .map_err(query_error)
    }

    /// Adds the view `name`: plans `sql` now, so that an unknown table or column, or a
    /// syntax error, is an error naming the view.
    ///
    /// # Errors
    ///
    /// [`Error::View`] naming the view.
    pub fn add_view(&mut self, name: &str, sql: &str) -> Result<()> {
        let view_error = |e: datafusion::error::DataFusionError| Error::View {
            view: name.to_owned(),
            message: e.to_string(),
        };
        let df = self
            .rt
            .block_on(self.ctx.sql_with_options(sql, read_only()))
            .map_err(view_error)?;
        let _ = self.ctx.deregister_table(name).map_err(view_error)?;
        self.ctx
            .register_table(name, df.into_view())
            .map_err(view_error)?;
        self.views.retain(|v| v != name);
        self.views.push(name.to_owned());
        Ok(())
    }

    /// Adds every view of `config`, in an order that lets views use each other.
    ///
    /// # Errors
    ///
    /// [`Error::View`] for the first view (by name) that does not plan once every other
    /// view that could be added was.
    pub fn add_views(&mut self, config: &SemanticConfig) -> Result<()> {
        config.check()?;
        let mut pending: Vec<(&String, &String)> = config.views.iter().collect();
        loop {
            let mut failed = Vec::new();
            let before = pending.len();
            for (name, sql) in pending {
                if let Err(e) = self.add_view(name, sql) {
                    failed.push((name, sql, e));
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            if failed.len() == before {
                let (_, _, e) = failed.swap_remove(0);
                return Err(e);
            }
            pending = failed.into_iter().map(|(n, s, _)| (n, s)).collect();
        }
    }

    /// The views added, in the order added.
    pub fn views(&self) -> &[String] {
        &self.views
    }

    /// Runs a read-only query.
    ///
    /// # Errors
    ///
    /// [`Error::Query`] with DataFusion's message.
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.rt.block_on(async {
            let df = self
                .ctx
                .sql_with_options(sql, read_only())
                .await
                .map_err(query_error)?;
            df.collect().await.map_err(query_error)
        })
    }

    /// Runs a read-only query and prints its result as `format` says.
    ///
    /// # Errors
    ///
    /// As [`SemanticLayer::query`], and [`Error::Query`] when the result cannot be printed.
    pub fn query_text(&self, sql: &str, format: OutputFormat) -> Result<String> {
        let batches = self.query(sql)?;
        format_batches(&batches, format)
    }

    /// Every view's rows by profile, in the order the views were added: each profile's
    /// first row of the view (write `ORDER BY` in the view to choose it), kept columnar
    /// ([`ProfileRows`]). Views without a `profile_id` column give no profile a row. Mapping
    /// variables read a view's columns as `view.<view>.<column>`, the traits
    /// [`ProfileRows::for_each_trait`] gives.
    ///
    /// # Errors
    ///
    /// [`Error::View`] when a view fails to run.
    pub fn profile_values(&self) -> Result<Vec<ProfileRows>> {
        let mut out = Vec::with_capacity(self.views.len());
        for view in &self.views {
            let view_error = |e: Error| Error::View {
                view: view.clone(),
                message: match e {
                    Error::Query { message } => message,
                    e => e.to_string(),
                },
            };
            let batches = self
                .query(&format!("SELECT * FROM \"{view}\""))
                .map_err(view_error)?;
            out.push(ProfileRows::new(view, &batches));
        }
        Ok(out)
    }
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Prints `batches` as a table, CSV or JSON Lines.
///
/// # Errors
///
/// [`Error::Query`] when Arrow cannot print a column.
pub fn format_batches(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Table => arrow::util::pretty::pretty_format_batches(batches)
            .map(|t| format!("{t}\n"))
            .map_err(query_error),
        OutputFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::Writer::new(&mut buf);
                for b in batches {
                    w.write(b).map_err(query_error)?;
                }
            }
            String::from_utf8(buf).map_err(query_error)
        }
        OutputFormat::Json => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
                for b in batches {
                    w.write(b).map_err(query_error)?;
                }
                w.finish().map_err(query_error)?;
            }
            String::from_utf8(buf).map_err(query_error)
        }
    }
}
