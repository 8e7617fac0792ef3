//! The lake crate end to end: Parquet datasets read like CSV, bad values quarantined,
//! Parquet outputs read back with SQL, views checked and read per profile.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Int64Array, ListBuilder, RecordBatch,
    RecordBatchIterator, StringArray, StringBuilder, StructArray, TimestampMillisecondArray,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field};
use mergetag_lake::{
    ArrowSource, Location, OutputFormat, SemanticConfig, SemanticLayer, TableBuilder,
    profiles_table, provenance_table, traits_table, write_parquet,
};
use mergetag_model::{
    OnBadRow, Profile, ProfileField, ProfileId, Record, RecordId, Reject, Source, Sourced, Value,
    fields,
};
use mergetag_sources::{ColumnMap, CsvSource, SourceConfig};

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Reads a source to its end: the accepted records and the rejects.
fn read_all(source: &mut dyn Source) -> (Vec<Record>, Vec<Reject>) {
    let mut records = Vec::new();
    let mut record = Record::default();
    while source.read_record(&mut record).unwrap() {
        records.push(record.clone());
    }
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    (records, rejects)
}

#[test]
fn parquet_reads_exactly_like_csv() {
    let csv = "\
hs_object_id,firstname,lastname,email,zip,hs_email_optout,favorite_store
901,Ada,Lovelace,ada@example.com,62704,false,Loop
902,Bob,Stone,bob@example.com,60601,maybe,
903,Cy,Young,cy@example.com,,true,River North
";
    let mut from_csv = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("crm", csv.as_bytes())
        .unwrap();
    let (csv_records, csv_rejects) = read_all(&mut from_csv);

    let b = batch(vec![
        (
            "hs_object_id",
            strings(&[Some("901"), Some("902"), Some("903")]),
        ),
        (
            "firstname",
            strings(&[Some("Ada"), Some("Bob"), Some("Cy")]),
        ),
        (
            "lastname",
            strings(&[Some("Lovelace"), Some("Stone"), Some("Young")]),
        ),
        (
            "email",
            strings(&[
                Some("ada@example.com"),
                Some("bob@example.com"),
                Some("cy@example.com"),
            ]),
        ),
        ("zip", strings(&[Some("62704"), Some("60601"), None])),
        (
            "hs_email_optout",
            strings(&[Some("false"), Some("maybe"), Some("true")]),
        ),
        (
            "favorite_store",
            strings(&[Some("Loop"), None, Some("River North")]),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = Location::parse("crm.parquet", dir.path()).unwrap();
    write_parquet(&file, &[b]).unwrap();
    let mut from_parquet = ArrowSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .parquet("crm", &file)
        .unwrap();
    let (records, rejects) = read_all(&mut from_parquet);

    assert_eq!(records.len(), 2);
    assert_eq!(records.len(), csv_records.len());
    for (p, c) in records.iter().zip(&csv_records) {
        assert_eq!(p.id, c.id);
        assert_eq!(p.observed_at, c.observed_at);
        for f in c.iter() {
            // An empty CSV cell is null; a null Parquet cell too.
            assert_eq!(
                p.get(f.name.as_str()).unwrap_or(&Value::Null),
                &f.value,
                "{}",
                f.name
            );
        }
        assert_eq!(
            p.iter().filter(|f| !f.value.is_null()).count(),
            c.iter().filter(|f| !f.value.is_null()).count()
        );
    }
    assert_eq!(rejects.len(), 1);
    assert_eq!(csv_rejects.len(), 1);
    assert_eq!(rejects[0].id.to_string(), "crm:902");
    assert_eq!(
        rejects[0].to_error().to_string(),
        "crm: record 2, field `hs_email_optout`: value is not a valid bool"
    );
    // Nothing is lost.
    assert_eq!(from_parquet.rows_read(), 3);
    assert_eq!(records.len() + rejects.len(), 3);
}

fn typed_batch(ids: &[i64], country_col: bool) -> RecordBatch {
    let n = ids.len();
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        tags.values().append_value("vip");
        if i % 2 == 0 {
            tags.values().append_value("early");
        }
        tags.append(true);
    }
    let city: ArrayRef = Arc::new(StringArray::from(vec!["Springfield"; n]));
    let address = StructArray::from(vec![(
        Arc::new(Field::new("city", DataType::Utf8, true)),
        city,
    )]);
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(ids.to_vec()))),
        (
            "updated",
            Arc::new(
                TimestampMillisecondArray::from(vec![1_709_302_925_000; n]).with_timezone("UTC"),
            ),
        ),
        ("born", Arc::new(Date32Array::from(vec![7000; n]))),
        (
            "clv",
            Arc::new(
                Decimal128Array::from(vec![12_345_i128; n])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
        ),
        ("tags", Arc::new(tags.finish())),
        ("address", Arc::new(address)),
        ("visits", Arc::new(UInt64Array::from(vec![3_u64; n]))),
    ];
    if country_col {
        cols.push(("country", strings(&vec![Some("CA"); n])));
    }
    batch(cols)
}

