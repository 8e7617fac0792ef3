//! Integration tests of the readers: the bundled sample data, positions, bad rows, redaction,
//! and round trips.

use std::path::PathBuf;

use mergetag_model::{EventSource, Record, RecordKey, Source, SourceErrorKind, Value, fields};
use mergetag_sources::{
    ColumnMap, ColumnType, CsvSource, InvalidValues, JsonLinesBuilder, OnBadRow, conformance,
};
use proptest::prelude::*;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(file)
}

fn salesforce_map() -> ColumnMap {
    ColumnMap::salesforce_contacts()
        .with_column("Loyalty_Tier__c", fields::LOYALTY_TIER)
        .with_typed_column(
            "Customer_Lifetime_Value__c",
            fields::CUSTOMER_LIFETIME_VALUE,
            ColumnType::Float,
        )
        .with_column("Preferred_Channel__c", fields::PREFERRED_CHANNEL)
}

// ---------------------------------------------------------------- sample data

#[test]
fn salesforce_sample_conforms_and_quarantines_the_two_bad_rows() {
    let open = || {
        CsvSource::builder()
            .column_map(salesforce_map())
            .on_bad_row(OnBadRow::Quarantine)
            .from_path("salesforce", data("salesforce_contacts.csv"))
            .unwrap()
    };
    let summary = conformance::check(open).unwrap();
    assert_eq!(summary.records, 198);
    assert!(summary.errors.is_empty());
    let lines: Vec<_> = summary.rejects.iter().map(|r| r.position.line).collect();
    assert_eq!(lines, [Some(72), Some(127)]);
    assert_eq!(
        summary.rejects[0].error,
        SourceErrorKind::RaggedRow {
            expected: 22,
            found: 10
        }
    );
    assert_eq!(
        summary.rejects[1].error,
        SourceErrorKind::RaggedRow {
            expected: 22,
            found: 23
        }
    );
    assert!(
        summary.rejects[1]
            .raw
            .contains("2851 S. Willow Dr., Ste 700")
    );
    // in = accepted + quarantined
    let mut source = open();
    let n = source.records().count();
    assert_eq!(n as u64 + 2, source.rows_read());
    assert_eq!(source.rows_read(), 200);
    // Every key is the Salesforce Id.
    assert!(
        summary
            .ids
            .iter()
            .all(|id| matches!(&id.key, RecordKey::Id(k) if k.starts_with("003") && k.len() == 18))
    );
}

#[test]
fn salesforce_sample_values_are_typed() {
    let mut source = CsvSource::builder()
        .column_map(salesforce_map())
        .on_bad_row(OnBadRow::Quarantine)
        .from_path("salesforce", data("salesforce_contacts.csv"))
        .unwrap();
    // The BOM is gone from the first column name, so `Id` is the key.
    assert_eq!(source.columns()[0], "Id");
    let records: Vec<Record> = source.records().collect::<Result<_, _>>().unwrap();
    for r in &records {
        assert!(r.observed_at.is_some(), "{}", r.id);
        let created = r
            .get(fields::CREATED_AT)
            .and_then(Value::as_datetime)
            .unwrap();
        assert!(r.observed_at.unwrap() >= created);
        assert!(matches!(
            r.get(fields::EMAIL_OPT_OUT),
            Some(Value::Bool(_)) | Some(Value::Null)
        ));
        assert!(matches!(
            r.get(fields::CUSTOMER_LIFETIME_VALUE),
            Some(Value::Float(_)) | Some(Value::Null)
        ));
    }
    assert!(
        records
            .iter()
            .any(|r| r.get(fields::EMAIL_OPT_OUT) == Some(&Value::Bool(true)))
    );
    // Multi-line quoted streets survive.
    assert!(
        records
            .iter()
            .any(|r| r.text(fields::STREET).is_some_and(|s| s.contains('\n')))
    );
}

