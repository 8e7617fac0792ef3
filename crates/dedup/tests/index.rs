//! The incremental index: equivalence with batch runs, stable ids, merges and splits with their
//! log, corrections, erasure, suppression through duplicates, and the file format.

use std::collections::{BTreeMap, BTreeSet};

use mergetag_dedup::index::{Action, LogEvent, MatchIndex, RecordRef, SplitCause};
use mergetag_dedup::survivorship::SurvivorshipConfig;
use mergetag_dedup::{DedupConfig, Deduper, Error, TrainedModel};
use mergetag_model::{Channel, ProfileId, Record, RecordId, fields};
use mergetag_testkit::Generator;
use proptest::prelude::*;

fn person(id: &str, first: &str, last: &str, email: &str, phone: &str) -> Record {
    let mut r = Record::new(RecordId::id("crm", id));
    r.set(fields::FIRST_NAME, first);
    r.set(fields::LAST_NAME, last);
    if !email.is_empty() {
        r.set(fields::EMAIL, email);
    }
    if !phone.is_empty() {
        r.set(fields::PHONE, phone);
    }
    r
}

/// The contacts configuration with what makes incremental and batch results differ switched
/// off: term-frequency adjustment and the bridge guard.
fn plain_config() -> DedupConfig {
    let mut c = DedupConfig::contacts();
    c.guard_bridges = false;
    for cmp in &mut c.comparisons {
        cmp.term_frequency = false;
    }
    // The fixtures' namesakes share nothing but a name: without the full-name pass they are
    // never compared, which is what the bridge and correction tests need.
    c.blocking.retain(|p| {
        p.keys.iter().map(|k| k.field.as_str()).collect::<Vec<_>>()
            != [fields::FIRST_NAME, fields::LAST_NAME]
    });
    c
}

fn trained(config: DedupConfig, records: &[Record]) -> (Deduper, TrainedModel) {
    let d = Deduper::new(config).unwrap();
    let model = d.run(records).model;
    (d, model)
}

/// A partition as sets of record ids, independent of cluster numbering.
fn partition_of(index: &MatchIndex) -> BTreeSet<Vec<RecordId>> {
    index
        .profiles()
        .map(|(_, ids)| ids.into_iter().cloned().collect())
        .collect()
}

fn batch_partition(
    d: &Deduper,
    model: &TrainedModel,
    records: &[Record],
) -> BTreeSet<Vec<RecordId>> {
    let result = d.run_with_fixed_model(&d.prepare(records), model).unwrap();
    let mut by: BTreeMap<u32, Vec<RecordId>> = BTreeMap::new();
    for (r, c) in records.iter().zip(&result.clusters) {
        by.entry(*c).or_default().push(r.id.clone());
    }
    by.into_values()
        .map(|mut v| {
            v.sort();
            v
        })
        .collect()
}

fn dataset(seed: u64, people: usize) -> Vec<Record> {
    Generator::new(seed).generate(people).records
}

