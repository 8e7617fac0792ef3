//! The segmentation end to end: properties of the clusterings (every point in exactly one
//! cluster or noise, deterministic for a seed, independent of row order and thread count),
//! models that round-trip through JSON and assign as they were fitted, ids kept across
//! retraining.

mod fuzz;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mergetag_model::{Event, Profile, ProfileId, RecordId, Value};
use mergetag_segment::{
    Dbscan, KMeans, Matrix, NOISE, ProfileInput, SegmentChange, SegmentConfig, SegmentModel,
    UNCLUSTERED, adjusted_rand_index,
};
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    "2026-11-21T00:00:00Z".parse().unwrap()
}

/// Three kinds of customers: recent footwear regulars, lapsed one-timers, big fitness baskets.
struct People {
    profiles: Vec<Profile>,
    events: Vec<Vec<Event>>,
    traits: Vec<BTreeMap<String, Value>>,
}

fn order(days_ago: i64, total: f64, category: &str) -> Event {
    let mut product = BTreeMap::new();
    product.insert("category".to_owned(), Value::from(category));
    Event::track("Order Completed", now() - Duration::days(days_ago))
        .with_property("total", total)
        .with_property("products", Value::List(vec![Value::Object(product)]))
}

fn people(n_per_kind: usize, seed: u64) -> People {
    let mut p = People {
        profiles: Vec::new(),
        events: Vec::new(),
        traits: Vec::new(),
    };
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i64 % 10
    };
    for kind in 0..3 {
        for i in 0..n_per_kind {
            let id = p.profiles.len() as u64;
            p.profiles.push(Profile::new(
                ProfileId(id),
                vec![RecordId::row("crm", id + 1)],
            ));
            let jitter = next();
            let events = match kind {
                0 => (0..6 + jitter % 3)
                    .map(|k| order(5 + k * 7 + jitter, 60.0 + jitter as f64, "Footwear"))
                    .collect(),
                1 => vec![order(400 + jitter * 10, 30.0 + jitter as f64, "Apparel")],
                _ => (0..2)
                    .map(|k| {
                        order(
                            60 + k * 30 + jitter,
                            500.0 + 10.0 * jitter as f64,
                            "Fitness",
                        )
                    })
                    .collect(),
            };
            p.events.push(events);
            let mut t = BTreeMap::new();
            t.insert(
                "engagement_score".to_owned(),
                Value::float([8.0, 0.5, 3.0][kind] + (i % 3) as f64 * 0.1),
            );
            p.traits.push(t);
        }
    }
    p
}

