//! The deduplication plan: records table, blocking joins, levels and weights UDFs, pairs as
//! Parquet, clusters.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Float64Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, UInt32Type};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use mergetag_dedup::{
    BlockingReport, Deduper, Features, PassReport, TrainedModel, cluster_pairs, match_probability,
};
use mergetag_lake::{Location, write_parquet};
use mergetag_model::{Record, RecordId, RecordKey};

use crate::error::{Error, Result};
use crate::udf::{LEVELS_UDF, WEIGHT_UDF, register_udfs};

/// Deduplication as a DataFusion plan; see the crate docs for an example.
///
/// Built from a [`Deduper`] whose blocking passes are keyed or MinHash passes (a
/// sorted-neighbourhood pass does not run as a plan yet); settings are changed with the
/// setters and [`DedupPlan::run`] can be called again.
#[derive(Debug, Clone)]
pub struct DedupPlan {
    deduper: Deduper,
    target_partitions: usize,
    batch_size: usize,
    memory_limit: Option<usize>,
}

/// A pair of records at or above the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPair {
    /// The index in the input of the record with the smaller id.
    pub a: usize,
    /// The index in the input of the other record.
    pub b: usize,
    /// The match weight (log2 odds).
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
}

/// What a plan found.
#[derive(Debug, Clone)]
pub struct PlanResult {
    /// The pairs at or above the threshold, in record-id order of `(a, b)`: the same pairs,
    /// weights and probabilities as [`DedupResult::matches`](mergetag_dedup::DedupResult).
    pub matches: Vec<PlanPair>,
    /// The cluster of each input record, numbered as [`Deduper::run`] numbers them.
    pub clusters: Vec<u32>,
    /// The number of clusters.
    pub cluster_count: usize,
    /// Matches the bridge guard refused.
    pub refused_bridges: u64,
    /// What blocking did, pass by pass (oversized blocks capped and counted).
    pub blocking: BlockingReport,
    /// The model the pairs were scored with: the one given, its prior scaled to this
    /// blocking ([`TrainedModel::for_blocking`]).
    pub model: TrainedModel,
    /// The Parquet file of the matches: `a_id`, `b_id` (record ids as text), `weight`,
    /// `probability`.
    pub pairs_file: PathBuf,
}

impl DedupPlan {
    /// A plan deduplicating as `deduper` does, with 4 partitions, batches of 8,192 rows and
    /// no memory limit.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `blocking` when the configuration has no blocking passes
    /// (choose them with [`Deduper::choose_blocking`] first), and at `blocking[i]` for a
    /// sorted-neighbourhood pass.
    pub fn new(deduper: Deduper) -> Result<DedupPlan> {
        let config = deduper.config();
        if config.blocking.is_empty() {
            return Err(Error::invalid(
                "blocking",
                "a plan needs blocking passes; choose them with Deduper::choose_blocking and add them to the configuration",
            ));
        }
        if let Some(i) = config.blocking.iter().position(|p| p.window.is_some()) {
            return Err(Error::invalid(
                format!("blocking[{i}]"),
                "sorted-neighbourhood passes (`window`) do not run as a plan yet; use a keyed or MinHash pass, or Deduper::run",
            ));
        }
        Ok(DedupPlan {
            deduper,
            target_partitions: 4,
            batch_size: 8192,
            memory_limit: None,
        })
    }

    /// How many partitions DataFusion runs in parallel (at least 1). The result does not
    /// depend on it.
    pub fn target_partitions(&mut self, n: usize) -> &mut DedupPlan {
        self.target_partitions = n.max(1);
        self
    }

    /// Rows per Arrow batch (at least 1).
    pub fn batch_size(&mut self, n: usize) -> &mut DedupPlan {
        self.batch_size = n.max(1);
        self
    }

    /// A memory pool of `bytes` for DataFusion, beyond which joins and sorts spill to disk;
    /// `None` (the default) for no limit.
    pub fn memory_limit(&mut self, bytes: Option<usize>) -> &mut DedupPlan {
        self.memory_limit = bytes;
        self
    }

    /// The deduplicator.
    pub fn deduper(&self) -> &Deduper {
        &self.deduper
    }

    /// Deduplicates `records` with `model` (trained in-process, on a sample with
    /// [`train_on_sample`] or on everything with [`Deduper::run`], or loaded with
    /// [`TrainedModel::from_json_str`]), working in `dir`: the records table, the records with
    /// their value counts, the compared candidate pairs and the matches (`pairs.parquet`)
    /// are written there.
    ///
    /// With the model [`Deduper::run`] learns on the same records, the matches and clusters
    /// are that run's exactly. Clustering holds the matches and the other candidate pairs
    /// between two records that both have a match in memory (16 bytes a pair); the rest of
    /// the candidate pairs stay on disk.
    ///
    /// # Errors
    ///
    /// [`Error::Dedup`] when the model does not fit the configuration, [`Error::Lake`] or
    /// [`Error::Io`] when `dir` cannot be written (or when called from inside an async
    /// task: run it on a blocking thread), [`Error::DataFusion`] naming the step of
    /// the plan that failed.
    pub fn run(&self, records: &[Record], model: &TrainedModel, dir: &Path) -> Result<PlanResult> {
        let ctx = self.session()?;
        self.run_on(&ctx, records, model, dir)
    }

