//! Reading 1M contact rows into records from Parquet (`mergetag_lake::ArrowSource`) beside the
//! same rows as CSV (`mergetag_sources::CsvSource`, the baseline), in the same run, through the
//! same HubSpot column map; and the semantic layer's per-profile values of a view over 1M
//! profiles.
//!
//! Run with `cargo bench --bench lake --features lake-parquet` for the sources alone (no
//! DataFusion to build), `--features lake` for the view too. The fixture is generated
//! deterministically; the Parquet file goes to a temporary directory, and its size and the
//! CSV's are printed. `MERGETAG_LAKE_SCALE=N` reads N rows instead and prints the time and the
//! process's peak memory; `MERGETAG_LAKE_CPU=1` prints each source's wall and CPU time
//! instead of benchmarking (`MERGETAG_LAKE_CPU=zstd` only the sources whose names contain
//! `zstd`, for a profiler).

// A bench talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
#[cfg(feature = "lake")]
use mergetag::lake::SemanticLayer;
use mergetag::lake::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use mergetag::lake::{ArrowSource, Location, ProfileRows, add_profile_values, write_parquet};
use mergetag::sources::{ColumnMap, CsvSource, OnBadRow};
use mergetag::{Record, Source, Value};

const ROWS: usize = 1_000_000;
const BATCH: usize = 65_536;

/// One generated contact.
struct Row {
    id: i64,
    first: &'static str,
    last: &'static str,
    email: String,
    phone: String,
    dob: String,
    city: &'static str,
    zip: String,
    opt_out: bool,
    created: i64,
    modified: i64,
}

fn rows(n: usize) -> Vec<Row> {
    rows_from(0, n, &mut 0x2545_F491_4F6C_DD1D)
}

/// Rows `start..start + n`, drawing from the generator state `x`.
fn rows_from(start: usize, n: usize, x: &mut u64) -> Vec<Row> {
    const FIRST: [&str; 8] = [
        "Ada", "Bob", "Chloé", "Dmitri", "Emily", "Farah", "Gus", "Hana",
    ];
    const LAST: [&str; 8] = [
        "Lovelace", "O'Brien", "Müller", "Chen", "Johnson", "Nguyen", "Smith", "Okafor",
    ];
    const CITY: [&str; 6] = [
        "Chicago",
        "Springfield",
        "Toronto",
        "London",
        "Berlin",
        "Austin",
    ];
    // A fixed linear congruential generator: the same rows on every run.
    let mut next = || {
        *x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*x >> 33) as usize
    };
    (start..start + n)
        .map(|i| {
            let (first, last) = (FIRST[next() % 8], LAST[next() % 8]);
            Row {
                id: 1_000_000 + i as i64,
                first,
                last,
                email: format!(
                    "{}.{}{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    next() % 1000
                ),
                phone: format!("(312) 555-{:04}", next() % 10_000),
                dob: format!(
                    "19{:02}-0{}-1{}",
                    40 + next() % 60,
                    1 + next() % 9,
                    next() % 10
                ),
                city: CITY[next() % 6],
                zip: format!("6{:04}", next() % 10_000),
                opt_out: next() % 10 == 0,
                created: 1_600_000_000_000 + (next() as i64 % 100_000_000_000),
                modified: 1_700_000_000_000 + (next() as i64 % 10_000_000_000),
            }
        })
        .collect()
}

fn to_csv(rows: &[Row]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 160);
    out.extend_from_slice(b"hs_object_id,firstname,lastname,email,phone,date_of_birth,city,zip,hs_email_optout,createdate,lastmodifieddate\n");
    for r in rows {
        out.extend_from_slice(
            format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                r.id,
                r.first,
                r.last,
                r.email,
                r.phone,
                r.dob,
                r.city,
                r.zip,
                r.opt_out,
                r.created,
                r.modified
            )
            .as_bytes(),
        );
    }
    out
}

