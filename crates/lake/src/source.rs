//! Parquet datasets and Arrow record batches as a [`Source`] of records.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{TryRecvError, TrySendError};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use futures::StreamExt;
use mergetag_model::{
    FieldName, OnBadRow, Position, Record, RecordId, RecordKey, Reject, Source, SourceError,
    SourceErrorKind, SourceName, Value,
};
use mergetag_sources::{
    Cell, ColumnMap, ColumnType, FieldFault, InvalidValues, PlannedColumn, RowPlan, ValueMapper,
};
use object_store::ObjectMeta;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};

use crate::convert::Column;
use crate::error::{Error, Result};
use crate::location::Location;
use crate::reader::StoreReader;
use crate::runtime::Runtime;

/// The rows read per batch unless [`ArrowSourceBuilder::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Builds an [`ArrowSource`]: the column map, the bad-row policy and the batch size, then
/// the data (a Parquet file or dataset, or any [`RecordBatchReader`]).
///
/// Setters take `&mut self`; the build methods take `&self`, so one builder opens many
/// sources.
#[derive(Debug, Clone)]
pub struct ArrowSourceBuilder {
    map: ColumnMap,
    on_bad_row: OnBadRow,
    batch_size: usize,
    threads: usize,
}

impl Default for ArrowSourceBuilder {
    fn default() -> ArrowSourceBuilder {
        ArrowSourceBuilder {
            map: ColumnMap::new(),
            on_bad_row: OnBadRow::Quarantine,
            batch_size: DEFAULT_BATCH_SIZE,
            threads: std::thread::available_parallelism().map_or(1, |n| (n.get() - 1).clamp(1, 4)),
        }
    }
}

impl ArrowSourceBuilder {
    /// A builder with an empty column map (every column kept under its own name),
    /// [`OnBadRow::Quarantine`] and [`DEFAULT_BATCH_SIZE`].
    pub fn new() -> ArrowSourceBuilder {
        ArrowSourceBuilder::default()
    }

    /// The column map (a preset or your own), exactly as for CSV.
    pub fn column_map(&mut self, map: ColumnMap) -> &mut ArrowSourceBuilder {
        self.map = map;
        self
    }

    /// What happens to rows with a value that cannot be read (default: quarantine).
    pub fn on_bad_row(&mut self, policy: OnBadRow) -> &mut ArrowSourceBuilder {
        self.on_bad_row = policy;
        self
    }

    /// The rows decoded at once from Parquet (at least 1; default [`DEFAULT_BATCH_SIZE`]).
    /// Memory is bounded by a few batches a decoding thread, whatever the size of the data.
    pub fn batch_size(&mut self, rows: usize) -> &mut ArrowSourceBuilder {
        self.batch_size = rows.max(1);
        self
    }

    /// The threads that decode Parquet and fill records (at least 1; default: one fewer than
    /// the cores, at least 1 and at most 4, as the thread that reads the source fills records
    /// too). Row groups are dealt to them in turn and their records handed out in file and
    /// row-group order, so the records are the same whatever the number.
    pub fn threads(&mut self, threads: usize) -> &mut ArrowSourceBuilder {
        self.threads = threads.max(1);
        self
    }

    /// A source over any Arrow [`RecordBatchReader`] (an IPC stream, a Flight result, your
    /// own batches). Its columns go through the column map like CSV columns.
    pub fn from_reader<R>(&self, name: impl Into<SourceName>, reader: R) -> ArrowSource
    where
        R: RecordBatchReader + 'static,
    {
        let name = name.into();
        let batches = ReaderBatches {
            reader: Box::new(reader),
            name: name.clone(),
        };
        self.source(name, Box::new(batches))
    }

    /// A source over the Parquet file, or the directory (prefix) of Parquet files, at
    /// `location`.
    ///
    /// A directory is listed once, when the source opens: every object whose name ends in
    /// `.parquet` below it, in path order, skipping names that start with `_` or `.` (markers
    /// and temporary files of writers); a file added later is not read, and a file removed
    /// before it is read is an I/O error naming it. Path segments `key=value` (Hive
    /// partitions, `country=US/`) become text columns `key` of every row below them, unless
    /// the file has a column of that name. Only the columns the column map does not ignore
    /// are decoded.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the location cannot be listed or read, [`Error::Location`] when
    /// it holds no Parquet file.
    pub fn parquet(&self, name: impl Into<SourceName>, location: &Location) -> Result<ArrowSource> {
        let name = name.into();
        let rt = Runtime::new()?;
        let files = rt.block_on(list_parquet(location))?;
        drop(rt);
        let files: Arc<[ParquetFile]> = files.into();
        let pool = Arc::new(std::sync::Mutex::new(Vec::new()));
        // Filling takes about twice what decoding does: the thread starts with a quarter of
        // each batch (a first batch is filled by both whatever the timing), then adapts.
        let split = Arc::new(AtomicUsize::new(self.batch_size.div_ceil(CHUNK) / 4));
        let mut workers = Vec::with_capacity(self.threads);
        for worker in 0..self.threads {
            let decoder = Decoder {
                location: location.clone(),
                files: files.clone(),
                mapper: ValueMapper::new(self.map.clone()),
                batch_size: self.batch_size,
                name: name.clone(),
                worker,
                workers: self.threads,
                pool: pool.clone(),
                split: split.clone(),
            };
            let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH);
            let handle = std::thread::Builder::new()
                .name(format!("mergetag-parquet-{worker}"))
                .spawn(move || decoder.run(&tx))
                .map_err(|source| Error::Io {
                    path: location.url().to_owned(),
                    source,
                })?;
            workers.push((rx, Some(handle)));
        }
        let parallel = Parallel {
            workers,
            unit: 0,
            name: name.clone(),
            pool,
            split,
        };
        Ok(self.source(name, Box::new(parallel)))
    }

    fn source(&self, name: SourceName, batches: Box<dyn Batches>) -> ArrowSource {
        ArrowSource {
            name,
            batches,
            mapper: ValueMapper::new(self.map.clone()),
            on_bad_row: self.on_bad_row,
            batch: None,
            columns: Vec::new(),
            schema: None,
            rows: 0,
            rejects: Vec::new(),
            plan: None,
            columnar: Columnar::default(),
            filled: false,
            done: false,
        }
    }
}

/// One batch and the partition values of the file it came from.
struct Batch {
    batch: RecordBatch,
    partitions: Arc<[(String, String)]>,
}