fn with_inputs<R>(p: &People, f: impl FnOnce(&[ProfileInput<'_>]) -> R) -> R {
    let refs: Vec<Vec<&Event>> = p.events.iter().map(|e| e.iter().collect()).collect();
    let inputs: Vec<ProfileInput<'_>> = (0..p.profiles.len())
        .map(|i| ProfileInput {
            profile: &p.profiles[i],
            events: &refs[i],
            traits: &p.traits[i],
        })
        .collect();
    f(&inputs)
}

const CONFIG: &str = r#"
    k = 3
    seed = 5
    names = { 1 = "first" }
    [[features]]
    kind = "recency"
    [[features]]
    kind = "frequency"
    [[features]]
    kind = "monetary_total"
    [[features]]
    kind = "engagement"
    [[features]]
    kind = "purchase_categories"
    top = 3
"#;

#[test]
fn segments_are_found_described_and_named() {
    let p = people(40, 1);
    let segmenter = SegmentConfig::from_toml_str(CONFIG)
        .unwrap()
        .build()
        .unwrap();
    let fitted = with_inputs(&p, |inputs| segmenter.fit(inputs, now(), None)).unwrap();
    let m = &fitted.model;
    assert_eq!(m.segments.len(), 3);
    assert_eq!(m.segments.iter().map(|s| s.size).sum::<usize>(), 120);
    // The three kinds, exactly.
    let truth: Vec<i64> = (0..120).map(|i| i / 40).collect();
    let got: Vec<i64> = fitted
        .assignments
        .iter()
        .map(|a| i64::from(a.segment))
        .collect();
    assert_eq!(adjusted_rand_index(&truth, &got), Some(1.0));
    assert_eq!(m.segments[0].name, "first");
    assert_eq!(m.segments[1].name, "segment 2");
    // Descriptions say what sets a segment apart, in the features' units.
    let footwear = m
        .segments
        .iter()
        .find(|s| s.description.contains("100% Footwear purchases"))
        .unwrap();
    assert!(
        footwear.description.contains("vs 33% overall"),
        "{}",
        footwear.description
    );
    let lapsed = &m.segments[m.segment(fitted.assignments[40].segment).unwrap().id as usize - 1];
    assert!(
        lapsed.description.contains("recency"),
        "{}",
        lapsed.description
    );
    assert!(
        lapsed.description.contains(" days vs "),
        "{}",
        lapsed.description
    );
    assert!(m.quality.silhouette.unwrap() > 0.5);
}

#[test]
fn a_model_round_trips_and_assigns_as_fitted() {
    let p = people(30, 2);
    let segmenter = SegmentConfig::from_toml_str(CONFIG)
        .unwrap()
        .build()
        .unwrap();
    let fitted = with_inputs(&p, |inputs| segmenter.fit(inputs, now(), None)).unwrap();
    let json = fitted.model.to_json();
    let model = SegmentModel::from_json_str(&json, "model.json").unwrap();
    with_inputs(&p, |inputs| {
        for (inp, a) in inputs.iter().zip(&fitted.assignments) {
            assert_eq!(&model.assign(inp, now()), a);
        }
    });
    // A new profile (the incremental path): a recent footwear regular.
    let profile = Profile::new(ProfileId(999), vec![RecordId::row("web", 1)]);
    let events: Vec<Event> = (0..7).map(|k| order(3 + 7 * k, 65.0, "Footwear")).collect();
    let refs: Vec<&Event> = events.iter().collect();
    let mut traits = BTreeMap::new();
    traits.insert("engagement_score".to_owned(), Value::float(8.1));
    let a = model.assign(
        &ProfileInput {
            profile: &profile,
            events: &refs,
            traits: &traits,
        },
        now(),
    );
    assert_eq!(a.segment, fitted.assignments[0].segment);
    // A profile with nothing at all still gets a segment (imputed), never a panic.
    let empty = BTreeMap::new();
    let a = model.assign(
        &ProfileInput {
            profile: &profile,
            events: &[],
            traits: &empty,
        },
        now(),
    );
    assert_ne!(a.segment, UNCLUSTERED);
}

#[test]
fn ids_stay_across_retraining_and_changes_are_reported() {
    let segmenter = SegmentConfig::from_toml_str(CONFIG)
        .unwrap()
        .build()
        .unwrap();
    let first = with_inputs(&people(40, 3), |i| segmenter.fit(i, now(), None)).unwrap();
    // Other customers of the same kinds, in another order of kinds' sizes.
    let second_people = people(25, 4);
    let second = with_inputs(&second_people, |i| {
        segmenter.fit(i, now(), Some(&first.model))
    })
    .unwrap();
    let ids = |f: &mergetag_segment::Fitted, i: usize| f.assignments[i].segment;
    for kind in 0..3 {
        assert_eq!(
            ids(&first, kind * 40),
            ids(&second, kind * 25),
            "kind {kind}"
        );
    }
    assert_eq!(second.model.segments[0].name, "first");
    assert!(
        second
            .changes
            .iter()
            .all(|c| matches!(c, SegmentChange::Kept { .. }))
    );
    // Four clusters now: one appears with a fresh id.
    let four = SegmentConfig::from_toml_str(&CONFIG.replace("k = 3", "k = 4"))
        .unwrap()
        .build()
        .unwrap();
    let third = with_inputs(&second_people, |i| four.fit(i, now(), Some(&second.model))).unwrap();
    assert!(
        third
            .changes
            .iter()
            .any(|c| matches!(c, SegmentChange::Appeared { id: 4 })),
        "{:?}",
        third.changes
    );
    assert_eq!(third.model.next_id, 5);
    // Two clusters: one vanishes.
    let two = SegmentConfig::from_toml_str(&CONFIG.replace("k = 3", "k = 2"))
        .unwrap()
        .build()
        .unwrap();
    let fourth = with_inputs(&second_people, |i| two.fit(i, now(), Some(&second.model))).unwrap();
    assert!(
        fourth
            .changes
            .iter()
            .any(|c| matches!(c, SegmentChange::Vanished { .. })),
        "{:?}",
        fourth.changes
    );
}

#[test]
fn dbscan_segments_leave_noise_unclustered() {
    let mut p = people(30, 5);
    // An odd one out: a single enormous order long ago.
    p.profiles.push(Profile::new(
        ProfileId(1000),
        vec![RecordId::row("crm", 9999)],
    ));
    p.events.push(vec![order(900, 20_000.0, "Boats")]);
    p.traits.push(BTreeMap::new());
    let config = CONFIG.replace(
        "k = 3",
        "algorithm = \"dbscan\"\neps = 1.0\nmin_samples = 4",
    );
    let segmenter = SegmentConfig::from_toml_str(&config)
        .unwrap()
        .build()
        .unwrap();
    let fitted = with_inputs(&p, |i| segmenter.fit(i, now(), None)).unwrap();
    assert_eq!(fitted.model.segments.len(), 3);
    let last = fitted.assignments.last().unwrap();
    assert_eq!(
        (last.segment, last.name.as_str(), last.distance),
        (UNCLUSTERED, "unclustered", None)
    );
    assert_eq!(fitted.model.unclustered, 1);
    let model = SegmentModel::from_json_str(&fitted.model.to_json(), "m.json").unwrap();
    with_inputs(&p, |inputs| {
        for (inp, a) in inputs.iter().zip(&fitted.assignments) {
            assert_eq!(model.assign(inp, now()).segment, a.segment);
        }
    });
}

#[test]
fn configuration_mistakes_name_the_key() {
    let err = |t: &str| SegmentConfig::from_toml_str(t).unwrap_err().to_string();
    assert!(err("k = 3\n").starts_with("features:"));
    assert!(err("k = 3\nkk = 1\n").contains("line 2, column 1"));
    assert!(err("eps = -1\n[[features]]\nkind = \"recency\"\n").starts_with("eps:"));
    assert!(err("[names]\n0 = \"x\"\n[[features]]\nkind = \"recency\"\n").starts_with("names.0:"));
    assert!(err("mode = \"assign\"\n[[features]]\nkind = \"recency\"\n").starts_with("mode:"));
    assert!(err("[[features]]\nkind = \"field\"\n").starts_with("features[0].field:"));
    assert!(err("[[features]]\nkind = \"shoe_size\"\n").contains("unknown variant"));
    // Too few profiles for k: an error, not a panic.
    let segmenter = SegmentConfig::from_toml_str(CONFIG)
        .unwrap()
        .build()
        .unwrap();
    let p = people(0, 0);
    assert!(with_inputs(&p, |i| segmenter.fit(i, now(), None)).is_err());
}

fn blobs(points: &[(f64, f64)]) -> Matrix {
    Matrix::from_rows(&points.iter().map(|&(a, b)| [a, b]).collect::<Vec<_>>()).unwrap()
}

/// The same partition, whatever the label numbers.
fn same_partition(a: &[i64], b: &[i64]) -> bool {
    adjusted_rand_index(a, b) == Some(1.0) || a == b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn kmeans_labels_every_point_once_deterministically(
        points in prop::collection::vec((-50.0f64..50.0, -50.0f64..50.0), 3..120),
        k in 1usize..5,
        seed in 0u64..1000,
    ) {
        let x = blobs(&points);
        let k = k.min(points.len());
        let fit = KMeans::new(k).seed(seed).fit(&x).unwrap();
        prop_assert_eq!(fit.labels.len(), points.len());
        prop_assert!(fit.labels.iter().all(|&l| (l as usize) < k));
        prop_assert!(fit.inertia.is_finite() && fit.inertia >= 0.0);
        let again = KMeans::new(k).seed(seed).fit(&x).unwrap();
        prop_assert_eq!(&fit, &again);
        // One thread or two: the same bits.
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let single = one.install(|| KMeans::new(k).seed(seed).fit(&x).unwrap());
        prop_assert_eq!(&fit, &single);
    }

    #[test]
    fn kmeans_is_invariant_to_row_order(
        centres in prop::collection::vec((-100.0f64..100.0, -100.0f64..100.0), 2..5),
        seed in 0u64..1000,
        rotate in 1usize..50,
    ) {
        // Well-separated groups of 10 around each centre (centres at least 20 apart).
        let mut cs: Vec<(f64, f64)> = Vec::new();
        for c in centres {
            if cs.iter().all(|o| ((o.0 - c.0).powi(2) + (o.1 - c.1).powi(2)).sqrt() > 20.0) {
                cs.push(c);
            }
        }
        let mut points = Vec::new();
        for c in &cs {
            for i in 0..10 {
                points.push((c.0 + (i % 3) as f64 * 0.3, c.1 + (i / 3) as f64 * 0.3));
            }
        }
        let x = blobs(&points);
        let n = points.len();
        let r = rotate % n;
        let order: Vec<usize> = (0..n).map(|i| (i + r) % n).rev().collect();
        let y = x.select(&order);
        let k = cs.len();
        let a = KMeans::new(k).seed(seed).n_init(1).fit(&x).unwrap();
        let b = KMeans::new(k).seed(seed).n_init(1).fit(&y).unwrap();
        let la: Vec<i64> = order.iter().map(|&i| i64::from(a.labels[i])).collect();
        let lb: Vec<i64> = b.labels.iter().map(|&l| i64::from(l)).collect();
        prop_assert!(same_partition(&la, &lb));
        prop_assert!((a.inertia - b.inertia).abs() <= 1e-9 * a.inertia.max(1.0));
    }

    #[test]
    fn dbscan_labels_every_point_once_and_core_partition_ignores_order(
        points in prop::collection::vec((0.0f64..20.0, 0.0f64..20.0), 1..150),
        eps in 0.5f64..4.0,
        min_samples in 1usize..6,
    ) {
        let x = blobs(&points);
        let fit = Dbscan::new(eps, min_samples).fit(&x).unwrap();
        prop_assert_eq!(fit.labels.len(), points.len());
        prop_assert!(fit.labels.iter().all(|&l| l == NOISE || (0..fit.clusters as i64).contains(&l)));
        prop_assert_eq!(fit.noise, fit.labels.iter().filter(|&&l| l == NOISE).count());
        // Core points are never noise.
        prop_assert!(fit.core.iter().zip(&fit.labels).all(|(&c, &l)| !c || l != NOISE));
        // Reversed rows: the same core points, the same partition of them, the same noise.
        let n = points.len();
        let rev: Vec<usize> = (0..n).rev().collect();
        let back = Dbscan::new(eps, min_samples).fit(&x.select(&rev)).unwrap();
        let core_a: Vec<i64> = (0..n).filter(|&i| fit.core[i]).map(|i| fit.labels[i]).collect();
        let core_b: Vec<i64> = (0..n).filter(|&i| fit.core[i]).map(|i| back.labels[n - 1 - i]).collect();
        prop_assert!(same_partition(&core_a, &core_b));
        for i in 0..n {
            prop_assert_eq!(fit.core[i], back.core[n - 1 - i]);
            prop_assert_eq!(fit.labels[i] == NOISE, back.labels[n - 1 - i] == NOISE);
        }
    }
}

/// Replays the inputs kept in `tests/fuzz/<target>/` (seeds and any crash the fuzzer found)
/// through the checks the fuzz targets run.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    for f in files {
        run(&std::fs::read(&f).unwrap());
    }
}

#[test]
fn fuzz_inputs_replay() {
    replay("segment_table", fuzz::segment_table);
    replay("segment_config", fuzz::segment_config);
}
