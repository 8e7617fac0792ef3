//! The facade's integration tests: the `Pipeline` on the bundled sample data and on small
//! in-memory sources, the TOML configuration, the run report's counts, and the fuzz inputs.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::mapping::{MappingConfig, Platform};
use mergetag::model::{IterSource, Value};
use mergetag::normalize::NormalizeConfig;
use mergetag::pipeline::config::SourceFormat;
use mergetag::pipeline::{
    ConsentRule, Decision, Pipeline, PipelineConfig, ProfileBatch, Progress, SourceOptions,
    StageAt, StageError, Step, files, profile_stage_fn, stage_fn,
};
use mergetag::sources::{ColumnMap, CsvSource, OnBadRow};
use mergetag::validate::{QuarantineReader, RuleSet, Validator};
use mergetag::{Error, Record, RecordId, Source, fields};

mod fuzz;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mergetag-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn person(source: &str, id: &str, first: &str, last: &str, email: &str) -> Record {
    let mut r = Record::new(RecordId::id(source, id));
    r.set(fields::FIRST_NAME, first);
    r.set(fields::LAST_NAME, last);
    r.set(fields::EMAIL, email);
    r
}

fn memory(
    name: &str,
    records: Vec<Record>,
) -> IterSource<impl Iterator<Item = Result<Record, std::convert::Infallible>>> {
    IterSource::new(name, records.into_iter().map(Ok))
}

#[test]
fn sample_pipeline_loads_runs_and_adds_up() {
    let config = PipelineConfig::load(data().join("pipeline.toml")).unwrap();
    assert_eq!(config.base_dir(), data());
    let mut steps = BTreeSet::new();
    let output = Pipeline::from_config(&config)
        .unwrap()
        .run(|p: Progress| {
            if p.finished {
                steps.insert(p.step);
            }
        })
        .unwrap();
    let r = &output.report;
    assert!(r.adds_up(), "{:?}", r.problems());

    // Every row of every record source: 200 + 199 + 151.
    assert_eq!(r.records_in, 550);
    assert_eq!(r.records_in, r.accepted + r.quarantined);
    // The malformed rows of the sample (two Salesforce, one HubSpot) are quarantined as such.
    assert_eq!(r.sources[0].rejected, 2);
    assert_eq!(r.sources[1].rejected, 1);
    assert_eq!(r.quarantined_by_reason["source.ragged_row"], 2);
    assert_eq!(r.quarantined_by_reason["source.invalid_utf8"], 1);
    // Accepted = the sum of the profiles' members, and each record is in exactly one.
    let members: usize = output.profiles.iter().map(|p| p.members.len()).sum();
    assert_eq!(members as u64, r.accepted);
    assert_eq!(output.records.len() as u64, r.accepted);
    let mut seen = HashSet::new();
    for p in &output.profiles {
        for m in &p.members {
            assert!(seen.insert(m.clone()), "{m} is in two profiles");
        }
    }
    for (record, profile) in output.records.iter().zip(&output.profile_of) {
        let p = output.profiles.iter().find(|p| p.id == *profile).unwrap();
        assert!(p.members.contains(&record.id));
    }
    // The quarantine holds the source's and the events' bad rows.
    assert_eq!(output.quarantine.len() as u64, r.quarantine_entries());
    assert_eq!(r.events.as_ref().unwrap().quarantined, 3);
    // Nothing is lost: accepted and quarantined record ids are disjoint.
    let quarantined: HashSet<_> = output
        .quarantine
        .iter()
        .filter_map(|e| e.record().map(|r| r.id.clone()))
        .collect();
    assert!(output.records.iter().all(|r| !quarantined.contains(&r.id)));

    // Dedup and joins did their job: 240 customers and 20 outside people, give or take.
    let profiles = output.profiles.len();
    assert!((250..=270).contains(&profiles), "{profiles} profiles");
    assert!(r.profiles.joined > 100);
    assert!(r.profiles.suppressed_email > 0);
    // Every platform: suppression enforced, counts adding up.
    assert_eq!(r.outputs.len(), 5);
    for o in &r.outputs {
        assert!(
            o.suppressed >= r.profiles.suppressed_email,
            "{}",
            o.platform
        );
        assert!(o.exported > 200);
    }
    assert!(r.coverage.contains_key("first_name"));
    assert!(output.audit.is_some());
    assert!(steps.contains(&Step::Read) && steps.contains(&Step::Export));

    // Written, and readable back.
    let dir = temp_dir("sample");
    let written = output.write_to(&dir).unwrap();
    assert!(written.iter().any(|p| p.ends_with("sendgrid.jsonl")));
    let q = std::fs::File::open(dir.join(files::QUARANTINE)).unwrap();
    let entries: Vec<_> = QuarantineReader::new(std::io::BufReader::new(q))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(entries.len(), output.quarantine.len());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files::REPORT_JSON)).unwrap())
            .unwrap();
    assert_eq!(report["records_in"], 550);
    assert!(
        std::fs::read_to_string(dir.join(files::REPORT_TEXT))
            .unwrap()
            .contains("quarantined by reason")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let config = PipelineConfig::load(data().join("pipeline.toml")).unwrap();
        let out = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
        (
            serde_json::to_string(&out.profiles).unwrap(),
            out.audiences
                .iter()
                .map(|a| a.to_jsonl())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn skipped_stages_each_record_its_own_profile() {
    let records = vec![
        person("crm", "1", "Robert", "Smith", "bob@example.com"),
        person("crm", "2", "Bob", "Smith", "bob@example.com"),
        person("crm", "3", "Alice", "Jones", "alice@example.com"),
    ];
    let output = Pipeline::builder()
        .source(memory("crm", records))
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert_eq!(output.profiles.len(), 3);
    assert!(output.report.dedup.is_none());
    assert!(output.report.normalization.is_none());
    assert!(output.audit.is_none());
    assert!(output.report.adds_up());
}

#[test]
fn normalize_and_dedup_only() {
    let records = vec![
        person("crm", "1", "ROBERT", "smith", " Bob.Smith@Gmail.com"),
        person("crm", "2", "Bob", "Smith", "bobsmith+news@gmail.com"),
        person("crm", "3", "Alice", "Jones", "alice@example.com"),
    ];
    let output = Pipeline::builder()
        .source(memory("crm", records))
        .normalizer(NormalizeConfig::standard().build().unwrap())
        .dedup(Deduper::new(DedupConfig::contacts()).unwrap())
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert_eq!(output.profiles.len(), 2);
    assert_eq!(output.profile_of[0], output.profile_of[1]);
    let tally = output.report.normalization.as_ref().unwrap();
    assert!(tally.by_field["first_name"]["changed"] >= 1);
    assert!(output.report.adds_up());
}

#[test]
fn custom_stages_quarantine_with_their_reason() {
    let records = vec![
        person("crm", "1", "Ada", "Lovelace", "ada@example.com"),
        person("crm", "2", "Test", "Account", "qa@test.example.com"),
        person("crm", "3", "Bob", "Stone", "not-an-email"),
    ];
    let rules = RuleSet::from_toml_str("[fields.email]\nemail = true\n").unwrap();
    let mut seen_before = 0;
    let counter = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = counter.clone();
    let output = Pipeline::builder()
        .source(memory("crm", records))
        .validator(Validator::new(rules))
        .stage_at(
            StageAt::BeforeNormalize,
            stage_fn("count", move |_| {
                c.set(c.get() + 1);
                Decision::Keep
            }),
        )
        .stage(stage_fn("drop_test_accounts", |r: &mut Record| {
            if r.text(fields::EMAIL)
                .is_some_and(|e| e.ends_with("@test.example.com"))
            {
                Decision::Quarantine("test account".into())
            } else {
                r.set("checked", true);
                Decision::Keep
            }
        }))
        .build()
        .unwrap()
        .run(|_| seen_before += 1)
        .unwrap();
    assert!(seen_before > 0);
    assert_eq!(counter.get(), 3, "the first stage sees every record");
    let r = &output.report;
    assert_eq!((r.records_in, r.accepted, r.quarantined), (3, 1, 2));
    assert_eq!(r.quarantined_by_reason["stage.drop_test_accounts"], 1);
    assert_eq!(r.quarantined_by_reason["invalid_email.missing_at"], 1);
    assert_eq!(output.records[0].get("checked"), Some(&true.into()));
    let reasons: Vec<&str> = output
        .quarantine
        .iter()
        .map(|e| e.findings()[0].message.as_str())
        .collect();
    assert!(reasons.contains(&"test account"));
    assert!(r.adds_up());
    assert!(
        r.timings
            .iter()
            .any(|t| t.stage == "stage.drop_test_accounts")
    );
}

#[test]
fn join_sources_join_by_email_or_stand_alone() {
    let crm = vec![
        person("crm", "1", "Ada", "Lovelace", "Ada.Lovelace@Gmail.com"),
        person("crm", "2", "Bob", "Stone", "bob@example.com"),
    ];
    let mut e1 = Record::new(RecordId::id("enrichment", "adalovelace@gmail.com"));
    e1.set(fields::EMAIL, "adalovelace@gmail.com");
    e1.set(fields::COMPANY, "Analytical Engines");
    let mut e2 = Record::new(RecordId::id("enrichment", "zed@example.com"));
    e2.set(fields::EMAIL, "zed@example.com");
    let output = Pipeline::builder()
        .source(memory("crm", crm))
        .source_with(
            memory("enrichment", vec![e2, e1]),
            SourceOptions::join("email"),
        )
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert_eq!(output.profiles.len(), 3);
    let ada = &output.profiles[0];
    assert_eq!(ada.members.len(), 2);
    assert_eq!(
        ada.value(fields::COMPANY).and_then(|v| v.as_str()),
        Some("Analytical Engines")
    );
    assert_eq!(output.report.profiles.joined, 1);
    assert!(output.report.adds_up());
}

#[test]
fn key_as_copies_the_key() {
    let csv = "hs_object_id,firstname,email\n901,Ada,ada@example.com\n";
    let source = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .from_reader("hubspot", csv.as_bytes())
        .unwrap();
    let output = Pipeline::builder()
        .source_with(source, SourceOptions::default().with_key_as("user_id"))
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert_eq!(output.records[0].text(fields::USER_ID), Some("901"));
}

#[test]
fn recoverable_source_errors_are_quarantined_not_fatal() {
    // Under OnBadRow::Fail the reader returns bad rows as errors; the pipeline quarantines
    // them all the same.
    let csv = "hs_object_id,firstname,hs_email_optout\n1,Ada,false\n2,Bob,maybe\n3,Cy,true\n";
    let source = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .on_bad_row(OnBadRow::Fail)
        .from_reader("hubspot", csv.as_bytes())
        .unwrap();
    let output = Pipeline::builder()
        .source(source)
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let r = &output.report;
    assert_eq!((r.records_in, r.accepted, r.quarantined), (3, 2, 1));
    assert_eq!(r.quarantined_by_reason["source.invalid_value"], 1);
    assert!(r.adds_up());
}

#[test]
fn outputs_need_a_mapping_that_suits_the_platform() {
    let err = Pipeline::builder()
        .source(memory("crm", vec![]))
        .output(Platform::SendGrid)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("needs a mapping"), "{err}");

    let long = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"last_purchase_product\"\nsource = \"traits.last_purchase_product\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let err = Pipeline::builder()
        .source(memory("crm", vec![]))
        .mapping(long)
        .output(Platform::Mailchimp)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Mapping(_)), "{err}");
}