#[test]
fn hubspot_sample_reports_the_latin1_row_by_line_and_column() {
    let open = || {
        CsvSource::builder()
            .column_map(ColumnMap::hubspot_contacts())
            .from_path("hubspot", data("hubspot_contacts.csv"))
            .unwrap()
    };
    let summary = conformance::check(open).unwrap();
    assert_eq!(summary.records, 198);
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(summary.errors[0].position.line, Some(180));
    assert_eq!(summary.errors[0].kind, SourceErrorKind::InvalidUtf8);
    let err = open().records().find_map(Result::err).unwrap();
    assert_eq!(err.field().unwrap(), "firstname");
    assert!(
        err.to_string()
            .starts_with("hubspot: line 180, field `firstname`: invalid UTF-8")
    );
    let r = open().records().next().unwrap().unwrap();
    assert!(matches!(
        r.get(fields::UPDATED_AT),
        Some(Value::DateTime(_))
    ));
    assert_eq!(
        r.observed_at,
        r.get(fields::UPDATED_AT).and_then(Value::as_datetime)
    );
}

#[test]
fn enrichment_sample_keeps_every_column() {
    let map = ColumnMap::new()
        .with_key("email")
        .with_column("employee_count", "employee_count");
    let mut source = CsvSource::builder()
        .column_map(map)
        .from_path("enrichment", data("enrichment.csv"))
        .unwrap();
    let records: Vec<Record> = source.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 151);
    assert!(
        records.iter().all(|r| r.len() == 8),
        "every non-key column is kept"
    );
}

#[test]
fn events_sample() {
    let builder = {
        let mut b = JsonLinesBuilder::new();
        b.on_bad_row(OnBadRow::Quarantine);
        b
    };
    let mut events = builder
        .events_from_path("events", data("events.jsonl"))
        .unwrap();
    let all: Vec<_> = events.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 1530);
    let mut rejects = Vec::new();
    events.drain_rejects(&mut rejects);
    let lines: Vec<_> = rejects.iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, [307, 768, 1228]);
    assert!(rejects.iter().all(|r| r.error.code() == "syntax"));
    assert!(all.iter().any(|e| e.property("products.0.name").is_some()));
    assert!(
        all.iter()
            .any(|e| e.property("sg_machine_open") == Some(&Value::Bool(true)))
    );
    assert!(all.iter().any(|e| e.email.is_some()));
    // Identify calls as records, through the Segment preset (camelCase and snake_case).
    let open = || {
        builder
            .identifies_from_path("segment", data("events.jsonl"))
            .unwrap()
    };
    let summary = conformance::check(open).unwrap();
    assert!(summary.records > 0);
    let mut source = open();
    let records: Vec<Record> = source.records().collect::<Result<_, _>>().unwrap();
    assert!(records.iter().all(|r| r.observed_at.is_some()));
    assert!(
        records
            .iter()
            .any(|r| r.text(fields::POSTAL_CODE).is_some())
    );
    assert!(
        records
            .iter()
            .filter(|r| r.text(fields::FIRST_NAME).is_some())
            .count()
            > records.len() / 2
    );
    assert_eq!(records.len() as u64 + source.skipped(), 1530);
    assert!(
        records
            .iter()
            .all(|r| r.text(fields::USER_ID).is_some() || r.text(fields::ANONYMOUS_ID).is_some())
    );
}

// ---------------------------------------------------------------- positions and bad rows

#[test]
fn positions_count_physical_lines() {
    // BOM, CRLF, a blank line, a multi-line quoted field, then a ragged row.
    let data = "\u{feff}a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n4\r\n5,6\r\n";
    let open = || {
        CsvSource::builder()
            .from_reader("t", data.as_bytes())
            .unwrap()
    };
    let summary = conformance::check(open).unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(summary.errors.len(), 1);
    let p = summary.errors[0].position;
    assert_eq!((p.line, p.record), (Some(6), Some(3)));
    let mut s = open();
    let first = s.records().next().unwrap().unwrap();
    assert_eq!(first.text("a"), Some("1"));
}

