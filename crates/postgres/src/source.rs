//! [`PostgresSource`]: a table or a query streamed through a server-side cursor.

use std::collections::VecDeque;

use mergetag_model::{
    FieldName, OnBadRow, Position, Record, RecordId, Reject, Source, SourceError, SourceErrorKind,
    SourceName, Value,
};
use mergetag_sources::{ColumnMap, FieldFault, ValueMapper};
use postgres::{Client, NoTls, Row};

use crate::cell::{Cell, literal_text};
use crate::error::{Error, Result};
use crate::sql::{quote_ident, quote_literal, quote_path};

/// The rows fetched per round trip by default.
pub const DEFAULT_BATCH_ROWS: u32 = 1000;

const CURSOR: &str = "mergetag_rows";

/// What a [`PostgresSource`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Relation {
    Table(String),
    Query(String),
}

/// Configures and opens a [`PostgresSource`].
///
/// ```no_run
/// use mergetag_model::Source;
/// use mergetag_postgres::PostgresSource;
/// use mergetag_sources::ColumnMap;
///
/// let mut source = PostgresSource::builder()
///     .table("public.contacts")
///     .column_map(ColumnMap::new().with_key("id"))
///     .watermark("updated_at")
///     .connect("crm", "host=127.0.0.1 user=app dbname=crm")?;
/// let n = source.records().filter(Result::is_ok).count();
/// let next_time = source.watermark().cloned(); // keep it, or use a state table
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PostgresSourceBuilder {
    relation: Option<Relation>,
    map: ColumnMap,
    on_bad_row: OnBadRow,
    batch_rows: u32,
    watermark: Option<String>,
    since: Option<Value>,
    state_table: Option<String>,
}

impl Default for PostgresSourceBuilder {
    fn default() -> Self {
        PostgresSourceBuilder {
            relation: None,
            map: ColumnMap::new(),
            on_bad_row: OnBadRow::Quarantine,
            batch_rows: DEFAULT_BATCH_ROWS,
            watermark: None,
            since: None,
            state_table: None,
        }
    }
}

impl PostgresSourceBuilder {
    /// Reads the table (or view) `name`, optionally schema-qualified (`crm.contacts`).
    pub fn table(&mut self, name: &str) -> &mut Self {
        self.relation = Some(Relation::Table(name.to_owned()));
        self
    }

    /// Reads the rows of a `SELECT` query instead of a table.
    pub fn query(&mut self, sql: &str) -> &mut Self {
        self.relation = Some(Relation::Query(sql.to_owned()));
        self
    }

    /// The column map from the table's columns to fields (default: every column kept under
    /// its own name, rows keyed by number). Its key column gives each record's key.
    pub fn column_map(&mut self, map: ColumnMap) -> &mut Self {
        self.map = map;
        self
    }

    /// What happens to a row a value of which cannot be converted (default
    /// [`OnBadRow::Quarantine`]).
    pub fn on_bad_row(&mut self, policy: OnBadRow) -> &mut Self {
        self.on_bad_row = policy;
        self
    }

    /// The rows fetched per round trip (default [`DEFAULT_BATCH_ROWS`]); memory is bounded by
    /// one batch.
    pub fn batch_rows(&mut self, rows: u32) -> &mut Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Reads incrementally: rows in ascending order of this column, and only those after the
    /// watermark ([`PostgresSourceBuilder::since`] or the state table).
    pub fn watermark(&mut self, column: &str) -> &mut Self {
        self.watermark = Some(column.to_owned());
        self
    }

    /// Reads only rows whose watermark column is greater than `value` (a timestamp, a date,
    /// an integer or text: what [`PostgresSource::watermark`] returned last time).
    pub fn since(&mut self, value: Value) -> &mut Self {
        self.since = Some(value);
        self
    }

    /// Keeps the watermark in this table (created when missing, one row per source name):
    /// read at connect, when no [`PostgresSourceBuilder::since`] is given, and written when
    /// the source has been read to its end.
    pub fn state_table(&mut self, name: &str) -> &mut Self {
        self.state_table = Some(name.to_owned());
        self
    }