#[test]
fn config_errors_name_the_line_or_key_and_how_to_fix_it() {
    let cases: &[(&str, &str)] = &[
        (
            "[[sources]]\nname = \"a\"\npath = \"a.csv\"\nprest = \"hubspot_contacts\"\n",
            "<toml>: line 4, column 1: unknown field `prest`",
        ),
        (
            "[[sources]]\nname = \"a\"\npath = \"a.csv\"\npreset = \"hubspot\"\n",
            "<toml>: sources[0] (a).preset: unknown preset `hubspot`; expected one of",
        ),
        (
            "[[sources]]\nname = \"a\"\npath = \"a.data\"\n",
            "sources[0] (a).format: cannot tell the format from the file name",
        ),
        (
            "[[sources]]\nname = \"a\"\npath = \"a.csv\"\n[[sources]]\nname = \"a\"\npath = \"b.csv\"\n",
            "sources[1] (a).name: two sources have this name",
        ),
        (
            "[dedup]\npreset = \"people\"\n",
            "dedup.preset: unknown preset `people`",
        ),
        (
            "[dedup]\npreset = \"contacts\"\nthreshold = 2.0\n",
            "<toml>: dedup.threshold: ",
        ),
        (
            "[normalize.fields.phone]\nnormalizer = \"phone\"\ndefault_region = \"XX\"\n",
            "normalize.fields.phone",
        ),
        (
            "[rules.fields.age]\nrange = { min = 5, max = 1 }\n",
            "rules.fields.age.range",
        ),
        (
            "[outputs]\nplatforms = [\"sendgrid\"]\n",
            "outputs.platforms: the sendgrid output needs a mapping document",
        ),
        (
            "[mapping]\n[[mapping.variables]]\nname = \"last_purchase_product\"\nsource = \"traits.x\"\n[outputs]\nplatforms = [\"mailchimp\"]\n",
            "[outputs.mapping.mailchimp]",
        ),
        (
            "[outputs]\nplatforms = [\"sendgird\"]\n",
            "line 2, column 14: unknown variant `sendgird`",
        ),
        ("now = \"yesterday\"\n", "now: not an RFC 3339 time"),
        (
            "[outputs]\nsuppress = [\"jane.doe.example.com\"]\n",
            "outputs.suppress[0]",
        ),
    ];
    for (text, expected) in cases {
        let err = PipelineConfig::from_toml_str(text).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "for {text:?}:\n  got {err}\n  expected {expected}"
        );
    }
    // Personal values stay out of errors.
    let err = PipelineConfig::from_toml_str("[outputs]\nsuppress = [\"jane.doe.example.com\"]\n")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("jane.doe"), "{err}");
}