#[test]
fn flexible_rows_fill_missing_cells_with_null() {
    let data = "a,b,c\n1,2\n1,2,3,4\n";
    let mut s = CsvSource::builder()
        .flexible(true)
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("t", data.as_bytes())
        .unwrap();
    let records: Vec<_> = s.records().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].get("c"),
        Some(&Value::Null),
        "missing trailing cells are null"
    );
    let mut rejects = Vec::new();
    s.drain_rejects(&mut rejects);
    assert_eq!(rejects.len(), 1, "extra cells are never accepted");
    assert_eq!(rejects[0].raw, "1,2,3,4");
}

#[test]
fn unterminated_quote_is_a_syntax_error() {
    let data = "a,b\n1,2\n3,\"Smith Jr\n4,5\n";
    let mut s = CsvSource::builder()
        .from_reader("t", data.as_bytes())
        .unwrap();
    let items: Vec<_> = s.records().collect();
    assert_eq!(items.len(), 3, "the row after the bad line is read");
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.position().line, Some(3));
    assert!(matches!(err.kind(), SourceErrorKind::Syntax { .. }));
    assert!(err.is_recoverable());
    assert!(err.to_string().contains("unterminated quote"), "{err}");
    assert!(
        err.to_string()
            .contains("an unclosed quote opened at line 3 ran to the end of the file (2 lines)"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("Smith"),
        "no values in messages: {err}"
    );
    assert_eq!(items[2].as_ref().unwrap().text("a"), Some("4"));
}

/// A 55-row export whose row 3 opens a quote that never closes: the bad line is one rejected
/// row and the 54 others are read, so every data row is accounted for.
#[test]
fn an_unclosed_quote_loses_no_later_rows() {
    let mut data = String::from("id,name,note\n");
    for i in 1..=55 {
        match i {
            // A legitimate quoted field over two lines, before the bad one.
            2 => data.push_str("2,Bo,\"one\ntwo\"\n"),
            3 => data.push_str("3,\"Ann,oops\n"),
            _ => data.push_str(&format!("{i},N{i},x\n")),
        }
    }
    let open = || {
        CsvSource::builder()
            .column_map(ColumnMap::new().with_key("id"))
            .on_bad_row(OnBadRow::Quarantine)
            .from_reader("export", data.as_bytes())
            .unwrap()
    };
    let mut s = open();
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    let mut rejects = Vec::new();
    s.drain_rejects(&mut rejects);
    assert_eq!(records.len(), 54);
    assert_eq!(rejects.len(), 1);
    assert_eq!(s.rows_read(), 55, "rows in = records + rejected rows");
    let r = &rejects[0];
    assert_eq!(r.position.line, Some(5));
    assert_eq!(r.position.record, Some(3));
    assert_eq!(r.raw, "3,\"Ann,oops");
    let message = r.to_error().to_string();
    assert!(
        message
            .contains("an unclosed quote opened at line 5 ran to the end of the file (53 lines)"),
        "{message}"
    );
    assert!(!message.contains("Ann"), "{message}");
    let keys: Vec<String> = records.iter().map(|r| r.id.key.to_string()).collect();
    assert_eq!(keys[2], "4");
    assert_eq!(keys[53], "55");
    assert_eq!(records[1].text("note"), Some("one\ntwo"));
    // Rows after the bad one keep their positions.
    let mut s = open();
    let mut record = Record::default();
    let mut last = None;
    while s.read_record(&mut record).unwrap() {
        last = Some(record.id.key.to_string());
    }
    assert_eq!(last.as_deref(), Some("55"));

    // Under `Fail` the bad row is a recoverable error, and reading goes on after it.
    let mut s = CsvSource::builder()
        .from_reader("export", data.as_bytes())
        .unwrap();
    let items: Vec<_> = s.records().collect();
    assert_eq!(items.len(), 55);
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
}

