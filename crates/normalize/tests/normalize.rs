//! The integration tests of `mergetag-normalize`: the case tables in `tests/data/*.toml`,
//! match-key tables, configuration files, records, properties, and the replay of fuzz inputs.

mod accuracy;
mod fuzz;

use std::path::{Path, PathBuf};

use mergetag_normalize::model::config::LoadError;
use mergetag_normalize::model::{Record, RecordId, Value};
use mergetag_normalize::{
    ChangeLog, Context, Error, FieldConfig, NormalizeConfig, Normalizer, Outcome, Tally, email_key,
    family_name_key, given_names_match, text_key_string,
};
use proptest::prelude::*;
use serde::Deserialize;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

// ------------------------------------------------------------------------- case tables

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    group: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    normalizer: FieldConfig,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    cases: Vec<(String, String)>,
    #[serde(default)]
    invalid: Vec<String>,
    #[serde(default)]
    ambiguous: Vec<String>,
}

/// Runs every case of one table; returns the number of cases.
fn run_table(file: &str) -> usize {
    let text = std::fs::read_to_string(data(file)).unwrap();
    let table: Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut failures = Vec::new();
    let mut count = 0;
    for g in &table.group {
        let n = g.normalizer.build().unwrap();
        let cx = Context::with_country(g.country.as_deref());
        let mut out = String::new();
        for (input, want) in &g.cases {
            count += 1;
            let o = n.normalize_in(input, cx, &mut out);
            if !o.is_ok() || out != *want {
                failures.push(format!(
                    "{file} / {}: {input:?} -> {out:?} ({o}), want {want:?}",
                    g.name
                ));
                continue;
            }
            fuzz::check(&n, input, cx);
        }
        for (inputs, kind) in [(&g.invalid, "invalid"), (&g.ambiguous, "ambiguous")] {
            for input in inputs {
                count += 1;
                let o = n.normalize_in(input, cx, &mut out);
                if o.kind() != kind || out != *input {
                    failures.push(format!(
                        "{file} / {}: {input:?} -> {out:?} ({o}), want {kind}",
                        g.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

#[test]
fn case_tables() {
    let mut total = 0;
    for file in [
        "text.toml",
        "email.toml",
        "phone.toml",
        "date.toml",
        "country.toml",
        "name.toml",
        "city.toml",
        "address.toml",
        "terms.toml",
    ] {
        let n = run_table(file);
        assert!(n >= 10, "{file}: only {n} cases");
        total += n;
    }
    assert!(total >= 500, "{total} cases");
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyTable {
    group: Vec<KeyGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyGroup {
    key: String,
    same: Vec<(String, String)>,
    #[serde(default)]
    different: Vec<(String, String)>,
}

fn key(kind: &str, s: &str) -> String {
    let mut k = String::new();
    match kind {
        "text" => k = text_key_string(s),
        "email" => {
            email_key(s, &mut k);
        }
        "family_name" => family_name_key(s, &mut k),
        other => panic!("unknown key {other}"),
    }
    k
}

#[test]
fn key_tables() {
    let text = std::fs::read_to_string(data("keys.toml")).unwrap();
    let table: KeyTable = toml::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for g in &table.group {
        for (a, b) in &g.same {
            let ok = if g.key == "given_name" {
                given_names_match(a, b)
            } else {
                key(&g.key, a) == key(&g.key, b)
            };
            if !ok {
                failures.push(format!("{}: {a:?} and {b:?} should match", g.key));
            }
        }
        for (a, b) in &g.different {
            let ok = if g.key == "given_name" {
                !given_names_match(a, b)
            } else {
                key(&g.key, a) != key(&g.key, b)
            };
            if !ok {
                failures.push(format!("{}: {a:?} and {b:?} should differ", g.key));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ----------------------------------------------------------------------- configuration

#[test]
fn config_files_load_and_agree() {
    let toml = NormalizeConfig::from_path(data("config.toml")).unwrap();
    let json = NormalizeConfig::from_path(data("config.json")).unwrap();
    assert_eq!(toml, json);
    toml.build().unwrap();
    NormalizeConfig::standard().build().unwrap();
}

#[test]
fn config_errors_say_where() {
    let e = NormalizeConfig::from_toml_str(
        "[fields.phone]\nnormalizer = \"phone\"\ndefault_region = \"XX\"\n",
    )
    .unwrap()
    .build()
    .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }));
    assert_eq!(
        e.to_string(),
        "fields.phone.default_region: unknown phone region \"XX\"; use a region libphonenumber knows, such as \"US\", \"GB\" or \"XK\""
    );
    let e = NormalizeConfig::from_toml_str("[fields.x]\nnormalizer = \"email\"\nfoo = 1\n")
        .unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = NormalizeConfig::from_toml_str("[fields.x]\nnormalizer = \"soundex\"\n").unwrap_err();
    assert!(e.to_string().contains("unknown variant"), "{e}");
    let e = NormalizeConfig::from_toml_str(
        "[fields.d]\nnormalizer = \"date\"\ntime_zone = \"Mars/Olympus\"\n",
    )
    .unwrap()
    .build()
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("fields.d.time_zone: unknown time zone"),
        "{e}"
    );
    let e = NormalizeConfig::from_toml_str(
        "[fields.t]\nnormalizer = \"terms\"\nterms = { a = [\"x\"], b = [\"X\"] }\n",
    )
    .unwrap()
    .build()
    .unwrap_err();
    assert!(e.to_string().contains("synonym of both"), "{e}");
    let e = NormalizeConfig::from_path(data("missing.toml")).unwrap_err();
    assert!(matches!(e, Error::Load(LoadError::Read { .. })), "{e:?}");
    let e = NormalizeConfig::from_path(data("address.toml")).unwrap_err();
    assert!(matches!(e, Error::Parse(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("address.toml: line 2, column 3: unknown field `group`"),
        "{e}"
    );
}

fn contact(i: u64) -> Record {
    let mut r = Record::new(RecordId::row("crm", i));
    r.set("first_name", "BOB");
    r.set("last_name", "MCDONALD");
    r.set("email", "\"Bob McDonald\" <Bob.McDonald@GMAIL.com>");
    r.set("phone", "(312) 555-0147");
    r.set("birth_date", "April 3, 1985");
    r.set("street", "123 north main street apartment 4b");
    r.set("city", " Springfield ");
    r.set("region", "illinois");
    r.set("postal_code", "627041234");
    r.set("country", "U.S.A.");
    r.set("loyalty_tier", "Gold Member");
    r
}

#[test]
fn records_are_normalized_with_a_change_log() {
    let n = NormalizeConfig::from_path(data("config.toml"))
        .unwrap()
        .build()
        .unwrap();
    let mut r = contact(1);
    let mut log = ChangeLog::new();
    n.normalize(&mut r, &mut log);
    assert_eq!(r.text("first_name"), Some("Bob"));
    assert_eq!(r.text("last_name"), Some("McDonald"));
    assert_eq!(r.text("email"), Some("Bob.McDonald@gmail.com"));
    assert_eq!(r.text("phone"), Some("+13125550147"));
    assert_eq!(
        r.get("birth_date"),
        Some(&Value::Date(
            chrono::NaiveDate::from_ymd_opt(1985, 4, 3).unwrap()
        ))
    );
    assert_eq!(r.text("street"), Some("123 N MAIN ST APT 4B"));
    assert_eq!(r.text("city"), Some("Springfield"));
    assert_eq!(r.text("region"), Some("IL"));
    assert_eq!(r.text("postal_code"), Some("62704-1234"));
    assert_eq!(r.text("country"), Some("US"));
    assert_eq!(r.text("loyalty_tier"), Some("gold"));
    assert!(!log.has_flags(), "{log:?}");
    assert_eq!(log.changes.len(), 11);

    // Normalizing again changes nothing.
    let before = r.clone();
    n.normalize(&mut r, &mut log);
    assert_eq!(r, before);
    assert!(log.changes.is_empty(), "{log:?}");

    // A flagged value is kept and counted.
    let mut r = contact(2);
    r.set("birth_date", "03/04/1985");
    r.set("phone", "555");
    n.normalize(&mut r, &mut log);
    assert_eq!(r.text("birth_date"), Some("03/04/1985"));
    assert_eq!(r.text("phone"), Some("555"));
    let mut tally = Tally::default();
    tally.add(&log);
    assert_eq!(tally.total("ambiguous"), 1);
    assert_eq!(tally.total("invalid"), 1);
    assert_eq!(tally.by_field["birth_date"]["ambiguous"], 1);
}

#[test]
fn lists_and_typed_values() {
    let n = NormalizeConfig::standard().build().unwrap();
    let mut r = Record::new(RecordId::row("crm", 1));
    r.set(
        "email",
        Value::List(vec!["A@B.COM".into(), "c@d.com".into()]),
    );
    r.set("created_at", Value::Int(1_700_000_000_000));
    let mut log = ChangeLog::new();
    n.normalize(&mut r, &mut log);
    assert_eq!(
        r.get("email"),
        Some(&Value::List(vec!["A@b.com".into(), "c@d.com".into()]))
    );
    assert_eq!(
        r.get("created_at")
            .and_then(Value::as_datetime)
            .map(|d| d.timestamp()),
        Some(1_700_000_000)
    );
}

// -------------------------------------------------------------------------- properties

fn normalizers() -> Vec<(&'static str, Box<dyn Normalizer>)> {
    let mut v: Vec<(&'static str, Box<dyn Normalizer>)> = Vec::new();
    for (name, toml) in [
        ("text", "normalizer = \"text\""),
        ("email", "normalizer = \"email\""),
        ("phone", "normalizer = \"phone\"\ndefault_region = \"US\""),
        ("date", "normalizer = \"date\""),
        ("datetime", "normalizer = \"datetime\"\norder = \"DMY\""),
        ("country", "normalizer = \"country\""),
        (
            "region",
            "normalizer = \"region\"\ndefault_country = \"US\"",
        ),
        (
            "street",
            "normalizer = \"street\"\ndefault_country = \"US\"",
        ),
        (
            "postal_code",
            "normalizer = \"postal_code\"\ndefault_country = \"GB\"",
        ),
        ("name", "normalizer = \"name\""),
        (
            "name",
            "normalizer = \"name\"\nfix_mixed_case = true\nparticles = \"lower\"",
        ),
        ("city", "normalizer = \"city\""),
    ] {
        let fc: FieldConfig = toml::from_str(toml).unwrap();
        v.push((name, fc.build().unwrap()));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_normalizer_is_idempotent_and_keeps_flagged_values(s in "\\PC{0,40}") {
        for (_, n) in normalizers() {
            fuzz::check(&n, &s, Context::default());
        }
    }

    #[test]
    fn idempotent_on_plausible_inputs(
        s in "[0-9]{1,4}[ /.-][0-9A-Za-z]{1,9}[ /.,-]{1,2}[0-9]{2,4}( [0-9]{1,2}:[0-9]{2}( ?[AaPp][Mm])?)?|[+(]?[0-9 ().-]{6,18}|[0-9]{1,5} [A-Za-z]{2,8} (St|Street|Ave|Road|N|South)( (Apt|#|Suite) ?[0-9]{1,3}[A-Z]?)?"
    ) {
        for (_, n) in normalizers() {
            fuzz::check(&n, &s, Context::with_country(Some("US")));
        }
    }

    #[test]
    fn text_keys_ignore_case_accents_and_whitespace(s in "[a-zA-Z]{1,8}( [a-zA-Z]{1,8}){0,3}") {
        let k = text_key_string(&s);
        prop_assert_eq!(text_key_string(&s.to_uppercase()), k.clone());
        prop_assert_eq!(text_key_string(&format!("  {}\t", s.replace(' ', "   "))), k.clone());
        // An accent on every vowel.
        let accented: String = s.chars().flat_map(|c| {
            let mut v = vec![c];
            if "aeiouAEIOU".contains(c) { v.push('\u{301}'); }
            v
        }).collect();
        prop_assert_eq!(text_key_string(&accented), k.clone());
        prop_assert_eq!(text_key_string(&k), k);
    }

    #[test]
    fn email_keys_ignore_domain_case_and_wrapping(local in "[a-z][a-z0-9.]{0,10}", domain in "[a-z]{2,8}\\.(com|org|de)") {
        let a = format!("{local}@{domain}");
        let (mut ka, mut kb) = (String::new(), String::new());
        email_key(&a, &mut ka);
        email_key(&format!(" Name <{}@{}> ", local.to_uppercase(), domain.to_uppercase()), &mut kb);
        prop_assert_eq!(ka, kb);
    }

    #[test]
    fn given_name_keys_ignore_case_and_accents(s in "[A-Za-z]{2,10}") {
        prop_assert!(given_names_match(&s, &s.to_uppercase()));
        let padded = format!(" {s} ");
        prop_assert!(given_names_match(&padded, &s.to_lowercase()));
    }
}

// ----------------------------------------------------------------------------- fuzz replay

#[test]
fn fuzz_reproducers_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    type Target = (&'static str, fn(&[u8]));
    let targets: [Target; 7] = [
        ("normalize_email", fuzz::normalize_email),
        ("normalize_phone", fuzz::normalize_phone),
        ("normalize_date", fuzz::normalize_date),
        ("normalize_address", fuzz::normalize_address),
        ("normalize_country", fuzz::normalize_country),
        ("normalize_name", fuzz::normalize_name),
        ("normalize_config", fuzz::normalize_config),
    ];
    for (name, run) in targets {
        let Ok(dir) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            if path.is_file() {
                run(&std::fs::read(&path).unwrap());
            }
        }
    }
}

#[test]
fn flagged_reasons_read_well() {
    let (_, o) = mergetag_normalize::normalize_to_string(
        &mergetag_normalize::DateNormalizer::default(),
        "03/04/2021",
    );
    assert_eq!(
        o,
        Outcome::Ambiguous(
            "ambiguous date: 03/04/2021 could be 3 April or 4 March; set the source's date order"
                .into()
        )
    );
}

#[test]
fn full_names_and_address_lines_are_split() {
    let n = NormalizeConfig::from_toml_str(
        r#"
        split_full_name = true
        address_line_field = "address"
        [fields.first_name]
        normalizer = "name"
        [fields.postal_code]
        normalizer = "postal_code"
        "#,
    )
    .unwrap()
    .build()
    .unwrap();
    let mut r = Record::new(RecordId::row("crm", 1));
    r.set("full_name", "MCDONALD, DR. RONALD J. JR");
    r.set(
        "address",
        "123 north main street apartment 4b, springfield, illinois 627041234",
    );
    let mut log = ChangeLog::new();
    n.normalize(&mut r, &mut log);
    assert_eq!(r.text("salutation"), Some("Dr"));
    assert_eq!(r.text("first_name"), Some("Ronald"));
    assert_eq!(r.text("middle_name"), Some("J."));
    assert_eq!(r.text("last_name"), Some("McDonald"));
    assert_eq!(r.text("name_suffix"), Some("Jr"));
    assert_eq!(r.text("street"), Some("123 N MAIN ST APT 4B"));
    assert_eq!(r.text("city"), Some("SPRINGFIELD"));
    assert_eq!(r.text("region"), Some("IL"));
    assert_eq!(r.text("postal_code"), Some("62704-1234"));
    assert!(!log.has_flags(), "{log:?}");

    // Not a US record: the line is left alone.
    let mut r = Record::new(RecordId::row("crm", 2));
    r.set("country", "GB");
    r.set("address", "10 Downing Street, London SW1A 2AA");
    n.normalize(&mut r, &mut log);
    assert_eq!(r.get("street"), None);
}

#[test]
fn iana_time_zones_follow_daylight_saving() {
    let config = NormalizeConfig::from_toml_str(
        "[fields.seen]\nnormalizer = \"datetime\"\ntime_zone = \"America/Chicago\"\n\
         [fields.born]\nnormalizer = \"date\"\ntime_zone = \"asia/tokyo\"\n",
    )
    .unwrap()
    .build()
    .unwrap();
    let mut r = Record::new(RecordId::row("crm", 1));
    r.set("seen", "2024-07-04 09:00");
    r.set("born", "2024-07-04T20:00:00Z");
    let mut log = ChangeLog::default();
    config.normalize(&mut r, &mut log);
    // CDT is UTC-5 in July; a datetime that carries its own offset is read as written, and a
    // date is the local date in the source's zone (Tokyo, UTC+9: already 5 July).
    assert_eq!(
        r.get("seen").map(Value::to_string).as_deref(),
        Some("2024-07-04T14:00:00Z")
    );
    assert_eq!(
        r.get("born").map(Value::to_string).as_deref(),
        Some("2024-07-05")
    );

    let chicago: FieldConfig =
        serde_json::from_str(r#"{"normalizer": "datetime", "time_zone": "America/Chicago"}"#)
            .unwrap();
    let chicago = chicago.build().unwrap();
    let winter = mergetag_normalize::normalize_to_string(chicago.as_ref(), "2024-01-04 09:00");
    assert_eq!(winter.0, "2024-01-04T15:00:00Z");
    // 01:30 on 3 November 2024 happened twice in Chicago.
    let (kept, outcome) =
        mergetag_normalize::normalize_to_string(chicago.as_ref(), "2024-11-03 01:30");
    assert_eq!(kept, "2024-11-03 01:30");
    assert!(
        matches!(&outcome, Outcome::Ambiguous(r) if r.contains("America/Chicago")),
        "{outcome:?}"
    );
}

#[test]
fn one_line_addresses_without_commas() {
    use mergetag_normalize::UsAddress;
    for (line, street, city, region, zip) in [
        (
            "123 north main street apartment 4b springfield illinois 62704",
            "123 N MAIN ST APT 4B",
            "SPRINGFIELD",
            "IL",
            Some("62704"),
        ),
        (
            "500 W. Madison St. Suite 1200 Chicago IL 60661-2511",
            "500 W MADISON ST STE 1200",
            "CHICAGO",
            "IL",
            Some("60661-2511"),
        ),
        (
            "42 Elm Ave #3 New York NY",
            "42 ELM AVE # 3",
            "NEW YORK",
            "NY",
            None,
        ),
        (
            "1600 Pennsylvania Avenue NW Washington DC 20500 USA",
            "1600 PENNSYLVANIA AVE NW",
            "WASHINGTON",
            "DC",
            Some("20500"),
        ),
        (
            "7 Ocean Blvd Rear Miami Beach Florida",
            "7 OCEAN BLVD REAR",
            "MIAMI BEACH",
            "FL",
            None,
        ),
    ] {
        let a = UsAddress::read(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(a.street, street, "{line}");
        assert_eq!(a.city.as_deref(), Some(city), "{line}");
        assert_eq!(a.region.as_deref(), Some(region), "{line}");
        assert_eq!(a.postal_code.as_deref(), zip, "{line}");
    }
    // A street type that only streets use (AVE) ends the street before a city of place words.
    let a = UsAddress::read("9 oak park ave park ridge il 60068").unwrap();
    assert_eq!(
        (a.street.as_str(), a.city.as_deref()),
        ("9 OAK PARK AVE", Some("PARK RIDGE"))
    );
    // Where the street could end at two words and nothing tells which, nothing is guessed.
    assert!(matches!(
        UsAddress::read("9 oak park lake forest il 60045"),
        Err(Outcome::Ambiguous(_))
    ));
    assert!(matches!(
        UsAddress::read("9 somewhere springfield il 62704"),
        Err(Outcome::Invalid(_))
    ));
    assert!(matches!(
        UsAddress::read("main street springfield il"),
        Err(Outcome::Invalid(_))
    ));
}

// ----------------------------------------------------------------------- default country

#[test]
fn records_without_a_country_fall_back_to_the_default_country() {
    let normalize = |config: &NormalizeConfig, fields: &[(&str, &str)]| {
        let n = config.build().unwrap();
        let mut r = Record::new(RecordId::row("crm", 1));
        for (f, v) in fields {
            r.set(*f, *v);
        }
        let mut log = ChangeLog::new();
        n.normalize(&mut r, &mut log);
        r
    };
    let raw = [
        ("phone", "(608) 555-0123"),
        ("region", "Wisconsin"),
        ("postal_code", "53703 1234"),
        ("city", "MADISON"),
    ];
    // Without a default, a national number has no region and the region no country.
    let r = normalize(&NormalizeConfig::standard(), &raw);
    assert_eq!(r.text("phone"), Some("(608) 555-0123"));
    assert_eq!(r.text("region"), Some("Wisconsin"));

    let mut config = NormalizeConfig::standard();
    config.default_country = Some("US".into());
    let r = normalize(&config, &raw);
    assert_eq!(r.text("phone"), Some("+16085550123"));
    assert_eq!(r.text("region"), Some("WI"));
    assert_eq!(r.text("postal_code"), Some("53703-1234"));
    assert_eq!(r.text("city"), Some("Madison"));
    // The default is used, not written: the record still has no country.
    assert!(r.get("country").is_none());

    // The record's own country wins over the default; a blank one does not count.
    let r = normalize(
        &config,
        &[
            ("country", "United Kingdom"),
            ("phone", "020 7946 0958"),
            ("region", "Scotland"),
        ],
    );
    assert_eq!(r.text("phone"), Some("+442079460958"));
    assert_eq!(r.text("region"), Some("SCT"));
    let r = normalize(&config, &[("country", " "), ("phone", "(608) 555-0123")]);
    assert_eq!(r.text("phone"), Some("+16085550123"));

    // A field's own default is more specific and wins over the record-level one.
    let config = NormalizeConfig::from_toml_str(
        "default_country = \"GB\"\n[fields.phone]\nnormalizer = \"phone\"\ndefault_region = \"US\"\n\
         [fields.region]\nnormalizer = \"region\"\n",
    )
    .unwrap();
    let r = normalize(&config, &[("phone", "(608) 555-0123"), ("region", "Wales")]);
    assert_eq!(r.text("phone"), Some("+16085550123"));
    assert_eq!(r.text("region"), Some("WLS"));

    // The default is checked when the configuration is built, and stored as alpha-2.
    let e = NormalizeConfig::from_toml_str("default_country = \"Narnia\"\n")
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { path, message } if path == "default_country" && message.contains("ISO 3166-1")),
        "{e:?}"
    );
    let mut b = mergetag_normalize::RecordNormalizer::builder();
    assert!(b.default_country("xx").is_err());
    assert!(b.default_country("de").is_ok());
}

#[test]
fn null_markers_and_template_syntax_never_survive_normalization() {
    use mergetag_normalize::model::{Record, RecordId, Value};
    use mergetag_normalize::{ChangeLog, NormalizeConfig, Outcome, Tally};

    let n = NormalizeConfig::standard().build().unwrap();
    let mut tally = Tally::default();
    for (i, raw) in [
        "NULL",
        "null",
        "None",
        "N/A",
        "undefined",
        " #N/A ",
        "nan",
        "-",
        "n.a.",
        "{{first_name}}",
        "Hi {% if x %}",
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = Record::new(RecordId::row("crm", i as u64 + 1));
        r.set("first_name", raw);
        r.set("favorite_store", raw); // any text field, not only normalized ones
        let mut log = ChangeLog::new();
        n.normalize(&mut r, &mut log);
        assert_eq!(r.get("first_name"), Some(&Value::Null), "{raw:?}");
        assert_eq!(r.get("favorite_store"), Some(&Value::Null), "{raw:?}");
        assert!(
            log.changes
                .iter()
                .all(|c| matches!(c.outcome, Outcome::Removed(_))),
            "{raw:?}: {log:?}"
        );
        tally.add(&log);
    }
    assert_eq!(tally.total("removed"), 22);
    // Real values that merely contain a marker stay.
    let mut r = Record::new(RecordId::row("crm", 99));
    r.set("first_name", "Nan");
    r.set("last_name", "Jean-Pierre");
    r.set("company", "N/A Logistics");
    let mut log = ChangeLog::new();
    n.normalize(&mut r, &mut log);
    assert_eq!(r.text("company"), Some("N/A Logistics"));
    assert_eq!(r.text("last_name"), Some("Jean-Pierre"));
    // Markers match exactly: the name `Nan` is not pandas' `nan`.
    assert_eq!(r.text("first_name"), Some("Nan"));
    // A list of one's own replaces the default; `[]` removes none.
    let mut config = NormalizeConfig::standard();
    config.null_markers = Some(vec!["unknown".into()]);
    let n = config.build().unwrap();
    let mut r = Record::new(RecordId::row("crm", 100));
    r.set("first_name", "unknown");
    r.set("last_name", "NULL");
    n.normalize(&mut r, &mut log);
    assert_eq!(r.get("first_name"), Some(&Value::Null));
    assert_eq!(r.text("last_name"), Some("Null"));
}