    /// Deduplicates records given in chunks, as [`DedupPlan::run`] deduplicates them all at
    /// once, with the same answers: for data larger than memory. Each chunk's features are
    /// written to `dir` and the chunk is dropped before the next is asked for, so only one
    /// chunk's records are in memory at a time; record indexes in the result count from the
    /// first record of the first chunk. Empty chunks are skipped.
    ///
    /// Memory beyond the chunk: DataFusion's pool ([`DedupPlan::memory_limit`]; joins and
    /// sorts spill past it), 8 bytes a record for positions and clusters, and the pairs
    /// clustering reads (see [`DedupPlan::run`]).
    ///
    /// # Errors
    ///
    /// As [`DedupPlan::run`]; [`Error::Invalid`] at `records` past 4,294,967,295 records.
    pub fn run_chunks<C: AsRef<[Record]>>(
        &self,
        chunks: impl IntoIterator<Item = C>,
        model: &TrainedModel,
        dir: &Path,
    ) -> Result<PlanResult> {
        let ctx = self.session()?;
        self.run_chunks_on(&ctx, chunks, model, dir)
    }

    /// Deduplicates as [`DedupPlan::run`] does, with the plan's queries run by a session
    /// the caller built: a distributed engine's client session (such as a Ballista
    /// scheduler's, in `mergetag-ballista`), whose settings should start from
    /// [`DedupPlan::session_config`]. The plan registers its tables (`raw`, `records`,
    /// `counted`, `scored`) and UDFs ([`register_udfs`]) on it, replacing tables of the same
    /// names.
    ///
    /// `dir` is made absolute: the engine's workers read and write the tables at the same
    /// path, so on several machines it must be a shared file system mounted at the same
    /// path on each. Clustering runs in this process, as in [`DedupPlan::run`]; the memory
    /// limit is the session's own (its runtime's), not [`DedupPlan::memory_limit`].
    ///
    /// # Errors
    ///
    /// As [`DedupPlan::run`].
    pub fn run_on(
        &self,
        ctx: &SessionContext,
        records: &[Record],
        model: &TrainedModel,
        dir: &Path,
    ) -> Result<PlanResult> {
        self.run_chunks_on(ctx, [records], model, dir)
    }