    /// Connects to `url` (a `postgresql://` URL or libpq `key=value` pairs), checks the
    /// table or query and the watermark column, and opens a read-only transaction with a
    /// cursor over the rows.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a missing table or query or an unknown watermark column,
    /// [`Error::Connect`] when the server cannot be reached, [`Error::Sql`] naming the step
    /// that failed.
    pub fn connect(&self, name: &str, url: &str) -> Result<PostgresSource> {
        let relation = self
            .relation
            .clone()
            .ok_or_else(|| Error::invalid("table", "name a table (or a query) to read"))?;
        if name.trim().is_empty() {
            return Err(Error::invalid("name", "a source needs a name"));
        }
        let client = Client::connect(url, NoTls).map_err(|source| Error::Connect {
            name: name.to_owned(),
            source,
        })?;
        self.open(name, client, relation)
    }

    fn open(&self, name: &str, mut client: Client, relation: Relation) -> Result<PostgresSource> {
        let (from, what) = match &relation {
            Relation::Table(t) => (quote_path(t), format!("table `{t}`")),
            Relation::Query(q) => (format!("({q}) AS mergetag_q"), "the query".to_owned()),
        };
        let probe = client
            .prepare(&format!("SELECT * FROM {from}"))
            .map_err(|e| Error::sql(name, format!("preparing to read {what}"), e))?;
        let columns: Vec<FieldName> = probe.columns().iter().map(|c| c.name().into()).collect();
        let mut select = format!("SELECT * FROM {from}");
        let mut watermark = None;
        if let Some(column) = &self.watermark {
            let Some(col) = probe.columns().iter().find(|c| c.name() == column) else {
                return Err(Error::invalid(
                    "watermark",
                    format!("{what} has no column `{column}`; name one of its columns"),
                ));
            };
            let ty = format!(
                "{}.{}",
                quote_ident(col.type_().schema()),
                quote_ident(col.type_().name())
            );
            let since = match &self.since {
                Some(v) => Some(v.clone()),
                None => match &self.state_table {
                    Some(t) => load_state(&mut client, name, t)?,
                    None => None,
                },
            };
            if let Some(v) = &since {
                let text = literal_text(v).ok_or_else(|| {
                    Error::invalid(
                        "since",
                        "a watermark is a timestamp, a date, a number or text",
                    )
                })?;
                select.push_str(&format!(
                    " WHERE {} > {}::{ty}",
                    quote_ident(column),
                    quote_literal(&text)
                ));
            }
            select.push_str(&format!(" ORDER BY {} ASC", quote_ident(column)));
            watermark = Some(Watermark {
                index: columns.iter().position(|c| c == column.as_str()),
                last: since,
            });
        }
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 DECLARE {CURSOR} NO SCROLL CURSOR FOR {select}"
            ))
            .map_err(|e| Error::sql(name, format!("declaring a cursor over {what}"), e))?;
        Ok(PostgresSource {
            name: SourceName::new(name),
            client,
            what,
            mapper: ValueMapper::new(self.map.clone()),
            on_bad_row: self.on_bad_row,
            fetch: format!("FETCH FORWARD {} FROM {CURSOR}", self.batch_rows),
            buffer: VecDeque::new(),
            columns,
            rows: 0,
            last_key: None,
            watermark,
            state_table: self.state_table.clone(),
            state: State::Reading,
            rejects: Vec::new(),
            cells: Vec::new(),
        })
    }
}