#[test]
fn an_unclosed_quote_after_a_multiline_field_leaves_out_line_by_line() {
    // The row starting at line 2 has a quoted field over two lines, then opens a quote on line
    // 3 that never closes. Which quote is stray cannot be told: line 2 is one bad row, line 3
    // (read again on its own, and still unclosed) another, and line 4 is read.
    let data = "a,b,c\n1,\"x\ny\",\"z\n2,3,4\n";
    let mut s = CsvSource::builder()
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("t", data.as_bytes())
        .unwrap();
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    let mut rejects = Vec::new();
    s.drain_rejects(&mut rejects);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].text("a"), Some("2"));
    let found: Vec<_> = rejects
        .iter()
        .map(|r| (r.position.line, r.raw.as_str()))
        .collect();
    assert_eq!(found, [(Some(2), "1,\"x"), (Some(3), "y\",\"z")]);
    let message = rejects[0].to_error().to_string();
    assert!(message.contains("opened at line 2"), "{message}");
    assert!(message.contains("(3 lines)"), "{message}");
    assert_eq!(s.rows_read(), 3, "rows in = records + rejected rows");
}

/// A stray quote that pairs with the opening quote of a later quoted field makes one row of
/// several lines, too many fields: the bad row says which lines it took.
#[test]
fn a_row_swallowing_lines_through_a_stray_quote_says_so() {
    let data = "id,name,note\n1,A,x\n2,\"B,x\n3,C,x\n4,D,\"two\nlines\"\n5,E,x\n";
    let mut s = CsvSource::builder()
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("t", data.as_bytes())
        .unwrap();
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    let mut rejects = Vec::new();
    s.drain_rejects(&mut rejects);
    // Lines 3 to 5 are one row of two fields; line 6, `lines"`, one of one field.
    assert_eq!(rejects.len(), 2);
    let message = rejects[0].to_error().to_string();
    assert_eq!(rejects[0].error.code(), "syntax");
    assert!(message.contains("line 3: "), "{message}");
    assert!(
        message.contains("spans lines 3 to 5 (3 lines)"),
        "{message}"
    );
    assert!(
        message.contains("2 fields but the header has 3"),
        "{message}"
    );
    assert_eq!(rejects[1].error.code(), "ragged_row");
    assert_eq!(records.len(), 2);
    assert_eq!(records.len() as u64 + 2, s.rows_read());
    // A legitimate row over several lines with a field too many stays a ragged row.
    let data = "a,b\n1,\"x\ny\",extra\n";
    let mut s = CsvSource::builder()
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("t", data.as_bytes())
        .unwrap();
    assert_eq!(s.records().count(), 0);
    s.drain_rejects(&mut rejects);
    assert!(
        rejects[2]
            .to_error()
            .to_string()
            .contains("spans lines 2 to 3 (2 lines)")
    );
}

#[test]
fn an_unclosed_quote_in_the_header_is_refused() {
    let err = CsvSource::builder()
        .from_reader("t", "a,\"b\n1,2\n3,4\n".as_bytes())
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("an unclosed quote opened at line 1 ran to the end of the file (3 lines)"),
        "{message}"
    );
}

#[test]
fn a_character_split_across_two_fields_is_invalid_utf8() {
    // `é` is C3 A9; here C3 ends one field and A9 starts the next. Back to back the bytes are
    // valid UTF-8, but neither field is.
    let data = b"a,b\n1\xC3,\xA9x\nok,fine\n";
    let mut s = CsvSource::builder().from_reader("t", &data[..]).unwrap();
    let items: Vec<_> = s.records().collect();
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), &SourceErrorKind::InvalidUtf8);
    assert_eq!(err.field().unwrap(), "a");
    assert_eq!(err.position().line, Some(2));
    assert_eq!(items[1].as_ref().unwrap().text("b"), Some("fine"));
}

#[test]
fn utf16_is_refused_with_a_fix() {
    let data = b"\xff\xfea\x00,\x00b\x00\n\x00";
    let err = CsvSource::builder()
        .from_reader("t", &data[..])
        .unwrap_err();
    assert!(err.to_string().contains("UTF-16"), "{err}");
}