#[test]
fn bulk_build_equals_a_batch_run() {
    let records = dataset(31, 400);
    let (d, model) = trained(DedupConfig::contacts(), &records);
    let index = MatchIndex::build(&d, &model, records.clone()).unwrap();
    assert_eq!(index.len(), records.len());
    assert_eq!(partition_of(&index), batch_partition(&d, &model, &records));
    // Profile ids are 1.. in record-id order of the first member.
    let ids: Vec<ProfileId> = index.profiles().map(|(id, _)| id).collect();
    assert_eq!(ids.first(), Some(&ProfileId(1)));
    assert_eq!(ids.last(), Some(&ProfileId(index.profile_count() as u64)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Record by record, in any arrival order, the index reaches the batch run's clusters.
    #[test]
    fn incremental_equals_batch_for_any_order(seed in 0u64..1_000, shuffle in any::<u64>(), split in 0usize..100) {
        let records = dataset(seed, 60);
        let (d, model) = trained(plain_config(), &records);
        let expected = batch_partition(&d, &model, &records);

        let mut order = records.clone();
        mergetag_testkit::Rng::new(shuffle).shuffle(&mut order);
        // Part built in bulk, the rest arriving one by one.
        let cut = split * order.len() / 100;
        let rest = order.split_off(cut);
        let mut index = MatchIndex::build(&d, &model, order).unwrap();
        for r in rest {
            index.add(r);
        }
        prop_assert_eq!(index.len(), records.len());
        prop_assert_eq!(partition_of(&index), expected);
    }

    /// Adding records never renumbers or changes a profile the new records did not touch.
    #[test]
    fn untouched_profiles_keep_their_ids(seed in 0u64..1_000) {
        let records = dataset(seed, 80);
        let (d, model) = trained(DedupConfig::contacts(), &records);
        let (old, new) = records.split_at(records.len() * 2 / 3);
        let mut index = MatchIndex::build(&d, &model, old.to_vec()).unwrap();
        let before: BTreeMap<ProfileId, Vec<RecordId>> = index
            .profiles()
            .map(|(id, ids)| (id, ids.into_iter().cloned().collect()))
            .collect();
        let outcomes = index.add_batch(new.to_vec());
        let touched: BTreeSet<ProfileId> = outcomes
            .iter()
            .flat_map(|o| std::iter::once(o.profile).chain(o.absorbed.iter().copied()))
            .collect();
        let after: BTreeMap<ProfileId, Vec<RecordId>> = index
            .profiles()
            .map(|(id, ids)| (id, ids.into_iter().cloned().collect()))
            .collect();
        for (id, members) in &before {
            if !touched.contains(id) {
                prop_assert_eq!(after.get(id), Some(members));
            }
        }
        // Nothing lost: every record is in exactly one profile.
        let total: usize = after.values().map(Vec::len).sum();
        prop_assert_eq!(total, records.len());
    }

    /// Save and load lose nothing, and the loaded index goes on exactly as the original.
    #[test]
    fn save_and_load_round_trip(seed in 0u64..1_000) {
        let records = dataset(seed, 50);
        let (d, model) = trained(DedupConfig::contacts(), &records);
        let (old, new) = records.split_at(records.len() / 2);
        let (new_a, new_b) = new.split_at(new.len() / 2);
        let mut index = MatchIndex::build(&d, &model, old.to_vec()).unwrap();
        index.add_batch(new_a.to_vec());
        if let Some(r) = new_b.first() {
            index.enqueue(r.clone());
        }
        let mut bytes = Vec::new();
        index.save(&mut bytes).unwrap();
        let mut loaded = MatchIndex::load(bytes.as_slice()).unwrap();
        prop_assert_eq!(partition_of(&loaded), partition_of(&index));
        prop_assert_eq!(
            loaded.profiles().map(|(id, _)| id).collect::<Vec<_>>(),
            index.profiles().map(|(id, _)| id).collect::<Vec<_>>()
        );
        prop_assert_eq!(loaded.log(), index.log());
        prop_assert_eq!(loaded.pending(), index.pending());
        for r in old {
            prop_assert_eq!(loaded.record(&r.id), Some(r.clone()));
        }
        let a = index.add_batch(new_b.to_vec());
        let b = loaded.add_batch(new_b.to_vec());
        prop_assert_eq!(a, b);
        prop_assert_eq!(partition_of(&loaded), partition_of(&index));
    }
}

/// Ann (1) and Ann (3) share nothing but a name; record 2 has 1's email and 3's phone.
fn bridge_fixture() -> (Deduper, TrainedModel, Vec<Record>, Record) {
    let mut records = vec![
        person("1", "Ann", "Lee", "ann.lee@example.com", ""),
        person("3", "Ann", "Lee", "", "+1 312 555 0147"),
    ];
    // Enough strangers for the model to learn what non-matches look like.
    records.extend(dataset(5, 300));
    let bridge = person("2", "Ann", "Lee", "ann.lee@example.com", "+1 312 555 0147");
    let mut training = records.clone();
    training.push(bridge.clone());
    let (d, model) = trained(plain_config(), &training);
    (d, model, records, bridge)
}

#[test]
fn a_bridging_record_merges_profiles_and_removing_it_splits_them() {
    let (d, model, records, bridge) = bridge_fixture();
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let id = |k: &str| RecordId::id("crm", k);
    let (p1, p3) = (
        index.profile_of(&id("1")).unwrap(),
        index.profile_of(&id("3")).unwrap(),
    );
    assert_ne!(p1, p3, "without the bridge they are two profiles");

    let outcome = index.add(bridge);
    assert_eq!(outcome.action, Action::Merged);
    assert_eq!(outcome.profile, p1.min(p3), "the older id survives");
    assert_eq!(outcome.absorbed, vec![p1.max(p3)]);
    assert_eq!(outcome.evidence.len(), 2);
    let LogEvent::Merged {
        profile,
        absorbed,
        record,
        evidence,
    } = &index.log().last().unwrap().event
    else {
        panic!("the merge is logged: {:?}", index.log().last());
    };
    assert_eq!(
        (*profile, absorbed.clone()),
        (outcome.profile, outcome.absorbed.clone())
    );
    assert_eq!(record, &RecordRef::Record(id("2")));
    assert!(evidence.iter().all(|e| e.rule.contains("threshold")));
    let fields: Vec<&str> = evidence[0]
        .explanation
        .fields
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert!(fields.contains(&"email"));
    assert_eq!(index.members(outcome.profile).unwrap().len(), 3);

    // Take the bridge out again: the profile splits back, the larger part (a tie: the part
    // with the smaller record id) keeps the id.
    let removal = index.remove(&id("2")).unwrap();
    assert_eq!(removal.profile, outcome.profile);
    assert_eq!(removal.split_into.len(), 1);
    assert_eq!(index.profile_of(&id("1")), Some(outcome.profile));
    assert_eq!(index.profile_of(&id("3")), Some(removal.split_into[0]));
    assert!(matches!(
        index.log().last().unwrap().event,
        LogEvent::Split {
            cause: SplitCause::Removed,
            ..
        }
    ));
    assert!(matches!(
        index.remove(&id("2")),
        Err(Error::UnknownRecord(_))
    ));
}

#[test]
fn a_correction_that_drops_the_link_splits_the_profile() {
    let (d, model, records, bridge) = bridge_fixture();
    let n = records.len();
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let merged = index.add(bridge).profile;
    // The bridge record is corrected: it was a different person all along.
    let corrected = index.add(person(
        "2",
        "Zed",
        "Quist",
        "zq@example.net",
        "+1 415 555 0199",
    ));
    let removal = corrected.corrected.expect("the old version was taken out");
    assert_eq!(removal.profile, merged);
    assert_eq!(removal.split_into.len(), 1);
    assert_eq!(corrected.action, Action::Created);
    assert!(index.log().iter().any(|e| matches!(
        e.event,
        LogEvent::Split {
            cause: SplitCause::Corrected,
            ..
        }
    )));
    assert_eq!(
        index.len(),
        n + 1,
        "the corrected record replaced the old one"
    );
}

#[test]
fn guard_refuses_a_weak_bridge_between_two_people() {
    // Two households at one address and phone: parents and children of the same surname.
    let mut config = DedupConfig::contacts();
    config.guard_bridges = true;
    let mut records = vec![
        person(
            "a1",
            "Maria",
            "Garcia",
            "maria.garcia@example.com",
            "+1 312 555 0101",
        ),
        person(
            "a2",
            "Maria",
            "Garcia",
            "maria.garcia@example.com",
            "+1 312 555 0101",
        ),
        person(
            "b1",
            "Mario",
            "Garcia",
            "mario.g@example.org",
            "+1 773 555 0199",
        ),
        person(
            "b2",
            "Mario",
            "Garcia",
            "mario.g@example.org",
            "+1 773 555 0199",
        ),
    ];
    records.extend(dataset(6, 300));
    let (d, model) = trained(config, &records);
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let id = |k: &str| RecordId::id("crm", k);
    let (pa, pb) = (
        index.profile_of(&id("a1")).unwrap(),
        index.profile_of(&id("b1")).unwrap(),
    );
    assert_ne!(pa, pb);
    // Maria's email with Mario's phone: one weak tie each way.
    let outcome = index.add(person(
        "x",
        "Mari",
        "Garcia",
        "maria.garcia@example.com",
        "+1 773 555 0199",
    ));
    if outcome.action == Action::Merged {
        // If it merged, both links must have outweighed the non-matches across.
        assert!(outcome.refused.is_empty());
    } else {
        assert_eq!(
            index
                .profile_of(&id("a1"))
                .map(|p| p != index.profile_of(&id("b1")).unwrap()),
            Some(true)
        );
        for ev in &outcome.refused {
            assert!(index.log().iter().any(
                |e| matches!(&e.event, LogEvent::RefusedBridge { evidence, .. } if evidence == ev)
            ));
        }
    }
}

#[test]
fn a_suppressed_person_cannot_come_back_through_a_duplicate() {
    let mut opted_out = person("1", "Ann", "Lee", "ann.lee@example.com", "+1 312 555 0147");
    opted_out.set(fields::EMAIL_OPT_OUT, true);
    let mut records = vec![opted_out];
    records.extend(dataset(7, 200));
    let (d, model) = trained(DedupConfig::contacts(), &records);
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    // The same person signs up again through another form, opted in (no opt-out).
    let mut again = person("9", "Ann", "Lee", "ann.lee@example.com", "+1 312 555 0147");
    again.set(fields::EMAIL_OPT_OUT, false);
    let outcome = index.add(again);
    assert_eq!(outcome.action, Action::Attached);
    let golden = index
        .golden(outcome.profile, &SurvivorshipConfig::default())
        .unwrap();
    assert!(golden.is_suppressed(Channel::Email), "{golden:?}");
}

#[test]
fn erasure_removes_a_person_everywhere_and_leaves_a_tombstone() {
    let (d, model, records, bridge) = bridge_fixture();
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let merged = index.add(bridge).profile;
    // A copy of the person waits in the pending batch, and a stranger too.
    index.enqueue(person("7", "Ann", "Lee", "ann.lee@example.com", ""));
    index.enqueue(person("8", "Zed", "Quist", "zq@example.net", ""));
    let before = index.len();
    let erasure = index.erase_profile(merged).unwrap();
    assert_eq!(erasure.records, 3);
    assert_eq!(erasure.pending, 1);
    assert_eq!(index.len(), before - 3);
    assert_eq!(index.pending().len(), 1);
    assert!(index.members(merged).is_none());
    // Nothing left to match against.
    assert!(
        index
            .find(&person(
                "x",
                "Ann",
                "Lee",
                "ann.lee@example.com",
                "+1 312 555 0147"
            ))
            .iter()
            .all(|c| !c.matched)
    );
    // The log names none of the erased records, only the tombstone.
    let log = serde_json::to_string(index.log()).unwrap();
    for k in ["crm:1\"", "crm:2\"", "crm:3\"", "crm:7\"", "ann.lee"] {
        assert!(!log.contains(k), "{k} in {log}");
    }
    assert!(index.log().iter().any(|e| matches!(e.event, LogEvent::Erased { tombstone, records: 3, pending: 1 } if tombstone == erasure.tombstone)));
    assert!(log.contains("\"erased\""));
    // Saved and loaded, the erased person stays gone.
    let mut bytes = Vec::new();
    index.save(&mut bytes).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("ann.lee"));
    assert!(matches!(
        index.erase_profile(merged),
        Err(Error::UnknownProfile(_))
    ));
}

#[test]
fn from_profiles_keeps_the_given_ids() {
    let records = dataset(12, 100);
    let (d, model) = trained(DedupConfig::contacts(), &records);
    let result = d.run(&records);
    // Profiles from an earlier system, numbered from 1000.
    let profiles: Vec<mergetag_model::Profile> = mergetag_dedup::survivorship::golden_profiles(
        &records,
        &result.clusters,
        &SurvivorshipConfig::default(),
    )
    .into_iter()
    .map(|mut p| {
        p.id = ProfileId(p.id.0 + 1000);
        p
    })
    .collect();
    let index = MatchIndex::from_profiles(&d, &model, records.clone(), &profiles).unwrap();
    for p in &profiles {
        for m in &p.members {
            assert_eq!(index.profile_of(m), Some(p.id));
        }
    }
    let mut index = index;
    let o = index.add(person("new", "Zed", "Quist", "zq@example.net", ""));
    assert!(o.profile.0 > profiles.iter().map(|p| p.id.0).max().unwrap());
    // A profile naming a record that is not given is refused.
    let err = MatchIndex::from_profiles(&d, &model, records[1..].to_vec(), &profiles).unwrap_err();
    assert!(err.to_string().contains("not among the records"), "{err}");
    assert!(
        matches!(&err, Error::Invalid { path, .. } if path == "profiles"),
        "{err}"
    );
}

#[test]
fn window_passes_are_refused_with_a_fix() {
    let mut config = DedupConfig::contacts();
    config.blocking[0].window = Some(5);
    let records = dataset(2, 50);
    let d = Deduper::new(config).unwrap();
    let model = d.run(&records).model;
    let err = MatchIndex::new(&d, &model).unwrap_err();
    assert!(err.to_string().contains("key or minhash"), "{err}");
    assert!(
        matches!(&err, Error::Invalid { path, .. } if path == "blocking[0].window"),
        "{err}"
    );
}

#[test]
fn damaged_files_are_clear_errors() {
    let records = dataset(3, 40);
    let (d, model) = trained(DedupConfig::contacts(), &records);
    let index = MatchIndex::build(&d, &model, records).unwrap();
    let mut bytes = Vec::new();
    index.save(&mut bytes).unwrap();
    assert!(MatchIndex::load(bytes.as_slice()).is_ok());
    let corrupt = |b: &[u8]| match MatchIndex::load(b) {
        Err(Error::Corrupt { message, .. }) => message,
        other => panic!(
            "expected a corrupt-file error, got {:?}",
            other.map(|i| i.len())
        ),
    };
    // Truncated anywhere.
    for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        corrupt(&bytes[..cut]);
    }
    assert!(corrupt(&bytes[..bytes.len() - 1]).contains("truncated"));
    // One byte changed in the body.
    let mut flipped = bytes.clone();
    let at = bytes.len() - 10;
    flipped[at] ^= 0x20;
    assert!(corrupt(&flipped).contains("checksum"));
    // Another version, another file.
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        corrupt(
            text.replacen("mergetag-index 1 ", "mergetag-index 2 ", 1)
                .as_bytes()
        )
        .contains("version 2")
    );
    assert!(corrupt(b"id,name\n1,Ann\n").contains("mergetag index"));
    assert!(corrupt(b"other-format 1 2 3\n{}").contains("not a mergetag index"));
    // Trailing data.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"{}");
    assert!(corrupt(&longer).contains("more than"));
    // A well-formed file whose configuration cannot work names the key in the body.
    let body = &text[text.find('\n').unwrap() + 1..];
    let body = body.replacen("\"threshold\":0.9", "\"threshold\":1.5", 1);
    assert_ne!(body, &text[text.find('\n').unwrap() + 1..]);
    let file = format!(
        "mergetag-index 1 {} {:016x}\n{body}",
        body.len(),
        mergetag_dedup::index::body_checksum(body.as_bytes())
    );
    let message = corrupt(file.as_bytes());
    assert!(
        message.starts_with("config.threshold: 1.5 is not"),
        "{message}"
    );
}

