//! The data lake in a pipeline (feature `lake`): the semantic layer as a profile stage, and
//! a run's outputs as Parquet files and DataFusion tables.

use std::collections::BTreeMap;

use mergetag_lake::arrow::datatypes::DataType;
use mergetag_lake::arrow::record_batch::RecordBatch;
use mergetag_lake::{
    Location, Partitioning, SemanticConfig, SemanticLayer, TableBuilder, events_table,
    profiles_table, provenance_table, segments_table, text_list_type, traits_table, write_table,
};
use mergetag_mapping::Audience;
use mergetag_model::{ProfileId, RecordId, Value};
use mergetag_validate::QuarantineEntry;

use super::output::{ParquetOutput, RunOutput};
use super::stage::{ProfileBatch, ProfileStage, StageError};
use crate::error::Result;

/// The prefix of the traits under which the semantic layer's view values land: each view
/// column is the trait `view.<view>.<column>` ([`mergetag_lake::view_trait`]), the source
/// mapping variables and segment rules read (`source = "view.favourite_category.category"`).
pub const VIEW_TRAIT: &str = "view";

/// The semantic layer as a profile stage (`[semantic.views]` in a pipeline file): it
/// registers the batch's tables ([`STAGE_TABLES`]: `profiles`, `provenance`, `traits` as
/// computed so far, `events` attributed to the profiles, `segments` and `members`) as
/// DataFusion tables, adds the views (each checked: an unknown table or column is an error
/// naming the view), runs them, and gives each profile one trait per view column,
/// `view.<view>.<column>` (see [`VIEW_TRAIT`]), from the view's first row for that profile
/// (views without a `profile_id` column add nothing). The traits are flat, with no object
/// around them: a view over a million profiles costs one value each, not two maps.
#[derive(Debug, Clone)]
pub struct SemanticStage {
    config: SemanticConfig,
}

impl SemanticStage {
    /// A stage adding the views of `config`.
    pub fn new(config: SemanticConfig) -> SemanticStage {
        SemanticStage { config }
    }
}

impl ProfileStage for SemanticStage {
    fn name(&self) -> &str {
        "semantic"
    }

    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        let profiles = batch.profiles();
        let traits: Vec<BTreeMap<String, Value>> =
            (0..batch.len()).map(|i| batch.traits(i).clone()).collect();
        let mut events = Vec::new();
        let mut owner = Vec::new();
        for (i, profile) in profiles.iter().enumerate() {
            for e in batch.events(i) {
                events.push((*e).clone());
                owner.push(Some(profile.id.0));
            }
        }
        let mut layer = SemanticLayer::new()?;
        let members = profiles
            .iter()
            .flat_map(|p| p.members.iter().map(move |m| (m, Some(p.id))));
        let tables = [
            ("profiles", profiles_table(profiles)?),
            ("provenance", provenance_table(profiles)?),
            ("traits", traits_table(profiles, &traits)?),
            ("events", events_table(&events, &owner)?),
            ("segments", segments_table(profiles, &traits)?),
            ("members", members_table(members)?),
        ];
        for (name, table) in tables {
            layer.register_batches(name, vec![table])?;
        }
        layer.add_views(&self.config)?;
        let views = layer.profile_values()?;
        let ids: Vec<i64> = (0..batch.len())
            .map(|i| i64::try_from(batch.profile(i).id.0).unwrap_or(i64::MAX))
            .collect();
        for rows in &views {
            rows.for_each_trait(ids.iter().copied(), |i, name, value| {
                batch.set_trait(i, name, value);
            });
        }
        Ok(())
    }
}

/// The tables a [`SemanticStage`]'s views read, in a run and when the pipeline is built:
/// those that exist while profiles are being computed. A view may not read the others of
/// [`RunOutput::tables`] (`quarantine`, `pairs`, `clusters`, `merge_log`, `audiences`), which
/// only a finished run has; `mergetag query` reads every table.
pub const STAGE_TABLES: &[&str] = &[
    "profiles",
    "provenance",
    "traits",
    "events",
    "segments",
    "members",
];

