//! Labels-free estimates checked against the truth: expected precision and recall from the
//! model, blocking recall from the analysis, and name-built email addresses that must not be
//! counted as evidence twice.

use mergetag_dedup::{BlockingPass, DedupConfig, KeyPart, KeyTransform, eval};
use mergetag_model::{Record, RecordId, fields};
use mergetag_testkit::Generator;

/// The truth about one run: (precision, recall among candidate pairs) at the threshold.
fn truth(config: &DedupConfig, people: usize, seed: u64) -> (f64, f64, f64, f64) {
    let data = Generator::new(seed).generate(people);
    let d = config.build().unwrap();
    let (_, candidates) = d.analyze_blocking(&data.records);
    let r = d.run(&data.records);
    let tp = r
        .matches
        .iter()
        .filter(|p| data.entities[p.a] == data.entities[p.b])
        .count() as f64;
    let in_candidates = candidates
        .iter()
        .filter(|&&(a, b)| data.entities[a] == data.entities[b])
        .count() as f64;
    (
        tp / r.matches.len() as f64,
        tp / in_candidates,
        r.quality.at_threshold.precision,
        r.quality.at_threshold.recall,
    )
}

#[test]
fn expected_precision_and_recall_are_within_a_point_of_the_truth() {
    for seed in [1, 2] {
        let (p, r, ep, er) = truth(&DedupConfig::contacts(), 8_000, seed);
        assert!((p - ep).abs() <= 0.01, "precision {p} expected {ep}");
        assert!((r - er).abs() <= 0.01, "recall {r} expected {er}");
    }
}

#[test]
fn quality_curve_is_monotone_and_best_is_best() {
    let data = Generator::new(5).generate(3_000);
    let r = DedupConfig::contacts().build().unwrap().run(&data.records);
    let q = &r.quality;
    assert!(q.expected_matches > 0.0);
    for w in q.curve.windows(2) {
        assert!(w[0].pairs >= w[1].pairs, "{:?}", q.curve);
        assert!(w[0].recall >= w[1].recall, "{:?}", q.curve);
    }
    for e in &q.curve {
        assert!(q.best.f1 >= e.f1 - 1e-12, "{:?} beats {:?}", e, q.best);
    }
}

#[test]
fn blocking_analysis_estimates_recall_and_suggests_the_missing_pass() {
    let data = Generator::new(9).generate(6_000);
    // A configuration with two-field passes only, as users write them: it misses matches
    // whose birth date or postcode is missing or wrong.
    let part = |f: &str, t| KeyPart {
        field: f.to_owned(),
        transform: t,
    };
    let mut config = DedupConfig::contacts();
    config.blocking = vec![
        BlockingPass::on(vec![
            part(fields::LAST_NAME, KeyTransform::Exact),
            part(fields::BIRTH_DATE, KeyTransform::Date),
        ]),
        BlockingPass::on(vec![
            part(fields::FIRST_NAME, KeyTransform::Exact),
            part(fields::POSTAL_CODE, KeyTransform::Exact),
        ]),
    ];
    let d = config.build().unwrap();
    let (_, candidates) = d.analyze_blocking(&data.records);
    let true_recall = eval::pair_recall(candidates.iter().copied(), &data.entities);
    let a = d.blocking_analysis(&data.records);
    let estimated = a.estimated_recall.unwrap();
    assert!(
        (estimated - true_recall).abs() < 0.06,
        "estimated {estimated}, true {true_recall}"
    );
    assert_eq!(a.passes.len(), 2);
    assert!(
        a.passes
            .iter()
            .all(|p| p.matches > 0 && p.estimated_recall.is_some())
    );
    assert!(!a.suggestions.is_empty(), "{a}");
    // The suggestion that helps most (email) raises the true recall too.
    let best = &a
        .suggestions
        .iter()
        .max_by(|x, y| x.estimated_recall.total_cmp(&y.estimated_recall))
        .unwrap();
    assert!(best.estimated_recall > estimated + 0.05, "{a}");
    let mut better = config.clone();
    better.blocking.push(best.pass.clone());
    let (_, more) = better.build().unwrap().analyze_blocking(&data.records);
    let new_recall = eval::pair_recall(more.iter().copied(), &data.entities);
    assert!(
        new_recall > true_recall + 0.05,
        "{true_recall} -> {new_recall}"
    );
    assert!(a.to_string().contains("suggestion: adding a pass on"));
}

#[test]
fn the_contacts_preset_estimates_its_recall_close_to_the_truth() {
    let data = Generator::new(4).generate(8_000);
    let d = DedupConfig::contacts().build().unwrap();
    let (_, candidates) = d.analyze_blocking(&data.records);
    let true_recall = eval::pair_recall(candidates.iter().copied(), &data.entities);
    let a = d.blocking_analysis(&data.records);
    let estimated = a.estimated_recall.unwrap();
    assert!(true_recall > 0.985, "{true_recall}");
    assert!(
        (estimated - true_recall).abs() < 0.01,
        "estimated {estimated}, true {true_recall}"
    );
}