#[test]
fn partitioned_datasets_keep_types_and_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Location::parse("customers", dir.path()).unwrap();
    write_parquet(
        &lake.child("country=US").child("part-0.parquet"),
        &[typed_batch(&[1, 2], false)],
    )
    .unwrap();
    write_parquet(
        &lake.child("country=US").child("part-1.parquet"),
        &[typed_batch(&[3], false)],
    )
    .unwrap();
    // A file's own column wins over its partition's.
    write_parquet(
        &lake.child("country=New%20Zealand").child("part-0.parquet"),
        &[typed_batch(&[4], true)],
    )
    .unwrap();
    // Markers and temporary files are not data.
    std::fs::write(dir.path().join("customers/_SUCCESS"), b"").unwrap();
    std::fs::write(
        dir.path().join("customers/country=US/.part-2.parquet.tmp"),
        b"x",
    )
    .unwrap();

    let map = ColumnMap::new()
        .with_key("id")
        .with_column("born", fields::BIRTH_DATE)
        .with_column("clv", fields::CUSTOMER_LIFETIME_VALUE)
        .with_observed_at("updated")
        .ignore("visits");
    let mut source = ArrowSource::builder()
        .column_map(map)
        .batch_size(1)
        .parquet("lake", &lake)
        .unwrap();
    let (records, rejects) = read_all(&mut source);
    assert!(rejects.is_empty(), "{rejects:?}");
    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
    // Path order: country=New%20Zealand sorts before country=US.
    assert_eq!(ids, ["lake:4", "lake:1", "lake:2", "lake:3"]);
    let r = &records[1];
    assert_eq!(r.observed_at, Some("2024-03-01T14:22:05Z".parse().unwrap()));
    assert_eq!(
        r.get("updated"),
        Some(&Value::DateTime("2024-03-01T14:22:05Z".parse().unwrap()))
    );
    assert_eq!(r.get(fields::BIRTH_DATE).unwrap().to_string(), "1989-03-02");
    assert_eq!(
        r.get(fields::CUSTOMER_LIFETIME_VALUE),
        Some(&Value::Float(123.45))
    );
    assert_eq!(r.get("tags").unwrap().as_list().unwrap().len(), 2);
    assert_eq!(r.text("address.city"), Some("Springfield"));
    assert_eq!(r.text("country"), Some("US"));
    assert_eq!(r.get("visits"), None); // ignored, so never decoded
    assert_eq!(records[0].text("country"), Some("CA"));
    assert!(!source.columns().iter().any(|c| c.as_str() == "visits"));
}

