//! Reading a 100k-row contact CSV into records, beside plain `csv::StringRecord` reading as the
//! baseline measured in the same run.
//!
//! Run with `cargo bench --bench sources`. The fixture is generated deterministically in memory.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::Source;
use mergetag::sources::{ColumnMap, CsvSource};

const ROWS: usize = 100_000;

/// A HubSpot-style export: 18 columns, quoted fields, empty cells, epoch-millisecond times.
fn fixture(rows: usize) -> Vec<u8> {
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
    let mut out = Vec::with_capacity(rows * 200);
    out.extend_from_slice(
        b"hs_object_id,firstname,lastname,email,phone,mobilephone,date_of_birth,address,city,state,zip,country,company,jobtitle,lifecyclestage,hs_email_optout,createdate,lastmodifieddate\n",
    );
    // A fixed linear congruential generator: the same bytes on every run.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize
    };
    for i in 0..rows {
        let (f, l, c) = (FIRST[next() % 8], LAST[next() % 8], CITY[next() % 6]);
        let line = format!(
            "{id},{f},{l},{fl}.{ll}{n}@example.com,(312) 555-{p:04},{m},{dob},\"{n} N Main St, Apt {a}\",{c},IL,6{z:04},United States,Acme {n} Inc,Engineer,customer,{opt},{cr},{md}\n",
            id = 1_000_000 + i,
            fl = f.to_lowercase(),
            ll = l.to_lowercase(),
            n = next() % 1000,
            p = next() % 10_000,
            m = if next() % 3 == 0 {
                ""
            } else {
                "+1 773 555 0100"
            },
            dob = format_args!(
                "19{:02}-0{}-1{}",
                40 + next() % 60,
                1 + next() % 9,
                next() % 10
            ),
            a = next() % 20,
            z = next() % 10_000,
            opt = if next() % 10 == 0 { "true" } else { "false" },
            cr = 1_600_000_000_000u64 + (next() as u64 % 100_000_000_000),
            md = 1_700_000_000_000u64 + (next() as u64 % 10_000_000_000),
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn read_csv(c: &mut Criterion) {
    let data = fixture(ROWS);
    let mut group = c.benchmark_group("mergetag_sources::CsvSource::read_record");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(data.len() as u64));

    group.bench_with_input(
        BenchmarkId::new("csv_string_record_baseline", ROWS),
        &data,
        |b, data| {
            b.iter(|| {
                let mut rdr = csv::Reader::from_reader(&data[..]);
                let mut row = csv::StringRecord::new();
                let mut n = 0;
                while rdr.read_record(&mut row).unwrap() {
                    n += black_box(row.len()) / 18;
                }
                assert_eq!(n, ROWS);
            });
        },
    );

    group.bench_with_input(
        BenchmarkId::new("hubspot_preset", ROWS),
        &data,
        |b, data| {
            b.iter(|| {
                let mut source = CsvSource::builder()
                    .column_map(ColumnMap::hubspot_contacts())
                    .from_reader("hubspot", &data[..])
                    .unwrap();
                let mut record = mergetag::Record::default();
                let mut n = 0;
                while source.read_record(&mut record).unwrap() {
                    n += black_box(record.len()) / 17;
                }
                assert_eq!(n, ROWS);
            });
        },
    );

    group.bench_with_input(BenchmarkId::new("no_column_map", ROWS), &data, |b, data| {
        b.iter(|| {
            let mut source = CsvSource::builder()
                .from_reader("hubspot", &data[..])
                .unwrap();
            let mut record = mergetag::Record::default();
            let mut n = 0;
            while source.read_record(&mut record).unwrap() {
                n += black_box(record.len()) / 18;
            }
            assert_eq!(n, ROWS);
        });
    });
    group.finish();
}

criterion_group!(benches, read_csv);
criterion_main!(benches);