#[test]
fn find_is_read_only_and_agrees_with_add() {
    let records = dataset(14, 200);
    let (d, model) = trained(DedupConfig::contacts(), &records);
    let (old, new) = records.split_at(150);
    let mut index = MatchIndex::build(&d, &model, old.to_vec()).unwrap();
    for r in new {
        let found = index.find(r);
        let len = index.len();
        assert_eq!(index.len(), len);
        let outcome = index.add(r.clone());
        match found.iter().find(|c| c.matched) {
            Some(best) => {
                assert_ne!(outcome.action, Action::Created);
                assert_eq!(outcome.evidence[0].explanation.weight, best.weight);
            }
            None => assert_eq!(outcome.action, Action::Created),
        }
    }
}

/// Latency of matching one record against a large index, and the process's peak memory.
/// Not a timed test (the figures go in reports, not assertions): run it with
/// `MERGETAG_INDEX_RECORDS=1000000 cargo test --release -p mergetag-dedup --test index -- --ignored --nocapture index_latency`.
#[test]
#[ignore = "a measurement, minutes long at a million records"]
#[allow(clippy::print_stderr)]
fn index_latency() {
    use std::time::Instant;
    let n: usize = std::env::var("MERGETAG_INDEX_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let queries = 10_000;
    // About 1.3 records a person: generate enough people for n + queries records.
    let mut records = Vec::new();
    let mut seed = 0;
    while records.len() < n + queries {
        records.extend(
            Generator::new(100 + seed)
                .source(&format!("s{seed}"))
                .generate((n + queries) * 10 / 13)
                .records,
        );
        seed += 1;
    }
    records.truncate(n + queries);
    let held_out = records.split_off(n);
    let d = Deduper::new(DedupConfig::contacts()).unwrap();
    let t = Instant::now();
    let model = d.run(&records[..records.len().min(200_000)]).model;
    eprintln!(
        "trained on {} records in {:.1?}",
        records.len().min(200_000),
        t.elapsed()
    );
    let rss = |key: &str| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
            .unwrap_or_default()
    };
    eprintln!("before build: {}", rss("VmRSS"));
    let t = Instant::now();
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    eprintln!(
        "built: {} records, {} profiles in {:.2?}; {}",
        index.len(),
        index.profile_count(),
        t.elapsed(),
        rss("VmRSS")
    );
    let percentiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        format!(
            "p50 {:.1} us, p99 {:.1} us, max {:.1} us",
            at(0.5),
            at(0.99),
            at(1.0)
        )
    };
    let mut find = Vec::with_capacity(queries);
    for r in &held_out {
        let t = Instant::now();
        std::hint::black_box(index.find(r));
        find.push(t.elapsed().as_secs_f64() * 1e6);
    }
    eprintln!("find (read-only) x{queries}: {}", percentiles(find));
    let mut add = Vec::with_capacity(queries);
    let mut attached = 0;
    for r in held_out {
        let t = Instant::now();
        let o = index.add(r);
        add.push(t.elapsed().as_secs_f64() * 1e6);
        attached += usize::from(o.action != Action::Created);
    }
    eprintln!(
        "add x{queries} ({attached} joined a profile): {}",
        percentiles(add)
    );
    eprintln!("peak: {}; now: {}", rss("VmHWM"), rss("VmRSS"));

    // The index's own memory: saved, then loaded in a fresh process (this test binary again),
    // whose resident size after loading is the index and little else.
    let file = std::env::temp_dir().join("mergetag-index-latency.mtix");
    let t = Instant::now();
    index.save_to_path(&file).unwrap();
    eprintln!(
        "saved in {:.2?}: {} MB",
        t.elapsed(),
        std::fs::metadata(&file).unwrap().len() / 1_000_000
    );
    drop(index);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "index_memory_after_load",
            "--nocapture",
        ])
        .env("MERGETAG_INDEX_FILE", &file)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim());
    let _ = std::fs::remove_file(&file);
}