#[test]
fn bad_values_are_quarantined_with_positions_never_values() {
    let b = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("visits", Arc::new(UInt64Array::from(vec![1, u64::MAX, 2]))),
        (
            "secret",
            Arc::new(arrow::array::BinaryArray::from(vec![
                &b"ok"[..],
                b"ok",
                &[0xff, 0xfe],
            ])),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = Location::parse("x.parquet", dir.path()).unwrap();
    write_parquet(&file, &[b]).unwrap();
    let map = ColumnMap::new().with_key("id");
    let mut source = ArrowSource::builder()
        .column_map(map.clone())
        .parquet("crm", &file)
        .unwrap();
    let (records, rejects) = read_all(&mut source);
    assert_eq!(records.len() + rejects.len(), 3);
    assert_eq!(records.len(), 1);
    let messages: Vec<String> = rejects.iter().map(|r| r.to_error().to_string()).collect();
    assert_eq!(
        messages,
        [
            "crm: record 2, field `visits`: value is not a valid int",
            "crm: record 3, field `secret`: invalid UTF-8 (the file may be in another encoding such as Latin-1; convert it to UTF-8)",
        ]
    );
    assert!(!messages.iter().any(|m| m.contains("18446744073709551615")));
    assert_eq!(rejects[0].id.to_string(), "crm:2");

    // Under `fail`, the first bad row stops the source with the same error.
    let mut failing = ArrowSource::builder()
        .column_map(map)
        .on_bad_row(OnBadRow::Fail)
        .parquet("crm", &file)
        .unwrap();
    let mut r = Record::default();
    assert!(failing.read_record(&mut r).unwrap());
    let e = failing.read_record(&mut r).unwrap_err();
    assert_eq!(e.to_string(), messages[0]);
    assert!(!failing.read_record(&mut r).unwrap());
}

#[test]
fn any_record_batch_reader_is_a_source() {
    let b = typed_batch(&[7, 8], false);
    let schema = b.schema();
    let reader = RecordBatchIterator::new([Ok(b.clone()), Ok(b)], schema);
    let mut source = ArrowSource::builder().from_reader("stream", reader);
    let (records, rejects) = read_all(&mut source);
    assert_eq!(records.len(), 4);
    assert!(rejects.is_empty());
    // Without a key column in the map, records are keyed by their number.
    assert_eq!(records[3].id, RecordId::row("stream", 4));
    assert_eq!(records[3].get("id"), Some(&Value::Int(8)));
}

#[test]
fn a_listing_that_changes_during_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Location::parse("d", dir.path()).unwrap();
    for i in 0..10 {
        let file = lake.child(&format!("f{i}.parquet"));
        write_parquet(&file, &[typed_batch(&[i], false)]).unwrap();
    }
    // One thread, reading at most a few files ahead of the records handed out.
    let mut source = ArrowSource::builder()
        .threads(1)
        .parquet("d", &lake)
        .unwrap();
    let mut r = Record::default();
    assert!(source.read_record(&mut r).unwrap());
    // A file added after opening is not read; a listed file that vanished before it was
    // reached is an error naming it, after the records of the files before it.
    write_parquet(&lake.child("g.parquet"), &[typed_batch(&[99], false)]).unwrap();
    std::fs::remove_file(dir.path().join("d/f9.parquet")).unwrap();
    let mut read = 1;
    let e = loop {
        match source.read_record(&mut r) {
            Ok(true) => read += 1,
            Ok(false) => panic!("the end, with f9.parquet gone"),
            Err(e) => break e,
        }
    };
    assert_eq!(read, 9);
    assert!(!e.is_recoverable());
    assert!(e.to_string().contains("f9.parquet"), "{e}");
    assert!(!source.read_record(&mut r).unwrap());
}