/// Where batches come from.
trait Batches {
    /// The next batch, with its rows already filled when the batch's reader filled them;
    /// `None` at the end; an error is fatal.
    fn next_batch(&mut self, rows_so_far: u64) -> Option<Result<Delivery, SourceError>>;

    /// Takes back the records of a batch that was read, for their buffers.
    fn recycle(&mut self, _rows: Columnar) {}
}

/// A batch, and its rows filled column by column when its reader did that.
type Delivery = (Batch, Option<Columnar>);

struct ReaderBatches {
    reader: Box<dyn RecordBatchReader>,
    name: SourceName,
}

impl Batches for ReaderBatches {
    fn next_batch(&mut self, rows_so_far: u64) -> Option<Result<Delivery, SourceError>> {
        let batch = self.reader.next()?;
        Some(
            batch
                .map(|batch| {
                    let partitions = Arc::from(Vec::new());
                    (Batch { batch, partitions }, None)
                })
                .map_err(|e| {
                    SourceError::new(
                        self.name.clone(),
                        Position::record(rows_so_far + 1),
                        SourceErrorKind::Io {
                            message: "the Arrow reader failed".into(),
                        },
                    )
                    .with_cause(e)
                }),
        )
    }
}

/// The batches a decoding thread has ready at most, ahead of the reader: memory stays bounded
/// by a few batches a thread.
const PREFETCH: usize = 2;

/// What a decoding thread hands the reader, in the order of its units (row groups).
enum Sent {
    /// A batch of the unit being read, its rows filled when they could be column by column.
    Batch(Delivery),
    /// The unit has no more batches.
    UnitEnd,
    /// The thread's units are all read.
    Finished,
    /// Reading failed: what failed, naming the file, and why.
    Failed(String, parquet::errors::ParquetError),
}

/// Parquet decoded, and its rows filled into records, on threads of their own.
///
/// Every row group of every file (in path order) is a unit; the threads take units in turn
/// (thread `u % threads` reads unit `u`), and the reader takes each unit's batches from its
/// thread in unit order, so records come out in file and row-group order whatever the number
/// of threads. Each thread fills the first rows of each batch it decodes and the reader the
/// rest, in a share that adapts to whichever waits ([`Parallel::split`]), so the work spreads
/// over the cores: the reader is busy too, hence one thread fewer than the cores by default.
/// Each thread has at most [`PREFETCH`] batches waiting and stops when the source is dropped.
///
/// The reader's share is not only for balance. Records it fills are the few it has just
/// handed out and taken back, still in its core's cache; records a thread fills come from
/// the pool of batches read, out of cache, and cross to the reader's core. When the threads
/// filled every row of files of many row groups, with a thread per core, such a file took
/// twice as long as one of a single row group (bench `lake`, `parquet_row_groups`).
struct Parallel {
    workers: Vec<(
        std::sync::mpsc::Receiver<Sent>,
        Option<std::thread::JoinHandle<()>>,
    )>,
    /// The unit being read.
    unit: usize,
    name: SourceName,
    /// Records of batches read, for the threads to fill again.
    pool: Arc<std::sync::Mutex<Vec<Columnar>>>,
    /// The chunks of [`CHUNK`] rows of each batch its thread fills before sending it (the
    /// reader fills the rest): raised by a thread when the reader is behind, lowered by the
    /// reader when it finds no batch ready. Who fills a row changes nothing in the records.
    split: Arc<AtomicUsize>,
}

impl Batches for Parallel {
    fn next_batch(&mut self, rows_so_far: u64) -> Option<Result<Delivery, SourceError>> {
        let error = |message: String| {
            SourceError::new(
                self.name.clone(),
                Position::record(rows_so_far + 1),
                SourceErrorKind::Io { message },
            )
        };
        loop {
            let w = self.unit % self.workers.len();
            let (rx, handle) = &mut self.workers[w];
            let received = match rx.try_recv() {
                Ok(sent) => Ok(sent),
                // The thread is behind: it should fill fewer rows (when it fills some).
                Err(TryRecvError::Empty) => {
                    let _ = self
                        .split
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| k.checked_sub(1));
                    rx.recv()
                }
                Err(TryRecvError::Disconnected) => Err(std::sync::mpsc::RecvError),
            };
            match received {
                Ok(Sent::Batch(delivery)) => return Some(Ok(delivery)),
                Ok(Sent::UnitEnd) => self.unit += 1,
                Ok(Sent::Finished) => return None,
                Ok(Sent::Failed(what, cause)) => return Some(Err(error(what).with_cause(cause))),
                // Closed without a word: the thread panicked, which must not pass for the end
                // of the data.
                Err(_) => {
                    let _ = handle.take().map(std::thread::JoinHandle::join);
                    return Some(Err(error(
                        "a Parquet decoding thread stopped unexpectedly".into(),
                    )));
                }
            }
        }
    }

    fn recycle(&mut self, rows: Columnar) {
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < self.workers.len() * (PREFETCH + 2)
        {
            pool.push(rows);
        }
    }
}

/// A row group's batches: read from a local file as they are decoded, or fetched from a store.
enum GroupBatches<L> {
    Local(L),
    Store(parquet::arrow::async_reader::ParquetRecordBatchStream<StoreReader>),
}

/// A listed Parquet object and the Hive partition values of its path.
#[derive(Debug)]
struct ParquetFile {
    meta: ObjectMeta,
    partitions: Arc<[(String, String)]>,
}

/// One decoding thread's work: the units (row groups) `worker`, `worker + workers`, ... of
/// the files, decoded batch by batch and filled into records.
struct Decoder {
    location: Location,
    files: Arc<[ParquetFile]>,
    mapper: ValueMapper,
    batch_size: usize,
    name: SourceName,
    worker: usize,
    workers: usize,
    pool: Arc<std::sync::Mutex<Vec<Columnar>>>,
    /// See [`Parallel::split`].
    split: Arc<AtomicUsize>,
}