#[test]
fn relative_paths_resolve_against_the_config_file() {
    let dir = temp_dir("relative");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        data().join("hubspot_contacts.csv"),
        dir.join("contacts.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.join("mapping.toml"),
        "[[variables]]\nname = \"first_name\"\nsource = \"profile.first_name\"\nfallback = \"there\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("p.toml"),
        "[[sources]]\nname = \"hubspot\"\npath = \"contacts.csv\"\npreset = \"hubspot_contacts\"\n\
         [mapping]\nfile = \"mapping.toml\"\n[outputs]\ndir = \"out\"\nplatforms = [\"jsonl\"]\n",
    )
    .unwrap();
    let output = mergetag::pipeline::run_config(dir.join("p.toml"), |_| {}).unwrap();
    assert_eq!(output.report.records_in, 199);
    assert!(dir.join("out").join("jsonl.jsonl").is_file());
    assert!(dir.join("out").join(files::PROFILES).is_file());

    // A missing input names the file.
    std::fs::write(
        dir.join("missing.toml"),
        "[[sources]]\nname = \"x\"\npath = \"nowhere.csv\"\n",
    )
    .unwrap();
    let config = PipelineConfig::load(dir.join("missing.toml")).unwrap();
    let err = Pipeline::from_config(&config).unwrap_err().to_string();
    assert!(err.contains("nowhere.csv"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fatal_source_errors_name_the_position_never_the_value() {
    let text = format!(
        "[[sources]]\nname = \"hubspot\"\npath = \"{}\"\npreset = \"hubspot_contacts\"\non_bad_row = \"fail\"\n",
        data().join("hubspot_contacts.csv").display()
    );
    // Under `fail` the first bad row stops the run, with an error that names the source, its
    // line and field, never the value.
    let config = PipelineConfig::from_toml_str(&text).unwrap();
    let err = Pipeline::from_config(&config)
        .unwrap()
        .run(|_| {})
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("hubspot: line 180, field `firstname`: invalid UTF-8"),
        "{message}"
    );
    assert!(!message.contains("Ren"), "{message}");

    // Under `quarantine` (the default) the same row is quarantined, with the same reason.
    let config =
        PipelineConfig::from_toml_str(&text.replace("\"fail\"", "\"quarantine\"")).unwrap();
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert_eq!(output.report.quarantined, 1);
    let message = output.quarantine[0].findings()[0].message.clone();
    assert!(!message.contains("Ren"), "{message}");
}

#[test]
fn report_serializes_and_prints() {
    let output = Pipeline::builder()
        .source(memory(
            "crm",
            vec![person("crm", "1", "Ada", "L", "ada@example.com")],
        ))
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let json = serde_json::to_value(&output.report).unwrap();
    assert_eq!(json["records_in"], 1);
    assert_eq!(json["sources"][0]["name"], "crm");
    let text = output.report.to_string();
    assert!(
        text.contains("source") && text.contains("profiles: 1"),
        "{text}"
    );
}

#[test]
fn fuzz_inputs_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/pipeline_config");
    mergetag_testkit::replay_fuzz_inputs(dir, fuzz::pipeline_config);
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    /// A person-ish row: name indices, an email that may be broken, a flag for the custom
    /// stage, and which of the two sources it comes from.
    fn row() -> impl Strategy<Value = (usize, usize, u8, bool, bool)> {
        (0usize..4, 0usize..4, 0u8..6, any::<bool>(), any::<bool>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Nothing is lost, whatever the records and whichever stages run: every record is
        /// accepted or quarantined, every accepted one is in exactly one profile, and the
        /// report adds up.
        #[test]
        fn nothing_is_lost(rows in proptest::collection::vec(row(), 0..40), dedup in any::<bool>(), join in any::<bool>()) {
            let first = ["Ann", "Anne", "Bob", "Robert"];
            let last = ["Smith", "Smyth", "Jones", "Lee"];
            let mut a = Vec::new();
            let mut b = Vec::new();
            for (i, (f, l, e, flagged, second)) in rows.iter().enumerate() {
                let email = match e {
                    0 => "broken@@example.com".to_owned(),
                    1 => String::new(),
                    n => format!("{}.{}{}@example.com", first[*f], last[*l], n % 3),
                };
                let mut r = person(if *second { "b" } else { "a" }, &format!("{i}"), first[*f], last[*l], &email);
                if *flagged {
                    r.set("flagged", true);
                }
                if *second { b.push(r) } else { a.push(r) }
            }
            let n = rows.len() as u64;
            let mut builder = Pipeline::builder();
            builder
                .source(memory("a", a))
                .validator(Validator::new(RuleSet::from_toml_str("[fields.email]\nemail = true\n").unwrap()))
                .stage(stage_fn("flagged", |r: &mut Record| {
                    if r.get("flagged").is_some() {
                        Decision::Quarantine("flagged".into())
                    } else {
                        Decision::Keep
                    }
                }));
            if join {
                builder.source_with(memory("b", b), SourceOptions::join("email"));
            } else {
                builder.source(memory("b", b));
            }
            if dedup {
                let mut config = DedupConfig::contacts();
                config.random_pairs = 2_000;
                builder.dedup(Deduper::new(config).unwrap());
            }
            let out = builder.build().unwrap().run(|_| {}).unwrap();
            let r = &out.report;
            prop_assert!(r.adds_up(), "{:?}", r.problems());
            prop_assert_eq!(r.records_in, n);
            prop_assert_eq!(out.records.len() as u64 + out.quarantine.len() as u64, n);
            let mut ids: Vec<RecordId> = out.records.iter().map(|r| r.id.clone()).collect();
            ids.extend(out.quarantine.iter().filter_map(|e| e.record().map(|r| r.id.clone())));
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len() as u64, n);
            let members: usize = out.profiles.iter().map(|p| p.members.len()).sum();
            prop_assert_eq!(members, out.records.len());
        }
    }
}

#[test]
fn the_documented_format_parses() {
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pipeline/config.rs"),
    )
    .unwrap();
    let mut doc = String::new();
    let mut inside = false;
    for line in source.lines() {
        let Some(line) = line.strip_prefix("//!") else {
            continue;
        };
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (inside, line.trim()) {
            (false, "```toml") => inside = true,
            (true, "```") => break,
            (true, _) => {
                doc.push_str(line);
                doc.push('\n');
            }
            _ => {}
        }
    }
    assert!(doc.contains("[[sources]]"), "{doc}");
    let config = PipelineConfig::from_toml_str(&doc).unwrap();
    assert_eq!(config.sources.len(), 4);
    assert_eq!(config.output_dir(), Some(PathBuf::from("out")));
}

