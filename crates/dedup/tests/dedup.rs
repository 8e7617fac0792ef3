//! Integration tests of the dedup stage on generated data with known truth.

// The ignored exploration test reports figures on stderr.
#![allow(clippy::print_stderr)]

use std::collections::HashMap;

mod fuzz;

use mergetag_dedup::{DedupConfig, Deduper, eval, similarity};
use mergetag_model::{Record, RecordId, fields};
use mergetag_testkit::{Generator, Noise};
use proptest::prelude::*;

fn deduper() -> Deduper {
    Deduper::new(DedupConfig::contacts()).unwrap()
}

/// Cluster membership as sets of record ids, independent of cluster numbering and input order.
fn partition(records: &[Record], clusters: &[u32]) -> Vec<Vec<RecordId>> {
    let mut by: HashMap<u32, Vec<RecordId>> = HashMap::new();
    for (r, c) in records.iter().zip(clusters) {
        by.entry(*c).or_default().push(r.id.clone());
    }
    let mut out: Vec<Vec<RecordId>> = by.into_values().collect();
    for v in &mut out {
        v.sort();
    }
    out.sort();
    out
}

#[test]
fn quality_on_generated_contacts() {
    let data = Generator::new(11).generate(5_000);
    let result = deduper().run(&data.records);
    let s = eval::pairwise(&result.clusters, &data.entities);
    assert!(s.f1 >= 0.99, "{s:?}");
    assert!(s.precision >= 0.99, "{s:?}");
    // Every record is in exactly one cluster.
    assert_eq!(result.clusters.len(), data.records.len());
    assert_eq!(
        result.cluster_count,
        result
            .clusters
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
    // Blocking spares almost every comparison and keeps almost every true pair.
    let (report, candidates) = deduper().analyze_blocking(&data.records);
    assert!(report.reduction_ratio() > 0.999, "{report:?}");
    assert!(eval::pair_recall(candidates, &data.entities) > 0.97);
}

#[test]
fn exact_copies_are_all_found() {
    let data = Generator::new(5).noise(Noise::none()).generate(2_000);
    let result = deduper().run(&data.records);
    let s = eval::pairwise(&result.clusters, &data.entities);
    assert_eq!(s.recall, 1.0, "{s:?}");
    assert!(s.precision > 0.995, "{s:?}");
}

#[test]
fn results_do_not_depend_on_input_order_or_threads() {
    let data = Generator::new(3).generate(1_500);
    let base = deduper().run(&data.records);
    let mut shuffled = data.records.clone();
    shuffled.reverse();
    shuffled.rotate_left(123);
    let other = deduper().run(&shuffled);
    assert_eq!(
        partition(&data.records, &base.clusters),
        partition(&shuffled, &other.clusters)
    );
    assert_eq!(base.model, other.model);
    let ids =
        |records: &[Record], r: &mergetag_dedup::DedupResult| -> Vec<(RecordId, RecordId, u64)> {
            let mut v: Vec<_> = r
                .matches
                .iter()
                .map(|p| {
                    (
                        records[p.a].id.clone(),
                        records[p.b].id.clone(),
                        p.weight.to_bits(),
                    )
                })
                .collect();
            v.sort();
            v
        };
    assert_eq!(ids(&data.records, &base), ids(&shuffled, &other));
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let r = pool.install(|| deduper().run(&data.records));
        assert_eq!(r.clusters, base.clusters, "{threads} threads");
        assert_eq!(r.model, base.model, "{threads} threads");
    }
}