/// Loads the index `index_latency` saved and reports the process's memory (run by it).
#[test]
#[ignore = "run by index_latency"]
#[allow(clippy::print_stderr)]
fn index_memory_after_load() {
    let Some(file) = std::env::var_os("MERGETAG_INDEX_FILE") else {
        return;
    };
    let t = std::time::Instant::now();
    let index = MatchIndex::load_from_path(&file).unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or("")
            .to_owned()
    };
    eprintln!(
        "loaded {} records, {} profiles in {:.2?}; resident {}; peak while loading {}",
        index.len(),
        index.profile_count(),
        t.elapsed(),
        line("VmRSS"),
        line("VmHWM")
    );
}

#[test]
fn erasing_part_of_a_profile_keeps_the_rest_under_its_id() {
    let (d, model, records, bridge) = bridge_fixture();
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let merged = index.add(bridge).profile;
    let id = |k: &str| RecordId::id("crm", k);
    let survivor = if index.profile_of(&id("1")) == Some(merged) && merged == ProfileId(1) {
        "3"
    } else {
        "1"
    };
    let gone: Vec<RecordId> = ["1", "2", "3"]
        .into_iter()
        .filter(|k| *k != survivor)
        .map(id)
        .collect();
    let erasure = index.erase(&gone);
    assert_eq!(erasure.records, 2);
    assert_eq!(erasure.profiles, vec![merged]);
    assert_eq!(index.profile_of(&id(survivor)), Some(merged));
    assert_eq!(index.members(merged).unwrap().len(), 1);
    // Erasure is idempotent; a second request finds nothing.
    assert_eq!(index.erase(&gone).records, 0);
}

