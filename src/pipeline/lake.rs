//! The data lake in a pipeline (feature `lake`): the semantic layer as a profile stage, and
//! a run's outputs as Parquet files and DataFusion tables.

use std::collections::BTreeMap;

use mergetag_lake::arrow::record_batch::RecordBatch;
use mergetag_lake::{
    Location, SemanticConfig, SemanticLayer, TableBuilder, events_table, profiles_table,
    provenance_table, traits_table, write_parquet,
};
use mergetag_model::Value;
use mergetag_validate::QuarantineEntry;

use super::output::RunOutput;
use super::stage::{ProfileBatch, ProfileStage, StageError};
use crate::error::Result;

/// The trait under which the semantic layer's view values land: `view.<view>.<column>`, the
/// path mapping variables read (`source = "view.favourite_category.category"`).
pub const VIEW_TRAIT: &str = "view";

/// The semantic layer as a profile stage (`[semantic.views]` in a pipeline file): it
/// registers the batch's `profiles`, `provenance`, `traits` (as computed so far) and `events`
/// as DataFusion tables, adds the views (each checked: an unknown table or column is an error
/// naming the view), runs them, and gives each profile the trait [`VIEW_TRAIT`], an object
/// of view -> the view's columns in its first row for that profile (views without a
/// `profile_id` column add nothing).
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
        layer.register_batches("profiles", vec![profiles_table(profiles)?])?;
        layer.register_batches("provenance", vec![provenance_table(profiles)?])?;
        layer.register_batches("traits", vec![traits_table(profiles, &traits)?])?;
        let table = events_table(&events, &owner)?;
        layer.register_batches("events", vec![table])?;
        layer.add_views(&self.config)?;
        let mut values = layer.profile_values()?;
        for i in 0..batch.len() {
            let id = i64::try_from(batch.profile(i).id.0).unwrap_or(i64::MAX);
            if let Some(v) = values.remove(&id) {
                batch.set_trait(i, VIEW_TRAIT, Value::Object(v));
            }
        }
        Ok(())
    }
}

/// The files [`RunOutput::write_parquet`] writes.
pub mod parquet_files {
    /// The golden profiles: `profile_id`, `members`, one column per field.
    pub const PROFILES: &str = "profiles.parquet";
    /// Where each profile value came from: one row per profile field.
    pub const PROVENANCE: &str = "provenance.parquet";
    /// The traits: `profile_id`, one column per trait.
    pub const TRAITS: &str = "traits.parquet";
    /// The quarantine: one row per entry, with its reasons.
    pub const QUARANTINE: &str = "quarantine.parquet";
    /// The records and the profile each joined: `record_id`, `source`, `profile_id`.
    pub const MEMBERS: &str = "members.parquet";
    /// The scored pairs the deduplication matched (when it ran).
    pub const PAIRS: &str = "pairs.parquet";
}

impl RunOutput {
    /// The run's tables as Arrow batches, by name: `profiles`, `provenance`, `traits`,
    /// `quarantine`, `members` and `pairs` (see [`parquet_files`]).
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) should Arrow refuse a column.
    pub fn tables(&self) -> Result<Vec<(&'static str, RecordBatch)>> {
        Ok(vec![
            ("profiles", profiles_table(&self.profiles)?),
            ("provenance", provenance_table(&self.profiles)?),
            ("traits", traits_table(&self.profiles, &self.traits)?),
            ("quarantine", self.quarantine_table()?),
            ("members", self.members_table()?),
            ("pairs", self.pairs_table()?),
        ])
    }

    fn quarantine_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("quarantine");
        for c in [
            "kind",
            "record_id",
            "source",
            "line",
            "record",
            "field",
            "codes",
            "data",
        ] {
            t.column(c);
        }
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

    fn members_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("members");
        for (r, p) in self.records.iter().zip(&self.profile_of) {
            t.push_row([
                ("record_id", Value::Text(r.id.to_string())),
                ("source", Value::Text(r.id.source.to_string())),
                (
                    "profile_id",
                    i64::try_from(p.0).map_or(Value::Null, Value::Int),
                ),
            ]);
        }
        t.column("record_id").column("source").column("profile_id");
        Ok(t.finish()?)
    }

    fn pairs_table(&self) -> Result<RecordBatch> {
        let mut t = TableBuilder::new("pairs");
        for c in ["a", "b", "profile_id", "weight", "probability"] {
            t.column(c);
        }
        if let Some(d) = &self.dedup {
            let id = |i: usize| {
                self.records
                    .get(i)
                    .map_or(Value::Null, |r| Value::Text(r.id.to_string()))
            };
            for p in &d.matches {
                t.push_row([
                    ("a", id(p.a)),
                    ("b", id(p.b)),
                    (
                        "profile_id",
                        self.profile_of
                            .get(p.a)
                            .and_then(|p| i64::try_from(p.0).ok())
                            .map_or(Value::Null, Value::Int),
                    ),
                    ("weight", Value::float(p.weight)),
                    ("probability", Value::float(p.probability)),
                ]);
            }
        }
        Ok(t.finish()?)
    }

    /// Writes the run's tables ([`RunOutput::tables`]) as Parquet files in `dir` (a local
    /// directory or an object-store URL, see [`Location`]), each atomically (see
    /// [`write_parquet`]); returns the files' locations and sizes.
    ///
    /// # Errors
    ///
    /// [`Error::Lake`](crate::Error::Lake) naming the file that could not be written.
    pub fn write_parquet(&self, dir: &Location) -> Result<Vec<(String, u64)>> {
        let mut written = Vec::new();
        for (name, batch) in self.tables()? {
            let file = dir.child(&format!("{name}.parquet"));
            let size = write_parquet(&file, &[batch])?;
            written.push((file.url().to_owned(), size));
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