#[test]
fn explanations_add_up() {
    let mut a = Record::new(RecordId::id("crm", "1"));
    a.set(fields::FIRST_NAME, "Robert");
    a.set(fields::LAST_NAME, "Smith");
    a.set(fields::EMAIL, "bob.smith@gmail.com");
    let mut b = Record::new(RecordId::id("crm", "2"));
    b.set(fields::FIRST_NAME, "Bob");
    b.set(fields::LAST_NAME, "Smith");
    b.set(fields::EMAIL, "BOBSMITH+promo@googlemail.com");
    let mut data = Generator::new(9).generate(1_000).records;
    data.push(a.clone());
    data.push(b.clone());
    let d = deduper();
    let prepared = d.prepare(&data);
    let result = d.run_prepared(&prepared);
    let n = data.len();
    assert_eq!(result.clusters[n - 1], result.clusters[n - 2]);
    let e = d.explain(&result.model, &prepared, n - 2, n - 1);
    let text = e.to_string();
    assert!(text.contains("first_name    nickname"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("total"), "{text}");
    let level = |f: &str| {
        e.fields
            .iter()
            .find(|x| x.field == f)
            .unwrap()
            .level
            .as_str()
    };
    assert_eq!(level(fields::FIRST_NAME), "nickname");
    assert_eq!(level(fields::LAST_NAME), "exact");
    assert_eq!(level(fields::EMAIL), "exact");
    assert_eq!(level(fields::PHONE), "null");
    let sum: f64 = e.fields.iter().map(|f| f.weight).sum::<f64>()
        + (result.model.prior / (1.0 - result.model.prior)).log2();
    assert!((sum - e.weight).abs() < 1e-9);
    let scored = result
        .matches
        .iter()
        .find(|p| p.a.max(p.b) == n - 1 && p.a.min(p.b) == n - 2)
        .unwrap();
    assert!((scored.weight - e.weight).abs() < 1e-9);
}

#[test]
fn trained_models_save_load_and_score_the_same() {
    let data = Generator::new(21).generate(3_000);
    let d = deduper();
    let prepared = d.prepare(&data.records);
    let trained = d.run_prepared(&prepared);
    let json = serde_json::to_string_pretty(&trained.model).unwrap();
    let loaded = mergetag_dedup::TrainedModel::from_json_str(&json, d.config()).unwrap();
    assert_eq!(loaded, trained.model);
    let reused = d.run_with_model(&prepared, &loaded).unwrap();
    assert_eq!(reused.clusters, trained.clusters);
    // A model for another configuration is refused with a reason.
    let mut other = DedupConfig::contacts();
    other.comparisons.pop();
    let err = mergetag_dedup::TrainedModel::from_json_str(&json, &other).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("comparisons: the model has 7 comparisons but the configuration 6; train a model for this configuration"),
        "{err}"
    );
    // Hand-written weights: a model can be edited and used instead of training.
    let mut strict = loaded.clone();
    strict.candidate_prior = 1e-6;
    let fewer = d.run_with_model(&prepared, &strict).unwrap();
    assert!(fewer.matches.len() < trained.matches.len());
}

#[test]
fn cluster_level_scores_and_pair_lists_agree() {
    let data = Generator::new(4).generate(2_000);
    let r = deduper().run(&data.records);
    let pairwise = eval::pairwise(&r.clusters, &data.entities);
    let truth = eval::cluster_pairs(&data.entities);
    let from_pairs = eval::from_pairs(&eval::cluster_pairs(&r.clusters), &truth);
    assert_eq!(pairwise, from_pairs);
    let c = eval::clusters(&r.clusters, &data.entities);
    assert!(c.f1 > 0.97, "{c:?}");
}

#[test]
fn exact_dedup_finds_exact_copies() {
    let data = Generator::new(8).noise(Noise::none()).generate(1_000);
    let key = [
        mergetag_dedup::KeyPart {
            field: fields::EMAIL.into(),
            transform: mergetag_dedup::KeyTransform::EmailKey,
        },
        mergetag_dedup::KeyPart {
            field: fields::LAST_NAME.into(),
            transform: mergetag_dedup::KeyTransform::Exact,
        },
    ];
    let groups = mergetag_dedup::exact::group(&data.records, &key);
    let s = eval::pairwise(&groups, &data.entities);
    assert!(s.recall > 0.999 && s.precision > 0.99, "{s:?}");
}

#[test]
fn oversized_blocks_are_capped_and_reported() {
    let mut records = Vec::new();
    for i in 0..50 {
        let mut r = Record::new(RecordId::row("s", i));
        r.set(fields::LAST_NAME, "Smith");
        r.set(fields::BIRTH_DATE, "1980-01-01");
        r.set(fields::FIRST_NAME, format!("Person{i}"));
        records.push(r);
    }
    let mut config = DedupConfig::contacts();
    config.max_block_size = 10;
    let (report, candidates) = Deduper::new(config).unwrap().analyze_blocking(&records);
    let pass = &report.passes[2];
    assert_eq!(pass.oversized_blocks, 1);
    assert_eq!(pass.oversized_records, 50);
    assert_eq!(pass.largest_blocks, [50]);
    assert!(candidates.is_empty());
}