    /// [`DedupPlan::run_chunks`] on a session the caller built, as [`DedupPlan::run_on`].
    ///
    /// # Errors
    ///
    /// As [`DedupPlan::run_chunks`].
    pub fn run_chunks_on<C: AsRef<[Record]>>(
        &self,
        ctx: &SessionContext,
        chunks: impl IntoIterator<Item = C>,
        model: &TrainedModel,
        dir: &Path,
    ) -> Result<PlanResult> {
        let config = self.deduper.config();
        model.check(config).map_err(|source| Error::Dedup {
            step: "the model does not fit the configuration",
            source: Box::new(source),
        })?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Io {
                path: "<runtime>".into(),
                source: std::io::Error::other(
                    "a plan blocks on its own runtime; run it from a blocking thread (spawn_blocking), not from an async task",
                ),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let dir = &std::path::absolute(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let lake =
            Location::parse(&dir.display().to_string(), ".").map_err(|source| Error::Lake {
                step: "the working directory is not a usable location",
                source: Box::new(source),
            })?;
        // 1. The raw table, chunk by chunk: each record's input index, an order key of its
        //    id, its id, features and keys.
        let layout = Features::empty(&self.deduper);
        let raw_dir = dir.join("raw");
        output_dir(&raw_dir)?;
        let mut n = 0usize;
        let mut parts = 0usize;
        for chunk in chunks {
            let chunk = chunk.as_ref();
            if chunk.is_empty() {
                continue;
            }
            if u32::try_from(n + chunk.len()).is_err() {
                return Err(Error::invalid(
                    "records",
                    "a plan holds at most 4,294,967,295 records; split the input",
                ));
            }
            let features = self.deduper.features(chunk);
            let batches = self.raw_batches(chunk, n, &features)?;
            drop(features);
            write_parquet(
                &lake.child("raw").child(&format!("part-{parts:06}.parquet")),
                &batches,
            )
            .map_err(|source| Error::Lake {
                step: "write the records table",
                source: Box::new(source),
            })?;
            n += chunk.len();
            parts += 1;
        }
        if n == 0 {
            // Nothing to deduplicate: no tables to query (an engine writes no file for no
            // rows), an empty pairs table and a report of empty passes.
            let blocking = report(self, &layout, &[], &[], 0);
            let model = model.for_blocking(&blocking);
            write_parquet(
                &lake.child("pairs.parquet"),
                &[pairs_batch(&[], &HashMap::new())?],
            )
            .map_err(|source| Error::Lake {
                step: "write the pairs table",
                source: Box::new(source),
            })?;
            return Ok(PlanResult {
                matches: Vec::new(),
                clusters: Vec::new(),
                cluster_count: 0,
                refused_bridges: 0,
                blocking,
                model,
                pairs_file: dir.join("pairs.parquet"),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.target_partitions)
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "<runtime>".into(),
                source,
            })?;
        // 2. The records table: positions in record-id order (ties by input index), as
        //    Deduper::prepare orders; 3. blocking, comparing, scoring.
        let (pos_to_input, scored) = runtime.block_on(async {
            let pos_to_input = self.records_table(ctx, &layout, dir, n).await?;
            let scored = self.plan(ctx, &layout, n, model, dir).await?;
            Ok::<_, Error>((pos_to_input, scored))
        })?;
        let Scored {
            pairs,
            weights,
            blocking,
            model,
        } = scored;
        // 4. Clustering, in process. Every position is below n and every input index appears
        //    once (records_table checks), so the indexing below holds.
        let threshold = config.threshold;
        let clustering = cluster_pairs(n, &pairs, &weights, threshold, config.guard_bridges);
        let mut clusters = vec![0u32; n];
        for (&input, &c) in pos_to_input.iter().zip(&clustering.clusters) {
            clusters[input as usize] = c;
        }
        let matched: Vec<((u32, u32), f64)> = pairs
            .iter()
            .zip(&weights)
            .filter(|&(_, &w)| match_probability(w) >= threshold)
            .map(|(&p, &w)| (p, w))
            .collect();
        drop((pairs, weights));
        let ids = runtime.block_on(ids_of(ctx, &matched, n))?;
        drop(runtime);
        let matches: Vec<PlanPair> = matched
            .iter()
            .map(|&((a, b), weight)| PlanPair {
                a: pos_to_input[a as usize] as usize,
                b: pos_to_input[b as usize] as usize,
                weight,
                probability: match_probability(weight),
            })
            .collect();
        let pairs_file = lake.child("pairs.parquet");
        write_parquet(&pairs_file, &[pairs_batch(&matched, &ids)?]).map_err(|source| {
            Error::Lake {
                step: "write the pairs table",
                source: Box::new(source),
            }
        })?;
        Ok(PlanResult {
            matches,
            clusters,
            cluster_count: clustering.cluster_count,
            refused_bridges: clustering.refused_bridges,
            blocking,
            model,
            pairs_file: dir.join("pairs.parquet"),
        })
    }

    /// The raw table's schema: `input` (the record's index in the input), `id_order` (its id
    /// encoded so that bytes sort as ids do: [`id_order_key`]), `id`, the feature columns
    /// `f0...` and the key slots `k0...` (null for no key).
    fn raw_schema(&self, layout: &Features) -> Arc<Schema> {
        let mut fields = vec![
            Field::new("input", DataType::UInt32, false),
            Field::new("id_order", DataType::Binary, false),
            Field::new("id", DataType::Utf8, false),
        ];
        fields.extend(
            (0..layout.column_count()).map(|c| Field::new(format!("f{c}"), DataType::Utf8, false)),
        );
        fields.extend(
            (0..layout.slots()).map(|s| Field::new(format!("k{s}"), DataType::UInt64, true)),
        );
        Arc::new(Schema::new(fields))
    }

    /// One chunk of the raw table, its first record at input index `first`.
    fn raw_batches(
        &self,
        records: &[Record],
        first: usize,
        features: &Features,
    ) -> Result<Vec<RecordBatch>> {
        let schema = self.raw_schema(features);
        let mut batches = Vec::new();
        let mut key = Vec::new();
        let mut start = 0;
        while start < records.len() {
            let end = (start + self.batch_size).min(records.len());
            let rows = start..end;
            let mut order = BinaryBuilder::new();
            for r in &records[rows.clone()] {
                id_order_key(&r.id, &mut key);
                order.append_value(&key);
            }
            let mut columns: Vec<ArrayRef> = vec![
                Arc::new(UInt32Array::from_iter_values(
                    rows.clone().map(|i| (first + i) as u32),
                )),
                Arc::new(order.finish()),
                Arc::new(StringArray::from_iter_values(
                    records[rows.clone()].iter().map(|r| r.id.to_string()),
                )),
            ];
            for c in 0..features.column_count() {
                columns.push(Arc::new(StringArray::from_iter_values(
                    rows.clone().map(|i| features.value(c, i)),
                )));
            }
            for s in 0..features.slots() {
                let keys = features.keys(s);
                columns.push(Arc::new(UInt64Array::from_iter(
                    rows.clone()
                        .map(|i| keys.get(i).copied().filter(|&k| k != 0)),
                )));
            }
            batches.push(
                RecordBatch::try_new(schema.clone(), columns).map_err(|source| Error::Arrow {
                    step: "records table",
                    source,
                })?,
            );
            start = end;
        }
        Ok(batches)
    }

    /// Writes the records table (`pos` in record-id order, then the raw table's columns but
    /// `id_order`) by a sort in DataFusion, which spills, registers it as `records`, and gives
    /// each position's input index.
    async fn records_table(
        &self,
        ctx: &SessionContext,
        layout: &Features,
        dir: &Path,
        n: usize,
    ) -> Result<Vec<u32>> {
        for table in ["raw", "records"] {
            ctx.deregister_table(table)
                .map_err(Error::datafusion(format!("deregister the {table} table")))?;
        }
        ctx.register_parquet(
            "raw",
            format!("{}/", dir.join("raw").display()),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(Error::datafusion("register the raw records"))?;
        let mut columns = String::from("input, id");
        for c in 0..layout.column_count() {
            let _ = write!(columns, ", f{c}");
        }
        for s in 0..layout.slots() {
            let _ = write!(columns, ", k{s}");
        }
        let records_path = output_dir(&dir.join("records"))?;
        ctx.sql(&format!(
            "SELECT CAST(row_number() OVER (ORDER BY id_order, input ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - 1 AS INT UNSIGNED) AS pos, \
             {columns} FROM raw"
        ))
        .await
        .map_err(Error::datafusion("plan the records table"))?
        .write_parquet(&records_path, DataFrameWriteOptions::new(), None)
        .await
        .map_err(Error::datafusion("write the records table"))?;
        ctx.register_parquet("records", &records_path, ParquetReadOptions::default())
            .await
            .map_err(Error::datafusion("register the records table"))?;
        // Every position below n given once, every input index below n taken once: anything
        // else is an error here, not a wrong index later.
        let mut pos_to_input = vec![u32::MAX; n];
        let mut taken = vec![false; n];
        for_each_row(ctx, "SELECT pos, input FROM records", |batch| {
            let (Some(pos), Some(input)) = (
                batch.column(0).as_primitive_opt::<UInt32Type>(),
                batch.column(1).as_primitive_opt::<UInt32Type>(),
            ) else {
                return Err(Error::invalid(
                    "records",
                    "positions did not come back as (UInt32, UInt32)",
                ));
            };
            for k in 0..batch.num_rows() {
                let (p, i) = (pos.value(k) as usize, input.value(k));
                if pos_to_input.get(p) != Some(&u32::MAX) || taken.get(i as usize) != Some(&false) {
                    return Err(Error::invalid(
                        "records",
                        format!("position {p} or input index {i} is out of range or repeated"),
                    ));
                }
                pos_to_input[p] = i;
                taken[i as usize] = true;
            }
            Ok(())
        })
        .await?;
        if taken.iter().any(|t| !t) {
            return Err(Error::invalid(
                "records",
                "the records table lost records while it was sorted",
            ));
        }
        Ok(pos_to_input)
    }

    /// The settings the plan's queries run with: [`DedupPlan::target_partitions`],
    /// [`DedupPlan::batch_size`], sort-merge joins, which spill
    /// (`datafusion.optimizer.prefer_hash_join = false`), and spill files compressed with
    /// LZ4 (`datafusion.execution.spill_compression`: feature text shrinks several times, and
    /// at 10M records and more the disk, not the pool, is what runs out). A session given to
    /// [`DedupPlan::run_on`] starts from them.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig::new()
            .with_target_partitions(self.target_partitions)
            .with_batch_size(self.batch_size)
            .set_bool("datafusion.optimizer.prefer_hash_join", false)
            .set_str("datafusion.execution.spill_compression", "lz4_frame")
    }

    /// The session: [`DedupPlan::session_config`] and the memory pool.
    fn session(&self) -> Result<SessionContext> {
        let config = self.session_config();
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = self.memory_limit {
            // A fair pool: each spilling operator (the sorts of both sides of a join, on
            // every partition) gets its share, where a greedy one lets the first take it all
            // and the next fail. The tracker names the largest consumers when it is exceeded.
            runtime = runtime.with_memory_pool(Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(bytes),
                NonZeroUsize::MIN.saturating_add(4),
            )));
        }
        let runtime = runtime
            .build_arc()
            .map_err(Error::datafusion("the DataFusion runtime"))?;
        Ok(SessionContext::new_with_config_rt(config, runtime))
    }