impl Decoder {
    fn run(mut self, tx: &std::sync::mpsc::SyncSender<Sent>) {
        let rt = match Runtime::new() {
            Ok(rt) => rt,
            Err(_) => {
                let e = parquet::errors::ParquetError::General("no async runtime".into());
                let _ = tx.send(Sent::Failed("cannot start reading Parquet".into(), e));
                return;
            }
        };
        let keep_text = self.mapper.column_map().invalid_value_policy() == InvalidValues::KeepText;
        let mut plan: Option<(Vec<String>, RowPlan)> = None;
        let mut unit = 0usize;
        let files = self.files.clone();
        for file in files.iter() {
            let url = format!("{}/{}", self.location.store_url(), file.meta.location);
            // The file's path when the store is the local file system.
            let local = self.location.local_file(&file.meta.location);
            let mut reader = StoreReader::new(
                self.location.store().clone(),
                file.meta.location.clone(),
                file.meta.size,
            );
            let opened = rt.block_on(ArrowReaderMetadata::load_async(
                &mut reader,
                ArrowReaderOptions::default(),
            ));
            let metadata = match opened {
                Ok(m) => m,
                Err(e) => {
                    let _ = tx.send(Sent::Failed(
                        format!("cannot open the Parquet file {url}"),
                        e,
                    ));
                    return;
                }
            };
            let metadata = match read_schema(&metadata) {
                Some(schema) => ArrowReaderMetadata::try_new(
                    metadata.metadata().clone(),
                    ArrowReaderOptions::new().with_schema(schema),
                )
                .unwrap_or(metadata),
                None => metadata,
            };
            let keep: Vec<usize> = metadata
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| !self.mapper.is_ignored(f.name()))
                .map(|(i, _)| i)
                .collect();
            let mask =
                ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), keep);
            for group in 0..metadata.metadata().num_row_groups() {
                let mine = unit % self.workers == self.worker;
                unit += 1;
                if !mine {
                    continue;
                }
                let batches = match local.as_ref() {
                    // A file on a local disk is read page by page as it is decoded, so that
                    // decoding starts at once; from a store, a row group's columns are
                    // fetched first (in one request per range), then decoded.
                    Some(path) => std::fs::File::open(path)
                        .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
                        .and_then(|file| {
                            ParquetRecordBatchReaderBuilder::new_with_metadata(
                                file,
                                metadata.clone(),
                            )
                            .with_projection(mask.clone())
                            .with_row_groups(vec![group])
                            .with_batch_size(self.batch_size)
                            .build()
                        })
                        .map(|reader| {
                            GroupBatches::Local(reader.map(|b| {
                                b.map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
                            }))
                        }),
                    None => ParquetRecordBatchStreamBuilder::new_with_metadata(
                        reader.clone(),
                        metadata.clone(),
                    )
                    .with_projection(mask.clone())
                    .with_row_groups(vec![group])
                    .with_batch_size(self.batch_size)
                    .build()
                    .map(GroupBatches::Store),
                };
                let mut batches = match batches {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Sent::Failed(
                            format!("cannot read the Parquet file {url}"),
                            e,
                        ));
                        return;
                    }
                };
                loop {
                    let next = match &mut batches {
                        GroupBatches::Local(reader) => reader.next(),
                        GroupBatches::Store(stream) => rt.block_on(stream.next()),
                    };
                    match next {
                        Some(Ok(batch)) => {
                            // The thread fills the first rows of each batch, as many as keep
                            // it as busy as the reader, who fills the rest (see `split`).
                            let rows = self.split.load(Ordering::Relaxed) * CHUNK;
                            let delivery =
                                self.fill(batch, &file.partitions, &mut plan, keep_text, rows);
                            match tx.try_send(Sent::Batch(delivery)) {
                                Ok(()) => {}
                                // The reader is behind: this thread takes more of the filling.
                                Err(TrySendError::Full(sent)) => {
                                    let _ = self.split.fetch_update(
                                        Ordering::Relaxed,
                                        Ordering::Relaxed,
                                        |k| Some((k + 1).min(self.batch_size.div_ceil(CHUNK))),
                                    );
                                    if tx.send(sent).is_err() {
                                        return;
                                    }
                                }
                                // A closed channel: the source was dropped; stop.
                                Err(TrySendError::Disconnected(_)) => return,
                            }
                        }
                        Some(Err(e)) => {
                            let _ = tx.send(Sent::Failed(
                                format!("cannot read the Parquet file {url}"),
                                e,
                            ));
                            return;
                        }
                        None => break,
                    }
                }
                if tx.send(Sent::UnitEnd).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Sent::Finished);
    }

    /// The batch, its first `rows` rows (all of them at most) filled column by column when
    /// its plan allows.
    fn fill(
        &mut self,
        batch: RecordBatch,
        partitions: &Arc<[(String, String)]>,
        plan: &mut Option<(Vec<String>, RowPlan)>,
        keep_text: bool,
        rows: usize,
    ) -> Delivery {
        let fill = rows.min(batch.num_rows());
        let current = Current::new(&batch, partitions.clone());
        if plan
            .as_ref()
            .is_none_or(|(names, _)| *names != current.names)
        {
            *plan = Some((current.names.clone(), self.mapper.plan(&current.names)));
        }
        let mut filled = None;
        if let Some((_, plan)) = plan
            && fill > 0
            && plan.is_flat()
            && !current.columns.iter().any(Column::nested)
        {
            let mut c = self
                .pool
                .lock()
                .ok()
                .and_then(|mut p| p.pop())
                .unwrap_or_default();
            c.fill(&current, plan, keep_text, &self.name, 1, 0..fill);
            filled = Some(c);
        }
        let partitions = partitions.clone();
        (Batch { batch, partitions }, filled)
    }
}

/// The file's Arrow schema as this source reads it (`None` when that is the file's own): text
/// columns that are dictionary-encoded in every row group are read as dictionaries, so a
/// value is decoded once a dictionary, not copied out of it once a row, before it is copied
/// into its record; other text columns (a page of values written out, or a dictionary that
/// grew too large) are read as string views, which point into the decoded pages instead of
/// copying each value into a buffer of their own first.
fn read_schema(metadata: &ArrowReaderMetadata) -> Option<SchemaRef> {
    use arrow::datatypes::{DataType, Schema};
    use parquet::basic::Encoding;
    let parquet = metadata.metadata();
    let descr = parquet.file_metadata().schema_descr();
    let schema = metadata.schema();
    let dictionary = |leaf: usize| {
        parquet.num_row_groups() > 0
            && parquet.row_groups().iter().all(|group| {
                let chunk = group.column(leaf);
                chunk.dictionary_page_offset().is_some()
                    && chunk.page_encoding_stats_mask().is_some_and(|m| {
                        m.is_only(Encoding::PLAIN_DICTIONARY) || m.is_only(Encoding::RLE_DICTIONARY)
                    })
            })
    };
    let mut changed = false;
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            if field.data_type() != &DataType::Utf8 {
                return field.clone();
            }
            let mut leaves =
                (0..descr.num_columns()).filter(|&c| descr.get_column_root_idx(c) == i);
            let read_as = match (leaves.next(), leaves.next()) {
                (Some(leaf), None) if dictionary(leaf) => {
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
                }
                (Some(_), None) => DataType::Utf8View,
                _ => return field.clone(),
            };
            changed = true;
            Arc::new(field.as_ref().clone().with_data_type(read_as))
        })
        .collect();
    changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// Lists the Parquet files at `location` (a file, or a prefix), in path order.