/// The files [`RunOutput::write_parquet`] writes, one per table of [`RunOutput::tables`]
/// (`<table>.parquet`, or a directory `<table>/` of Hive partitions when the table is
/// partitioned, see [`ParquetOutput`]). Each table's columns are fixed (see
/// [`RunOutput::tables`]), even when it has no rows; `profiles` and `traits` add one column
/// per field and per trait.
pub mod parquet_files {
    /// The golden profiles: `profile_id`, `members`, one column per field.
    pub const PROFILES: &str = "profiles.parquet";
    /// Where each profile value came from: one row per profile field.
    pub const PROVENANCE: &str = "provenance.parquet";
    /// The traits: `profile_id`, one column per trait.
    pub const TRAITS: &str = "traits.parquet";
    /// The events, with the profile each was attributed to.
    pub const EVENTS: &str = "events.parquet";
    /// One row per profile and segment.
    pub const SEGMENTS: &str = "segments.parquet";
    /// The quarantine: one row per entry, with its reasons.
    pub const QUARANTINE: &str = "quarantine.parquet";
    /// The records and the profile each joined: `record_id`, `source`, `profile_id`.
    pub const MEMBERS: &str = "members.parquet";
    /// The scored pairs the deduplication matched (when it ran).
    pub const PAIRS: &str = "pairs.parquet";
    /// The deduplication's clusters: one row per deduplicated record.
    pub const CLUSTERS: &str = "clusters.parquet";
    /// What merged: one row per matched pair, replayed as the clustering followed it.
    pub const MERGE_LOG: &str = "merge_log.parquet";
    /// The audiences: one row per output platform and recipient.
    pub const AUDIENCES: &str = "audiences.parquet";
    /// Every file, in the order of [`RunOutput::tables`](crate::pipeline::RunOutput::tables).
    pub const ALL: &[&str] = &[
        PROFILES, PROVENANCE, TRAITS, EVENTS, SEGMENTS, QUARANTINE, MEMBERS, PAIRS, CLUSTERS,
        MERGE_LOG, AUDIENCES,
    ];
}

impl ParquetOutput {
    /// The partitions of `partition_by`, parsed.
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) for a partition that is not a column name or
    /// `date`.
    pub fn partitions(&self) -> Result<BTreeMap<String, Partitioning>> {
        let mut out = BTreeMap::new();
        for (table, p) in &self.partition_by {
            out.insert(table.clone(), p.parse::<Partitioning>()?);
        }
        Ok(out)
    }
}

/// `members` of any records: `record_id`, `source` (`Utf8`), `profile_id` (`Int64`).
fn members_table<'r>(
    rows: impl Iterator<Item = (&'r RecordId, Option<ProfileId>)>,
) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("members");
    t.typed_columns(&[
        ("record_id", DataType::Utf8),
        ("source", DataType::Utf8),
        ("profile_id", DataType::Int64),
    ]);
    for (r, p) in rows {
        t.push_row([
            ("record_id", Value::Text(r.to_string())),
            ("source", Value::Text(r.source.to_string())),
            ("profile_id", pid(p)),
        ]);
    }
    Ok(t.finish()?)
}

fn pid(p: Option<ProfileId>) -> Value {
    p.and_then(|p| i64::try_from(p.0).ok())
        .map_or(Value::Null, Value::Int)
}

fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The schemas of the [`STAGE_TABLES`] without rows: what a view sees of them when the
/// pipeline is built. `profiles` and `traits` hold only `profile_id` (and `members`) here;
/// the caller adds the columns the configuration determines.
pub(crate) fn stage_schemas() -> Result<Vec<(&'static str, RecordBatch)>> {
    Ok(vec![
        ("profiles", profiles_table(&[])?),
        ("provenance", provenance_table(&[])?),
        ("traits", traits_table(&[], &[])?),
        ("events", events_table(&[], &[])?),
        ("segments", segments_table(&[], &[])?),
        ("members", members_table(std::iter::empty())?),
    ])
}

/// The audiences, one row per platform and recipient exported: `platform`, `profile_id`,
/// `email` (the address sent to), `variables` (the recipient's variables as JSON text).
fn audiences_table(audiences: &[Audience]) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("audiences");
    t.typed_columns(&[
        ("platform", DataType::Utf8),
        ("profile_id", DataType::Int64),
        ("email", DataType::Utf8),
        ("variables", DataType::Utf8),
    ]);
    for a in audiences {
        for r in a.recipients() {
            t.push_row([
                ("platform", Value::Text(a.platform.to_string())),
                ("profile_id", pid(Some(r.profile))),
                ("email", Value::Text(r.email.clone())),
                (
                    "variables",
                    Value::Text(serde_json::to_string(&r.variables).unwrap_or_default()),
                ),
            ]);
        }
    }
    Ok(t.finish()?)
}

/// Minimal union-find over record indices, to replay the clustering.
struct Groups {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
}