    /// Blocking, comparing and scoring, in DataFusion.
    async fn plan(
        &self,
        ctx: &SessionContext,
        features: &Features,
        n: usize,
        model: &TrainedModel,
        dir: &Path,
    ) -> Result<Scored> {
        let config = self.deduper.config();
        let counted_dir = &dir.join("counted");
        let scored_dir = &dir.join("scored");
        // A session given again: the tables of an earlier run make way.
        for table in ["counted", "scored"] {
            ctx.deregister_table(table)
                .map_err(Error::datafusion(format!("deregister the {table} table")))?;
        }
        let max = config.max_block_size;
        // Blocking: per key slot, the blocks' sizes.
        let slots = features.slots();
        let mut block_stats = Vec::with_capacity(slots);
        for s in 0..slots {
            let sql = format!(
                "SELECT count(*) AS blocks, sum(size) AS keyed, \
                 sum(CASE WHEN size > {max} THEN 1 ELSE 0 END) AS over, \
                 sum(CASE WHEN size > {max} THEN size ELSE 0 END) AS over_records \
                 FROM (SELECT count(*) AS size FROM records WHERE k{s} IS NOT NULL GROUP BY k{s})"
            );
            let stats = query_row(ctx, &sql, &format!("block sizes of key slot {s}")).await?;
            let sql = format!(
                "SELECT count(*) AS size FROM records WHERE k{s} IS NOT NULL GROUP BY k{s} \
                 ORDER BY size DESC LIMIT 5"
            );
            let largest =
                query_column(ctx, &sql, &format!("largest blocks of key slot {s}")).await?;
            block_stats.push((stats, largest));
        }
        // The term-frequency adjusted comparisons: each record's count of its value among the
        // field's non-missing values (`n0...`, null when missing) and their number. The
        // counts join the records (one row each) before blocking, not the candidate pairs: at
        // 15M records, each such join of the pairs sorted them all with both records'
        // features, tens of GB of spill.
        let columns = features.column_count();
        let main_columns = features.comparison_columns();
        // The rescaled model (`for_blocking`) changes the prior only, not which comparisons
        // are term-frequency adjusted.
        let tf = crate::udf::WeightUdf::new(model.clone())
            .term_frequency_comparisons()
            .to_vec();
        let mut weight_args = String::new();
        let mut tf_columns = String::new();
        let mut tf_joins = String::new();
        for (t, &c) in tf.iter().enumerate() {
            let m = main_columns.get(c).copied().unwrap_or(0);
            let total = query_row(
                ctx,
                &format!("SELECT count(*) FROM records WHERE f{m} <> ''"),
                &format!("count the values of comparison {c}"),
            )
            .await?
            .first()
            .copied()
            .unwrap_or(0);
            let _ = write!(weight_args, ", n{t}, CAST({total} AS BIGINT)");
            let _ = write!(tf_columns, ", t{t}.n AS n{t}");
            let _ = write!(
                tf_joins,
                " LEFT JOIN (SELECT f{m} AS v, count(*) AS n FROM records WHERE f{m} <> '' GROUP BY f{m}) t{t} \
                  ON x.f{m} = t{t}.v"
            );
        }
        let base = if tf.is_empty() {
            "records"
        } else {
            let kept: String = (0..slots)
                .map(|s| format!(", x.k{s}"))
                .chain((0..columns).map(|c| format!(", x.f{c}")))
                .collect();
            let path = output_dir(counted_dir)?;
            ctx.sql(&format!(
                "SELECT x.pos{kept}{tf_columns} FROM records x{tf_joins}"
            ))
            .await
            .map_err(Error::datafusion("plan the value counts"))?
            .write_parquet(&path, DataFrameWriteOptions::new(), None)
            .await
            .map_err(Error::datafusion("count the values"))?;
            ctx.register_parquet("counted", &path, ParquetReadOptions::default())
                .await
                .map_err(Error::datafusion("register the counted records"))?;
            "counted"
        };
        // The candidate pairs of every slot, flagged when an earlier slot's key already pairs
        // them, the others compared as they are joined (`mergetag_levels`): written as
        // Parquet, narrow (positions, the levels, the first record's counts), so that the
        // pairs never have to fit in memory and no pair is sorted with its features.
        register_udfs(ctx, &self.deduper, None);
        let scored_path = output_dir(scored_dir)?;
        // One query a slot, each adding its files to the table: the sorts of one join at a
        // time share the memory pool, where all slots' sorts at once left each too small a
        // share to merge what it spilled.
        for s in 0..slots {
            ctx.sql(&slot_sql(base, s, max, columns, tf.len()))
                .await
                .map_err(Error::datafusion(format!(
                    "plan the blocking join of key slot {s}"
                )))?
                .write_parquet(&scored_path, DataFrameWriteOptions::new(), None)
                .await
                .map_err(Error::datafusion(format!(
                    "run the blocking join of key slot {s}"
                )))?;
        }
        let has_scored = slots > 0 && has_files(scored_dir);
        let mut per_slot = vec![(0u64, 0u64); slots];
        if has_scored {
            ctx.register_parquet("scored", &scored_path, ParquetReadOptions::default())
                .await
                .map_err(Error::datafusion("register the candidate pairs"))?;
            let rows = query_rows(
                ctx,
                "SELECT CAST(slot AS BIGINT), CAST(seen AS BIGINT), count(*) FROM scored GROUP BY slot, seen",
                "count the candidate pairs",
            )
            .await?;
            for row in rows {
                if let [slot, seen, count] = row[..]
                    && let Some(entry) =
                        usize::try_from(slot).ok().and_then(|s| per_slot.get_mut(s))
                {
                    let count = u64::try_from(count).unwrap_or(0);
                    if seen == 0 {
                        entry.0 += count;
                    } else {
                        entry.1 += count;
                    }
                }
            }
        }
        // Scoring: the weights under the model rescaled to this blocking, computed as the
        // pairs stream back (`mergetag_weight`).
        let blocking = report(self, features, &block_stats, &per_slot, n);
        let model = model.for_blocking(&blocking);
        register_udfs(ctx, &self.deduper, Some(&model));
        if !has_scored || blocking.candidate_pairs == 0 {
            return Ok(Scored {
                pairs: Vec::new(),
                weights: Vec::new(),
                blocking,
                model,
            });
        }
        let weights_sql =
            format!("SELECT a, b, {WEIGHT_UDF}(pattern{weight_args}) FROM scored WHERE NOT seen");
        // What clustering reads: every match, and, for the bridge guard, the other candidate
        // pairs whose two records both have a match. The guard only looks at pairs between
        // two clusters of two or more records, and a record without a match stays alone, so
        // the pairs left out cannot change a cluster; memory follows the matches, not the
        // candidate pairs.
        let threshold = config.threshold;
        let mut pairs = Vec::new();
        let mut weights = Vec::new();
        let mut matched = vec![false; n];
        for_each_scored(ctx, &weights_sql, |a, b, w| {
            if match_probability(w) >= threshold {
                pairs.push((a, b));
                weights.push(w);
                for x in [a, b] {
                    if let Some(m) = matched.get_mut(x as usize) {
                        *m = true;
                    }
                }
            }
        })
        .await?;
        if config.guard_bridges {
            let is_matched = |x: u32| matched.get(x as usize).copied().unwrap_or(false);
            for_each_scored(ctx, &weights_sql, |a, b, w| {
                if match_probability(w) < threshold && is_matched(a) && is_matched(b) {
                    pairs.push((a, b));
                    weights.push(w);
                }
            })
            .await?;
        }
        // In record-id order of (a, b), as the in-process run lists them; pairs are unique.
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_unstable_by_key(|&k| pairs[k]);
        let pairs = order.iter().map(|&k| pairs[k]).collect();
        let weights = order.iter().map(|&k| weights[k]).collect();
        Ok(Scored {
            pairs,
            weights,
            blocking,
            model,
        })
    }
}

