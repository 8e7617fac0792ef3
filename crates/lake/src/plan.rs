//! Views planned against the schemas of the tables they will read, before any data exists.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, SchemaError};
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::views::SemanticConfig;

/// The columns a table will have, as far as they are known before it is read.
///
/// A *closed* table has exactly these columns. An *open* table has these and possibly more,
/// which only the data says (a profile column per source column kept under its own name, a
/// trait column per trait): a view that names a column an open table does not list is not
/// refused when it is planned, but when it runs.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The table's name in SQL.
    pub name: String,
    /// The columns known.
    pub schema: SchemaRef,
    /// Whether the table may have more columns than `schema`.
    pub open: bool,
}

impl TableSchema {
    /// A table with exactly the columns of `schema`.
    pub fn closed(name: impl Into<String>, schema: SchemaRef) -> TableSchema {
        TableSchema {
            name: name.into(),
            schema,
            open: false,
        }
    }

    /// A table with the columns of `schema` and perhaps others.
    pub fn open(name: impl Into<String>, schema: SchemaRef) -> TableSchema {
        TableSchema {
            name: name.into(),
            schema,
            open: true,
        }
    }
}

/// How planning one view went.
enum Planned {
    /// Planned: every table, column and function is known and the types fit.
    Done { open: bool },
    /// Depends on a column of an open table (or on a deferred view) in a way only the data
    /// can settle: checked when the view runs.
    Deferred,
}

impl SemanticConfig {
    /// Plans every view against `tables` (and the views before it), without data: what
    /// [`SemanticLayer::add_views`](crate::SemanticLayer::add_views) will do with the real
    /// tables, as far as the schemas allow.
    ///
    /// The rule, exactly:
    /// - the view's SQL must parse as one query (as [`SemanticConfig::check`] says);
    /// - every table it reads must be one of `tables` or another view (views may read each
    ///   other in any order of declaration, but not in a cycle);
    /// - every function must exist, and the types must fit (DataFusion's logical and
    ///   physical planning run over empty tables); a column of type `Null` in `tables` is a
    ///   column whose type is not known yet, and a type error (an error of the physical
    ///   planning) in a view that reads such a column is checked when the view runs;
    /// - every column must exist in the tables it reads, except a column that could belong to
    ///   an *open* table the view reads ([`TableSchema::open`]): qualified by that table's
    ///   name, or unqualified (or qualified by an alias) while the view reads an open table.
    ///   Such a column is assumed to exist, of an unknown type, and the view is planned
    ///   again; whatever then depends on that column's type, and a view that reads an open
    ///   view's unknown column, is checked when the view runs, where the error names the
    ///   view too.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use arrow::datatypes::{DataType, Field, Schema};
    /// use mergetag_lake::{SemanticConfig, TableSchema};
    ///
    /// let events = Arc::new(Schema::new(vec![
    ///     Field::new("profile_id", DataType::Int64, true),
    ///     Field::new("name", DataType::Utf8, true),
    /// ]));
    /// let traits = Arc::new(Schema::new(vec![Field::new("profile_id", DataType::Int64, true)]));
    /// let tables = [TableSchema::closed("events", events), TableSchema::open("traits", traits)];
    ///
    /// let ok = SemanticConfig::from_toml_str(r#"
    ///     [views]
    ///     top = "SELECT profile_id, name FROM events"
    ///     buyers = "SELECT profile_id FROM traits WHERE orders > 1" # an open table's column
    /// "#)?;
    /// ok.plan(&tables)?;
    ///
    /// let bad = SemanticConfig::from_toml_str(r#"views.top = "SELECT profile_id, nme FROM events""#)?;
    /// let e = bad.plan(&tables).unwrap_err();
    /// assert!(e.to_string().starts_with("view `top`: "), "{e}");
    /// # Ok::<(), mergetag_lake::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::View`] naming the first view (by name) that does not plan once every view
    /// that could be planned was; [`Error::Invalid`] as [`SemanticConfig::check`].
    pub fn plan(&self, tables: &[TableSchema]) -> Result<()> {
        self.check()?;
        if self.views.is_empty() {
            return Ok(());
        }
        let mut planner = Planner::new(tables)?;
        let mut pending: Vec<(&String, &String)> = self.views.iter().collect();
        loop {
            let before = pending.len();
            let mut failed = Vec::new();
            for (name, sql) in pending {
                match planner.plan(name, sql) {
                    Ok(Planned::Done { open }) => {
                        planner.views.insert(name.clone(), open);
                    }
                    Ok(Planned::Deferred) => {
                        planner.deferred.insert(name.clone());
                    }
                    Err(e) => failed.push((name, sql, e)),
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            if failed.len() == before {
                let (name, _, e) = failed.swap_remove(0);
                return Err(Error::View {
                    view: name.clone(),
                    // One line: DataFusion's context, then its cause.
                    message: e.to_string().replace("\ncaused by\n", ": "),
                });
            }
            pending = failed.into_iter().map(|(n, s, _)| (n, s)).collect();
        }
    }
}

struct Planner {
    rt: Runtime,
    ctx: SessionContext,
    /// Base tables: their columns as registered now, and whether they are open.
    tables: BTreeMap<String, (Vec<Field>, bool)>,
    /// Views planned, and whether each reads an open table or view.
    views: BTreeMap<String, bool>,
    /// Views whose check waits for the data.
    deferred: BTreeSet<String>,
}

/// At most this many columns are assumed to exist in open tables, per view.
const MAX_ASSUMED: usize = 64;

impl Planner {
    fn new(tables: &[TableSchema]) -> Result<Planner> {
        // As the layer's session is configured, so that views plan alike.
        let config = SessionConfig::new()
            .with_target_partitions(1)
            .with_information_schema(true);
        let mut p = Planner {
            rt: Runtime::new()?,
            ctx: SessionContext::new_with_config(config),
            tables: BTreeMap::new(),
            views: BTreeMap::new(),
            deferred: BTreeSet::new(),
        };
        for t in tables {
            let fields = t
                .schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            p.tables.insert(t.name.clone(), (fields, t.open));
            p.register(&t.name)?;
        }
        Ok(p)
    }

    /// (Re-)registers the base table `name` with its current columns, empty.
    fn register(&mut self, name: &str) -> Result<()> {
        let Some((fields, _)) = self.tables.get(name) else {
            return Ok(());
        };
        let schema = Arc::new(Schema::new(fields.clone()));
        let table = MemTable::try_new(schema, vec![vec![]]).map_err(query_error)?;
        let _ = self.ctx.deregister_table(name).map_err(query_error)?;
        self.ctx
            .register_table(name, Arc::new(table))
            .map_err(query_error)?;
        Ok(())
    }

    fn plan(&mut self, name: &str, sql: &str) -> std::result::Result<Planned, DataFusionError> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect)?;
        let references = state.resolve_table_references(&statement)?;
        let read: Vec<String> = references.iter().map(|r| r.table().to_owned()).collect();
        if read.iter().any(|t| self.deferred.contains(t)) {
            return Ok(Planned::Deferred);
        }
        let open_tables: Vec<String> = read
            .iter()
            .filter(|t| self.tables.get(*t).is_some_and(|(_, open)| *open))
            .cloned()
            .collect();
        let open_views = read.iter().any(|t| self.views.get(t) == Some(&true));
        // Whether a column the view reads may be of another type than planned with.
        let untyped = |p: &Planner| {
            open_views
                || read.iter().any(|t| {
                    p.tables.get(t).is_some_and(|(fields, _)| {
                        fields.iter().any(|f| f.data_type() == &DataType::Null)
                    })
                })
        };
        let mut assumed = 0;
        loop {
            match self.try_plan(sql) {
                Ok(df) => {
                    let _ = self.ctx.deregister_table(name)?;
                    self.ctx.register_table(name, df.into_view())?;
                    return Ok(Planned::Done {
                        open: !open_tables.is_empty() || open_views,
                    });
                }
                Err((e, typed)) => {
                    let Some((relation, column)) = missing_column(&e) else {
                        // A type error with a column of unknown type may come from the
                        // guess: the data will tell.
                        return if typed && untyped(self) {
                            Ok(Planned::Deferred)
                        } else {
                            Err(e)
                        };
                    };
                    let target = match &relation {
                        Some(r) if self.tables.contains_key(r) || self.views.contains_key(r) => {
                            open_tables.iter().find(|t| *t == r).cloned()
                        }
                        // Unqualified, or qualified by an alias: the first open table read.
                        _ => open_tables.first().cloned(),
                    };
                    let Some(target) = target else {
                        let view_open = match &relation {
                            Some(r) if self.views.contains_key(r) => self.views[r],
                            Some(r) if self.tables.contains_key(r) => false,
                            _ => open_views,
                        };
                        return if view_open {
                            Ok(Planned::Deferred)
                        } else {
                            Err(e)
                        };
                    };
                    assumed += 1;
                    if assumed > MAX_ASSUMED {
                        return Ok(Planned::Deferred);
                    }
                    if let Some((fields, _)) = self.tables.get_mut(&target) {
                        if fields.iter().any(|f| f.name() == &column) {
                            // Known yet not found (a case or qualifier mismatch): DataFusion's
                            // message says it best.
                            return Err(e);
                        }
                        fields.push(Field::new(&column, DataType::Null, true));
                    }
                    self.register(&target)
                        .map_err(|e| DataFusionError::Plan(e.to_string()))?;
                }
            }
        }
    }