/// The incremental read's column and the greatest value read so far.
#[derive(Debug, Clone)]
struct Watermark {
    index: Option<usize>,
    last: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// A PostgreSQL table or query as a [`Source`]: rows are fetched through a server-side cursor
/// in batches (memory is bounded by one batch), inside one read-only, repeatable-read
/// transaction, so the rows read are one consistent snapshot.
///
/// Column values are converted by their PostgreSQL type: `bool` to [`Value::Bool`], integer
/// types to [`Value::Int`], `real`/`double precision` to [`Value::Float`], `numeric` to an
/// integer or a float, text types, `uuid` and enums to [`Value::Text`], `date` to
/// [`Value::Date`], `timestamp` (as UTC) and `timestamptz` to [`Value::DateTime`], `json` and
/// `jsonb` to nested values (flattened into dotted fields by the column map) and arrays to
/// [`Value::List`]. Then the [`ColumnMap`] maps and types them as for any source.
///
/// A row with a value that cannot be converted (a column type without a conversion, such as
/// `bytea`, unless the map ignores the column; an infinite date; text a typed column cannot
/// parse) is set aside as a [`Reject`] with its row key and column under
/// [`OnBadRow::Quarantine`], or returned as a recoverable error under [`OnBadRow::Fail`].
/// A connection lost mid-stream is a fatal error naming the table and the last key read.
pub struct PostgresSource {
    name: SourceName,
    client: Client,
    what: String,
    mapper: ValueMapper,
    on_bad_row: OnBadRow,
    fetch: String,
    buffer: VecDeque<Row>,
    columns: Vec<FieldName>,
    rows: u64,
    last_key: Option<String>,
    watermark: Option<Watermark>,
    state_table: Option<String>,
    state: State,
    rejects: Vec<Reject>,
    cells: Vec<(FieldName, Value)>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("name", &self.name)
            .field("what", &self.what)
            .field("rows", &self.rows)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    /// A builder with the defaults.
    pub fn builder() -> PostgresSourceBuilder {
        PostgresSourceBuilder::default()
    }

    /// The greatest watermark value read so far (rows come in its order), or the one reading
    /// started after; `None` without a watermark column or before any. Keep it and pass it to
    /// [`PostgresSourceBuilder::since`] next time, or let a state table keep it.
    pub fn watermark(&self) -> Option<&Value> {
        self.watermark.as_ref().and_then(|w| w.last.as_ref())
    }

    /// The rows read so far (records, rejects and bad rows).
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The key of the last row read, if it had one.
    pub fn last_key(&self) -> Option<&str> {
        self.last_key.as_deref()
    }

    fn lost(&mut self, e: postgres::Error) -> SourceError {
        self.state = State::Failed;
        let after = match &self.last_key {
            Some(k) => format!("after key `{k}`"),
            None if self.rows > 0 => format!("after row {}", self.rows),
            None => "before the first row".to_owned(),
        };
        // Class 57 (operator intervention: a terminated backend, a shutdown) and class 08
        // (connection exception) mean the connection is gone, as does an error with no
        // server error at all (the socket closed).
        let why = match e.as_db_error().map(|d| d.code().code()) {
            Some(code) if !code.starts_with("57") && !code.starts_with("08") && !e.is_closed() => {
                "the server reported an error"
            }
            _ => "the connection was lost",
        };
        SourceError::new(
            self.name.clone(),
            Position::record(self.rows + 1),
            SourceErrorKind::Io {
                message: format!("reading {} failed {after}: {why}", self.what),
            },
        )
        .with_cause(e)
    }

    /// Ends the read: closes the cursor and the transaction, saves the watermark.
    fn finish(&mut self) -> Result<(), SourceError> {
        self.state = State::Done;
        if let Err(e) = self
            .client
            .batch_execute(&format!("CLOSE {CURSOR}; COMMIT"))
        {
            return Err(self.lost(e));
        }
        if let (Some(table), Some(value)) = (self.state_table.clone(), self.watermark().cloned())
            && let Err(e) = save_state(&mut self.client, self.name.as_str(), &table, &value)
        {
            self.state = State::Failed;
            return Err(SourceError::new(
                self.name.clone(),
                Position::record(self.rows),
                SourceErrorKind::Io {
                    message: format!("saving the watermark in table `{table}` failed"),
                },
            )
            .with_cause(e));
        }
        Ok(())
    }

    /// Converts `row` into `self.cells`; the row's key, and the first column that did not
    /// convert.
    fn convert(&mut self, row: &Row) -> (Option<String>, Option<(FieldName, String)>) {
        self.cells.clear();
        let mut key = None;
        let mut fault = None;
        for (i, column) in self.columns.iter().enumerate() {
            let value = match row.try_get::<_, Cell>(i) {
                Ok(Cell::Value(v)) => v,
                Ok(Cell::Unconvertible(ty)) => {
                    if fault.is_none() && !self.mapper.is_ignored(column.as_str()) {
                        fault = Some((column.clone(), ty));
                    }
                    Value::Null
                }
                Err(_) => {
                    if fault.is_none() {
                        fault = Some((column.clone(), "unknown".to_owned()));
                    }
                    Value::Null
                }
            };
            if key.is_none() && self.mapper.is_key(column.as_str()) {
                key = mergetag_sources::key_text(&value);
            }
            if let Some(w) = &mut self.watermark
                && w.index == Some(i)
                && !value.is_null()
            {
                w.last = Some(value.clone());
            }
            self.cells.push((column.clone(), value));
        }
        (key, fault)
    }