async fn list_parquet(location: &Location) -> Result<Vec<ParquetFile>> {
    use object_store::ObjectStoreExt;
    let store = location.store();
    let prefix = location.path();
    let store_error = |operation, source| Error::Store {
        location: location.url().to_owned(),
        operation,
        source,
    };
    let mut files = Vec::new();
    let mut listing = store.list(Some(prefix));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| store_error("list", e))?;
        let Some(rest) = meta.location.prefix_match(prefix) else {
            continue;
        };
        let parts: Vec<String> = rest.map(|p| decode(p.as_ref())).collect();
        let Some((file_name, dirs)) = parts.split_last() else {
            continue;
        };
        if !file_name.ends_with(".parquet")
            || parts
                .iter()
                .any(|p| p.starts_with('_') || p.starts_with('.'))
        {
            continue;
        }
        let partitions: Vec<(String, String)> = dirs
            .iter()
            .filter_map(|d| d.split_once('='))
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        files.push(ParquetFile {
            meta,
            partitions: Arc::from(partitions),
        });
    }
    if files.is_empty() {
        // Not a prefix: perhaps the location is the file itself.
        match store.head(prefix).await {
            Ok(meta) => files.push(ParquetFile {
                meta,
                partitions: Arc::from(Vec::new()),
            }),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::location(
                    location.url(),
                    "no Parquet file here (a file, or a directory of *.parquet files, is expected)",
                ));
            }
            Err(e) => return Err(store_error("read", e)),
        }
    }
    files.sort_by(|a, b| a.meta.location.cmp(&b.meta.location));
    Ok(files)
}

/// Undoes the percent-encoding of a path segment (`New%20York` -> `New York`); malformed
/// escapes are kept as they are.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

/// Records from Arrow record batches: a Parquet file or dataset on any object store, or any
/// [`RecordBatchReader`], read batch by batch through a column
/// map, exactly like the CSV source.
///
/// Typed columns stay typed ([`Value::Int`], [`Value::Float`] for decimals,
/// [`Value::DateTime`] for timestamps in any unit, [`Value::Date`], [`Value::List`]); structs
/// and maps are flattened into dotted keys (`address.city`) as the JSON Lines source flattens
/// objects. Records are keyed by the map's key column, else by the 1-based record number
/// across the whole dataset. A value that cannot be read (an unsigned integer beyond `i64`,
/// binary that is not UTF-8, a timestamp out of range, a value the column map cannot
/// convert) makes its row a [`Reject`] naming the source, record and column (or, under
/// [`OnBadRow::Fail`], an error); the value itself is never in a message.
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{Int64Array, RecordBatch, RecordBatchIterator, StringArray};
/// use arrow::datatypes::{DataType, Field, Schema};
/// use mergetag_lake::ArrowSource;
/// use mergetag_model::{fields, Source};
/// use mergetag_sources::ColumnMap;
///
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("hs_object_id", DataType::Int64, false),
///     Field::new("firstname", DataType::Utf8, true),
/// ]));
/// let batch = RecordBatch::try_new(schema.clone(), vec![
///     Arc::new(Int64Array::from(vec![901, 902])),
///     Arc::new(StringArray::from(vec![Some("Ada"), None])),
/// ])?;
/// let reader = RecordBatchIterator::new([Ok(batch)], schema);
/// let mut source = ArrowSource::builder()
///     .column_map(ColumnMap::hubspot_contacts())
///     .from_reader("hubspot", reader);
/// let records: Vec<_> = source.records().collect::<Result<_, _>>()?;
/// assert_eq!(records[0].id.to_string(), "hubspot:901");
/// assert_eq!(records[0].text(fields::FIRST_NAME), Some("Ada"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ArrowSource {
    name: SourceName,
    batches: Box<dyn Batches>,
    mapper: ValueMapper,
    on_bad_row: OnBadRow,
    /// The current batch: its columns, partition values, row count and the next row.
    batch: Option<Current>,
    columns: Vec<FieldName>,
    schema: Option<SchemaRef>,
    rows: u64,
    rejects: Vec<Reject>,
    /// How the current schema's columns (and partition keys) are read.
    plan: Option<RowPlan>,
    /// The current batch's rows as records, when `filled` (see [`Columnar`]).
    columnar: Columnar,
    /// Whether the current batch was filled column by column; if not, its rows are filled one
    /// by one (structs to flatten, two columns into one field, refused columns).
    filled: bool,
    done: bool,
}

/// A batch's rows filled column by column into records of one shape, handed out by swapping:
/// a column's type is looked at once per batch, not once per cell, and each text cell is
/// copied once, into a buffer the record already has (the bench `lake` measures it against
/// CSV on the same 1M HubSpot rows; README, Benchmarks).
#[derive(Default)]
struct Columnar {
    records: Vec<Record>,
    /// Each row's fault: the first column (in column order) that could not be read. Boxed,
    /// as faults are rare: a row's slot is then one word that the reader checks as it hands
    /// the row out, not a fault's 56 bytes (most of a cache line a row, cleared for every
    /// batch and read again for every row).
    faults: Vec<Option<Box<FieldFault>>>,
    /// Each row's best key rank so far.
    key_rank: Vec<u32>,
    /// Each row's best observed-at rank and time so far.
    observed: Vec<Option<(u32, chrono::DateTime<chrono::Utc>)>>,
    /// The rows of the batch filled: `records[i]` is row `start + i`.
    start: usize,
    end: usize,
    /// Timestamps into instants, each day's date worked out once.
    days: crate::convert::Days,
}

/// A column's rank among the map's key or observed-at columns, as [`Columnar`] keeps it (a
/// map has a handful; `u32::MAX` stands for none).
fn rank_u32(rank: usize) -> u32 {
    u32::try_from(rank).unwrap_or(u32::MAX)
}