#[test]
fn a_link_merges_profiles_the_model_keeps_apart_and_holds() {
    let records = vec![
        person("1", "Robert", "Smith", "bob.smith@gmail.com", ""),
        person("2", "Bob", "Smith", "bob.smith@gmail.com", ""),
        person("3", "Alice", "Jones", "alice@example.com", ""),
        person("4", "Carol", "White", "carol@example.org", ""),
    ];
    let (d, model) = trained(plain_config(), &records);
    let mut index = MatchIndex::build(&d, &model, records).unwrap();
    let id = |k: &str| RecordId::id("crm", k);
    let (alice, carol) = (
        index.profile_of(&id("3")).unwrap(),
        index.profile_of(&id("4")).unwrap(),
    );
    assert_ne!(alice, carol);
    let linked = index.link(&id("4"), &id("3"), "alias: 4 -> 3").unwrap();
    assert_eq!(linked.profile, alice.min(carol));
    assert_eq!(linked.absorbed, Some(alice.max(carol)));
    assert_eq!(index.profile_of(&id("3")), index.profile_of(&id("4")));
    assert!(matches!(
        &index.log().last().unwrap().event,
        LogEvent::Linked { absorbed: Some(_), reason, records, .. }
            if reason == "alias: 4 -> 3" && records[0] == RecordRef::Record(id("4"))
    ));
    // Linking again changes nothing but the log; an unknown record is an error.
    assert_eq!(
        index.link(&id("3"), &id("4"), "again").unwrap().absorbed,
        None
    );
    assert!(matches!(
        index.link(&id("3"), &id("9"), "x"),
        Err(Error::UnknownRecord(_))
    ));
    // The link is kept as a match: a third member joining and leaving does not split them.
    index.add(person("5", "Alice", "Jones", "alice@example.com", ""));
    index.remove(&id("5")).unwrap();
    assert_eq!(index.profile_of(&id("3")), index.profile_of(&id("4")));
    // And it survives the file format.
    let mut bytes = Vec::new();
    index.save(&mut bytes).unwrap();
    let loaded = MatchIndex::load(&bytes[..]).unwrap();
    assert_eq!(partition_of(&loaded), partition_of(&index));
    assert_eq!(loaded.log(), index.log());
}