/// The same rows as typed Arrow batches: integers, text, booleans, timestamps.
fn to_batches(rows: &[Row]) -> Vec<RecordBatch> {
    rows.chunks(BATCH)
        .map(|c| {
            let text = |f: &dyn Fn(&Row) -> &str| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(c.iter().map(f)))
            };
            let ms = |f: &dyn Fn(&Row) -> i64| -> ArrayRef {
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(c.iter().map(f))
                        .with_timezone("UTC"),
                )
            };
            RecordBatch::try_from_iter([
                (
                    "hs_object_id",
                    Arc::new(Int64Array::from_iter_values(c.iter().map(|r| r.id))) as ArrayRef,
                ),
                ("firstname", text(&|r| r.first)),
                ("lastname", text(&|r| r.last)),
                ("email", text(&|r| &r.email)),
                ("phone", text(&|r| &r.phone)),
                ("date_of_birth", text(&|r| &r.dob)),
                ("city", text(&|r| r.city)),
                ("zip", text(&|r| &r.zip)),
                (
                    "hs_email_optout",
                    Arc::new(c.iter().map(|r| Some(r.opt_out)).collect::<BooleanArray>()),
                ),
                ("createdate", ms(&|r| r.created)),
                ("lastmodifieddate", ms(&|r| r.modified)),
            ])
            .expect("a batch")
        })
        .collect()
}

/// The CPU time of this process so far (all its threads), from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime, in clock ticks of 1/100 s.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Writes `batches` to `path` as one Parquet file compressed with Snappy, in row groups of
/// `group_rows` rows at most; its size.
fn write_snappy(path: &std::path::Path, batches: &[RecordBatch], group_rows: usize) -> u64 {
    use mergetag::lake::parquet::arrow::ArrowWriter;
    use mergetag::lake::parquet::basic::Compression;
    use mergetag::lake::parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(path).expect("a file");
    let mut writer =
        ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("a writer");
    for b in batches {
        writer.write(b).expect("written");
    }
    writer.close().expect("closed");
    std::fs::metadata(path).expect("written").len()
}

/// Reads `source` to its end; the number of records.
fn drain(source: &mut dyn Source) -> usize {
    let mut record = Record::default();
    let mut n = 0;
    while source.read_record(&mut record).expect("readable") {
        n += 1;
    }
    black_box(&record);
    n
}