/// The candidate pairs of key slot `s`, as a query over `table` (the records, with `pos`,
/// the key slots `k0...`, the feature columns `f0...` and the value counts `n0...`): the
/// records in blocks of at most `max` joined on the slot's key, each pair `(a, b)` with
/// `a < b` in record-id order, `seen` when an earlier slot's key pairs them already (a pair
/// `Deduper::run` does not emit again). Pairs of an oversized block of an earlier slot are
/// `seen` too, as they are in process.
///
/// With `columns` feature columns, each pair not `seen` also gets its comparison levels
/// (`pattern`, by `mergetag_levels`; null for a seen pair) and its first record's `counts`
/// value counts (`n0...`), so that the pairs are compared as they are joined.
fn slot_sql(table: &str, s: usize, max: usize, columns: usize, counts: usize) -> String {
    let carried: String = (0..columns)
        .map(|c| format!(", r.f{c}"))
        .chain((0..counts).map(|t| format!(", r.n{t}")))
        .collect();
    let earlier: Vec<String> = (0..s)
        .map(|q| format!("coalesce(l.k{q} = r.k{q}, false)"))
        .collect();
    let seen = if earlier.is_empty() {
        "false".to_owned()
    } else {
        earlier.join(" OR ")
    };
    let mut compared = String::new();
    if columns > 0 {
        let left: Vec<String> = (0..columns).map(|c| format!("l.f{c}")).collect();
        let right: Vec<String> = (0..columns).map(|c| format!("r.f{c}")).collect();
        let _ = write!(
            compared,
            ", CASE WHEN ({seen}) THEN NULL ELSE {LEVELS_UDF}({}, {}) END AS pattern",
            left.join(", "),
            right.join(", ")
        );
        for t in 0..counts {
            let _ = write!(compared, ", l.n{t} AS n{t}");
        }
    }
    let keys: String = (0..=s).map(|q| format!(", r.k{q}")).collect();
    let side = format!(
        "(SELECT r.pos{keys}{carried} FROM {table} r JOIN \
          (SELECT k{s} AS key FROM {table} WHERE k{s} IS NOT NULL GROUP BY k{s} HAVING count(*) <= {max}) b \
          ON r.k{s} = b.key)"
    );
    format!(
        "SELECT CAST({s} AS INT) AS slot, l.pos AS a, r.pos AS b, ({seen}) AS seen{compared} \
         FROM {side} l JOIN {side} r ON l.k{s} = r.k{s} AND l.pos < r.pos"
    )
}