/// Fills the timestamps of `rows` into field `index` of their records (`records[0]` is row
/// `base`): `cell` gives a row's instant (`None` for a null, `Some(None)` for a value out of
/// range, which `fault` reports), and kept as the observed-at time when its rank is the best
/// so far. Generic, so that each timestamp unit gets a loop of its own.
#[allow(clippy::too_many_arguments)]
#[inline]
fn fill_instants(
    records: &mut [Record],
    observed: &mut [Option<(u32, chrono::DateTime<chrono::Utc>)>],
    base: usize,
    rows: std::ops::Range<usize>,
    index: usize,
    observed_rank: Option<u32>,
    mut cell: impl FnMut(usize) -> Option<Option<chrono::DateTime<chrono::Utc>>>,
    mut fault: impl FnMut(usize),
) {
    for row in rows {
        let i = row - base;
        let t = match cell(row) {
            None => {
                records[i].set_at(index, Value::Null);
                continue;
            }
            Some(None) => {
                fault(row);
                continue;
            }
            Some(Some(t)) => t,
        };
        if let Some(rank) = observed_rank
            && observed[i].is_none_or(|(best, _)| rank < best)
        {
            observed[i] = Some((rank, t));
        }
        records[i].set_at(index, Value::DateTime(t));
    }
}

/// The rows [`Columnar`] fills column by column at a time: their records (fields and text)
/// stay in the core's cache from one column to the next, and until they are handed out.
const CHUNK: usize = 64;

impl Columnar {
    /// Fills column `j` of `rows`.
    fn fill_column(
        &mut self,
        current: &Current,
        plan: &RowPlan,
        j: usize,
        rows: std::ops::Range<usize>,
        keep_text: bool,
    ) {
        let Columnar {
            records,
            faults,
            key_rank,
            observed,
            start: base,
            days,
            ..
        } = self;
        let base = *base;
        let mut fault = |row: usize, kind| {
            // Columns go in order: the first fault of a row is its first column's.
            if faults[row - base].is_none() {
                faults[row - base] = Some(Box::new(FieldFault::new(kind, plan.name(j).cloned())));
            }
        };
        let column = current.columns.get(j);
        let partition = j
            .checked_sub(current.columns.len())
            .and_then(|p| current.partitions.get(p))
            .map(|(_, v)| v.as_str());
        // Generic, so that each use below is compiled into its own loop over the cells.
        fn each<'a>(
            column: Option<&'a Column>,
            partition: Option<&'a str>,
            rows: std::ops::Range<usize>,
            mut f: impl FnMut(usize, Result<Cell<'a>, SourceErrorKind>),
        ) {
            match (column, partition) {
                (Some(c), _) => c.for_each_cell(rows, f),
                (None, Some(v)) => rows.for_each(|r| f(r, Ok(Cell::Text(v)))),
                (None, None) => rows.for_each(|r| f(r, Ok(Cell::Value(Value::Null)))),
            }
        }
        // Text into a text field: straight from the array into the record's buffer.
        if let (
            PlannedColumn::Field {
                kind: ColumnType::Text,
                index: Some(index),
                ..
            },
            Some(column),
        ) = (plan.column(j), column)
            && column.for_each_text(rows.clone(), |row, text| {
                let record = &mut records[row - base];
                match text {
                    Some(t) => record.set_text_at(index, t),
                    None => record.set_at(index, Value::Null),
                }
            })
        {
            return;
        }
        use arrow::array::Array;
        // Timestamps and booleans into fields of their types: straight into the record, as
        // `convert_value` would take them, without a cell or a conversion on the way.
        match (plan.column(j), column) {
            (
                PlannedColumn::Field {
                    kind: ColumnType::Timestamp,
                    index: Some(index),
                    observed_rank,
                    ..
                },
                Some(column @ (Column::TimestampMs(_) | Column::TimestampUs(_))),
            ) => {
                let observed_rank = observed_rank.map(rank_u32);
                let fault = |row| fault(row, crate::convert::invalid("timestamp"));
                // Both units hold 64-bit counts; which one is a branch the predictor learns.
                let (values, nulls, millis) = match column {
                    Column::TimestampMs(a) => (a.values(), a.nulls(), true),
                    Column::TimestampUs(a) => (a.values(), a.nulls(), false),
                    _ => return,
                };
                let cell = |r: usize| {
                    let v = *values.get(r)?;
                    (!nulls.is_some_and(|n| n.is_null(r))).then(|| match millis {
                        true => days.millis(v),
                        false => days.micros(v),
                    })
                };
                fill_instants(
                    records,
                    observed,
                    base,
                    rows.start..rows.end.min(values.len()),
                    index,
                    observed_rank,
                    cell,
                    fault,
                );
                return;
            }
            (
                PlannedColumn::Field {
                    kind: ColumnType::Bool,
                    index: Some(index),
                    ..
                },
                Some(Column::Bool(a)),
            ) => {
                for row in rows.start..rows.end.min(a.len()) {
                    let value = if a.is_null(row) {
                        Value::Null
                    } else {
                        Value::Bool(a.value(row))
                    };
                    records[row - base].set_at(index, value);
                }
                return;
            }
            _ => {}
        }
        match plan.column(j) {
            PlannedColumn::Key { rank } => {
                let rank = rank_u32(rank);
                each(column, partition, rows, |row, c| match c {
                    Ok(c) => {
                        let i = row - base;
                        if rank < key_rank[i] && c.set_key(&mut records[i].id.key) {
                            key_rank[i] = rank;
                        }
                    }
                    Err(kind) => fault(row, kind),
                })
            }
            PlannedColumn::Field {
                kind,
                index: Some(index),
                observed_rank,
                ..
            } => {
                let invalid = || SourceErrorKind::InvalidValue {
                    expected: kind.as_str().to_owned(),
                };
                let observed_rank = observed_rank.map(rank_u32);
                each(column, partition, rows, |row, c| {
                    let record = &mut records[row - base];
                    let value = match (kind, c) {
                        (_, Err(k)) => return fault(row, k),
                        (ColumnType::Text, Ok(Cell::Text(t))) => {
                            return record.set_text_at(index, t);
                        }
                        (_, Ok(Cell::Text(t))) => match kind.convert(t) {
                            Some(v) => v,
                            None if keep_text => return record.set_text_at(index, t),
                            None => return fault(row, invalid()),
                        },
                        (_, Ok(c)) => match kind.convert_value(c.into_value()) {
                            Ok(v) => v,
                            Err(v) if keep_text => Value::Text(v.to_string()),
                            Err(_) => return fault(row, invalid()),
                        },
                    };
                    if let (Some(rank), Value::DateTime(t)) = (observed_rank, &value)
                        && observed[row - base].is_none_or(|(best, _)| rank < best)
                    {
                        observed[row - base] = Some((rank, *t));
                    }
                    record.set_at(index, value);
                });
            }
            // Ignored columns fail their rows only when they cannot be read, as in
            // `ValueMapper::fill_row`; text and numbers always can.
            _ => {
                if column.is_some_and(Column::may_fail) {
                    each(column, partition, rows, |row, c| {
                        if let Err(kind) = c {
                            fault(row, kind);
                        }
                    });
                }
            }
        }
    }