#[test]
fn configured_like_any_file_source() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Location::parse("crm", dir.path()).unwrap();
    write_parquet(
        &lake.child("region=west").child("p.parquet"),
        &[typed_batch(&[5], false)],
    )
    .unwrap();
    let config = SourceConfig::from_toml_str(
        "name = \"crm\"\npath = \"crm\"\nformat = \"parquet\"\nkey = \"id\"\nignore = [\"tags\"]\n",
    )
    .unwrap();
    let mut source = mergetag_lake::open(&config, dir.path()).unwrap();
    let (records, _) = read_all(&mut source);
    assert_eq!(records[0].id.to_string(), "crm:5");
    assert_eq!(records[0].text("region"), Some("west"));
    assert_eq!(records[0].get("tags"), None);
    let e = mergetag_lake::open(&SourceConfig::new("x", "x.csv"), dir.path()).unwrap_err();
    assert!(e.to_string().starts_with("format: "), "{e}");
}

fn profiles() -> (Vec<Profile>, Vec<BTreeMap<String, Value>>) {
    let mut out = Vec::new();
    let mut traits = Vec::new();
    for i in 0..5_u64 {
        let rid = RecordId::id("crm", format!("{i}"));
        let field = |name: &str, value: Value| ProfileField {
            name: name.into(),
            chosen: Sourced {
                value,
                record: rid.clone(),
                observed_at: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            },
            rule: Some("most_recent".into()),
            conflicts: Vec::new(),
        };
        let mut p = Profile::new(ProfileId(i + 1), vec![rid.clone()]);
        p.fields = vec![
            field(fields::EMAIL, Value::Text(format!("p{i}@example.com"))),
            field(
                fields::BIRTH_DATE,
                Value::Date("1990-01-02".parse().unwrap()),
            ),
        ];
        out.push(p);
        let mut t = BTreeMap::new();
        t.insert("orders".to_owned(), Value::Int(i as i64));
        t.insert(
            "favourite".to_owned(),
            Value::from(if i % 2 == 0 { "shoes" } else { "hats" }),
        );
        traits.push(t);
    }
    (out, traits)
}

#[test]
fn parquet_outputs_read_back_with_sql() {
    let (profiles, traits) = profiles();
    let dir = tempfile::tempdir().unwrap();
    let out = Location::parse("out", dir.path()).unwrap();
    write_parquet(
        &out.child("profiles.parquet"),
        &[profiles_table(&profiles).unwrap()],
    )
    .unwrap();
    write_parquet(
        &out.child("provenance.parquet"),
        &[provenance_table(&profiles).unwrap()],
    )
    .unwrap();
    write_parquet(
        &out.child("traits.parquet"),
        &[traits_table(&profiles, &traits).unwrap()],
    )
    .unwrap();
    // Atomic: nothing but the files themselves is left in the directory.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["profiles.parquet", "provenance.parquet", "traits.parquet"]
    );

    let mut layer = SemanticLayer::new().unwrap();
    for t in ["profiles", "provenance", "traits"] {
        layer
            .register_parquet(t, &out.child(&format!("{t}.parquet")))
            .unwrap();
    }
    let text = layer
        .query_text(
            "SELECT count(*) AS n, min(birth_date) AS born, arrow_typeof(min(birth_date)) AS t FROM profiles",
            OutputFormat::Csv,
        )
        .unwrap();
    assert_eq!(text, "n,born,t\n5,1990-01-02,Date32\n");
    let text = layer
        .query_text(
            "SELECT p.profile_id, t.orders, v.record_id, arrow_typeof(v.observed_at) AS ty FROM profiles p \
             JOIN traits t USING (profile_id) JOIN provenance v ON v.profile_id = p.profile_id AND v.field = 'email' \
             WHERE t.favourite = 'shoes' ORDER BY p.profile_id",
            OutputFormat::Json,
        )
        .unwrap();
    assert_eq!(
        text,
        "{\"profile_id\":1,\"orders\":0,\"record_id\":\"crm:0\",\"ty\":\"Timestamp(µs, \\\"UTC\\\")\"}\n\
         {\"profile_id\":3,\"orders\":2,\"record_id\":\"crm:2\",\"ty\":\"Timestamp(µs, \\\"UTC\\\")\"}\n\
         {\"profile_id\":5,\"orders\":4,\"record_id\":\"crm:4\",\"ty\":\"Timestamp(µs, \\\"UTC\\\")\"}\n"
    );
    let e = layer.query("DROP TABLE profiles").unwrap_err();
    assert!(e.to_string().starts_with("query failed: "), "{e}");
}