#[test]
fn every_comparison_kind_gives_its_levels() {
    use mergetag_dedup::{
        BlockingPass, ComparisonConfig, ComparisonKind as K, KeyPart, KeyTransform,
    };
    let kinds = [
        ("lev", K::Levenshtein),
        ("dam", K::DamerauLevenshtein),
        ("qgram", K::Qgram),
        ("sound", K::Phonetic),
        ("num", K::Numeric),
        ("geo", K::Geo),
        ("text", K::Text),
        ("date", K::Date),
        ("phone", K::Phone),
        ("mail", K::Email),
    ];
    let config = DedupConfig {
        comparisons: kinds
            .iter()
            .map(|(f, k)| ComparisonConfig::new(f, *k))
            .collect(),
        blocking: vec![BlockingPass::on(vec![KeyPart {
            field: "lev".into(),
            transform: KeyTransform::Exact,
        }])],
        ..DedupConfig::contacts()
    };
    let d = Deduper::new(config.clone()).unwrap();
    let rec = |i: u64, values: [&str; 10]| {
        let mut r = Record::new(RecordId::row("t", i));
        for ((f, _), v) in kinds.iter().zip(values) {
            r.set(*f, v);
        }
        r
    };
    let records = [
        rec(
            1,
            [
                "jonathan",
                "jonathan",
                "main street",
                "Smith",
                "100",
                "41.8781,-87.6298",
                "12 oak rd",
                "1985-04-03",
                "3125550147",
                "ann@x.com",
            ],
        ),
        rec(
            2,
            [
                "jonathon",
                "jonahtan",
                "main streets",
                "Smyth",
                "100.5",
                "41.8800,-87.6300",
                "12 oak road",
                "1985-03-04",
                "3125550174",
                "ann@y.com",
            ],
        ),
        rec(
            3,
            [
                "xx",
                "xx",
                "elm",
                "Jones",
                "500",
                "40.7128,-74.0060",
                "999 pine",
                "2001-01-01",
                "7735550100",
                "bob@x.com",
            ],
        ),
        rec(
            4,
            [
                "",
                "",
                "",
                "",
                "not a number",
                "north pole?",
                "",
                "",
                "",
                "",
            ],
        ),
    ];
    let p = d.prepare(&records);
    let names = |a: usize, b: usize| -> Vec<&'static str> {
        let pattern = p.compare(a, b);
        config
            .comparisons
            .iter()
            .enumerate()
            .map(|(c, conf)| {
                let l = ((pattern >> (4 * c)) & 0xF) as usize;
                if l == 0 {
                    "null"
                } else {
                    conf.kind.levels()[l - 1]
                }
            })
            .collect()
    };
    assert_eq!(
        names(0, 1),
        [
            "distance_1",
            "distance_1",
            "qgram_0.8",
            "metaphone",
            "within_tolerance",
            "within_1km",
            "close",
            "transposed",
            "one_edit",
            "same_local_part"
        ]
    );
    assert_eq!(
        names(0, 2),
        [
            "different",
            "different",
            "different",
            "different",
            "different",
            "different",
            "different",
            "different",
            "different",
            "same_domain"
        ]
    );
    assert!(
        names(0, 3).iter().all(|l| *l == "null"),
        "missing and unparseable values are null: {:?}",
        names(0, 3)
    );
    for a in 0..4 {
        for b in 0..4 {
            assert_eq!(p.compare(a, b), p.compare(b, a), "symmetric {a} {b}");
        }
    }
    let bad = DedupConfig::from_toml_str(
        "[[comparisons]]\nfield = \"n\"\nkind = \"numeric\"\ntolerance = -1\n[[blocking]]\nkeys = [{ field = \"n\", transform = \"exact\" }]\n",
    )
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "comparisons[0].tolerance: must be a non-negative number, not -1"
    );
}