#[test]
fn utf16_without_a_byte_order_mark_is_refused_too() {
    let text = "id,email\n1,a@example.com\n2,b@example.com\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (name, data) in [("le", le), ("be", be)] {
        let err = CsvSource::builder()
            .from_reader("t", &data[..])
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("UTF-16"), "{name}: {message}");
        assert!(message.contains("iconv"), "{name}: {message}");
        assert!(message.contains("line 1"), "{name}: {message}");
    }
    // A few NUL bytes in UTF-8 text are not UTF-16.
    let data = b"id,note\n1,a\x00b\n2,ok\n";
    assert!(CsvSource::builder().from_reader("t", &data[..]).is_ok());
}

#[test]
fn header_conflicts_are_explained() {
    let err = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .from_reader("t", "email,Email\n".as_bytes())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("line 1") && msg.contains("both become field `email`"),
        "{msg}"
    );
}

#[test]
fn invalid_values_are_bad_rows_or_kept_as_text() {
    let data = "Id,HasOptedOutOfEmail\n1,sometimes\n2,true\n";
    let map = ColumnMap::salesforce_contacts();
    let mut s = CsvSource::builder()
        .column_map(map.clone())
        .from_reader("sf", data.as_bytes())
        .unwrap();
    let items: Vec<_> = s.records().collect();
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.field().unwrap(), "HasOptedOutOfEmail");
    assert_eq!(
        err.kind(),
        &SourceErrorKind::InvalidValue {
            expected: "bool".into()
        }
    );
    assert!(
        !err.to_string().contains("sometimes"),
        "values are never printed"
    );
    assert_eq!(
        items[1].as_ref().unwrap().get(fields::EMAIL_OPT_OUT),
        Some(&Value::Bool(true))
    );

    let mut s = CsvSource::builder()
        .column_map(map.invalid_values(InvalidValues::KeepText))
        .from_reader("sf", data.as_bytes())
        .unwrap();
    let r = s.records().next().unwrap().unwrap();
    assert_eq!(r.text(fields::EMAIL_OPT_OUT), Some("sometimes"));
}

#[test]
fn error_messages_do_not_print_personal_values() {
    let data = "email,n\nsecret.person@example.com,1,2\n";
    let err = CsvSource::builder()
        .from_reader("t", data.as_bytes())
        .unwrap()
        .records()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret.person"));
    let err = JsonLinesBuilder::new()
        .records("j", r#"{"email": "secret.person@example.com""#.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(!format!("{err}").contains("secret.person"), "{err}");
}

#[test]
fn missing_key_falls_back_to_row_number() {
    let data = "Id,FirstName\n,Ada\n0032,Bob\n";
    let mut s = CsvSource::builder()
        .column_map(ColumnMap::salesforce_contacts())
        .from_reader("sf", data.as_bytes())
        .unwrap();
    let ids: Vec<String> = s.records().map(|r| r.unwrap().id.to_string()).collect();
    assert_eq!(ids, ["sf:#1", "sf:0032"]);
}

#[test]
fn semicolons_and_no_header() {
    let data = "1;Ada\n2;\"Bob; Jr\"\n";
    let map = ColumnMap::new()
        .with_key("column_1")
        .with_column("column_2", fields::FIRST_NAME);
    let mut s = CsvSource::builder()
        .delimiter(b';')
        .has_headers(false)
        .column_map(map)
        .from_reader("t", data.as_bytes())
        .unwrap();
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records[1].text(fields::FIRST_NAME), Some("Bob; Jr"));
    assert_eq!(records[1].id.to_string(), "t:2");
}