fn person(id: &str, first: &str, last: &str, email: &str, birth: &str, phone: &str) -> Record {
    let mut r = Record::new(RecordId::id("t", id));
    r.set(fields::FIRST_NAME, first);
    r.set(fields::LAST_NAME, last);
    r.set(fields::EMAIL, email);
    r.set(fields::BIRTH_DATE, birth);
    r.set(fields::PHONE, phone);
    r
}

#[test]
fn a_name_built_local_part_is_not_counted_on_top_of_the_name() {
    // Background people, so the model has something to learn from, then two different Mark
    // Davises whose addresses are both built from the name at different providers.
    let mut records = Generator::new(12).generate(4_000).records;
    records.push(person(
        "a",
        "Mark",
        "Davis",
        "markdavis@sky.com",
        "1971-03-04",
        "+13125550101",
    ));
    records.push(person(
        "b",
        "Mark",
        "Davis",
        "markdavis@live.co.uk",
        "1988-11-23",
        "+14155550199",
    ));
    // And one person with a handle that is not their name, at two providers: real evidence.
    records.push(person(
        "c",
        "Ann",
        "Lee",
        "skybluepenguin@gmail.com",
        "1990-01-02",
        "",
    ));
    records.push(person(
        "d",
        "Ann",
        "Lee",
        "skybluepenguin@yahoo.com",
        "",
        "+12065550123",
    ));
    let d = DedupConfig::contacts().build().unwrap();
    let prepared = d.prepare(&records);
    let r = d.run_prepared(&prepared);
    let n = records.len();
    let e = d.explain(&r.model, &prepared, n - 4, n - 3);
    let email = e.fields.iter().find(|f| f.field == fields::EMAIL).unwrap();
    assert_eq!(email.level, "name_local_part", "{e}");
    assert!(email.weight < 3.0, "{e}");
    assert_ne!(r.clusters[n - 4], r.clusters[n - 3], "{e}");
    let e = d.explain(&r.model, &prepared, n - 2, n - 1);
    let email = e.fields.iter().find(|f| f.field == fields::EMAIL).unwrap();
    assert_eq!(email.level, "same_local_part", "{e}");
    assert!(email.weight > 6.0, "{e}");
}

#[test]
fn name_fields_can_be_turned_off_and_are_checked() {
    let mut config = DedupConfig::contacts();
    let email = config
        .comparisons
        .iter_mut()
        .find(|c| c.field == fields::EMAIL)
        .unwrap();
    email.name_fields = Some(vec!["nickname".into()]);
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("name_fields") && e.contains("nickname"), "{e}");
    let email = config
        .comparisons
        .iter_mut()
        .find(|c| c.field == fields::EMAIL)
        .unwrap();
    email.name_fields = Some(Vec::new());
    let d = config.build().unwrap();
    let records = vec![
        person("a", "Mark", "Davis", "markdavis@sky.com", "", ""),
        person("b", "Mark", "Davis", "markdavis@live.co.uk", "", ""),
    ];
    let prepared = d.prepare(&records);
    assert_eq!(
        prepared.compare(0, 1) >> 8 & 0xF,
        2,
        "same_local_part when names are not checked"
    );
}

#[test]
fn passes_are_chosen_from_the_data_when_none_are_configured() {
    let data = Generator::new(21).generate(8_000);
    let mut config = DedupConfig::contacts();
    config.blocking.clear();
    let d = config.build().unwrap();
    let r = d.run(&data.records);
    let chosen = r.chosen_blocking.as_ref().expect("passes chosen");
    assert!(!chosen.passes.is_empty());
    assert!(chosen.estimated_recall.unwrap() >= mergetag_dedup::CHOSEN_RECALL_TARGET);
    // The pairs stay bounded: far fewer than all pairs, within the per-pass budget.
    let n = data.records.len() as u64;
    assert!(
        chosen.candidate_pairs <= 20 * n * chosen.passes.len() as u64,
        "{chosen:?}"
    );
    assert_eq!(r.blocking.candidate_pairs, chosen.candidate_pairs);
    // Blocking recall against the truth, and quality.
    let mut with = DedupConfig::contacts();
    with.blocking = chosen.passes.clone();
    let (_, candidates) = with.build().unwrap().analyze_blocking(&data.records);
    let recall = eval::pair_recall(candidates.iter().copied(), &data.entities);
    assert!(recall >= 0.995, "blocking recall {recall} with {chosen:?}");
    let s = eval::pairwise(&r.clusters, &data.entities);
    assert!(s.f1 >= 0.99, "{s:?}");
    // Deterministic.
    let again = d.run(&data.records);
    assert_eq!(again.chosen_blocking, r.chosen_blocking);
    assert_eq!(again.clusters, r.clusters);
}
