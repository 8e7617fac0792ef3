//! Property tests of the model: serde round trips and record invariants.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use mergetag_model::{
    Event, EventKind, FieldName, Profile, ProfileId, Record, RecordId, RecordKey, Value, fields,
};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Finite floats only: a non-finite float has no JSON form (see `Value::float`).
        (-1e15f64..1e15).prop_map(Value::Float),
        "\\PC{0,16}".prop_map(Value::Text),
        (-100_000i32..100_000).prop_map(|d| {
            Value::Date(NaiveDate::from_num_days_from_ce_opt(700_000 + d).unwrap())
        }),
        (0i64..4_000_000_000_000)
            .prop_map(|ms| Value::DateTime(DateTime::from_timestamp_millis(ms).unwrap())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4).prop_map(Value::Object),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            fields::ALL
                .iter()
                .map(|s| s.name.to_string())
                .collect::<Vec<_>>()
        ),
        "\\PC{1,12}",
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        "[a-z]{1,8}",
        prop_oneof![
            any::<u64>().prop_map(RecordKey::Row),
            "\\PC{0,12}".prop_map(RecordKey::Id)
        ],
        prop::option::of(0i64..4_000_000_000),
        prop::collection::vec((name(), value()), 0..12),
    )
        .prop_map(|(source, key, at, fields)| {
            let mut r = Record::new(RecordId::new(source.as_str(), key));
            r.observed_at = at.and_then(|s| DateTime::from_timestamp(s, 0));
            for (n, v) in fields {
                r.set(n.as_str(), v);
            }
            r
        })
}

proptest! {
    #[test]
    fn records_round_trip_through_json(r in record()) {
        let json = serde_json::to_string(&r).unwrap();
        let back: Record = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn values_round_trip_and_display_never_panics(v in value()) {
        let json = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v.clone());
        let _ = v.to_string();
        let _ = v.pointer("a.0.b");
    }

    /// Setting every field of a record, then clearing and refilling it, gives the same record as
    /// filling a new one: buffer reuse never leaks a value.
    #[test]
    fn reused_records_equal_fresh_ones(a in record(), b in record()) {
        let mut reused = a.clone();
        reused.clear();
        reused.id = b.id.clone();
        reused.observed_at = b.observed_at;
        for f in b.iter() {
            match &f.value {
                Value::Text(t) => reused.set_text(f.name.clone(), t),
                v => { reused.set(f.name.clone(), v.clone()); }
            }
        }
        prop_assert_eq!(reused, b);
    }

    /// Refilling one record row after row gives the same records as filling a new one each
    /// time, whatever the fields each row has.
    #[test]
    fn refill_equals_fresh_records(rows in prop::collection::vec(
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c", "email", "city"]), value(), 0..5),
        1..8,
    )) {
        let mut reused = Record::default();
        for row in &rows {
            {
                let mut w = reused.refill();
                for (name, v) in row {
                    let name = FieldName::new(name);
                    match v {
                        Value::Text(t) => w.text(&name, t),
                        v => w.value(&name, v.clone()),
                    }
                }
            }
            let mut fresh = Record::default();
            for (name, v) in row {
                fresh.set(*name, v.clone());
            }
            prop_assert_eq!(&reused, &fresh);
        }
    }

    #[test]
    fn field_names_compare_by_text(a in name(), b in name()) {
        let (fa, fb) = (FieldName::new(&a), FieldName::from(b.clone()));
        prop_assert_eq!(fa == fb, a == b);
        prop_assert_eq!(fa.cmp(&fb), a.cmp(&b));
    }

    #[test]
    fn events_and_profiles_round_trip(props in prop::collection::btree_map("[a-z]{1,6}", value(), 0..5), n in 0u64..1000) {
        let mut e = Event::new(EventKind::Track, DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        e.name = Some("Order Completed".into());
        e.properties = props.clone();
        e.traits = BTreeMap::new();
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);

        let id = RecordId::row("s", n);
        let mut p = Profile::new(ProfileId(n), vec![id.clone()]);
        for (k, v) in props {
            p.set(k.as_str(), v, id.clone(), None);
        }
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), p);
    }
}