    /// Fills the rows of `current` (all of them) through `plan`, a flat plan.
    fn fill(
        &mut self,
        current: &Current,
        plan: &RowPlan,
        keep_text: bool,
        source: &SourceName,
        first_record: u64,
        rows: std::ops::Range<usize>,
    ) {
        let n = rows.len();
        if self.records.len() < n {
            self.records.resize_with(n, Record::default);
        }
        let fields = plan.fields();
        self.faults.clear();
        self.faults.resize(n, None);
        self.key_rank.clear();
        self.key_rank.resize(n, u32::MAX);
        self.observed.clear();
        self.observed.resize(n, None);
        self.start = rows.start;
        self.end = rows.end;
        // Column by column within chunks of rows whose records stay in the cache.
        let mut at = rows.start;
        while at < rows.end {
            let chunk = at..(at + CHUNK).min(rows.end);
            at = chunk.end;
            // Shaped here, not all at first: the chunk's records are then in the cache
            // for their columns.
            for r in &mut self.records[chunk.start - rows.start..chunk.end - rows.start] {
                r.reshape(fields);
            }
            for j in 0..current.columns.len() + current.partitions.len() {
                self.fill_column(current, plan, j, chunk.clone(), keep_text);
            }
            // Finished while the chunk's records are still in the cache (a pass over the
            // whole batch after it found them evicted).
            let (from, to) = (chunk.start - rows.start, chunk.end - rows.start);
            let finish = self.records[from..to]
                .iter_mut()
                .zip(&self.key_rank[from..to])
                .zip(&self.observed[from..to]);
            for (i, ((record, &rank), observed)) in (from..).zip(finish) {
                if rank == u32::MAX {
                    record.id.key = RecordKey::Row(first_record + i as u64);
                }
                if record.id.source != *source {
                    record.id.source = source.clone();
                }
                record.observed_at = observed.map(|(_, t)| t);
            }
        }
    }
}

struct Current {
    columns: Vec<Column>,
    names: Vec<String>,
    partitions: Arc<[(String, String)]>,
    len: usize,
    next: usize,
}

impl Current {
    /// The batch's columns, then its partition values (those the batch has no column of).
    fn new(batch: &RecordBatch, partitions: Arc<[(String, String)]>) -> Current {
        let schema = batch.schema();
        let mut names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let columns: Vec<Column> = batch.columns().iter().map(Column::new).collect();
        let partitions: Arc<[(String, String)]> =
            if partitions.iter().any(|(k, _)| names.contains(k)) {
                partitions
                    .iter()
                    .filter(|(k, _)| !names.contains(k))
                    .cloned()
                    .collect::<Vec<_>>()
                    .into()
            } else {
                partitions
            };
        names.extend(partitions.iter().map(|(k, _)| k.clone()));
        Current {
            columns,
            names,
            partitions,
            len: batch.num_rows(),
            next: 0,
        }
    }
}