impl RunOutput {
    /// The run's tables as Arrow batches, by name, each with fixed columns (and Arrow types)
    /// even when it has no rows:
    ///
    /// | table | one row per | columns |
    /// |---|---|---|
    /// | `profiles` | golden profile | `profile_id` Int64, `members` List(Utf8), then one column per field |
    /// | `provenance` | profile field | `profile_id` Int64, `field` `value` `record_id` Utf8, `observed_at` Timestamp(µs, UTC), `rule` Utf8, `conflicts` Int64 |
    /// | `traits` | profile | `profile_id` Int64, then one column per trait |
    /// | `events` | event read | `profile_id` Int64 (null: not attributed), `origin` `kind` `name` Utf8, `timestamp` Timestamp(µs, UTC), `user_id` `anonymous_id` `email` `message_id` Utf8, `properties` Utf8 (JSON) |
    /// | `segments` | profile and rule segment | `profile_id` Int64, `segment` Utf8, `cluster_id` Int64, `cluster_name` Utf8 (see [`segments_table`](mergetag_lake::segments_table)) |
    /// | `quarantine` | quarantine entry | `kind` `record_id` `source` Utf8, `line` `record` Int64, `field` Utf8, `codes` List(Utf8), `data` Utf8 |
    /// | `members` | accepted record | `record_id` `source` Utf8, `profile_id` Int64 |
    /// | `pairs` | matched pair | `a` `b` Utf8 (record ids), `profile_id` Int64, `weight` `probability` Float64 |
    /// | `clusters` | deduplicated record | `record_id` `source` Utf8, `cluster_id` Int64 (dedup's cluster), `cluster_size` Int64, `profile_id` Int64 |
    /// | `merge_log` | matched pair, in the order clustering followed it | `seq` Int64, `event` Utf8, `profile_id` Int64, `record_id` `with_record_id` Utf8, `other_profile_id` Int64, `weight` `probability` Float64, `size` Int64 |
    /// | `audiences` | platform and recipient exported | `platform` Utf8, `profile_id` Int64, `email` Utf8, `variables` Utf8 (JSON) |
    ///
    /// `pairs`, `clusters` and `merge_log` have no rows when deduplication did not run.
    /// `audiences` lists who was exported; who was left out (suppressed, no address) is
    /// counted in the report, not listed. The `merge_log` replays the clustering: matches
    /// strongest first (ties by record ids), as the deduplication followed them; `event` is
    /// `attached` (a record joined a group of records, or two single records became one
    /// group: `size` is the group's size after), `merged` (two groups of several records
    /// became one), `corroborated` (the records were already one group through stronger
    /// matches) or `refused_bridge` (the bridge guard kept their groups apart:
    /// `other_profile_id` is the profile of `with_record_id`). The survivorship decision of
    /// each field is in `provenance` (`rule`, `conflicts`).
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) should Arrow refuse a column.
    pub fn tables(&self) -> Result<Vec<(&'static str, RecordBatch)>> {
        let owners: Vec<Option<u64>> = self.event_profiles.iter().map(|p| p.map(|p| p.0)).collect();
        let members = self
            .records
            .iter()
            .zip(&self.profile_of)
            .map(|(r, p)| (&r.id, Some(*p)));
        Ok(vec![
            ("profiles", profiles_table(&self.profiles)?),
            ("provenance", provenance_table(&self.profiles)?),
            ("traits", traits_table(&self.profiles, &self.traits)?),
            ("events", events_table(&self.events, &owners)?),
            ("segments", segments_table(&self.profiles, &self.traits)?),
            ("quarantine", self.quarantine_table()?),
            ("members", members_table(members)?),
            ("pairs", self.pairs_table()?),
            ("clusters", self.clusters_table()?),
            ("merge_log", self.merge_log_table()?),
            ("audiences", audiences_table(&self.audiences)?),
        ])
    }

    fn quarantine_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("quarantine");
        t.typed_columns(&[
            ("kind", DataType::Utf8),
            ("record_id", DataType::Utf8),
            ("source", DataType::Utf8),
            ("line", DataType::Int64),
            ("record", DataType::Int64),
            ("field", DataType::Utf8),
            ("codes", text_list_type()),
            ("data", DataType::Utf8),
        ]);
        for e in &self.quarantine {
            let codes = Value::List(
                e.findings()
                    .iter()
                    .map(|f| {
                        Value::Text(match &f.field {
                            Some(field) => format!("{}: {field}", f.code),
                            None => f.code.to_string(),
                        })
                    })
                    .collect(),
            );
            let opt = |n: Option<u64>| {
                n.and_then(|n| i64::try_from(n).ok())
                    .map_or(Value::Null, Value::Int)
            };
            match e {
                QuarantineEntry::Record {
                    record, position, ..
                } => t.push_row([
                    ("kind", Value::from("record")),
                    ("record_id", Value::Text(record.id.to_string())),
                    ("source", Value::Text(record.id.source.to_string())),
                    ("line", opt(position.and_then(|p| p.line))),
                    ("record", opt(position.and_then(|p| p.record))),
                    ("codes", codes),
                    (
                        "data",
                        Value::Text(serde_json::to_string(record).unwrap_or_default()),
                    ),
                ]),
                QuarantineEntry::Reject { reject, .. } => t.push_row([
                    ("kind", Value::from("reject")),
                    ("record_id", Value::Text(reject.id.to_string())),
                    ("source", Value::Text(reject.id.source.to_string())),
                    ("line", opt(reject.position.line)),
                    ("record", opt(reject.position.record)),
                    (
                        "field",
                        reject
                            .field
                            .as_ref()
                            .map_or(Value::Null, |f| Value::Text(f.to_string())),
                    ),
                    ("codes", codes),
                    ("data", Value::Text(reject.raw.clone())),
                ]),
                _ => t.push_row([("kind", Value::from("other"))]),
            };
        }
        Ok(t.finish()?)
    }

    fn record_text(&self, i: usize) -> Value {
        self.records
            .get(i)
            .map_or(Value::Null, |r| Value::Text(r.id.to_string()))
    }

    fn profile_at(&self, i: usize) -> Value {
        pid(self.profile_of.get(i).copied())
    }

    fn pairs_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("pairs");
        t.typed_columns(&[
            ("a", DataType::Utf8),
            ("b", DataType::Utf8),
            ("profile_id", DataType::Int64),
            ("weight", DataType::Float64),
            ("probability", DataType::Float64),
        ]);
        if let Some(d) = &self.dedup {
            for p in &d.matches {
                t.push_row([
                    ("a", self.record_text(p.a)),
                    ("b", self.record_text(p.b)),
                    ("profile_id", self.profile_at(p.a)),
                    ("weight", Value::float(p.weight)),
                    ("probability", Value::float(p.probability)),
                ]);
            }
        }
        Ok(t.finish()?)
    }

    fn clusters_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("clusters");
        t.typed_columns(&[
            ("record_id", DataType::Utf8),
            ("source", DataType::Utf8),
            ("cluster_id", DataType::Int64),
            ("cluster_size", DataType::Int64),
            ("profile_id", DataType::Int64),
        ]);
        if let Some(d) = &self.dedup {
            let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
            for c in &d.clusters {
                *sizes.entry(*c).or_default() += 1;
            }
            for (i, c) in d.clusters.iter().enumerate() {
                let Some(r) = self.records.get(i) else {
                    continue;
                };
                t.push_row([
                    ("record_id", Value::Text(r.id.to_string())),
                    ("source", Value::Text(r.id.source.to_string())),
                    ("cluster_id", Value::Int(i64::from(*c))),
                    ("cluster_size", count(sizes[c])),
                    ("profile_id", self.profile_at(i)),
                ]);
            }
        }
        Ok(t.finish()?)
    }

    fn merge_log_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("merge_log");
        t.typed_columns(&[
            ("seq", DataType::Int64),
            ("event", DataType::Utf8),
            ("profile_id", DataType::Int64),
            ("record_id", DataType::Utf8),
            ("with_record_id", DataType::Utf8),
            ("other_profile_id", DataType::Int64),
            ("weight", DataType::Float64),
            ("probability", DataType::Float64),
            ("size", DataType::Int64),
        ]);
        if let Some(d) = &self.dedup {
            let n = d.clusters.len();
            let mut order: Vec<usize> = (0..d.matches.len())
                .filter(|&k| d.matches[k].a < n && d.matches[k].b < n)
                .collect();
            let id = |i: usize| self.records.get(i).map(|r| &r.id);
            order.sort_by(|&x, &y| {
                let (px, py) = (&d.matches[x], &d.matches[y]);
                py.weight
                    .total_cmp(&px.weight)
                    .then_with(|| (id(px.a), id(px.b)).cmp(&(id(py.a), id(py.b))))
            });
            let mut groups = Groups::new(n);
            for (seq, k) in order.into_iter().enumerate() {
                let p = &d.matches[k];
                let (ra, rb) = (groups.find(p.a), groups.find(p.b));
                let (event, other, size) = if d.clusters[p.a] != d.clusters[p.b] {
                    ("refused_bridge", self.profile_at(p.b), Value::Null)
                } else if ra == rb {
                    ("corroborated", Value::Null, Value::Null)
                } else {
                    let both = groups.size[ra] >= 2 && groups.size[rb] >= 2;
                    groups.parent[rb] = ra;
                    groups.size[ra] += groups.size[rb];
                    let event = if both { "merged" } else { "attached" };
                    (event, Value::Null, count(groups.size[ra]))
                };
                t.push_row([
                    ("seq", count(seq)),
                    ("event", Value::from(event)),
                    ("profile_id", self.profile_at(p.a)),
                    ("record_id", self.record_text(p.a)),
                    ("with_record_id", self.record_text(p.b)),
                    ("other_profile_id", other),
                    ("weight", Value::float(p.weight)),
                    ("probability", Value::float(p.probability)),
                    ("size", size),
                ]);
            }
        }
        Ok(t.finish()?)
    }

    /// Writes the run's tables ([`RunOutput::tables`]) as Parquet files in `dir` (a local
    /// directory or an object-store URL, see [`Location`]), one file per table
    /// ([`parquet_files`]), each atomically (see [`write_parquet`](mergetag_lake::write_parquet));
    /// returns the files' locations and sizes.
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) naming the file that could not be written.
    pub fn write_parquet(&self, dir: &Location) -> Result<Vec<(String, u64)>> {
        self.write_parquet_partitioned(dir, &BTreeMap::new())
    }

    /// Writes the run's tables as [`RunOutput::write_parquet`] does, the tables named in
    /// `partition_by` split into Hive partitions (`events/date=2026-11-21/part-0.parquet`;
    /// see [`write_table`] and [`ParquetOutput`]), which
    /// [`SemanticLayer::register_parquet_partitioned`], DataFusion and
    /// [`ArrowSource`](mergetag_lake::ArrowSource) read back.
    ///
    /// ```
    /// use mergetag::lake::{Location, Partitioning, SemanticLayer};
    /// use mergetag::pipeline::{Pipeline, PipelineConfig, parquet_files};
    ///
    /// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
    /// let output = Pipeline::from_config(&config)?.run(|_| {})?;
    /// let dir = tempfile::tempdir()?;
    /// let lake = Location::parse(&dir.path().display().to_string(), ".")?;
    /// let by_day = [("events".to_owned(), Partitioning::Day { column: "timestamp".into() })];
    /// output.write_parquet_partitioned(&lake, &by_day.into_iter().collect())?;
    ///
    /// let mut layer = SemanticLayer::new()?;
    /// layer.register_parquet("profiles", &lake.child(parquet_files::PROFILES))?;
    /// layer.register_parquet_partitioned("events", &lake.child("events"), &["date"])?;
    /// let n = layer.query_text("SELECT count(*) AS n FROM profiles", mergetag::lake::OutputFormat::Csv)?;
    /// assert_eq!(n, format!("n\n{}\n", output.profiles.len()));
    /// let e = layer.query_text("SELECT count(*) AS n FROM events", mergetag::lake::OutputFormat::Csv)?;
    /// assert_eq!(e, format!("n\n{}\n", output.events.len()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) naming the file that could not be written, or a
    /// table without the column to partition by.
    pub fn write_parquet_partitioned(
        &self,
        dir: &Location,
        partition_by: &BTreeMap<String, Partitioning>,
    ) -> Result<Vec<(String, u64)>> {
        let mut written = Vec::new();
        for (name, batch) in self.tables()? {
            written.extend(write_table(dir, name, &batch, partition_by.get(name))?);
        }
        Ok(written)
    }

    /// A semantic layer over the run's tables ([`RunOutput::tables`]) with the views of
    /// `views`, for queries over the result of a run (`mergetag query`).
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) naming the view that does not plan.
    pub fn semantic_layer(&self, views: Option<&SemanticConfig>) -> Result<SemanticLayer> {
        let mut layer = SemanticLayer::new()?;
        for (name, batch) in self.tables()? {
            layer.register_batches(name, vec![batch])?;
        }
        if let Some(v) = views {
            layer.add_views(v)?;
        }
        Ok(layer)
    }
}