#[test]
fn jsonl_bad_lines_and_limits() {
    let data = "{\"a\":1}\n\n[1]\n{\"a\":\n   \n{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"a\":2}";
    let open = || {
        JsonLinesBuilder::new()
            .max_line_bytes(32)
            .records("j", data.as_bytes())
    };
    let summary = conformance::check(open).unwrap();
    assert_eq!(summary.records, 2);
    let lines: Vec<_> = summary
        .errors
        .iter()
        .map(|e| e.position.line.unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 6]);
    assert!(
        matches!(&summary.errors[0].kind, SourceErrorKind::Syntax { message } if message.contains("an array"))
    );
    assert!(
        matches!(&summary.errors[2].kind, SourceErrorKind::Syntax { message } if message.contains("longer than 32"))
    );
}

#[test]
fn jsonl_conflicting_spellings_are_refused() {
    let data = r#"{"traits": {"firstName": "Ada", "first_name": "Bob"}}
{"traits": {"firstName": "Ada", "first_name": "Ada"}}"#;
    let map = ColumnMap::new().with_column("traits.firstName", fields::FIRST_NAME);
    let mut s = JsonLinesBuilder::new()
        .column_map(map)
        .records("j", data.as_bytes());
    let items: Vec<_> = s.records().collect();
    assert!(items[0].is_err());
    assert_eq!(
        items[1].as_ref().unwrap().text(fields::FIRST_NAME),
        Some("Ada")
    );
}

#[test]
fn events_require_type_time_and_track_name() {
    let data = r#"{"timestamp":"2026-01-01T00:00:00Z"}
{"type":"track","timestamp":"2026-01-01T00:00:00Z"}
{"type":"track","event":"X"}
{"type":"shout","timestamp":"2026-01-01T00:00:00Z"}
{"type":"page","timestamp":1767225600000,"userId":42,"context":{"traits":{"email":"a@example.com"}}}"#;
    let items: Vec<_> = JsonLinesBuilder::new()
        .events("e", data.as_bytes())
        .collect();
    let fields: Vec<_> = items[..4]
        .iter()
        .map(|i| i.as_ref().unwrap_err().field().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["type", "event", "timestamp", "type"]);
    let page = items[4].as_ref().unwrap();
    assert_eq!(page.user_id.as_deref(), Some("42"));
    assert_eq!(page.email.as_deref(), Some("a@example.com"));
    assert_eq!(page.timestamp.to_rfc3339(), "2026-01-01T00:00:00+00:00");
}

#[test]
fn boxed_and_dyn_sources_read_the_same() {
    let data = "a\n1\n2\n";
    let mut boxed: Box<dyn Source> = Box::new(
        CsvSource::builder()
            .from_reader("t", data.as_bytes())
            .unwrap(),
    );
    let n = boxed.records().count();
    assert_eq!(n, 2);
}

// ---------------------------------------------------------------- properties