/// A directory DataFusion writes a table into, as the path it takes (with a trailing `/`):
/// emptied first, or an earlier run's files would be read as this run's.
fn output_dir(dir: &Path) -> Result<String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(format!("{}/", dir.display()))
}

/// Whether DataFusion wrote any file into `dir` (a query without rows may write none).
fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Streams the result of `sql` into `each`, one batch in memory at a time.
async fn for_each_row(
    ctx: &SessionContext,
    sql: &str,
    mut each: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut stream = ctx
        .sql(sql)
        .await
        .map_err(Error::datafusion(format!("plan: {sql}")))?
        .execute_stream()
        .await
        .map_err(Error::datafusion(format!("run: {sql}")))?;
    while let Some(batch) = stream.next().await {
        each(&batch.map_err(Error::datafusion(format!("run: {sql}")))?)?;
    }
    Ok(())
}

/// Streams the rows of `sql`, a query giving `(a, b, weight)` as `(UInt32, UInt32, Float64)`
/// (the plan's weights of the `scored` pairs), calling `each(a, b, weight)` for every row.
async fn for_each_scored(
    ctx: &SessionContext,
    sql: &str,
    mut each: impl FnMut(u32, u32, f64),
) -> Result<()> {
    for_each_row(ctx, sql, |batch| {
        let (Some(a), Some(b), Some(w)) = (
            batch.column(0).as_primitive_opt::<UInt32Type>(),
            batch.column(1).as_primitive_opt::<UInt32Type>(),
            batch.column(2).as_primitive_opt::<Float64Type>(),
        ) else {
            return Err(Error::invalid(
                "scoring",
                "the scored pairs did not come back as (UInt32, UInt32, Float64)",
            ));
        };
        for k in 0..batch.num_rows() {
            each(a.value(k), b.value(k), w.value(k));
        }
        Ok(())
    })
    .await
}