#[test]
fn profile_stages_see_profiles_events_and_traits_and_feed_the_mapping() {
    // The sample pipeline, extended in code: a stage that counts each profile's events and
    // another that reads the first stage's trait, in the order they were added.
    let config = PipelineConfig::load(data().join("pipeline.toml")).unwrap();
    let mut seen_traits = 0usize;
    let mapping = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"activity\"\nsource = \"traits.activity\"\nfallback = \"quiet\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let output = Pipeline::builder_from_config(&config)
        .unwrap()
        .profile_stage(profile_stage_fn(
            "events",
            |batch: &mut ProfileBatch<'_>| {
                for i in 0..batch.len() {
                    let n = batch.events(i).len() as i64;
                    batch.set_trait(i, "event_count", n);
                }
                Ok(())
            },
        ))
        .profile_stage(profile_stage_fn(
            "activity",
            move |batch: &mut ProfileBatch<'_>| {
                for i in 0..batch.len() {
                    // Traits computed from the configuration are there already.
                    seen_traits += batch.traits(i).len();
                    let busy = batch.traits(i)["event_count"].as_f64().unwrap_or(0.0) >= 3.0;
                    if busy {
                        batch.set_trait(i, "activity", "busy");
                    }
                }
                assert!(seen_traits > batch.len(), "config traits are visible");
                Ok(())
            },
        ))
        .output_with(Platform::JsonLines, mapping, None)
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert!(output.report.adds_up());
    let attributed: i64 = output
        .traits
        .iter()
        .map(|t| t["event_count"].as_f64().unwrap() as i64)
        .sum();
    assert_eq!(
        attributed as u64,
        output.report.events.as_ref().unwrap().attributed,
        "each attributed event is seen by exactly one profile"
    );
    let busy = output
        .traits
        .iter()
        .filter(|t| t.get("activity").is_some())
        .count();
    assert!(busy > 0);
    let jsonl = output.audiences.last().unwrap().to_jsonl();
    assert!(jsonl.contains("\"activity\":\"busy\""), "{jsonl}");
    assert!(jsonl.contains("\"activity\":\"quiet\""), "{jsonl}");
    assert!(
        output
            .report
            .timings
            .iter()
            .any(|t| t.stage == "profile_stage.activity")
    );
}

#[test]
fn a_failing_profile_stage_stops_the_run_naming_it() {
    #[derive(Debug)]
    struct NoModel;
    impl std::fmt::Display for NoModel {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("no model to score with")
        }
    }
    impl std::error::Error for NoModel {}

    let err = Pipeline::builder()
        .source(memory(
            "crm",
            vec![person("crm", "1", "Ada", "L", "ada@example.com")],
        ))
        .profile_stage(profile_stage_fn("churn", |_: &mut ProfileBatch<'_>| {
            Err(Box::new(NoModel) as StageError)
        }))
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap_err();
    assert!(matches!(&err, Error::Stage { stage, .. } if stage == "churn"));
    assert_eq!(err.to_string(), "profile stage `churn` failed");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "no model to score with"
    );
}

#[test]
fn sources_are_configured_the_same_in_code_and_in_files() {
    // One SourceConfig type: what a pipeline file says, a program builds with the same keys.
    let config = PipelineConfig::load(data().join("pipeline.toml")).unwrap();
    let hubspot = &config.sources[1];
    assert_eq!(hubspot.format().unwrap(), SourceFormat::Csv);
    let mut source = hubspot.build(config.base_dir()).unwrap();
    let mut n = 0;
    let mut record = Record::default();
    while let Ok(more) = source.read_record(&mut record) {
        if !more {
            break;
        }
        n += 1;
    }
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert_eq!(n, output.report.sources[1].accepted);
}