fn read(c: &mut Criterion) {
    let rows = rows(ROWS);
    let csv = to_csv(&rows);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = Location::parse("contacts.parquet", dir.path()).expect("a location");
    let batches = to_batches(&rows);
    let size = write_parquet(&file, &batches).expect("written");
    // The same rows as Spark and pyarrow write them by default: Snappy, one row group (of up
    // to 128 MiB, or 1Mi rows).
    let snappy_file = Location::parse("contacts-snappy.parquet", dir.path()).expect("a location");
    let snappy_size = write_snappy(
        &dir.path().join("contacts-snappy.parquet"),
        &batches,
        1 << 20,
    );
    // And as DuckDB writes them: Snappy, row groups of 122,880 rows (nine here), which the
    // decoding threads share.
    let groups_file = Location::parse("contacts-groups.parquet", dir.path()).expect("a location");
    let groups_size = write_snappy(
        &dir.path().join("contacts-groups.parquet"),
        &batches,
        122_880,
    );
    drop((rows, batches));
    let csv_source = || {
        CsvSource::builder()
            .column_map(ColumnMap::hubspot_contacts())
            .on_bad_row(OnBadRow::Fail)
            .from_reader("crm", csv.as_slice())
            .expect("a header")
    };
    let open = |file: &Location| {
        ArrowSource::builder()
            .column_map(ColumnMap::hubspot_contacts())
            .on_bad_row(OnBadRow::Fail)
            .parquet("crm", file)
            .expect("a dataset")
    };
    let parquet_source = || open(&file);
    let snappy_source = || open(&snappy_file);
    let groups_source = || open(&groups_file);
    // The four give the same records.
    let (mut a, mut b, mut s) = (csv_source(), parquet_source(), snappy_source());
    let mut g = groups_source();
    let mut r: [Record; 4] = std::array::from_fn(|_| Record::default());
    for _ in 0..1000 {
        assert!(a.read_record(&mut r[0]).unwrap() && b.read_record(&mut r[1]).unwrap());
        assert!(s.read_record(&mut r[2]).unwrap() && g.read_record(&mut r[3]).unwrap());
        assert_eq!(r[0], r[1]);
        assert_eq!(r[0], r[2]);
        assert_eq!(r[0], r[3]);
    }

    // Wall and CPU time of each source, read 10 times in turn, three rounds: the machines
    // here are noisy, and CPU time shows what the threads cost beside what they save.
    if let Some(only) = std::env::var_os("MERGETAG_LAKE_CPU") {
        let only = only.to_string_lossy();
        for _ in 0..3 {
            for name in [
                "csv",
                "parquet (zstd)",
                "parquet (Snappy)",
                "parquet (Snappy, 9 row groups)",
            ] {
                if only != "1" && !name.contains(&*only) {
                    continue;
                }
                let (cpu, wall) = (cpu_seconds(), std::time::Instant::now());
                for _ in 0..10 {
                    let n = match name {
                        "csv" => drain(&mut csv_source()),
                        "parquet (zstd)" => drain(&mut parquet_source()),
                        "parquet (Snappy)" => drain(&mut snappy_source()),
                        _ => drain(&mut groups_source()),
                    };
                    assert_eq!(n, ROWS);
                }
                let cpu = cpu_seconds().zip(cpu).map_or("unknown".into(), |(b, a)| {
                    format!("{:.3} s", (b - a) / 10.0)
                });
                eprintln!(
                    "{name}: {:.3} s a read, CPU {cpu}",
                    wall.elapsed().as_secs_f64() / 10.0
                );
            }
        }
        return;
    }
    let mut group = c.benchmark_group("mergetag_lake::ArrowSource::read_record");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    eprintln!(
        "fixture: {ROWS} rows, CSV {} bytes, Parquet {size} bytes (zstd), {snappy_size} bytes (Snappy), {groups_size} bytes (Snappy, 9 row groups)",
        csv.len()
    );
    group.bench_function(BenchmarkId::new("csv_baseline", ROWS), |bench| {
        bench.iter(|| assert_eq!(drain(&mut csv_source()), ROWS));
    });
    group.bench_function(BenchmarkId::new("parquet", ROWS), |bench| {
        bench.iter(|| assert_eq!(drain(&mut parquet_source()), ROWS));
    });
    group.bench_function(BenchmarkId::new("parquet_snappy", ROWS), |bench| {
        bench.iter(|| assert_eq!(drain(&mut snappy_source()), ROWS));
    });
    group.bench_function(BenchmarkId::new("parquet_row_groups", ROWS), |bench| {
        bench.iter(|| assert_eq!(drain(&mut groups_source()), ROWS));
    });
    group.finish();
}