/// The ids of the records the matches name (by position), read from the records table.
async fn ids_of(
    ctx: &SessionContext,
    matched: &[((u32, u32), f64)],
    n: usize,
) -> Result<HashMap<u32, String>> {
    let mut wanted = vec![false; n];
    for &((a, b), _) in matched {
        for x in [a, b] {
            if let Some(w) = wanted.get_mut(x as usize) {
                *w = true;
            }
        }
    }
    let mut ids = HashMap::new();
    if matched.is_empty() {
        return Ok(ids);
    }
    for_each_row(ctx, "SELECT pos, id FROM records", |batch| {
        // Parquet text comes back as string views; other engines may give plain strings.
        let id = arrow::compute::cast(batch.column(1), &DataType::Utf8).map_err(|source| {
            Error::Arrow {
                step: "record ids",
                source,
            }
        })?;
        let (Some(pos), Some(id)) = (
            batch.column(0).as_primitive_opt::<UInt32Type>(),
            id.as_string_opt::<i32>(),
        ) else {
            return Err(Error::invalid(
                "records",
                "ids did not come back as (UInt32, text)",
            ));
        };
        for k in 0..batch.num_rows() {
            let p = pos.value(k);
            if wanted.get(p as usize).copied().unwrap_or(false) {
                ids.insert(p, id.value(k).to_owned());
            }
        }
        Ok(())
    })
    .await?;
    Ok(ids)
}

/// Writes into `out` a byte string of `id` whose byte order is the order of ids
/// ([`RecordId`]'s `Ord`: by source, then row keys before id keys, rows by number, ids by
/// text), so that an engine sorting bytes sorts records as [`Deduper::prepare`] does.
///
/// The source's bytes come first with each 0 written as `0 1`, then `0 0`: a shorter source
/// sorts before a longer one it begins. Then `1` and the row number big-endian, or `2` and the
/// id's bytes (last, so they need no terminator).
pub(crate) fn id_order_key(id: &RecordId, out: &mut Vec<u8>) {
    out.clear();
    for &b in id.source.as_str().as_bytes() {
        if b == 0 {
            out.extend_from_slice(&[0, 1]);
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&[0, 0]);
    match &id.key {
        RecordKey::Row(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_be_bytes());
        }
        RecordKey::Id(s) => {
            out.push(2);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// The pairs clustering reads (positions in record-id order, sorted): every match, and the
/// candidate pairs between records that both have one; and what blocking did.
struct Scored {
    pairs: Vec<(u32, u32)>,
    weights: Vec<f64>,
    blocking: BlockingReport,
    model: TrainedModel,
}

/// The blocking report from the per-slot block statistics and pair counts, as
/// `Deduper::run` reports it.
fn report(
    plan: &DedupPlan,
    features: &Features,
    block_stats: &[(Vec<i64>, Vec<i64>)],
    per_slot: &[(u64, u64)],
    n: usize,
) -> BlockingReport {
    let config = plan.deduper.config();
    let to_usize = |x: i64| usize::try_from(x).unwrap_or(0);
    let passes: Vec<PassReport> = config
        .blocking
        .iter()
        .enumerate()
        .map(|(p, pass)| {
            let mut report = PassReport {
                keys: pass.label(),
                keyed_records: 0,
                new_pairs: 0,
                repeated_pairs: 0,
                largest_blocks: Vec::new(),
                oversized_blocks: 0,
                oversized_records: 0,
            };
            for (s, _) in features
                .slot_pass()
                .iter()
                .enumerate()
                .filter(|(_, q)| **q == p)
            {
                if let Some((stats, largest)) = block_stats.get(s) {
                    let get = |k: usize| stats.get(k).copied().map_or(0, to_usize);
                    report.keyed_records = report.keyed_records.max(get(1));
                    report.oversized_blocks += get(2);
                    report.oversized_records += get(3);
                    report
                        .largest_blocks
                        .extend(largest.iter().copied().map(to_usize));
                }
                if let Some(&(new, repeated)) = per_slot.get(s) {
                    report.new_pairs += new;
                    report.repeated_pairs += repeated;
                }
            }
            report.largest_blocks.sort_unstable_by(|a, b| b.cmp(a));
            report.largest_blocks.truncate(5);
            report
        })
        .collect();
    let candidate_pairs = passes.iter().map(|p| p.new_pairs).sum();
    let n = n as u64;
    BlockingReport {
        passes,
        candidate_pairs,
        all_pairs: n * n.saturating_sub(1) / 2,
    }
}

/// Runs `sql` and gives its first row's integers (empty when there is no row).
async fn query_row(ctx: &SessionContext, sql: &str, step: &str) -> Result<Vec<i64>> {
    Ok(query_rows(ctx, sql, step)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// Runs `sql` and gives its first column's integers.
async fn query_column(ctx: &SessionContext, sql: &str, step: &str) -> Result<Vec<i64>> {
    Ok(query_rows(ctx, sql, step)
        .await?
        .into_iter()
        .filter_map(|r| r.first().copied())
        .collect())
}

/// Runs `sql` and gives every row's integer columns (nulls as 0).
async fn query_rows(ctx: &SessionContext, sql: &str, step: &str) -> Result<Vec<Vec<i64>>> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(Error::datafusion(format!("plan: {step}")))?
        .collect()
        .await
        .map_err(Error::datafusion(format!("run: {step}")))?;
    let mut rows = Vec::new();
    for batch in &batches {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Int64))
            .collect::<Result<_, _>>()
            .map_err(|source| Error::Arrow {
                step: "query result",
                source,
            })?;
        for k in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let c = c.as_primitive::<Int64Type>();
                        if c.is_null(k) { 0 } else { c.value(k) }
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The matches (by position) as a table: record ids, weight and probability.
fn pairs_batch(matched: &[((u32, u32), f64)], ids: &HashMap<u32, String>) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("a_id", DataType::Utf8, false),
        Field::new("b_id", DataType::Utf8, false),
        Field::new("weight", DataType::Float64, false),
        Field::new("probability", DataType::Float64, false),
    ]));
    let id = |p: u32| ids.get(&p).map_or("", String::as_str);
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                matched.iter().map(|&((a, _), _)| id(a)),
            )),
            Arc::new(StringArray::from_iter_values(
                matched.iter().map(|&((_, b), _)| id(b)),
            )),
            Arc::new(Float64Array::from_iter_values(
                matched.iter().map(|&(_, w)| w),
            )),
            Arc::new(Float64Array::from_iter_values(
                matched.iter().map(|&(_, w)| match_probability(w)),
            )),
        ],
    )
    .map_err(|source| Error::Arrow {
        step: "pairs table",
        source,
    })
}