#[test]
fn views_are_checked_and_give_values_per_profile() {
    let (profiles, traits) = profiles();
    let mut layer = SemanticLayer::new().unwrap();
    layer
        .register_batches("profiles", vec![profiles_table(&profiles).unwrap()])
        .unwrap();
    layer
        .register_batches("traits", vec![traits_table(&profiles, &traits).unwrap()])
        .unwrap();
    let config = SemanticConfig::from_toml_str(
        "[views]\n\
         favourite_category = \"SELECT profile_id, favourite AS category FROM traits\"\n\
         big = \"SELECT profile_id, category FROM favourite_category WHERE category = 'hats'\"\n",
    )
    .unwrap();
    layer.add_views(&config).unwrap();
    let views = layer.profile_values().unwrap();
    // In the order the views were added: a view after those it reads.
    let names: Vec<&str> = views.iter().map(|v| v.view()).collect();
    assert_eq!(names, ["favourite_category", "big"]);
    let (favourite, big) = (&views[0], &views[1]);
    assert_eq!(favourite.columns(), ["category"]);
    assert_eq!(favourite.value(1, 0), Some(Value::from("shoes")));
    assert_eq!(big.value(2, 0), Some(Value::from("hats")));
    assert_eq!(big.value(1, 0), None);
    assert_eq!(big.ids(), [2, 4]);
    assert_eq!(
        big.object(2),
        Some(BTreeMap::from([(
            "category".to_owned(),
            Value::from("hats")
        )]))
    );

    let bad =
        SemanticConfig::from_toml_str("[views]\nv = \"SELECT profile_id, colour FROM traits\"\n")
            .unwrap();
    let e = layer.add_views(&bad).unwrap_err();
    assert!(e.to_string().starts_with("view `v`: "), "{e}");
    assert!(e.to_string().contains("colour"), "{e}");
    let e = SemanticConfig::from_toml_str("[views]\nBad-Name = \"SELECT 1\"\n").unwrap_err();
    assert!(
        e.to_string().starts_with("semantic.views.Bad-Name: "),
        "{e}"
    );
    let e = SemanticConfig::from_toml_str("[views]\nv = \"SELEC profile_id FROM traits\"\n")
        .unwrap_err();
    assert!(e.to_string().starts_with("view `v`: "), "{e}");
    let e = SemanticConfig::from_toml_str("[views]\nv = \"SELECT 1; DROP TABLE traits\"\n")
        .unwrap_err();
    assert!(e.to_string().contains("one query"), "{e}");
    let e = SemanticConfig::from_toml_str("[view]\n").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
}

#[test]
fn tables_of_values_infer_types() {
    let mut t = TableBuilder::new("t");
    t.push_row([("a", Value::Int(1)), ("b", Value::from("x"))]);
    t.push_row([
        ("a", Value::Float(1.5)),
        ("c", Value::List(vec![Value::from("p")])),
    ]);
    t.push_row([("b", Value::Int(3))]);
    let b = t.finish().unwrap();
    let types: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    assert_eq!(types, ["Float64", "Utf8", "List(Utf8)"]);
    assert_eq!(b.num_rows(), 3);
}