#[test]
fn a_key_column_the_file_lacks_and_duplicate_ids_are_not_silent() {
    let dir = temp_dir("keys");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("crm.csv"),
        "id,first_name,email\n1,Ada,ada@example.com\n2,Bob,bob@example.com\n1,Cy,cy@example.com\n",
    )
    .unwrap();
    let config = |extra: &str| {
        PipelineConfig::from_toml_str(&format!(
            "[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n{extra}\n"
        ))
        .unwrap()
        .with_base_dir(&dir)
    };
    // A key naming a column the file lacks would key every row by number: an error.
    let err = Pipeline::from_config(&config("key = \"customer_id\""))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0] (crm).key: the header has no column `customer_id`"),
        "{err}"
    );

    // Two rows with one id: the second is quarantined with its reason, so that one record id
    // is never in two profiles.
    let output = Pipeline::from_config(&config("key = \"id\""))
        .unwrap()
        .run(|_| {})
        .unwrap();
    let r = &output.report;
    assert_eq!((r.records_in, r.accepted, r.quarantined), (3, 2, 1));
    assert_eq!(r.quarantined_by_reason["source.duplicate_id"], 1);
    assert!(r.adds_up(), "{:?}", r.problems());
    // ... or, under `fail`, stops the run naming the row.
    let err = Pipeline::from_config(&config("key = \"id\"\non_bad_row = \"fail\""))
        .unwrap()
        .run(|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("crm: record 3"), "{err}");
    assert!(err.contains("same as record 1"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_sources_and_dedup_that_can_find_nothing_are_warned_about() {
    let output = Pipeline::builder()
        .source(memory("crm", vec![]))
        .source(memory(
            "web",
            vec![person("web", "1", "Ada", "L", "ada@example.com")],
        ))
        .dedup(DedupConfig::contacts().build().unwrap())
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let w = &output.report.warnings;
    assert!(
        w.iter()
            .any(|w| w.at == "read.crm" && w.code == "empty_source"),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.code == "field_missing" && w.message.contains("`phone`")),
        "{w:?}"
    );
    assert!(!w.iter().any(|w| w.at == "read.web"));
    let text = output.report.to_string();
    assert!(
        text.contains("warning: read.crm: the source yielded no row"),
        "{text}"
    );
    let json = serde_json::to_string(&output.report).unwrap();
    assert!(json.contains("\"empty_source\""), "{json}");
}

#[test]
fn enrichment_rows_alone_never_make_a_recipient() {
    let config = PipelineConfig::load(data().join("pipeline.toml")).unwrap();
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert!(output.report.adds_up(), "{:?}", output.report.problems());
    // Profiles made only of enrichment rows exist (nothing is lost) but are no recipients.
    let third_party_only: Vec<_> = output
        .profiles
        .iter()
        .filter(|p| p.members.iter().all(|m| m.source.as_str() == "enrichment"))
        .collect();
    assert!(!third_party_only.is_empty());
    for o in &output.report.outputs {
        assert_eq!(
            o.excluded.get("no_consent.third_party_only"),
            Some(&(third_party_only.len() as u64)),
            "{}",
            o.platform
        );
    }
    let jsonl = output
        .audiences
        .iter()
        .find(|a| a.platform == Platform::JsonLines)
        .unwrap()
        .to_jsonl();
    for p in &third_party_only {
        if let Some(email) = p.value(fields::EMAIL).and_then(|v| v.as_str()) {
            assert!(
                !jsonl.contains(email),
                "an enrichment-only profile was exported"
            );
        }
    }

    // A consent field, in code: only profiles holding it as true are recipients.
    let consent = ConsentRule {
        field: Some("email_consent".into()),
        ..ConsentRule::default()
    };
    let mut yes = person("crm", "1", "Ada", "L", "ada@example.com");
    yes.set("email_consent", true);
    let no = person("crm", "2", "Bob", "M", "bob@example.com");
    let mapping = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"first_name\"\nsource = \"profile.first_name\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let output = Pipeline::builder()
        .source(memory("crm", vec![yes, no]))
        .mapping(mapping)
        .output(Platform::JsonLines)
        .consent(consent)
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let o = &output.report.outputs[0];
    assert_eq!((o.recipients, o.exported), (2, 1));
    assert_eq!(o.excluded["no_consent.no_consent_field"], 1);
    assert!(output.report.adds_up());
}

#[test]
fn outputs_are_written_whole_or_not_at_all() {
    let output = Pipeline::builder()
        .source(memory(
            "crm",
            vec![person("crm", "1", "Ada", "L", "ada@example.com")],
        ))
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let dir = temp_dir("staged");
    // A directory where the report should go: the write fails, naming the file.
    std::fs::create_dir_all(dir.join(files::REPORT_TEXT).join("x")).unwrap();
    let err = output.write_to(&dir).unwrap_err().to_string();
    assert!(err.contains(files::REPORT_TEXT), "{err}");
    // No temporary file is left behind.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    // Written normally, every file is there and complete.
    let written = output.write_to(&dir).unwrap();
    assert!(written.iter().all(|p| p.is_file()));
    let report = std::fs::read_to_string(dir.join(files::REPORT_JSON)).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&report).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn placeholder_values_never_reach_a_template() {
    let csv = "hs_object_id,firstname,lastname,email\n\
               1,NULL,Lee,a@example.com\n2,N/A,Kim,b@example.com\n3,{{first_name}},Ray,c@example.com\n\
               4,Ada,Byron,d@example.com\n";
    let source = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .from_reader("hubspot", csv.as_bytes())
        .unwrap();
    let mapping = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"first_name\"\nsource = \"profile.first_name\"\nfallback = \"there\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let output = Pipeline::builder()
        .source(source)
        .normalizer(NormalizeConfig::standard().build().unwrap())
        .mapping(mapping)
        .output(Platform::JsonLines)
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    let jsonl = output.audiences[0].to_jsonl();
    assert_eq!(
        jsonl.matches("\"first_name\":\"there\"").count(),
        3,
        "{jsonl}"
    );
    assert!(jsonl.contains("\"first_name\":\"Ada\""), "{jsonl}");
    for bad in ["Null", "N/a", "{{"] {
        assert!(!jsonl.contains(bad), "{bad} in {jsonl}");
    }
    let tally = output.report.normalization.as_ref().unwrap();
    assert_eq!(tally.total("removed"), 3);
}

#[test]
fn segments_and_rfm_from_the_configuration_become_traits() {
    let text = std::fs::read_to_string(data().join("pipeline.toml")).unwrap()
        + "\n[[segments]]\nname = \"buyers\"\nrule = { field = \"traits.orders\", op = \"gte\", value = 1 }\n\
           [rfm]\norder_event = \"Order Completed\"\namount = \"total\"\n";
    let config = PipelineConfig::from_toml_str(&text)
        .unwrap()
        .with_base_dir(data());
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    let mut buyers = 0;
    for (p, t) in output.profiles_with_traits() {
        let segments = t["segments"].to_string();
        let orders = t.get("orders").and_then(|v| v.as_f64()).unwrap_or(0.0);
        assert_eq!(segments.contains("buyers"), orders >= 1.0, "{} {t:?}", p.id);
        buyers += usize::from(orders >= 1.0);
        assert!(t.contains_key("rfm_segment"), "{t:?}");
        let r = t["rfm_r"].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&r));
    }
    assert!(buyers > 0);
    // A segment with a bad rule is a configuration error naming it.
    let err = PipelineConfig::from_toml_str(
        "[[segments]]\nname = \"x\"\nrule = { field = \"traits.orders\", op = \"gte\" }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("segments[0]"), "{err}");
}

#[test]
fn bounces_and_unsubscribes_from_events_suppress_through_merges() {
    use mergetag::model::{Event, IterEventSource};
    let at = |s: &str| s.parse().unwrap();
    // Ada has two records (merged by dedup); her old address bounced hard. Bob unsubscribed.
    let mut ada_old = person("crm", "1", "Ada", "Lovelace", "ada.lovelace@gmail.com");
    ada_old.set(fields::PHONE, "+13125550147");
    let mut ada_new = person("shop", "7", "Ada", "Lovelace", "ada@lovelace.example");
    ada_new.set(fields::PHONE, "+13125550147");
    let bob = person("crm", "2", "Bob", "Babbage", "bob@example.com");
    let cy = person("crm", "3", "Cy", "Young", "cy@example.com");
    let events = vec![
        Event::track("bounce", at("2026-03-01T10:00:00Z"))
            .with_email("AdaLovelace+news@googlemail.com")
            .with_property("type", "bounce"),
        Event::track("unsubscribe", at("2026-03-02T10:00:00Z")).with_email("bob@example.com"),
    ];
    let mapping = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"first_name\"\nsource = \"profile.first_name\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let output = Pipeline::builder()
        .source(memory("crm", vec![ada_old, bob, cy]))
        .source(memory("shop", vec![ada_new]))
        .events(IterEventSource::new(
            "sendgrid",
            events.into_iter().map(Ok::<_, std::convert::Infallible>),
        ))
        .dedup(DedupConfig::contacts().build().unwrap())
        .mapping(mapping)
        .output(Platform::JsonLines)
        .build()
        .unwrap()
        .run(|_| {})
        .unwrap();
    assert!(output.report.adds_up(), "{:?}", output.report.problems());
    let jsonl = output.audiences[0].to_jsonl();
    assert!(jsonl.contains("cy@example.com"), "{jsonl}");
    // The person who unsubscribed is no recipient.
    assert!(!jsonl.contains("bob@example.com"), "{jsonl}");
    // The bounced mailbox (spelt otherwise in the webhook) is never sent to; a hard bounce
    // says nothing against Ada's other address.
    assert!(!jsonl.contains("ada.lovelace@gmail.com"), "{jsonl}");
    assert!(output.report.profiles.suppressed_email >= 1);
}