/// A model trained in-process on a deterministic sample of `size` records (every record when
/// there are fewer): the records with the smallest hashes of their ids, so the sample does
/// not depend on input order. Its prior is rescaled to the full data's blocking when a plan
/// runs ([`TrainedModel::for_blocking`]).
pub fn train_on_sample(deduper: &Deduper, records: &[Record], size: usize) -> TrainedModel {
    use std::hash::{Hash, Hasher};
    let mut keyed: Vec<(u64, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            r.id.hash(&mut h);
            (h.finish(), i)
        })
        .collect();
    keyed.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| records[x.1].id.cmp(&records[y.1].id))
            .then(x.1.cmp(&y.1))
    });
    let sample: Vec<Record> = keyed
        .iter()
        .take(size)
        .map(|&(_, i)| records[i].clone())
        .collect();
    deduper.run(&sample).model
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_dedup::DedupConfig;

    /// The blocking joins are sort-merge joins, which spill, not hash joins.
    #[test]
    fn blocking_joins_are_sort_merge_joins() {
        use datafusion::datasource::MemTable;
        let plan = DedupPlan::new(DedupConfig::contacts().build().unwrap()).unwrap();
        let ctx = plan.session().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("pos", DataType::UInt32, false),
            Field::new("k0", DataType::UInt64, true),
            Field::new("k1", DataType::UInt64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(UInt32Array::from(vec![0, 1, 2])),
                Arc::new(UInt64Array::from(vec![Some(5), Some(5), None])),
                Arc::new(UInt64Array::from(vec![Some(7), Some(7), Some(7)])),
            ],
        )
        .unwrap();
        ctx.register_table(
            "records",
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let sql = format!(
            "{} UNION ALL {}",
            slot_sql("records", 0, 10, 0, 0),
            slot_sql("records", 1, 10, 0, 0)
        );
        let explained = runtime
            .block_on(async { ctx.sql(&format!("EXPLAIN {sql}")).await?.collect().await })
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&explained)
            .unwrap()
            .to_string();
        assert!(text.contains("SortMergeJoin"), "{text}");
        assert!(!text.contains("HashJoinExec"), "{text}");
        let rows = runtime
            .block_on(async {
                ctx.sql(&format!(
                    "SELECT slot, a, b, seen FROM ({sql}) ORDER BY slot, a, b"
                ))
                .await?
                .collect()
                .await
            })
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&rows)
            .unwrap()
            .to_string();
        // Slot 0 pairs 0 and 1; slot 1 pairs all three, (0, 1) seen before.
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            lines[1..],
            [
                "| 0    | 0 | 1 | false |",
                "| 1    | 0 | 1 | true  |",
                "| 1    | 0 | 2 | false |",
                "| 1    | 1 | 2 | false |",
            ],
            "{text}"
        );
    }

    proptest::proptest! {
        /// Order keys sort as record ids do, whatever the sources and keys (zero bytes,
        /// prefixes, rows and ids).
        #[test]
        fn id_order_keys_sort_as_ids(
            a in (proptest::string::string_regex("[a\\x00\\x01b]{0,4}").unwrap(),
                  proptest::option::of(0u64..300),
                  proptest::string::string_regex("[a\\x00b]{0,4}").unwrap()),
            b in (proptest::string::string_regex("[a\\x00\\x01b]{0,4}").unwrap(),
                  proptest::option::of(0u64..300),
                  proptest::string::string_regex("[a\\x00b]{0,4}").unwrap()),
        ) {
            let id = |(source, row, key): (String, Option<u64>, String)| match row {
                Some(n) => RecordId::row(source.as_str(), n),
                None => RecordId::id(source.as_str(), key),
            };
            let (a, b) = (id(a), id(b));
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            id_order_key(&a, &mut ka);
            id_order_key(&b, &mut kb);
            proptest::prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        }
    }

    #[test]
    fn window_passes_and_no_passes_are_refused() {
        let mut config = DedupConfig::contacts();
        config.blocking[1].window = Some(3);
        let e = DedupPlan::new(config.build().unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("blocking[1]: "), "{e}");
        let mut config = DedupConfig::contacts();
        config.blocking.clear();
        let e = DedupPlan::new(Deduper::new(config).unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("blocking: "), "{e}");
    }
}