/// A dataset of several files and row groups, with bad values, rows without keys and rows
/// with structs, reads to the same records and rejects whatever the number of threads and
/// the batch size, and through a reader as through a file.
#[test]
fn threads_and_batches_do_not_change_what_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Location::parse("crm", dir.path()).unwrap();
    let mut all = Vec::new();
    for (f, country) in ["DE", "FR", "US"].iter().enumerate() {
        let mut batches = Vec::new();
        for g in 0..3 {
            let n = 50 + 7 * (f + g);
            let id = |i: usize| f * 1000 + g * 100 + i;
            let ids: Vec<Option<String>> = (0..n)
                .map(|i| (i % 11 != 0).then(|| id(i).to_string()))
                .collect();
            let optout: Vec<Option<&str>> = (0..n)
                .map(|i| Some(if i % 13 == 5 { "maybe" } else { "false" }))
                .collect();
            let names: Vec<Option<String>> = (0..n)
                .map(|i| (i % 5 != 0).then(|| format!("name {}", id(i))))
                .collect();
            let created = TimestampMillisecondArray::from(
                (0..n)
                    .map(|i| Some(1_700_000_000_000 + id(i) as i64))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC");
            batches.push(batch(vec![
                ("hs_object_id", Arc::new(StringArray::from(ids)) as ArrayRef),
                ("firstname", Arc::new(StringArray::from(names))),
                ("hs_email_optout", strings(&optout)),
                ("createdate", Arc::new(created)),
            ]));
        }
        // A file a batch.
        for (i, b) in batches.iter().enumerate() {
            let part = lake
                .child(&format!("country={country}"))
                .child(&format!("part-{i}.parquet"));
            write_parquet(&part, std::slice::from_ref(b)).unwrap();
        }
        all.extend(batches);
    }
    // And a file of many row groups, which the threads share.
    {
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::WriterProperties;
        let path = dir.path().join("crm/country=GB");
        std::fs::create_dir_all(&path).unwrap();
        let file = std::fs::File::create(path.join("part-0.parquet")).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(20))
            .build();
        let mut w = ArrowWriter::try_new(file, all[0].schema(), Some(props)).unwrap();
        for b in &all[..3] {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        all.extend(all[..3].to_vec());
    }
    let read = |threads: usize, batch_size: usize| {
        let mut source = ArrowSource::builder()
            .column_map(ColumnMap::hubspot_contacts())
            .threads(threads)
            .batch_size(batch_size)
            .parquet("crm", &lake)
            .unwrap();
        let out = read_all(&mut source);
        assert_eq!(
            (out.0.len() + out.1.len()) as u64,
            source.rows_read(),
            "every row is a record or a reject"
        );
        out
    };
    let (records, rejects) = read(1, 8192);
    let total: usize = all.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(records.len() + rejects.len(), total);
    assert!(!rejects.is_empty());
    // Rows without a key are numbered across the whole dataset.
    assert!(
        records
            .iter()
            .any(|r| matches!(r.id.key, mergetag_model::RecordKey::Row(_)))
    );
    assert!(records.iter().all(|r| r.observed_at.is_some()));
    assert!(records.iter().all(|r| r.text("country").is_some()));
    for (threads, batch_size) in [(2, 8192), (3, 7), (4, 1), (1, 16)] {
        let (r, j) = read(threads, batch_size);
        assert_eq!(r, records, "{threads} threads, batches of {batch_size}");
        assert_eq!(j, rejects, "{threads} threads, batches of {batch_size}");
    }
    // The same rows (of one partition) through a reader, one row at a time.
    let de: Vec<RecordBatch> = all[..3].to_vec();
    let reader = RecordBatchIterator::new(de.into_iter().map(Ok), all[0].schema());
    let mut source = ArrowSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .from_reader("crm", reader);
    let (r, j) = read_all(&mut source);
    let de_records: Vec<&Record> = records
        .iter()
        .filter(|r| r.text("country") == Some("DE"))
        .collect();
    assert_eq!(r.len(), de_records.len());
    for (a, b) in r.iter().zip(de_records) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.observed_at, b.observed_at);
        assert_eq!(a.text(fields::FIRST_NAME), b.text(fields::FIRST_NAME));
    }
    assert_eq!(
        j.len(),
        rejects.iter().filter(|r| r.raw.contains("\"DE\"")).count()
    );
}