#[test]
fn sorted_neighbourhood_and_minhash_blocking_tolerate_typos() {
    use mergetag_dedup::{BlockingPass, KeyPart, KeyTransform, MinHash};
    let names = [
        "johnson",
        "jonhson",
        "zimmerman",
        "zimmermann",
        "abbott",
        "garcia",
    ];
    let records: Vec<Record> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut r = Record::new(RecordId::row("t", i as u64 + 1));
            r.set(fields::LAST_NAME, *n);
            r
        })
        .collect();
    let part = || {
        vec![KeyPart {
            field: fields::LAST_NAME.into(),
            transform: KeyTransform::Exact,
        }]
    };
    let with = |pass: BlockingPass| {
        let config = DedupConfig {
            blocking: vec![pass],
            ..DedupConfig::contacts()
        };
        Deduper::new(config).unwrap().analyze_blocking(&records).1
    };
    // Exact keys find nothing.
    assert!(with(BlockingPass::on(part())).is_empty());
    // A window of 2 over sorted names pairs each name with the next.
    let sn = with(BlockingPass {
        window: Some(2),
        ..BlockingPass::on(part())
    });
    assert!(sn.contains(&(2, 3)), "{sn:?}"); // zimmerman ~ zimmermann
    assert_eq!(sn.len(), 5);
    // MinHash LSH pairs names with many shared bigrams, wherever the typo is.
    let lsh = with(BlockingPass {
        minhash: Some(MinHash { bands: 20, rows: 2 }),
        ..BlockingPass::on(part())
    });
    assert!(lsh.contains(&(0, 1)) && lsh.contains(&(2, 3)), "{lsh:?}");
    assert!(!lsh.contains(&(4, 5)), "{lsh:?}");
    let err = DedupConfig::from_toml_str(
        "[[comparisons]]\nfield = \"a\"\nkind = \"exact\"\n[[blocking]]\nkeys = [{ field = \"a\", transform = \"exact\" }]\nwindow = 1\n",
    )
    .unwrap_err();
    assert!(
        matches!(&err, mergetag_dedup::Error::Invalid { path, message }
            if path == "blocking[0].window" && message.contains("at least 2")),
        "{err}"
    );
}

#[test]
fn linking_two_sources_finds_the_people_in_both() {
    // One population written by two sources: each person is in the left source, and about a
    // third also in the right one.
    let data = Generator::new(13).generate(3_000);
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut left_entity = Vec::new();
    let mut right_entity = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (r, &e) in data.records.iter().zip(&data.entities) {
        if seen.insert(e) {
            left.push(r.clone());
            left_entity.push(e);
        } else {
            let mut r = r.clone();
            r.id.source = "enrichment".into();
            right.push(r);
            right_entity.push(e);
        }
    }
    let d = deduper();
    let result = d.link(&left, &right, true);
    let correct = result
        .links
        .iter()
        .filter(|l| left_entity[l.left] == right_entity[l.right])
        .count();
    assert!(
        correct as f64 / result.links.len() as f64 > 0.99,
        "precision"
    );
    // One-to-one: no record is used twice.
    let lefts: std::collections::HashSet<_> = result.links.iter().map(|l| l.left).collect();
    let rights: std::collections::HashSet<_> = result.links.iter().map(|l| l.right).collect();
    assert_eq!(lefts.len(), result.links.len());
    assert_eq!(rights.len(), result.links.len());
    // Every right record has its person on the left; most are found (duplicates within the
    // right side compete for one left record, so one-to-one cannot link them all).
    let distinct_right_people = right_entity
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(
        correct as f64 >= 0.95 * distinct_right_people as f64,
        "{correct} of {distinct_right_people}"
    );
    assert_eq!(result.blocking.all_pairs, (left.len() * right.len()) as u64);
    let many = d.link(&left, &right, false);
    assert!(many.links.len() >= result.links.len());
}

#[test]
fn empty_and_tiny_inputs() {
    let r = deduper().run(&[]);
    assert_eq!(r.cluster_count, 0);
    let one = vec![Record::new(RecordId::row("s", 1))];
    let r = deduper().run(&one);
    assert_eq!(r.clusters, [0]);
}