    fn bad_row(&mut self, key: Option<&str>, fault: FieldFault) -> Result<(), SourceError> {
        let position = Position::record(self.rows);
        match self.on_bad_row {
            OnBadRow::Fail => Err(fault.into_error(self.name.clone(), position)),
            OnBadRow::Quarantine => {
                let id = match key {
                    Some(k) => RecordId::id(self.name.clone(), k),
                    None => RecordId::row(self.name.clone(), self.rows),
                };
                let raw: serde_json::Map<String, serde_json::Value> = self
                    .cells
                    .iter()
                    .map(|(c, v)| {
                        (
                            c.as_str().to_owned(),
                            serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                        )
                    })
                    .collect();
                self.rejects.push(Reject {
                    id,
                    position,
                    field: fault.column,
                    error: fault.kind,
                    raw: serde_json::Value::Object(raw).to_string(),
                });
                Ok(())
            }
        }
    }
}

impl Source for PostgresSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn columns(&self) -> &[FieldName] {
        &self.columns
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            if self.state != State::Reading {
                return Ok(false);
            }
            let Some(row) = self.buffer.pop_front() else {
                match self.client.query(self.fetch.as_str(), &[]) {
                    Ok(rows) if rows.is_empty() => {
                        self.finish()?;
                        return Ok(false);
                    }
                    Ok(rows) => {
                        self.buffer.extend(rows);
                        continue;
                    }
                    Err(e) => return Err(self.lost(e)),
                }
            };
            self.rows += 1;
            let (key, fault) = self.convert(&row);
            self.last_key.clone_from(&key);
            if let Some((column, ty)) = fault {
                let fault = FieldFault::new(
                    SourceErrorKind::Other {
                        message: format!(
                            "a value of column type `{ty}` cannot be converted; ignore the column or cast it in a query"
                        ),
                    },
                    Some(column),
                );
                self.bad_row(key.as_deref(), fault)?;
                continue;
            }
            let cells = std::mem::take(&mut self.cells);
            let filled = self
                .mapper
                .fill(cells.iter().map(|(c, v)| (c.as_str(), v.clone())), record);
            self.cells = cells;
            match filled {
                Ok(_) => {
                    record.id = match &key {
                        Some(k) => RecordId::id(self.name.clone(), k.as_str()),
                        None => RecordId::row(self.name.clone(), self.rows),
                    };
                    return Ok(true);
                }
                Err(fault) => self.bad_row(key.as_deref(), fault)?,
            }
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }
}

fn state_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (source text PRIMARY KEY, watermark jsonb NOT NULL, \
         updated_at timestamptz NOT NULL DEFAULT now())",
        quote_path(table)
    )
}

fn load_state(client: &mut Client, name: &str, table: &str) -> Result<Option<Value>> {
    client
        .batch_execute(&state_ddl(table))
        .map_err(|e| Error::sql(name, format!("creating the state table `{table}`"), e))?;
    let row = client
        .query_opt(
            &format!(
                "SELECT watermark FROM {} WHERE source = $1",
                quote_path(table)
            ),
            &[&name],
        )
        .map_err(|e| Error::sql(name, format!("reading the state table `{table}`"), e))?;
    Ok(row.and_then(|r| {
        let json: serde_json::Value = r.get(0);
        serde_json::from_value(json).ok()
    }))
}

fn save_state(
    client: &mut Client,
    name: &str,
    table: &str,
    value: &Value,
) -> Result<(), postgres::Error> {
    client.batch_execute(&state_ddl(table))?;
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    client.execute(
        &format!(
            "INSERT INTO {} (source, watermark) VALUES ($1, $2) ON CONFLICT (source) \
             DO UPDATE SET watermark = excluded.watermark, updated_at = now()",
            quote_path(table)
        ),
        &[&name, &json],
    )?;
    Ok(())
}