/// Cloud stores are parsed into their object_store backends when their feature is built in,
/// and refused naming the feature when it is not; other schemes are refused.
#[test]
fn cloud_schemes_need_their_features() {
    /// A URL, whether its feature is built in, the feature, and the store's options.
    type Case = (&'static str, bool, &'static str, Vec<(String, String)>);
    let cases: [Case; 3] = [
        (
            "s3://bucket/customers",
            cfg!(feature = "aws"),
            "aws",
            vec![("aws_region".into(), "eu-west-1".into())],
        ),
        (
            "gs://bucket/customers",
            cfg!(feature = "gcp"),
            "gcp",
            vec![("google_skip_signature".into(), "true".into())],
        ),
        (
            "az://container/customers",
            cfg!(feature = "azure"),
            "azure",
            vec![
                (
                    "azure_storage_account_name".into(),
                    "devstoreaccount1".into(),
                ),
                ("azure_storage_use_emulator".into(), "true".into()),
            ],
        ),
    ];
    for (url, built, feature, options) in cases {
        match Location::parse_with(url, ".", options) {
            Ok(l) => {
                assert!(built, "{url} parsed without the feature `{feature}`");
                assert_eq!(l.url(), url);
                assert_eq!(l.child("x.parquet").url(), format!("{url}/x.parquet"));
                assert_eq!(l.path().as_ref(), "customers");
            }
            Err(e) => {
                assert!(!built, "{url}: {e}");
                assert!(
                    e.to_string().contains(&format!("feature `{feature}`")),
                    "{e}"
                );
            }
        }
    }
    let e = Location::parse("ftp://host/x", ".").unwrap_err();
    assert!(e.to_string().contains("unknown scheme"), "{e}");
}