fn small_records() -> impl Strategy<Value = Vec<Record>> {
    let field = || {
        prop::option::of(prop::sample::select(vec![
            "ann",
            "anne",
            "bob",
            "robert",
            "smith",
            "smyth",
            "1985-04-03",
            "1985-03-04",
            "a@x.com",
            "3125550147",
        ]))
    };
    prop::collection::vec((field(), field(), field(), field(), field()), 0..24).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (f, l, e, p, b))| {
                let mut r = Record::new(RecordId::row("p", i as u64));
                for (name, v) in [
                    (fields::FIRST_NAME, f),
                    (fields::LAST_NAME, l),
                    (fields::EMAIL, e),
                    (fields::PHONE, p),
                    (fields::BIRTH_DATE, b),
                ] {
                    if let Some(v) = v {
                        r.set(name, v);
                    }
                }
                r
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every record lands in exactly one cluster, and the clusters do not depend on input order.
    #[test]
    fn every_record_in_one_cluster_whatever_the_order(records in small_records(), rotate in 0usize..24) {
        let d = deduper();
        let r = d.run(&records);
        prop_assert_eq!(r.clusters.len(), records.len());
        let distinct: std::collections::HashSet<_> = r.clusters.iter().collect();
        prop_assert_eq!(distinct.len(), r.cluster_count);
        prop_assert!(r.clusters.iter().all(|&c| (c as usize) < r.cluster_count));
        let mut shuffled = records.clone();
        if !shuffled.is_empty() {
            let k = rotate % shuffled.len();
            shuffled.rotate_left(k);
            shuffled.reverse();
        }
        let other = d.run(&shuffled);
        prop_assert_eq!(partition(&records, &r.clusters), partition(&shuffled, &other.clusters));
        for p in &r.matches {
            prop_assert!((0.0..=1.0).contains(&p.probability));
        }
    }

    /// Comparison levels are symmetric for any two values.
    #[test]
    fn comparisons_are_symmetric(a in "\\PC{0,12}", b in "\\PC{0,12}") {
        use mergetag_dedup::{BlockingPass, ComparisonConfig, ComparisonKind as K, KeyPart, KeyTransform};
        let kinds = [K::Exact, K::Name, K::GivenName, K::Email, K::Phone, K::Date, K::Text, K::Levenshtein, K::DamerauLevenshtein, K::Qgram, K::Phonetic, K::Numeric, K::Geo];
        let config = DedupConfig {
            comparisons: kinds.iter().map(|k| ComparisonConfig { swap_with: Some("x".into()), ..ComparisonConfig::new("x", *k) }).collect(),
            blocking: vec![BlockingPass::on(vec![KeyPart { field: "x".into(), transform: KeyTransform::Exact }])],
            ..DedupConfig::contacts()
        };
        let d = Deduper::new(config).unwrap();
        let mut ra = Record::new(RecordId::row("s", 1));
        ra.set("x", a.as_str());
        let mut rb = Record::new(RecordId::row("s", 2));
        rb.set("x", b.as_str());
        let p = d.prepare(&[ra, rb]);
        prop_assert_eq!(p.compare(0, 1), p.compare(1, 0));
    }

    #[test]
    fn damerau_levenshtein_equals_strsim(a in "[a-e0-3 ]{0,12}", b in "[a-e0-3 ]{0,12}", c in "\\PC{0,8}") {
        prop_assert_eq!(similarity::damerau_levenshtein(&a, &b), strsim::damerau_levenshtein(&a, &b));
        prop_assert_eq!(similarity::damerau_levenshtein(&a, &c), strsim::damerau_levenshtein(&a, &c));
        let long = a.repeat(6);
        prop_assert_eq!(similarity::damerau_levenshtein(&long, &b), strsim::damerau_levenshtein(&long, &b));
    }

    /// The common prefix and suffix are stripped before the table: on a two-letter alphabet
    /// they overlap transpositions and insertions as often as they can.
    #[test]
    fn damerau_levenshtein_with_shared_ends_equals_strsim(
        p in "[ab]{0,4}", a in "[ab]{0,6}", b in "[ab]{0,6}", s in "[ab]{0,4}",
    ) {
        let (x, y) = (format!("{p}{a}{s}"), format!("{p}{b}{s}"));
        prop_assert_eq!(similarity::damerau_levenshtein(&x, &y), strsim::damerau_levenshtein(&x, &y));
    }

    #[test]
    fn jaro_winkler_bound_is_a_bound(a in "[a-f]{0,10}", b in "[a-f]{0,10}") {
        let bound = similarity::jaro_winkler_bound(a.as_bytes(), b.as_bytes());
        prop_assert!(similarity::jaro_winkler(a.as_bytes(), b.as_bytes()) <= bound + 1e-12);
    }

    #[test]
    fn jaro_winkler_equals_strsim_and_is_symmetric(a in "\\PC{0,20}", b in "\\PC{0,20}") {
        let x: Vec<char> = a.chars().collect();
        let y: Vec<char> = b.chars().collect();
        let ours = similarity::jaro_winkler(&x, &y);
        prop_assert_eq!(ours, strsim::jaro_winkler(&a, &b));
        prop_assert!((0.0..=1.0).contains(&ours));
        prop_assert_eq!(similarity::jaro(&x, &y), similarity::jaro(&y, &x));
    }

    #[test]
    fn ascii_kernel_equals_strsim(a in "[a-e]{0,70}", b in "[a-e]{0,70}") {
        prop_assert_eq!(similarity::jaro_winkler(a.as_bytes(), b.as_bytes()), strsim::jaro_winkler(&a, &b));
    }

    #[test]
    fn token_set_is_symmetric_and_bounded(a in "[a-c ]{0,12}", b in "[a-c ]{0,12}") {
        let s = similarity::token_set(&a, &b);
        prop_assert_eq!(s, similarity::token_set(&b, &a));
        prop_assert!((0.0..=1.0).contains(&s));
    }

    /// Equal to the Jaccard index of the word sets, also past the 16 words kept on the stack.
    #[test]
    fn token_set_is_the_jaccard_index_of_the_words(
        a in prop::collection::vec("[a-e]{1,2}", 0..30),
        b in prop::collection::vec("[a-e]{1,2}", 0..30),
    ) {
        use std::collections::BTreeSet;
        let (a, b) = (a.join(" "), b.join("  "));
        let x: BTreeSet<&str> = a.split_whitespace().collect();
        let y: BTreeSet<&str> = b.split_whitespace().collect();
        let expected = if x.is_empty() && y.is_empty() {
            1.0
        } else {
            x.intersection(&y).count() as f64 / x.union(&y).count() as f64
        };
        prop_assert_eq!(similarity::token_set(&a, &b), expected);
    }

    #[test]
    fn folding_is_idempotent(s in "\\PC{0,24}") {
        let mut once = String::new();
        mergetag_dedup::fold::text(&s, &mut once);
        let mut twice = String::new();
        mergetag_dedup::fold::text(&once, &mut twice);
        prop_assert_eq!(once, twice);
    }
}