impl fmt::Debug for ArrowSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrowSource")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ArrowSource {
    /// A builder.
    pub fn builder() -> ArrowSourceBuilder {
        ArrowSourceBuilder::new()
    }

    /// The rows read so far (accepted and rejected).
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    fn next_batch(&mut self) -> Result<bool, SourceError> {
        loop {
            let Some(next) = self.batches.next_batch(self.rows) else {
                return Ok(false);
            };
            let (Batch { batch, partitions }, filled) = next?;
            let schema = batch.schema();
            let current = Current::new(&batch, partitions);
            let names = &current.names;
            let same = self.schema.as_ref() == Some(&schema)
                && self.columns.len() == names.len()
                && self
                    .columns
                    .iter()
                    .zip(names.iter())
                    .all(|(c, n)| c.as_str() == n);
            if !same || self.plan.is_none() {
                self.columns = names.iter().map(|n| FieldName::new(n)).collect();
                self.plan = Some(self.mapper.plan(names));
                self.schema = Some(schema);
            }
            if current.len == 0 {
                if let Some(rows) = filled {
                    self.batches.recycle(rows);
                }
                continue;
            }
            match filled {
                // Filled by the thread that decoded it.
                Some(rows) => {
                    let read = std::mem::replace(&mut self.columnar, rows);
                    self.batches.recycle(read);
                    self.filled = true;
                }
                None => {
                    self.filled = self.plan.as_ref().is_some_and(RowPlan::is_flat)
                        && !current.columns.iter().any(Column::nested);
                    // Nothing of this batch is filled yet.
                    self.columnar.start = 0;
                    self.columnar.end = 0;
                }
            }
            self.batch = Some(current);
            return Ok(true);
        }
    }

    fn bad_row(&mut self, fault: FieldFault, current: &Current) -> Result<(), SourceError> {
        let position = Position::record(self.rows);
        match self.on_bad_row {
            OnBadRow::Fail => {
                self.done = true;
                Err(fault.into_error(self.name.clone(), position))
            }
            OnBadRow::Quarantine => {
                let row = current.next;
                let mut key = None;
                let mut raw = serde_json::Map::new();
                for (i, name) in current.names.iter().enumerate() {
                    let v = match current.cell(i, row) {
                        Ok(c) => c.into_value(),
                        Err(_) => Value::Null,
                    };
                    if key.is_none() && self.plan.as_ref().is_some_and(|p| p.is_key(i)) {
                        key = mergetag_sources::key_text(&v);
                    }
                    raw.insert(
                        name.clone(),
                        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
                    );
                }
                let id = match key {
                    Some(k) => RecordId::id(self.name.clone(), k),
                    None => RecordId::row(self.name.clone(), self.rows),
                };
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

impl Current {
    /// The cell of column `i` (a batch column, then the partition values) at `row`.
    #[inline]
    fn cell(&self, i: usize, row: usize) -> Result<Cell<'_>, SourceErrorKind> {
        match self.columns.get(i) {
            Some(c) => c.cell(row),
            None => Ok(self
                .partitions
                .get(i - self.columns.len())
                .map_or(Cell::Value(Value::Null), |(_, v)| Cell::Text(v))),
        }
    }
}

impl Source for ArrowSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            if self.done {
                record.clear();
                return Ok(false);
            }
            let has_row = self.batch.as_ref().is_some_and(|b| b.next < b.len);
            if !has_row {
                self.batch = None;
                match self.next_batch() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.done = true;
                        continue;
                    }
                    Err(e) => {
                        self.done = true;
                        return Err(e);
                    }
                }
            }
            // The common case: the next row of a batch filled column by column, handed out
            // by a swap.
            if self.filled
                && let Some(current) = &mut self.batch
                && current.next < self.columnar.end
            {
                let i = current.next - self.columnar.start;
                if let Some(None) = self.columnar.faults.get(i)
                    && let Some(r) = self.columnar.records.get_mut(i)
                {
                    current.next += 1;
                    self.rows += 1;
                    std::mem::swap(record, r);
                    // Rows without a key are numbered here: the thread that filled them does
                    // not know how many rows came before.
                    if let RecordKey::Row(n) = &mut record.id.key {
                        *n = self.rows;
                    }
                    return Ok(true);
                }
            }
            let Some(current) = self.batch.take() else {
                continue;
            };
            let row = current.next;
            self.rows += 1;
            let filled = if self.filled {
                if row >= self.columnar.end
                    && let Some(plan) = &self.plan
                {
                    let keep_text =
                        self.mapper.column_map().invalid_value_policy() == InvalidValues::KeepText;
                    let rows = row..(row + CHUNK).min(current.len);
                    self.columnar
                        .fill(&current, plan, keep_text, &self.name, self.rows, rows);
                }
                let i = row - self.columnar.start;
                match self.columnar.faults.get_mut(i).and_then(Option::take) {
                    None => {
                        if let Some(r) = self.columnar.records.get_mut(i) {
                            std::mem::swap(record, r);
                        }
                        if let RecordKey::Row(n) = &mut record.id.key {
                            *n = self.rows;
                        }
                        Ok(())
                    }
                    Some(fault) => Err(*fault),
                }
            } else {
                match &self.plan {
                    Some(plan) => self.mapper.fill_row(
                        plan,
                        |i| current.cell(i, row),
                        &self.name,
                        self.rows,
                        record,
                    ),
                    None => Ok(()),
                }
            };
            let result = match filled {
                Ok(()) => Ok(true),
                Err(fault) => self.bad_row(fault, &current).map(|()| false),
            };
            self.batch = Some(Current {
                next: row + 1,
                ..current
            });
            match result {
                Ok(true) => return Ok(true),
                Ok(false) => continue,
                Err(e) => {
                    record.clear();
                    return Err(e);
                }
            }
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }

    fn columns(&self) -> &[FieldName] {
        &self.columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, RecordBatchIterator, StringArray};
    use arrow::array::{TimestampMillisecondArray, as_string_array};
    use mergetag_model::RecordKey;

    /// 40,000 contacts in one row group: text columns with few values (written as
    /// dictionaries) and with many (a dictionary too large, written out), nulls in both,
    /// rows without a key, and opt-outs that are not booleans (rejects).
    fn contacts() -> RecordBatch {
        let n = 40_000usize;
        let ids: Int64Array = (0..n)
            .map(|i| (i % 997 != 5).then_some(1_000 + i as i64))
            .collect();
        let first: StringArray = (0..n)
            .map(|i| (i % 13 != 0).then(|| ["Ada", "Bob", "Chloé", "Dmitri"][i % 4]))
            .collect();
        let email: StringArray = (0..n)
            .map(|i| (i % 17 != 0).then(|| format!("person.{i}.with-a-long-address@example.com")))
            .collect();
        let optout: StringArray = (0..n)
            .map(|i| {
                Some(if i % 1009 == 3 {
                    "maybe"
                } else {
                    ["true", "false"][i % 2]
                })
            })
            .collect();
        let created = TimestampMillisecondArray::from_iter_values(
            (0..n).map(|i| 1_600_000_000_000 + i as i64 * 86_400_123),
        )
        .with_timezone("UTC");
        RecordBatch::try_from_iter([
            ("hs_object_id", Arc::new(ids) as ArrayRef),
            ("firstname", Arc::new(first)),
            ("email", Arc::new(email)),
            ("hs_email_optout", Arc::new(optout)),
            ("createdate", Arc::new(created)),
        ])
        .unwrap()
    }

    fn read_all(source: &mut ArrowSource) -> (Vec<Record>, Vec<Reject>) {
        let mut records = Vec::new();
        let mut record = Record::default();
        while source.read_record(&mut record).unwrap() {
            records.push(record.clone());
        }
        let mut rejects = Vec::new();
        source.drain_rejects(&mut rejects);
        (records, rejects)
    }

    /// `batch` read as a plain Arrow batch through the HubSpot contacts map.
    fn read_batch(batch: &RecordBatch) -> (Vec<Record>, Vec<Reject>) {
        let plain = RecordBatchIterator::new([Ok(batch.clone())], batch.schema());
        read_all(
            &mut ArrowSource::builder()
                .column_map(mergetag_sources::ColumnMap::hubspot_contacts())
                .from_reader("crm", plain),
        )
    }

    /// Columns filled by their own loops (timestamps, booleans, dictionary text without nulls)
    /// give the records, and rejects, that filling row by row gives.
    #[test]
    fn typed_columns_fill_as_rows_do() {
        use arrow::array::{BooleanArray, DictionaryArray};
        use arrow::datatypes::Int32Type;
        let n = 300usize;
        let ids = Int64Array::from_iter_values((0..n).map(|i| 7_000 + i as i64));
        let optout: BooleanArray = (0..n).map(|i| (i % 7 != 0).then_some(i % 2 == 0)).collect();
        let created: TimestampMillisecondArray = (0..n)
            .map(|i| match i % 50 {
                3 => None,
                // Beyond chrono's range: the row is a reject.
                4 => Some(i64::MAX),
                _ => Some(1_600_000_000_000 + i as i64 * 3_600_000),
            })
            .collect::<TimestampMillisecondArray>()
            .with_timezone("UTC");
        let city: DictionaryArray<Int32Type> = (0..n)
            .map(|i| ["Austin", "Berlin", "Toronto"][i % 3])
            .collect();
        // Microseconds, over centuries (days that meet in the day cache), with a null and
        // values out of range.
        let modified: arrow::array::TimestampMicrosecondArray = (0..n)
            .map(|i| match i % 60 {
                7 => None,
                8 => Some(i64::MIN),
                _ => Some(-3_000_000_000_000_000 + i as i64 * 21_000_000_000_123_457),
            })
            .collect::<arrow::array::TimestampMicrosecondArray>()
            .with_timezone("UTC");
        let batch = RecordBatch::try_from_iter([
            ("hs_object_id", Arc::new(ids) as ArrayRef),
            ("hs_email_optout", Arc::new(optout)),
            ("createdate", Arc::new(created)),
            ("city", Arc::new(city)),
            ("lastmodifieddate", Arc::new(modified)),
        ])
        .unwrap();
        let map = mergetag_sources::ColumnMap::hubspot_contacts();
        let (records, rejects) = read_batch(&batch);
        assert_eq!(rejects.len(), n / 50 + n / 60);
        assert!(records.iter().any(|r| r.observed_at.is_some()));
        let mut mapper = ValueMapper::new(map);
        let current = Current::new(&batch, Arc::from(Vec::new()));
        let plan = mapper.plan(&current.names);
        let source = SourceName::new("crm");
        let mut expected = Vec::new();
        for row in 0..n {
            let mut record = Record::default();
            let filled = mapper.fill_row(
                &plan,
                |i| current.cell(i, row),
                &source,
                row as u64 + 1,
                &mut record,
            );
            if filled.is_ok() {
                expected.push(record);
            }
        }
        assert_eq!(records, expected);
    }

    /// Records are refilled in place, typed values written into fields of their type: a
    /// record the caller changed between reads (values of other types, fields removed or
    /// added, text where a time was) comes back as a fresh record would.
    #[test]
    fn records_changed_by_the_caller_are_refilled_in_full() {
        let batch = contacts();
        let (records, rejects) = read_batch(&batch);
        let plain = RecordBatchIterator::new([Ok(batch.clone())], batch.schema());
        let mut source = ArrowSource::builder()
            .column_map(mergetag_sources::ColumnMap::hubspot_contacts())
            .from_reader("crm", plain);
        let mut record = Record::default();
        let mut read = Vec::new();
        let mut i = 0usize;
        while source.read_record(&mut record).unwrap() {
            read.push(record.clone());
            i += 1;
            let names: Vec<FieldName> = record.iter().map(|f| f.name.clone()).collect();
            match i % 4 {
                // Each field a value of another type.
                0 => {
                    for (k, name) in names.into_iter().enumerate() {
                        let other = match record.get(name.as_str()) {
                            Some(Value::Text(_)) => Value::Int(k as i64),
                            Some(Value::DateTime(_)) => Value::from("yesterday"),
                            Some(Value::Bool(b)) => Value::Float(f64::from(u8::from(*b))),
                            _ => Value::Bool(true),
                        };
                        record.set(name, other);
                    }
                }
                1 => {
                    record.set("extra", Value::Int(1));
                    record.observed_at = None;
                }
                2 => {
                    if let Some(name) = names.first() {
                        record.remove(name.as_str());
                    }
                }
                _ => record.clear(),
            }
        }
        let mut rejected = Vec::new();
        source.drain_rejects(&mut rejected);
        assert_eq!(read, records);
        assert_eq!(rejected, rejects);
    }

    /// A file of one row group is decoded on one thread, which fills the first rows of each
    /// batch (as many as keep it as busy as the reader) while the reader fills the rest; text
    /// columns written as dictionaries are read as dictionaries. A file of many row groups
    /// is shared by the threads, each filling part of its batches as well. Whoever fills a
    /// row, and whatever the threads and the batch size, the records and rejects are those of
    /// the same rows given as plain Arrow batches.
    #[test]
    fn one_row_group_shared_between_decoder_and_reader() {
        let batch = contacts();
        let dir = std::env::temp_dir().join(format!("mergetag-lake-split-{}", std::process::id()));
        let file =
            Location::parse(&dir.join("contacts.parquet").display().to_string(), ".").unwrap();
        crate::write_parquet(&file, std::slice::from_ref(&batch)).unwrap();

        // The names are read as a dictionary; the addresses (too many to fit one) as text.
        let rt = Runtime::new().unwrap();
        let files = rt.block_on(list_parquet(&file)).unwrap();
        let mut reader = StoreReader::new(
            file.store().clone(),
            files[0].meta.location.clone(),
            files[0].meta.size,
        );
        let metadata = rt
            .block_on(ArrowReaderMetadata::load_async(
                &mut reader,
                ArrowReaderOptions::default(),
            ))
            .unwrap();
        let hinted = read_schema(&metadata).expect("a dictionary column");
        assert!(matches!(
            hinted.field_with_name("firstname").unwrap().data_type(),
            arrow::datatypes::DataType::Dictionary(..)
        ));
        assert_eq!(
            hinted.field_with_name("email").unwrap().data_type(),
            &arrow::datatypes::DataType::Utf8View
        );

        let map = mergetag_sources::ColumnMap::hubspot_contacts();
        let (records, rejects) = read_batch(&batch);
        assert_eq!(records.len() + rejects.len(), batch.num_rows());
        assert_eq!(rejects.len(), 40);
        assert!(
            records
                .iter()
                .any(|r| matches!(r.id.key, RecordKey::Row(_)))
        );
        assert!(records.iter().any(|r| r.text("first_name").is_none()));
        assert_eq!(
            records.iter().filter(|r| r.text("email").is_some()).count(),
            as_string_array(batch.column(2)).iter().flatten().count()
                - rejects
                    .iter()
                    .filter(|r| r.raw.contains("with-a-long"))
                    .count()
        );
        // The same rows in row groups of 3,000 (14 of them).
        let groups = dir.join("groups.parquet");
        {
            use parquet::arrow::ArrowWriter;
            use parquet::file::properties::WriterProperties;
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(3_000))
                .build();
            let out = std::fs::File::create(&groups).unwrap();
            let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(props)).unwrap();
            writer.write(&batch).unwrap();
            assert_eq!(writer.close().unwrap().row_groups().len(), 14);
        }
        let groups = Location::parse(&groups.display().to_string(), ".").unwrap();
        for file in [&file, &groups] {
            for (threads, batch_size) in [(1, 8192), (2, 8192), (1, 7), (2, 1000), (4, 40_000)] {
                let mut source = ArrowSource::builder()
                    .column_map(map.clone())
                    .threads(threads)
                    .batch_size(batch_size)
                    .parquet("crm", file)
                    .unwrap();
                let (r, j) = read_all(&mut source);
                let case = format!("{file:?}, {threads} threads, batches of {batch_size}");
                assert_eq!(r, records, "{case}");
                assert_eq!(j, rejects, "{case}");
                assert_eq!(source.rows_read(), batch.num_rows() as u64);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