    /// Plans `sql`: `Err((e, false))` when the logical plan fails (tables, columns,
    /// functions), `Err((e, true))` when the physical plan does (type coercion, function
    /// signatures), which depends on the columns' types.
    fn try_plan(
        &self,
        sql: &str,
    ) -> std::result::Result<datafusion::dataframe::DataFrame, (DataFusionError, bool)> {
        self.rt.block_on(async {
            let df = self
                .ctx
                .sql_with_options(sql, read_only())
                .await
                .map_err(|e| (e, false))?;
            df.clone()
                .create_physical_plan()
                .await
                .map_err(|e| (e, true))?;
            Ok(df)
        })
    }
}

/// The table (as written in the query, if it was) and name of a column DataFusion did not
/// find.
fn missing_column(e: &DataFusionError) -> Option<(Option<String>, String)> {
    let mut current = e;
    loop {
        match current {
            DataFusionError::SchemaError(s, _) => {
                return match s.as_ref() {
                    SchemaError::FieldNotFound { field, .. } => Some((
                        field.relation.as_ref().map(|r| r.table().to_owned()),
                        field.name.clone(),
                    )),
                    _ => None,
                };
            }
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                current = inner;
            }
            _ => {
                let root = current.find_root();
                if std::ptr::eq(root, current) {
                    return None;
                }
                current = root;
            }
        }
    }
}

fn query_error(e: impl std::fmt::Display) -> Error {
    Error::Query {
        message: e.to_string(),
    }
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}
