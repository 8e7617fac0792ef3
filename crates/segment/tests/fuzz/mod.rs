//! What the segment fuzz targets in `fuzz/fuzz_targets/` run, shared with the replay in
//! `tests/segment.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//!
//! - `segment_table`: any bytes as a FEATURES.csv table; a table that reads must have one
//!   finite row per id, and cluster (K-Means, DBSCAN, silhouette, eps suggestion) without a
//!   panic, every row labelled once.
//! - `segment_config`: any text, as TOML and as JSON, through the segmentation configuration
//!   and the model loader; a configuration that loads must build and fit a few profiles (or
//!   say why not), and its model must round-trip through JSON; a model that loads must assign
//!   profiles.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mergetag_model::{Event, Profile, ProfileId, RecordId, Value};
use mergetag_segment::{
    Dbscan, FeatureTable, KMeans, Matrix, NOISE, ProfileInput, SegmentConfig, SegmentModel,
    silhouette, suggest_eps,
};

/// Reads arbitrary bytes as a feature table; clusters the tables that read.
pub fn segment_table(data: &[u8]) {
    let Ok(t) = FeatureTable::from_reader(data, "fuzz.csv") else {
        return;
    };
    assert_eq!(t.ids.len(), t.matrix.rows());
    assert_eq!(t.columns.len(), t.matrix.cols());
    assert!(t.matrix.as_slice().iter().all(|v| v.is_finite()));
    let n = t.matrix.rows().min(500);
    let x: Matrix = t.matrix.select(&(0..n).collect::<Vec<_>>());
    if n == 0 {
        return;
    }
    let fit = KMeans::new(n.min(3))
        .n_init(2)
        .fit(&x)
        .expect("k <= n fits");
    assert_eq!(fit.labels.len(), n);
    assert!(fit.inertia.is_finite() || fit.inertia.is_infinite());
    let d = Dbscan::new(1.0, 2).fit(&x).expect("valid parameters");
    assert_eq!(d.labels.len(), n);
    assert!(
        d.labels
            .iter()
            .all(|&l| l == NOISE || (l as usize) < d.clusters)
    );
    let labels: Vec<i64> = fit.labels.iter().map(|&l| i64::from(l)).collect();
    let _ = silhouette(&x, &labels, 200, 0);
    let _ = suggest_eps(&x, 3, 200, 0);
}

fn now() -> DateTime<Utc> {
    "2026-11-21T00:00:00Z".parse().expect("a valid time")
}

struct Fixture {
    profiles: Vec<Profile>,
    events: Vec<Vec<Event>>,
    traits: Vec<BTreeMap<String, Value>>,
}

fn fixture() -> Fixture {
    let mut f = Fixture {
        profiles: Vec::new(),
        events: Vec::new(),
        traits: Vec::new(),
    };
    for i in 0..8u64 {
        let mut p = Profile::new(ProfileId(i), vec![RecordId::row("fuzz", i)]);
        p.set(
            "region",
            Value::from(["CA", "NY"][i as usize % 2]),
            RecordId::row("fuzz", i),
            None,
        );
        p.set(
            "score",
            Value::Int(i as i64),
            RecordId::row("fuzz", i),
            None,
        );
        f.profiles.push(p);
        f.events.push(
            (0..i % 3)
                .map(|k| {
                    Event::track(
                        "Order Completed",
                        now() - Duration::days((i * 30 + k) as i64),
                    )
                    .with_property("total", 10.0 * i as f64)
                    .with_property("category", ["a", "b"][k as usize % 2])
                })
                .collect(),
        );
        let mut t = BTreeMap::new();
        t.insert("engagement_score".to_owned(), Value::float(i as f64 / 2.0));
        f.traits.push(t);
    }
    f
}

fn inputs(f: &Fixture) -> (Vec<Vec<&Event>>, usize) {
    (
        f.events.iter().map(|e| e.iter().collect()).collect(),
        f.profiles.len(),
    )
}

/// Loads configurations and models from arbitrary text; fits and assigns with the ones that
/// load.
pub fn segment_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let f = fixture();
    let (refs, n) = inputs(&f);
    let ins: Vec<ProfileInput<'_>> = (0..n)
        .map(|i| ProfileInput {
            profile: &f.profiles[i],
            events: &refs[i],
            traits: &f.traits[i],
        })
        .collect();
    for mut config in [
        SegmentConfig::from_toml_str(&text),
        SegmentConfig::from_json_str(&text),
    ]
    .into_iter()
    .flatten()
    {
        // Keep the run small whatever the input asked for.
        config.n_init = config.n_init.min(3);
        config.model = None;
        config.mode = mergetag_segment::Mode::Retrain;
        let s = config.build().expect("a configuration that loads builds");
        if let Ok(fitted) = s.fit(&ins, now(), None) {
            assert_eq!(fitted.assignments.len(), n);
            let json = fitted.model.to_json();
            let back = SegmentModel::from_json_str(&json, "model.json")
                .expect("a fitted model loads back");
            for (inp, a) in ins.iter().zip(&fitted.assignments) {
                assert_eq!(back.assign(inp, now()).segment, a.segment);
            }
            let _ = s.fit(&ins, now(), Some(&back));
        }
    }
    if let Ok(model) = SegmentModel::from_json_str(&text, "fuzz.json") {
        for inp in &ins {
            let _ = model.assign(inp, now());
        }
        let _ = model.summary();
    }
}