fn cell() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9 ]{0,12}", "[\"',;\r\n\t a-z]{0,8}", "\\PC{0,10}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the csv crate writes, our reader reads back: every cell, in order, with empty
    /// cells as null.
    #[test]
    fn csv_writer_then_reader_round_trips(rows in prop::collection::vec(prop::collection::vec(cell(), 3), 0..20)) {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(["a", "b", "c"]).unwrap();
        for r in &rows {
            w.write_record(r).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let mut s = CsvSource::builder().from_reader("t", &bytes[..]).unwrap();
        let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
        // A row of three empty cells is written as an empty-looking line `"",,` or `,,`; none is lost.
        prop_assert_eq!(records.len(), rows.len());
        for (r, want) in records.iter().zip(&rows) {
            for (name, cell) in ["a", "b", "c"].iter().zip(want) {
                let got = r.get(name).cloned().unwrap_or(Value::Null);
                let expected = if cell.is_empty() { Value::Null } else { Value::Text(cell.clone()) };
                prop_assert_eq!(got, expected);
            }
            prop_assert_eq!(&r.id.key, &RecordKey::Row(records.iter().position(|x| std::ptr::eq(x, r)).unwrap() as u64 + 1));
        }
    }

    /// Any bytes: no panic, and every row ends up a record or a reject.
    #[test]
    fn any_bytes_are_accounted_for(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(mut s) = CsvSource::builder().on_bad_row(OnBadRow::Quarantine).from_reader("t", &bytes[..]) {
            let ok = s.records().filter(Result::is_ok).count() as u64;
            let mut rejects = Vec::new();
            s.drain_rejects(&mut rejects);
            prop_assert_eq!(ok + rejects.len() as u64, s.rows_read());
        }
        let mut j = JsonLinesBuilder::new();
        j.on_bad_row(OnBadRow::Quarantine);
        let _ = j.records("j", &bytes[..]).records().count();
        let _ = j.events("e", &bytes[..]).count();
    }
}

#[test]
fn iterator_sources_conform() {
    use mergetag_model::{IterSource, RecordId};
    let open = || {
        IterSource::new(
            "memory",
            (1..=5u64).map(|i| {
                if i == 3 {
                    return Err(std::io::Error::other("upstream timeout"));
                }
                let mut r = Record::new(RecordId::row("memory", i));
                r.set(fields::EMAIL, format!("user{i}@example.com"));
                Ok(r)
            }),
        )
    };
    let summary = conformance::check(open).unwrap();
    assert_eq!(summary.records, 4);
    assert_eq!(summary.errors[0].position.record, Some(3));
}

#[test]
fn crm_presets_read_label_headers() {
    // Microsoft Dynamics, with the labels its Excel export writes.
    let dynamics = "(Do Not Modify) Contact,First Name,Last Name,E-mail,Address 1: City,Do not allow Bulk Emails,Modified On\n\
                    7f1c,Ada,Lovelace,ada@example.com,London,1,2026-01-02 03:04:05\n";
    let mut s = CsvSource::builder()
        .column_map(ColumnMap::dynamics_contacts())
        .from_reader("dynamics", dynamics.as_bytes())
        .unwrap();
    let r = s.records().next().unwrap().unwrap();
    assert_eq!(r.id.to_string(), "dynamics:7f1c");
    assert_eq!(r.text(fields::CITY), Some("London"));
    assert_eq!(r.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(true)));
    assert_eq!(
        r.observed_at.unwrap().to_rfc3339(),
        "2026-01-02T03:04:05+00:00"
    );

    // Salesforce leads, with labels.
    let leads = "Lead ID,First Name,Company,Lead Status,Email Opt Out\n00Q1,Bo,Acme,Open,false\n";
    let mut s = CsvSource::builder()
        .column_map(ColumnMap::salesforce_leads())
        .from_reader("leads", leads.as_bytes())
        .unwrap();
    let r = s.records().next().unwrap().unwrap();
    assert_eq!(r.id.to_string(), "leads:00Q1");
    assert_eq!(r.text(fields::COMPANY), Some("Acme"));
    assert_eq!(r.text(fields::LIFECYCLE_STAGE), Some("Open"));
}

#[test]
fn column_map_files_load_by_extension() {
    let dir = std::env::temp_dir().join(format!("mergetag-sources-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("map.toml");
    std::fs::write(
        &toml,
        "preset = \"hubspot_contacts\"\n[columns]\nfav = \"favorite_store\"\n",
    )
    .unwrap();
    let json = dir.join("map.json");
    std::fs::write(
        &json,
        r#"{"preset": "hubspot_contacts", "columns": {"fav": "favorite_store"}}"#,
    )
    .unwrap();
    assert_eq!(
        ColumnMap::from_path(&toml).unwrap(),
        ColumnMap::from_path(&json).unwrap()
    );
    let yaml = dir.join("map.yaml");
    std::fs::write(&yaml, "x").unwrap();
    assert!(
        ColumnMap::from_path(&yaml)
            .unwrap_err()
            .to_string()
            .contains(".toml or .json")
    );
    let missing = ColumnMap::from_path(dir.join("nope.toml")).unwrap_err();
    assert!(missing.to_string().starts_with("cannot read"), "{missing}");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[columns]\nx = 5\n").unwrap();
    let err = ColumnMap::from_path(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.toml: line 2"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