#[test]
fn rule_segments_and_audiences_select_by_the_segments_found_in_the_data() {
    let text = std::fs::read_to_string(data().join("segments.toml")).unwrap()
        + "\n[[segments]]\nname = \"first_cluster\"\nrule = { field = \"traits.segment\", op = \"eq\", value = 1 }\n";
    let config = PipelineConfig::from_toml_str(&text)
        .unwrap()
        .with_base_dir(data());
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    let (mut inside, mut outside) = (0, 0);
    for (p, t) in output.profiles_with_traits() {
        let in_rule = t["segments"].to_string().contains("first_cluster");
        let segment = t.get("segment").and_then(|v| v.as_f64());
        assert_eq!(in_rule, segment == Some(1.0), "{} {t:?}", p.id);
        if in_rule {
            inside += 1;
        } else {
            outside += 1;
        }
    }
    assert!(inside > 0 && outside > 0, "{inside} {outside}");
}

/// A `kind = "postgres"` source in a pipeline file, read from a real server started here
/// (skipped, loudly, only when PostgreSQL is not installed), and the profiles written back.
#[cfg(feature = "postgres")]
#[test]
fn a_postgres_source_in_a_pipeline_file_and_the_profiles_written_back() {
    use mergetag::postgres::PostgresSink;
    use mergetag_testkit::postgres::PgServer;

    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("pipeline");
    pg.psql(
        "pipeline",
        "CREATE TABLE contacts (id bigint PRIMARY KEY, firstname text, lastname text, \
           email text, hs_email_optout boolean, lastmodifieddate timestamptz, photo bytea);
         INSERT INTO contacts VALUES
           (1, 'Robert', 'Smith', 'bob.smith@gmail.com', false, '2026-01-01', NULL),
           (2, 'Bob', 'Smith', 'BOB.SMITH@gmail.com', false, '2026-01-02', NULL),
           (3, 'Alice', 'Jones', 'alice@example.com', true, '2026-01-03', NULL),
           (4, 'Carol', 'White', 'carol@example.org', false, '2026-01-04', '\\x00');",
    );
    let toml = format!(
        r#"
        [[sources]]
        name = "crm"
        kind = "postgres"
        preset = "hubspot_contacts"
        key = "id"
        [sources.settings]
        url = "{url}"
        table = "contacts"
        watermark = "lastmodifieddate"

        [normalize]
        standard = true

        [dedup]
        preset = "contacts"
        "#
    );
    let config = PipelineConfig::from_toml_str(&toml).unwrap();
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    let report = &output.report;
    assert_eq!(report.records_in, 4);
    assert_eq!(report.quarantined, 1, "the row with a bytea value");
    assert!(report.adds_up());
    assert_eq!(output.profiles.len(), 2);

    let mut sink = PostgresSink::connect("dw", &url).unwrap();
    let first = sink.write(&output.profiles, &output.traits, &[]).unwrap();
    assert_eq!(first.profiles_written, 2);
    let again = sink.write(&output.profiles, &output.traits, &[]).unwrap();
    assert_eq!((again.profiles_written, again.profiles_unchanged), (0, 2));

    // A typo in the settings is caught when the file is loaded, with its key path.
    let err = PipelineConfig::from_toml_str(&toml.replace("watermark =", "watermarks ="))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0] (crm).settings: unknown field `watermarks`"),
        "{err}"
    );
}

/// A `kind = "hubspot"` source in a pipeline file, synced from a real HTTP server on
/// 127.0.0.1 that refuses the first request with a 429.
#[cfg(feature = "http-sync")]
#[test]
fn a_hubspot_source_in_a_pipeline_file() {
    use mergetag_testkit::http::{Response, TestServer};
    use std::sync::atomic::{AtomicU64, Ordering};

    let calls = AtomicU64::new(0);
    let server = TestServer::start(move |req| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Response::status(429).header("retry-after", "0");
        }
        let page = if req.query("after").is_none() {
            r#"{"results": [
                {"id": "1", "properties": {"firstname": "Robert", "lastname": "Smith", "email": "bob.smith@gmail.com"}},
                {"id": "2", "properties": {"firstname": "Bob", "lastname": "Smith", "email": "BOB.SMITH@gmail.com"}}
              ], "paging": {"next": {"after": "2"}}}"#
        } else {
            r#"{"results": [{"id": "3", "properties": {"firstname": "Alice", "lastname": "Jones", "email": "alice@example.com", "hs_email_optout": "maybe"}}]}"#
        };
        Response::json(page)
    });
    let toml = format!(
        r#"
        [[sources]]
        name = "hubspot"
        kind = "hubspot"
        [sources.settings]
        base_url = "{}"
        min_delay_ms = 10

        [dedup]
        preset = "contacts"
        "#,
        server.url()
    );
    let config = PipelineConfig::from_toml_str(&toml).unwrap();
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert_eq!(output.report.records_in, 3);
    assert_eq!(
        output.report.quarantined, 1,
        "the contact whose opt-out is not a boolean"
    );
    assert!(output.report.adds_up());
    // The run report counts the sync's requests, retries and waits for the source.
    let counters = &output.report.sources[0].counters;
    assert_eq!(
        (
            counters["requests"],
            counters["retries"],
            counters["rate_limited"],
            counters["pages"]
        ),
        (3, 1, 1, 2)
    );
    assert!(counters.contains_key("backoff_wait_ms") && counters.contains_key("throttle_wait_ms"));
    let json = serde_json::to_value(&output.report).unwrap();
    assert_eq!(json["sources"][0]["counters"]["retries"], 1);

    let err = PipelineConfig::from_toml_str(&toml.replace("min_delay_ms", "min_delay"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0] (hubspot).settings: unknown field `min_delay`"),
        "{err}"
    );
}