/// A line of `/proc/self/status` in KiB (0 where there is none: not Linux).
fn memory_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::to_owned))
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "exploration: cargo test --release -p mergetag-dedup --test dedup -- --ignored --nocapture"]
fn explore_quality() {
    let sizes: Vec<usize> = std::env::var("MERGETAG_EXPLORE_PEOPLE")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    for n in sizes {
        let t0 = std::time::Instant::now();
        let data = Generator::new(1).generate(n);
        eprintln!(
            "generated {} records in {:?}",
            data.records.len(),
            t0.elapsed()
        );
        let d = deduper();
        if std::env::var_os("MERGETAG_EXPLORE_PREPARE").is_some() {
            // Preparation alone, three times (for a profiler).
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let p = d.prepare(&data.records);
                eprintln!("prep {:?} {}", t.elapsed(), p.len());
            }
            continue;
        }
        if std::env::var_os("MERGETAG_EXPLORE_RUN_ONLY").is_some() {
            // What a run costs alone: time, and peak memory beside the records' own.
            let before = memory_kib("VmRSS");
            let t = std::time::Instant::now();
            let r = d.run(&data.records);
            let took = t.elapsed();
            let s = eval::pairwise(&r.clusters, &data.entities);
            eprintln!(
                "n={n} records={} run {took:?} {:?} F1={:.4}; memory: records {} MiB, peak {} MiB",
                data.records.len(),
                r.timings,
                s.f1,
                before / 1024,
                memory_kib("VmHWM") / 1024
            );
            continue;
        }
        let t = std::time::Instant::now();
        let (report, candidates) = d.analyze_blocking(&data.records);
        let recall = eval::pair_recall(candidates.iter().copied(), &data.entities);
        let t_run = std::time::Instant::now();
        let prepared = d.prepare(&data.records);
        let prepare_time = t_run.elapsed();
        let r = d.run_prepared(&prepared);
        let run_time = t_run.elapsed();
        eprintln!("  prepare {prepare_time:?}, then {:?}", r.timings);
        let s = eval::pairwise(&r.clusters, &data.entities);
        let tp = r
            .matches
            .iter()
            .filter(|p| data.entities[p.a] == data.entities[p.b])
            .count() as f64;
        let in_candidates = candidates
            .iter()
            .filter(|&&(a, b)| data.entities[a] == data.entities[b])
            .count() as f64;
        let q = &r.quality;
        eprintln!(
            "  expected P={:.4} R={:.4} (true among candidates P={:.4} R={:.4}); best threshold {:.4} expected F1 {:.4}",
            q.at_threshold.precision,
            q.at_threshold.recall,
            tp / r.matches.len().max(1) as f64,
            tp / in_candidates.max(1.0),
            q.best.threshold,
            q.best.f1
        );
        eprintln!(
            "  run (prepare + block + train + score + cluster): {run_time:?}, refused bridges {}, EM iterations {} converged {}",
            r.refused_bridges, r.model.iterations, r.model.converged
        );
        eprintln!(
            "n={} records={} candidates={} blocking_recall={:.4} rr={:.6} P={:.4} R={:.4} F1={:.4} t={:?}",
            n,
            data.records.len(),
            report.candidate_pairs,
            recall,
            report.reduction_ratio(),
            s.precision,
            s.recall,
            s.f1,
            t.elapsed()
        );
        if std::env::var_os("MERGETAG_EXPLORE_MODEL").is_some() {
            eprintln!(
                "  prior {:.3e} candidate prior {:.4}",
                r.model.prior, r.model.candidate_prior
            );
            for c in &r.model.comparisons {
                let levels: Vec<String> = c
                    .levels
                    .iter()
                    .map(|l| format!("{} m={:.4} u={:.2e} w={:+.1}", l.name, l.m, l.u, l.weight))
                    .collect();
                eprintln!("  {:<12} {}", c.field, levels.join(" | "));
            }
        }
        if std::env::var_os("MERGETAG_EXPLORE_BLOCKING").is_some() {
            let t = std::time::Instant::now();
            let a = d.analyse(&data.records, &r);
            eprintln!("{a}analysis took {:?}", t.elapsed());
        }
        if std::env::var_os("MERGETAG_EXPLORE_FP").is_some() {
            let mut patterns: HashMap<String, usize> = HashMap::new();
            for p in &r.matches {
                if data.entities[p.a] != data.entities[p.b] {
                    let e = d.explain(&r.model, &prepared, p.a, p.b);
                    let key: Vec<String> = e
                        .fields
                        .iter()
                        .map(|f| format!("{}={}", f.field, f.level))
                        .collect();
                    *patterns.entry(key.join(" ")).or_default() += 1;
                }
            }
            let mut v: Vec<_> = patterns.into_iter().collect();
            v.sort_by_key(|x| std::cmp::Reverse(x.1));
            for (k, n) in v.iter().take(12) {
                eprintln!("  FP {n:>5} {k}");
            }
        }
    }
}

/// Replays the inputs kept in `tests/fuzz/<target>/` through the checks the fuzz targets run.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    mergetag_testkit::replay_fuzz_inputs(dir.join(target), run);
}

#[test]
fn fuzz_inputs_replay() {
    replay("dedup_config", fuzz::dedup_config);
    replay("dedup_compare", fuzz::dedup_compare);
    replay("dedup_index", fuzz::dedup_index);
}