/// Turning a view's 1M rows (its query's result) into per-profile values for mapping: what a
/// semantic-layer variable costs after the query. `flat_traits` is what the pipeline's
/// semantic stage does: index the rows by profile ([`ProfileRows`]) and give each of 1M
/// profiles (each with two traits already) the flat trait `view.favourite.category`.
/// `nested_objects`, the baseline, is the former representation (an object per profile and
/// view, [`add_profile_values`]). What each builds is dropped outside the timed part
/// (`iter_batched`): a run frees its profiles' traits when its results are dropped.
fn values_after_query(c: &mut Criterion) {
    let ids = Int64Array::from_iter_values(0..ROWS as i64);
    let category =
        StringArray::from_iter_values((0..ROWS).map(|i| ["shoes", "hats", "bags"][i % 3]));
    let batches: Vec<RecordBatch> = (0..ROWS)
        .step_by(8192)
        .map(|start| {
            let len = 8192.min(ROWS - start);
            RecordBatch::try_from_iter([
                ("profile_id", Arc::new(ids.slice(start, len)) as ArrayRef),
                ("category", Arc::new(category.slice(start, len)) as ArrayRef),
            ])
            .expect("a batch")
        })
        .collect();
    // The profiles in the order a run holds them, with the traits a run gave them before.
    let profile_ids: Vec<i64> = (0..ROWS as i64).rev().collect();
    let traits = || -> Vec<BTreeMap<String, Value>> {
        (0..ROWS)
            .map(|i| {
                BTreeMap::from([
                    ("orders".to_owned(), Value::Int(i as i64 % 7)),
                    ("engagement_level".to_owned(), Value::from("High")),
                ])
            })
            .collect()
    };
    let mut group = c.benchmark_group("mergetag_lake::view_values");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function(BenchmarkId::new("flat_traits", ROWS), |bench| {
        bench.iter_batched(
            traits,
            |mut traits| {
                let rows = ProfileRows::new("favourite", &batches);
                rows.for_each_trait(profile_ids.iter().copied(), |i, name, value| {
                    traits[i].insert(name.to_owned(), value);
                });
                traits
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function(BenchmarkId::new("nested_objects", ROWS), |bench| {
        bench.iter_batched(
            traits,
            |mut traits| {
                let mut values = HashMap::new();
                add_profile_values("favourite", &batches, &mut values);
                for (i, id) in profile_ids.iter().enumerate() {
                    if let Some(v) = values.remove(id) {
                        traits[i].insert("view".to_owned(), Value::Object(v));
                    }
                }
                traits
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// A view's per-profile values over 1M profiles: the query alone, and the query with the
/// values for mapping (the difference is what turning rows into values costs).
#[cfg(feature = "lake")]
fn view_values(c: &mut Criterion) {
    let ids = Int64Array::from_iter_values(0..ROWS as i64);
    let category =
        StringArray::from_iter_values((0..ROWS).map(|i| ["shoes", "hats", "bags"][i % 3]));
    let batch = RecordBatch::try_from_iter([
        ("profile_id", Arc::new(ids) as ArrayRef),
        ("category", Arc::new(category) as ArrayRef),
    ])
    .expect("a batch");
    let mut layer = SemanticLayer::new().expect("a layer");
    layer
        .register_batches("traits", vec![batch])
        .expect("registered");
    layer
        .add_view("favourite", "SELECT profile_id, category FROM traits")
        .expect("a view");
    let mut group = c.benchmark_group("mergetag_lake::SemanticLayer::profile_values");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function(BenchmarkId::new("query_only", ROWS), |bench| {
        bench.iter(|| {
            let rows: usize = layer
                .query("SELECT * FROM favourite")
                .expect("rows")
                .iter()
                .map(|b| b.num_rows())
                .sum();
            assert_eq!(rows, ROWS);
        });
    });
    group.bench_function(BenchmarkId::new("view", ROWS), |bench| {
        bench.iter_with_large_drop(|| {
            let views = layer.profile_values().expect("values");
            assert_eq!(views[0].len(), ROWS);
            views
        });
    });
    group.finish();
}

/// The peak resident memory of this process so far (`VmHWM`), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `MERGETAG_LAKE_SCALE=N`: writes N rows as Parquet batch by batch (64k-row row groups),
/// then reads them into records, and prints the time and the process's peak memory before
/// and after the read: memory stays bounded by a batch, whatever N.
fn scale(n: usize) {
    use mergetag::lake::parquet::arrow::ArrowWriter;
    use mergetag::lake::parquet::file::properties::WriterProperties;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("contacts.parquet");
    let file = std::fs::File::create(&path).expect("created");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(BATCH))
        .build();
    let mut x = 0x2545_F491_4F6C_DD1D;
    let first = to_batches(&rows_from(0, BATCH.min(n), &mut x));
    let mut writer = ArrowWriter::try_new(file, first[0].schema(), Some(props)).expect("a writer");
    writer.write(&first[0]).expect("written");
    let mut done = BATCH.min(n);
    while done < n {
        let k = BATCH.min(n - done);
        for b in to_batches(&rows_from(done, k, &mut x)) {
            writer.write(&b).expect("written");
        }
        done += k;
    }
    writer.close().expect("closed");
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let before = peak_mib();
    let location = Location::parse(&path.display().to_string(), ".").expect("a location");
    let started = std::time::Instant::now();
    let mut source = ArrowSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .on_bad_row(OnBadRow::Fail)
        .parquet("crm", &location)
        .expect("a dataset");
    assert_eq!(drain(&mut source), n);
    let took = started.elapsed();
    eprintln!(
        "{n} rows ({} MiB of Parquet) into records in {:.2} s ({:.2}M rows/s); peak memory {:.0} MiB before the read, {:.0} MiB after",
        size / (1 << 20),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64() / 1e6,
        before,
        peak_mib()
    );
}

#[cfg(feature = "lake")]
criterion_group!(benches, read, values_after_query, view_values);
#[cfg(not(feature = "lake"))]
criterion_group!(benches, read, values_after_query);

fn main() {
    if let Some(n) = std::env::var("MERGETAG_LAKE_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        scale(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