/// S3 against a real S3-compatible server: moto in server mode, started on 127.0.0.1 by the
/// test (`MERGETAG_MOTO_SERVER` names the `moto_server` program, else it is looked up on the
/// `PATH`; `.ci/run` installs it). Skipped, saying so, where it is not installed.
#[cfg(feature = "aws")]
mod s3 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use futures::StreamExt;
    use object_store::ObjectStoreExt;

    use super::*;

    struct Moto {
        child: Child,
        port: u16,
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// One HTTP/1.1 request to the server; its status code.
    fn http(port: u16, method: &str, path: &str, body: &str) -> u16 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        let _ = s.read_to_string(&mut response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    #[allow(clippy::print_stderr)] // a skipped test must say so, loudly
    fn start() -> Option<Moto> {
        let program =
            std::env::var("MERGETAG_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = match Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "skipped: cannot start `{program}` ({e}); install moto (pip install 'moto[server]') or set MERGETAG_MOTO_SERVER"
                );
                return None;
            }
        };
        let moto = Moto { child, port };
        // Python's start (moto imports botocore) takes seconds, and far longer on a machine
        // busy compiling: a generous bound, still bounded.
        let deadline = Instant::now() + Duration::from_secs(180);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start in 180 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn location(moto: &Moto, url: &str, secret: &str) -> Location {
        let options = [
            ("aws_endpoint", format!("http://127.0.0.1:{}", moto.port)),
            ("aws_allow_http", "true".into()),
            ("aws_region", "us-east-1".into()),
            ("aws_access_key_id", "AKIAMERGETAGTEST0001".into()),
            ("aws_secret_access_key", secret.into()),
            ("aws_virtual_hosted_style_request", "false".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        Location::parse_with(url, ".", options).unwrap()
    }

    fn keys(location: &Location) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut listing = location.store().list(Some(location.path()));
            let mut out = Vec::new();
            while let Some(meta) = listing.next().await {
                out.push(meta.unwrap().location.to_string());
            }
            out.sort();
            out
        })
    }

    #[test]
    fn s3_datasets_outputs_and_failing_credentials() {
        let Some(moto) = start() else { return };
        assert_eq!(http(moto.port, "PUT", "/lake", ""), 200, "bucket created");
        let lake = location(&moto, "s3://lake/customers", "secret");
        write_parquet(
            &lake.child("country=US").child("part-0.parquet"),
            &[typed_batch(&[1, 2], false)],
        )
        .unwrap();
        write_parquet(
            &lake.child("country=CA").child("part-0.parquet"),
            &[typed_batch(&[3], false)],
        )
        .unwrap();
        write_parquet(
            &lake.child("country=MX").child("part-0.parquet"),
            &[typed_batch(&[4], false)],
        )
        .unwrap();

        let mut source = ArrowSource::builder()
            .column_map(ColumnMap::new().with_key("id"))
            .parquet("s3", &lake)
            .unwrap();
        let (records, rejects) = read_all(&mut source);
        assert!(rejects.is_empty());
        let got: Vec<(String, Option<&str>)> = records
            .iter()
            .map(|r| (r.id.to_string(), r.text("country")))
            .collect();
        assert_eq!(
            got,
            [
                ("s3:3".to_owned(), Some("CA")),
                ("s3:4".to_owned(), Some("MX")),
                ("s3:1".to_owned(), Some("US")),
                ("s3:2".to_owned(), Some("US")),
            ]
        );

        // A listing that changes during a read: an object deleted after the listing, before
        // the reading thread reached it, is an error naming it, after the records of the
        // objects before it; one added is not read.
        let many = location(&moto, "s3://lake/many", "secret");
        for i in 0..10 {
            let file = many.child(&format!("p{i}.parquet"));
            write_parquet(&file, &[typed_batch(&[i], false)]).unwrap();
        }
        let mut source = ArrowSource::builder()
            .threads(1)
            .parquet("s3", &many)
            .unwrap();
        let mut r = Record::default();
        assert!(source.read_record(&mut r).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let gone = many.child("p9.parquet");
        rt.block_on(gone.store().delete(gone.path())).unwrap();
        write_parquet(&many.child("q.parquet"), &[typed_batch(&[5], false)]).unwrap();
        let mut read = 1;
        let e = loop {
            match source.read_record(&mut r) {
                Ok(true) => read += 1,
                Ok(false) => panic!("the end, with p9.parquet gone"),
                Err(e) => break e,
            }
        };
        assert_eq!(read, 9);
        assert!(e.to_string().contains("many/p9.parquet"), "{e}");

        // Outputs, queried with SQL straight from the bucket.
        let out = location(&moto, "s3://lake/out", "secret");
        let (profiles, traits) = profiles();
        write_parquet(
            &out.child("traits.parquet"),
            &[traits_table(&profiles, &traits).unwrap()],
        )
        .unwrap();
        let mut layer = SemanticLayer::new().unwrap();
        layer
            .register_parquet("traits", &out.child("traits.parquet"))
            .unwrap();
        let text = layer
            .query_text(
                "SELECT sum(orders) AS orders FROM traits",
                OutputFormat::Csv,
            )
            .unwrap();
        assert_eq!(text, "orders\n10\n");

        // Credentials the server refuses: a clear error naming the object, nothing written.
        assert_eq!(http(moto.port, "POST", "/moto-api/reset-auth", "0"), 200);
        let refused = location(&moto, "s3://lake/refused", "wrong");
        let e = write_parquet(
            &refused.child("profiles.parquet"),
            &[profiles_table(&profiles).unwrap()],
        )
        .unwrap_err();
        let message = e.to_string();
        assert_eq!(message, "s3://lake/refused/profiles.parquet: write failed");
        let cause = std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            cause.contains("403") || cause.to_lowercase().contains("access"),
            "{cause}"
        );
        assert_eq!(
            http(moto.port, "POST", "/moto-api/reset-auth", "1000000"),
            200
        );
        assert!(keys(&refused).is_empty());
        assert_eq!(keys(&out), ["out/traits.parquet"]);
    }
}