#[test]
fn a_supervised_churn_model_in_the_predict_stage_writes_its_probability() {
    // examples/data/predict.toml with a churn classifier learning "no order in 90 days"
    // from the orders before that window.
    let text = std::fs::read_to_string(data().join("predict.toml")).unwrap()
        + "\n[predict.churn]\nwindow_days = 90\n[predict.churn.classifier]\nmodel = \"logistic\"\nfolds = 3\n";
    let run = |text: &str| {
        let config = PipelineConfig::from_toml_str(text)
            .unwrap()
            .with_base_dir(data());
        let predictor = config.predictor().unwrap().unwrap();
        let stage = mergetag::pipeline::PredictStage::new(predictor);
        let handle = stage.handle();
        let mut config = config;
        config.predict = None;
        let output = Pipeline::builder_from_config(&config)
            .unwrap()
            .profile_stage(stage)
            .build()
            .unwrap()
            .run(|_| {})
            .unwrap();
        (output, handle.result().unwrap())
    };
    let (output, predictions) = run(&text);
    let model = predictions.churn.clone().expect("a churn model");
    assert_eq!(model.label, "no order in 90 days");
    assert!(model.rows >= 6, "{model:?}");
    let (mut scored, mut unscored) = (0, 0);
    for t in &output.traits {
        match (&t["churn_probability"], &t["p_alive"]) {
            (Value::Float(p), Value::Float(_)) => {
                assert!((0.0..=1.0).contains(p), "{t:?}");
                assert!(t["churn_probability_band"].as_str().is_some(), "{t:?}");
                scored += 1;
            }
            (Value::Null, Value::Null) => unscored += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(scored > 0 && unscored > 0, "{scored} {unscored}");
    // Saved and named in `model_file`, the model scores the same without training.
    let dir = temp_dir("churn_model");
    std::fs::create_dir_all(&dir).unwrap();
    model.save(dir.join("churn.json")).unwrap();
    let text2 = text.replace(
        "window_days = 90\n",
        &format!("model_file = {:?}\n", dir.join("churn.json")),
    );
    let (again, p2) = run(&text2);
    assert_eq!(p2.churn.as_ref(), Some(&model));
    let probs = |o: &mergetag::pipeline::RunOutput| -> Vec<String> {
        o.traits
            .iter()
            .map(|t| t["churn_probability"].to_string())
            .collect()
    };
    assert_eq!(probs(&output), probs(&again));
    // A missing model file stops the run naming the stage and the file.
    let config = PipelineConfig::from_toml_str(
        &text.replace("window_days = 90\n", "model_file = \"nope.json\"\n"),
    )
    .unwrap()
    .with_base_dir(data());
    let err = Pipeline::from_config(&config)
        .unwrap()
        .run(|_| {})
        .unwrap_err();
    let mut chain = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        chain += &format!(": {c}");
        cause = c.source();
    }
    assert!(
        chain.contains("`predict`") && chain.contains("nope.json"),
        "{chain}"
    );
}

#[test]
fn a_run_scores_with_the_saved_predict_model_file_and_reports_it() {
    use mergetag::predict::{BgNbd, PredictModel, Rfm, TransactionFit};
    let dir = temp_dir("predict_model_file");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("model.json");
    let base = std::fs::read_to_string(data().join("predict.toml")).unwrap();
    let text = base.replace(
        "[predict]\n",
        &format!("[predict]\nmodel_file = {:?}\n", file),
    );
    let run = |text: &str| {
        let config = PipelineConfig::from_toml_str(text)
            .unwrap()
            .with_base_dir(data());
        Pipeline::from_config(&config).unwrap().run(|_| {})
    };
    let p_alive = |o: &mergetag::pipeline::RunOutput| -> Vec<Option<f64>> {
        o.traits.iter().map(|t| t["p_alive"].as_f64()).collect()
    };
    let stage = |o: &mergetag::pipeline::RunOutput| {
        o.report
            .stages
            .iter()
            .find(|s| s.stage == "predict")
            .expect("the predict stage reports")
            .facts
            .clone()
    };

    // No model file yet: fitted afresh, and the report says so.
    let fitted = run(&text).unwrap();
    let facts = stage(&fitted);
    assert_eq!(facts["model"], "fitted");
    assert!(
        facts["model_source"].contains("does not exist"),
        "{facts:?}"
    );
    assert!(!facts.contains_key("drift_verdict"));
    let before = p_alive(&fitted);
    assert!(before.iter().filter(|p| p.is_some()).count() > 50);

    // A saved model with a hand-set b (dropout after a purchase all but impossible) and a
    // baseline of customers unlike today's: every customer alive, and a drift warning.
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let m = BgNbd {
        r: 0.3,
        alpha: 20.0,
        a: 0.8,
        b: 1e9,
    };
    let heavy = vec![Rfm::new(40.0, 300.0, 310.0); 200];
    let saved = PredictModel::fit(
        &heavy,
        mergetag::predict::TransactionModel::Bgnbd,
        &Default::default(),
        (d("2025-01-01"), d("2026-06-30")),
        mergetag::predict::Period::Day,
    )
    .unwrap();
    let saved = PredictModel {
        transaction: TransactionFit::Bgnbd(m),
        ..saved
    }
    .with_baseline(&heavy, 90.0);
    saved.save(&file).unwrap();
    let out = run(&text).unwrap();
    let facts = stage(&out);
    assert_eq!(facts["model"], "saved");
    assert_eq!(facts["model_file"], file.display().to_string());
    assert!(
        facts["trained"].starts_with("2025-01-01 to 2026-06-30"),
        "{facts:?}"
    );
    assert_eq!(facts["drift_verdict"], "retrain");
    let after = p_alive(&out);
    assert_eq!(
        after.iter().map(Option::is_some).collect::<Vec<_>>(),
        before.iter().map(Option::is_some).collect::<Vec<_>>()
    );
    assert!(after.iter().flatten().all(|p| *p > 0.999), "{after:?}");
    assert!(before.iter().flatten().any(|p| *p < 0.9), "{before:?}");
    let warning = out
        .report
        .warnings
        .iter()
        .find(|w| w.code == "model_drift")
        .expect("a drift warning");
    assert!(warning.message.contains("model.json"), "{warning}");
    let shown = out.report.to_string();
    assert!(
        shown.contains("predict: ") && shown.contains("drift_verdict retrain"),
        "{shown}"
    );

    // refit = true: fitted afresh whatever the file.
    let refit = run(&text.replace("[predict]\n", "[predict]\nrefit = true\n")).unwrap();
    assert_eq!(stage(&refit)["model"], "fitted");
    assert_eq!(p_alive(&refit), before);

    // A corrupt file stops the run naming the stage and the file.
    std::fs::write(&file, "not a model").unwrap();
    let err = run(&text).unwrap_err();
    let mut chain = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        chain += &format!(": {c}");
        cause = c.source();
    }
    assert!(
        chain.contains("`predict`") && chain.contains("model.json"),
        "{chain}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// librdkafka's mock cluster (the Kafka protocol on 127.0.0.1) with a topic `contacts` of
/// two partitions, and a producer for it, for the pipeline-file tests of Kafka sources.
#[cfg(feature = "kafka")]
mod kafka {
    use std::time::Duration;

    use mergetag::kafka::rdkafka::ClientConfig;
    use mergetag::kafka::rdkafka::mocking::MockCluster;
    use mergetag::kafka::rdkafka::producer::{
        BaseProducer, BaseRecord, DefaultProducerContext, Producer,
    };

    /// Five HubSpot-shaped contacts: two of one person, one whose opt-out does not convert,
    /// one that is not JSON.
    pub const CONTACTS: [&str; 5] = [
        r#"{"id": 1, "firstname": "Robert", "lastname": "Smith", "email": "bob.smith@gmail.com"}"#,
        r#"{"id": 2, "firstname": "Bob", "lastname": "Smith", "email": "BOB.SMITH@gmail.com"}"#,
        r#"{"id": 3, "firstname": "Alice", "lastname": "Jones", "email": "alice@example.com"}"#,
        r#"{"id": 4, "firstname": "Carol", "lastname": "White", "email": "carol@example.org", "hs_email_optout": "maybe"}"#,
        "not json",
    ];

    pub struct Contacts {
        // Declared first, dropped first: the producer before its cluster.
        producer: BaseProducer,
        cluster: MockCluster<'static, DefaultProducerContext>,
    }

    impl Contacts {
        pub fn start() -> Contacts {
            let cluster = MockCluster::new(1).unwrap();
            cluster.create_topic("contacts", 2, 1).unwrap();
            let producer = ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .create()
                .unwrap();
            Contacts { producer, cluster }
        }

        /// Produces `values`, round robin over the partitions.
        pub fn produce(&self, values: &[&str]) {
            for (i, v) in values.iter().enumerate() {
                let record: BaseRecord<'_, (), str> = BaseRecord::to("contacts")
                    .partition((i % 2) as i32)
                    .payload(v);
                self.producer.send(record).map_err(|(e, _)| e).unwrap();
            }
            self.producer.flush(Duration::from_secs(10)).unwrap();
        }

        /// A pipeline file reading the topic as group `pipeline`, its source's settings ending
        /// with `settings` and the file with `rest`.
        pub fn pipeline(&self, settings: &str, rest: &str) -> String {
            format!(
                r#"
                [[sources]]
                name = "crm"
                kind = "kafka"
                preset = "hubspot_contacts"
                key = "id"
                [sources.settings]
                brokers = "{}"
                topic = "contacts"
                group_id = "pipeline"
                # The mock cluster waits a session timeout for a group's members to rejoin.
                properties = {{ "session.timeout.ms" = "6000" }}
                {settings}

                [normalize]
                standard = true

                [dedup]
                preset = "contacts"

                {rest}
                "#,
                self.cluster.bootstrap_servers()
            )
        }
    }
}

/// A `kind = "kafka"` source in a pipeline file, read from librdkafka's mock cluster: JSON
/// messages mapped as JSON Lines lines, a bad one quarantined, the counts adding up; a run
/// commits nothing by itself, `RunOutput::commit_sources` commits once (again: harmless), and
/// the next run reads only what came since.
#[cfg(feature = "kafka")]
#[test]
fn a_kafka_source_in_a_pipeline_file() {
    let kafka = kafka::Contacts::start();
    kafka.produce(&kafka::CONTACTS);
    let toml = kafka.pipeline("commit = \"after_outputs\"", "");
    let config = PipelineConfig::from_toml_str(&toml).unwrap();
    let output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    let report = &output.report;
    assert_eq!(report.records_in, 5);
    assert_eq!(
        report.quarantined, 2,
        "a value that does not convert, and not JSON"
    );
    assert!(report.adds_up());
    assert_eq!(output.profiles.len(), 2);
    drop(output);

    // Dropped unacknowledged: the next run reads the same five, and acknowledges them.
    let mut output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert_eq!(output.report.records_in, 5);
    assert_eq!(output.commit_sources().unwrap(), 1);
    assert_eq!(output.commit_sources().unwrap(), 0, "once only");

    // Committed: the next run reads only what came since.
    kafka.produce(&[r#"{"id": 5, "firstname": "Dan", "email": "dan@example.com"}"#]);
    let mut output = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert_eq!(output.report.records_in, 1);
    assert_eq!(output.profiles.len(), 1);
    output.commit_sources().unwrap();

    let err = PipelineConfig::from_toml_str(&toml.replace("group_id =", "group =")).unwrap_err();
    assert!(
        err.to_string()
            .contains("sources[0] (crm).settings: unknown field `group`"),
        "{err}"
    );
}

/// `mergetag run` over a Kafka source (`run_config`): a run that fails after reading (its
/// output directory cannot be created) commits nothing, so the next run reads the same
/// messages again; a run whose outputs are written commits, so the one after reads only new
/// messages; with `commit = "never"` no run moves the group on.
#[cfg(feature = "kafka")]
#[test]
fn a_kafka_pipeline_run_commits_after_its_outputs_only() {
    use mergetag::pipeline::run_config;

    let kafka = kafka::Contacts::start();
    kafka.produce(&kafka::CONTACTS);
    let dir = temp_dir("kafka_commit");
    std::fs::create_dir_all(&dir).unwrap();
    let blocked = dir.join("blocked");
    std::fs::write(&blocked, "a file, not a directory").unwrap();
    let file = |commit: &str, out: &Path| {
        let path = dir.join("p.toml");
        let text = kafka.pipeline(
            commit,
            &format!("[outputs]\ndir = {:?}\n", out.display().to_string()),
        );
        std::fs::write(&path, text).unwrap();
        path
    };

    let bad = file("commit = \"after_outputs\"", &blocked.join("out"));
    let err = run_config(&bad, |_| {}).unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err}");

    let out = dir.join("out");
    let good = file("commit = \"after_outputs\"", &out);
    let output = run_config(&good, |_| {}).unwrap();
    assert_eq!(
        output.report.records_in, 5,
        "the failed run committed nothing"
    );
    assert!(out.join(files::PROFILES).exists());
    drop(output);

    kafka.produce(&[r#"{"id": 5, "firstname": "Dan", "email": "dan@example.com"}"#]);
    let output = run_config(&good, |_| {}).unwrap();
    assert_eq!(output.report.records_in, 1, "the written run committed");
    drop(output);

    // `commit_at_end = false`, the older spelling of "never": read, written, not committed.
    let never = file("commit_at_end = false", &out);
    for _ in 0..2 {
        let output = run_config(&never, |_| {}).unwrap();
        assert_eq!(output.report.records_in, 0);
    }
    kafka.produce(&[r#"{"id": 6, "firstname": "Eve", "email": "eve@example.com"}"#]);
    for _ in 0..2 {
        let output = run_config(&never, |_| {}).unwrap();
        assert_eq!(output.report.records_in, 1, "never committed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without the feature `lake`, `[outputs.parquet]` is refused, saying which feature to
/// enable, rather than ignored.
#[cfg(not(feature = "lake"))]
#[test]
fn parquet_outputs_without_the_lake_feature_are_refused() {
    let e = mergetag::pipeline::PipelineConfig::from_toml_str(
        "[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n[outputs.parquet]\ndir = \"lake\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("outputs.parquet: Parquet outputs need the feature `lake`"),
        "{e}"
    );
}
