//! The `mergetag` binary, run as a process: output contracts, exit codes and error messages.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod fuzz;

const BIN: &str = env!("CARGO_BIN_EXE_mergetag");

/// Runs the binary with `args` and `stdin`.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        // A command that fails before reading its input closes it: not the test's concern.
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(e),
        })
        .expect("stdin written");
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

/// A fresh directory for one test's files.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
        .display()
        .to_string()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(k: &[&'a str]) -> BTreeSet<&'a str> {
    k.iter().copied().collect()
}

// ---------------------------------------------------------------------------------------------
// help

#[test]
fn every_subcommand_has_help() {
    let o = run(&["--help"], b"");
    assert_eq!(code(&o), 0);
    for sub in [
        "normalize",
        "validate",
        "check-template",
        "dedup",
        "link",
        "run",
    ] {
        assert!(stdout(&o).contains(sub), "top-level help lists {sub}");
        let o = run(&[sub, "--help"], b"");
        assert_eq!(code(&o), 0, "{sub} --help");
        assert!(stdout(&o).contains("Usage: mergetag"), "{sub} --help");
        assert!(
            stdout(&o).contains("Exit codes"),
            "{sub} --help documents exit codes"
        );
    }
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let o = run(&[], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("Usage"));
}

// ---------------------------------------------------------------------------------------------
// normalize

#[test]
fn normalize_exact_output_per_kind() {
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--kind", "country"],
            "U.S.A.\nDE\nNarnia\n",
            concat!(
                r#"{"input":"U.S.A.","output":"US","status":"changed"}"#,
                "\n",
                r#"{"input":"DE","output":"DE","status":"unchanged"}"#,
                "\n",
                r#"{"input":"Narnia","output":null,"status":"invalid","reason":"unknown country; use a name or an ISO 3166-1 code"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "phone", "--region", "US"],
            "(312) 555-0147\r\n+442079460958\n",
            concat!(
                r#"{"input":"(312) 555-0147","output":"+13125550147","status":"changed"}"#,
                "\n",
                r#"{"input":"+442079460958","output":"+442079460958","status":"unchanged"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "region", "--region", "CA"],
            "Québec\nCA-ON\n",
            concat!(
                r#"{"input":"Québec","output":"CA-QC","status":"changed"}"#,
                "\n",
                r#"{"input":"CA-ON","output":"CA-ON","status":"unchanged"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "date"],
            "3rd May 2001\n03/04/2021\n",
            concat!(
                r#"{"input":"3rd May 2001","output":"2001-05-03","status":"changed"}"#,
                "\n",
                r#"{"input":"03/04/2021","output":null,"status":"ambiguous","reason":"ambiguous date: 03/04/2021 could be 3 April or 4 March; set the source's date order"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "date", "--date-order", "mdy"],
            "03/04/2021",
            concat!(
                r#"{"input":"03/04/2021","output":"2021-03-04","status":"changed"}"#,
                "\n"
            ),
        ),
        (
            &["--kind", "datetime"],
            "2024-01-02 03:04 PM -05:00\n1700000000000\n",
            concat!(
                r#"{"input":"2024-01-02 03:04 PM -05:00","output":"2024-01-02T20:04:00Z","status":"changed"}"#,
                "\n",
                r#"{"input":"1700000000000","output":"2023-11-14T22:13:20Z","status":"changed"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "email"],
            "\"Doe, Jane\" <Jane.Doe@EXAMPLE.com>\njane@example.com\n",
            concat!(
                r#"{"input":"\"Doe, Jane\" <Jane.Doe@EXAMPLE.com>","output":"Jane.Doe@example.com","status":"changed"}"#,
                "\n",
                r#"{"input":"jane@example.com","output":"jane@example.com","status":"unchanged"}"#,
                "\n",
            ),
        ),
        (
            &["--kind", "text"],
            "  Café   de Flore \n",
            concat!(
                r#"{"input":"  Café   de Flore ","output":"Café de Flore","status":"changed"}"#,
                "\n"
            ),
        ),
        (
            &["--kind", "name"],
            "MCDONALD\n",
            concat!(
                r#"{"input":"MCDONALD","output":"McDonald","status":"changed"}"#,
                "\n"
            ),
        ),
        (
            &["--kind", "address"],
            "123 north main street apartment 4b\n",
            concat!(
                r#"{"input":"123 north main street apartment 4b","output":"123 N MAIN ST APT 4B","status":"changed"}"#,
                "\n"
            ),
        ),
        (
            &["--kind", "postal-code", "--region", "GB"],
            "sw1a1aa\n",
            concat!(
                r#"{"input":"sw1a1aa","output":"SW1A 1AA","status":"changed"}"#,
                "\n"
            ),
        ),
    ];
    for (args, input, expected) in cases {
        let mut all = vec!["normalize"];
        all.extend_from_slice(args);
        let o = run(&all, input.as_bytes());
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), *expected, "{args:?}");
    }
}

#[test]
fn normalize_key_sets() {
    let o = run(&["normalize", "--kind", "country"], b"US\nFrance\nNarnia\n");
    let lines = json_lines(&o);
    assert_eq!(keys(&lines[0]), set(&["input", "output", "status"]));
    assert_eq!(keys(&lines[1]), set(&["input", "output", "status"]));
    assert_eq!(
        keys(&lines[2]),
        set(&["input", "output", "status", "reason"])
    );
}

#[test]
fn normalize_goes_on_after_a_line_that_is_not_utf8() {
    let o = run(&["normalize", "--kind", "name"], b"ADA\nRen\xe9e\nBOB\n");
    assert_eq!(code(&o), 0);
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["output"], "Ada");
    assert_eq!(lines[1]["input"], "Ren\u{fffd}e");
    assert_eq!(lines[1]["output"], Value::Null);
    assert_eq!(lines[1]["status"], "invalid");
    assert_eq!(lines[1]["reason"], "the line is not valid UTF-8");
    assert_eq!(lines[2]["output"], "Bob");
}

#[test]
fn normalize_empty_input_writes_nothing() {
    let o = run(&["normalize", "--kind", "text"], b"");
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "");
}

#[test]
fn normalize_usage_errors() {
    for (args, needle) in [
        (
            &["normalize", "--kind", "region"][..],
            "--kind region needs --region",
        ),
        (
            &["normalize", "--kind", "phone", "--region", "Narnia"],
            "unknown --region",
        ),
        (
            &["normalize", "--kind", "text", "--date-order", "dmy"],
            "--date-order applies only",
        ),
        (&["normalize", "--kind", "colour"], "invalid value 'colour'"),
        (
            &["normalize", "--kind", "date", "--date-order", "yyyy"],
            "invalid value 'yyyy'",
        ),
        (&["normalize"], "--kind"),
    ] {
        let o = run(args, b"x\n");
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "", "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// validate

const VALID_KEYS: &[&str] = &[
    "input",
    "valid",
    "reason",
    "normalized",
    "ascii",
    "smtputf8",
    "warnings",
    "suggestion",
];

#[test]
fn validate_exact_output_and_keys() {
    let o = run(
        &["validate", "--kind", "email"],
        b"jane@yaho.com\njane..doe@example.com\n",
    );
    assert_eq!(code(&o), 0);
    assert_eq!(
        stdout(&o),
        concat!(
            r#"{"input":"jane@yaho.com","valid":true,"reason":"the address is valid","normalized":"jane@yaho.com","ascii":"jane@yaho.com","smtputf8":false,"warnings":[{"code":"domain_typo","message":"the domain looks mistyped; did you mean yahoo.com?"}],"suggestion":"jane@yahoo.com"}"#,
            "\n",
            r#"{"input":"jane..doe@example.com","valid":false,"code":"invalid_email.consecutive_dots","reason":"the part before the @ has two dots in a row","normalized":null,"ascii":null,"smtputf8":false,"warnings":[],"suggestion":null}"#,
            "\n",
        )
    );
    let lines = json_lines(&o);
    assert_eq!(keys(&lines[0]), set(VALID_KEYS));
    let mut invalid = set(VALID_KEYS);
    invalid.insert("code");
    assert_eq!(keys(&lines[1]), invalid);
}

#[test]
fn validate_options() {
    let input =
        "\"john smith\"@example.org\njohn@[192.0.2.1]\n用户@例子.广告\nAda@Bücher.example.com\n";
    let strict = json_lines(&run(&["validate", "--kind", "email"], input.as_bytes()));
    let valid: Vec<bool> = strict
        .iter()
        .map(|l| l["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(valid, [false, false, true, true]);
    assert_eq!(strict[0]["code"], "invalid_email.quoted_local");
    assert_eq!(strict[1]["code"], "invalid_email.domain_literal");
    assert_eq!(strict[2]["smtputf8"], true);
    assert_eq!(strict[2]["ascii"], Value::Null);
    assert_eq!(strict[3]["normalized"], "Ada@bücher.example.com");
    assert_eq!(strict[3]["ascii"], "Ada@xn--bcher-kva.example.com");

    let loose = json_lines(&run(
        &[
            "validate",
            "--kind",
            "email",
            "--allow-quoted-local",
            "--allow-domain-literal",
            "--ascii-only",
        ],
        input.as_bytes(),
    ));
    let valid: Vec<bool> = loose
        .iter()
        .map(|l| l["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(valid, [true, true, false, true]);
    assert_eq!(loose[2]["code"], "invalid_email.smtputf8_not_allowed");
}

#[test]
fn validate_goes_on_after_a_line_that_is_not_utf8() {
    let o = run(
        &["validate", "--kind", "email"],
        b"a@\xff.com\nada@example.org",
    );
    assert_eq!(code(&o), 0);
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], false);
    assert_eq!(lines[0]["code"], "invalid_email.invalid_utf8");
    assert_eq!(lines[0]["input"], "a@\u{fffd}.com");
    assert_eq!(lines[1]["valid"], true);
}

#[test]
fn validate_needs_a_known_kind() {
    let o = run(&["validate", "--kind", "phone"], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("invalid value 'phone'"));
}

// ---------------------------------------------------------------------------------------------
// check-template

const MAPPING: &str = r#"
[[variables]]
name = "first_name"
source = "profile.first_name"
fallback = "there"

[[variables]]
name = "user_location"
source = "profile.city"
"#;

#[test]
fn check_template_all_mapped() {
    let dir = temp_dir();
    let mapping = write(&dir, "mapping.toml", MAPPING);
    let t = write(
        &dir,
        "welcome.hbs",
        "Hi {{first_name}}, news from {{user_location}}!",
    );
    let o = run(&["check-template", "--mapping", &mapping, &t], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{t} (handlebars)\n  variables: first_name, user_location\n  unmapped: none\n")
    );
}

#[test]
fn check_template_unmapped_exits_1() {
    let dir = temp_dir();
    let mapping = write(&dir, "mapping.toml", MAPPING);
    let ok = write(&dir, "ok.liquid", "Hi {{ first_name | default: 'x' }}");
    let bad = write(
        &dir,
        "promo.liquid",
        "{% if vip %}{{ first_name }} {{ last_purchase_product }}{% endif %}",
    );
    let o = run(&["check-template", "--mapping", &mapping, &ok, &bad], b"");
    assert_eq!(code(&o), 1);
    assert_eq!(
        stdout(&o),
        format!(
            "{ok} (liquid)\n  variables: first_name\n  unmapped: none\n\
             {bad} (liquid)\n  variables: first_name, last_purchase_product, vip\n  unmapped: last_purchase_product, vip\n"
        )
    );
    let o = run(
        &["check-template", "--json", "--mapping", &mapping, &bad],
        b"",
    );
    assert_eq!(code(&o), 1);
    let lines = json_lines(&o);
    assert_eq!(
        keys(&lines[0]),
        set(&[
            "template",
            "syntax",
            "variables",
            "unmapped",
            "unused",
            "problems"
        ])
    );
    assert_eq!(
        lines[0]["unmapped"],
        serde_json::json!(["last_purchase_product", "vip"])
    );
    assert_eq!(lines[0]["unused"], serde_json::json!(["user_location"]));
}

#[test]
fn check_template_errors_exit_2() {
    let dir = temp_dir();
    let mapping = write(&dir, "mapping.toml", MAPPING);
    let t = write(&dir, "t.hbs", "{{first_name}}");
    // Missing mapping file.
    let missing = dir.join("nope.toml").display().to_string();
    let o = run(&["check-template", "--mapping", &missing, &t], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.toml"), "{}", stderr(&o));
    // Missing template.
    let gone = dir.join("gone.hbs").display().to_string();
    let o = run(&["check-template", "--mapping", &mapping, &t, &gone], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("gone.hbs"));
    assert_eq!(
        stdout(&o),
        "",
        "nothing is written when a template cannot be read"
    );
    // A mapping with an unknown key: line and column.
    let bad = write(
        &dir,
        "bad.toml",
        "[[variables]]\nname = \"x\"\nsource = \"profile.x\"\nfalback = 1\n",
    );
    let o = run(&["check-template", "--mapping", &bad, &t], b"");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.toml: line 4, column 1: unknown field `falback`"),
        "{}",
        stderr(&o)
    );
    // A mapping that parses but is not valid.
    let invalid = write(
        &dir,
        "invalid.toml",
        "[[variables]]\nname = \"x\"\nsource = \"nowhere.x\"\n",
    );
    let o = run(&["check-template", "--mapping", &invalid, &t], b"");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("invalid.toml: variables[0].source"),
        "{}",
        stderr(&o)
    );
    // No template at all.
    let o = run(&["check-template", "--mapping", &mapping], b"");
    assert_eq!(code(&o), 2);
}

#[test]
fn check_template_syntax_errors_name_the_line() {
    let dir = temp_dir();
    let mapping = write(&dir, "mapping.toml", MAPPING);
    for (name, text, line) in [
        (
            "unclosed.liquid",
            "Hi\n{% if vip %}{{ first_name }}",
            "line 2",
        ),
        ("stray.liquid", "{{ first_name }}\n\n{% endif %}", "line 3"),
        ("triple.hbs", "Hi {{{body}}", "line 1"),
        ("empty.hbs", "Hi\n{{}}", "line 2"),
    ] {
        let t = write(&dir, name, text);
        let o = run(&["check-template", "--mapping", &mapping, &t], b"");
        // A template the engine rejects is an error: exit 2, naming its line.
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        let said = format!("{}{}", stdout(&o), stderr(&o));
        assert!(said.contains(line), "{name}: {said}");
        assert!(
            !said.contains("variables: first_name"),
            "no variables from a template the engine rejects: {said}"
        );
    }
    // The engine's scopes: `else if` conditions, block parameters and `assign`ed names.
    let t = write(
        &dir,
        "scopes.hbs",
        "{{#each items as |item|}}{{item.x}}{{/each}}{{#if a}}{{else if first_name}}{{/if}}",
    );
    let o = run(&["check-template", "--mapping", &mapping, &t], b"");
    assert_eq!(
        stdout(&o),
        format!("{t} (handlebars)\n  variables: a, first_name, items\n  unmapped: a, items\n")
    );
}

// ---------------------------------------------------------------------------------------------
// dedup

const SALESFORCE: &str = "[input]\nid_column = \"Id\"\npreset = \"salesforce_contacts\"\n";

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|row| row.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The keys of `source` in truth.csv, in file order: the well-formed rows.
fn truth_keys(source: &str) -> Vec<String> {
    let (_, rows) = read_csv(Path::new(&data("truth.csv")));
    rows.into_iter()
        .filter(|r| r[0] == source)
        .map(|r| r[1].clone())
        .collect()
}

fn dedup(dir: &Path, config: &str, input: &str, extra: &[&str]) -> (Output, PathBuf, PathBuf) {
    let pairs = dir.join("pairs.csv");
    let clusters = dir.join("clusters.csv");
    let mut args = vec![
        "dedup",
        "--config",
        config,
        input,
        "--out-pairs",
        pairs.to_str().unwrap(),
        "--out-clusters",
        clusters.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (run(&args, b""), pairs, clusters)
}

#[test]
fn dedup_sample_salesforce() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", SALESFORCE);
    let (o, pairs, clusters) = dedup(&dir, &config, &data("salesforce_contacts.csv"), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The two malformed rows are reported by position, and nothing else is lost.
    let err = stderr(&o);
    assert!(err.contains("2 bad rows left out of the outputs"), "{err}");
    assert!(
        err.contains("line 72: row has 10 fields but the header has 22"),
        "{err}"
    );
    assert!(
        err.contains("line 127: row has 23 fields but the header has 22"),
        "{err}"
    );
    assert!(err.contains("198 records read"), "{err}");

    let (header, rows) = read_csv(&clusters);
    assert_eq!(header, ["id", "cluster_id"]);
    let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        ids,
        truth_keys("salesforce"),
        "one row per record, in file order"
    );

    let (header, rows) = read_csv(&pairs);
    assert_eq!(
        header,
        ["id_a", "id_b", "match_probability", "match_weight"]
    );
    assert!(!rows.is_empty());
    let known: BTreeSet<&String> = ids.iter().collect();
    let (_, cluster_rows) = read_csv(&clusters);
    let cluster_of: std::collections::HashMap<String, String> = cluster_rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    for r in &rows {
        assert!(r[0] < r[1], "id_a < id_b: {r:?}");
        assert!(known.contains(&r[0]) && known.contains(&r[1]));
        let p: f64 = r[2].parse().unwrap();
        assert!((0.9..=1.0).contains(&p), "at or above the threshold: {r:?}");
        let _: f64 = r[3].parse().unwrap();
        assert_eq!(
            cluster_of[&r[0]], cluster_of[&r[1]],
            "a pair shares a cluster"
        );
    }
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted, "pairs are sorted");
}

#[test]
fn dedup_is_identical_for_any_thread_count() {
    let dir = temp_dir();
    let config = write(
        &dir,
        "dedup.toml",
        "[input]\nid_column = \"hs_object_id\"\npreset = \"hubspot_contacts\"\n",
    );
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let (o, pairs, clusters) = dedup(
            &dir,
            &config,
            &data("hubspot_contacts.csv"),
            &["--threads", threads, "--quiet"],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(!stderr(&o).contains("records read"), "--quiet");
        assert!(stderr(&o).contains("line 180, field `firstname`: invalid UTF-8"));
        outputs.push((
            std::fs::read(pairs).unwrap(),
            std::fs::read(clusters).unwrap(),
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
    let clusters = String::from_utf8(outputs[0].1.clone()).unwrap();
    assert_eq!(clusters.lines().count(), 1 + truth_keys("hubspot").len());
}

#[test]
fn dedup_exact_small_output() {
    let dir = temp_dir();
    let input = write(
        &dir,
        "people.csv",
        "id,first_name,last_name,email,birth_date\n\
         b2,Bob,Smith,BobSmith+news@gmail.com,1980-02-03\n\
         a1,Robert,Smith,bob.smith@gmail.com,1980-02-03\n\
         c3,Alice,Jones,alice@example.com,1975-06-07\n",
    );
    let config = write(
        &dir,
        "dedup.toml",
        r#"
[input]
id_column = "id"

[dedup]
threshold = 0.5
[[dedup.comparisons]]
field = "email"
kind = "email"
[[dedup.comparisons]]
field = "birth_date"
kind = "date"
[[dedup.blocking]]
keys = [{ field = "last_name", transform = "exact" }]
"#,
    );
    let (o, pairs, clusters) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, rows) = read_csv(&pairs);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0][0].as_str(), rows[0][1].as_str()), ("a1", "b2"));
    assert_eq!(
        std::fs::read_to_string(clusters).unwrap(),
        "id,cluster_id\nb2,0\na1,0\nc3,1\n"
    );
}

#[test]
fn dedup_bad_config_names_line_and_column() {
    let dir = temp_dir();
    let input = data("salesforce_contacts.csv");
    for (text, needle) in [
        (
            "[input]\nid_column = \"Id\"\n\n[dedup]\nthreshhold = 0.9\n",
            "dedup.toml: line 5, column 1: unknown field `threshhold`",
        ),
        (
            "[input]\nid_column = \"Id\"\ndelimiter = 7\n",
            "dedup.toml: line 3, column 13: invalid type",
        ),
        (
            "[input\nid_column = \"Id\"\n",
            "dedup.toml: line 1, column 7:",
        ),
        (
            "[output]\n",
            "dedup.toml: line 1, column 2: unknown field `output`",
        ),
        (
            "[input]\nid_column = \"Id\"\npreset = \"sap\"\n",
            "unknown preset `sap`",
        ),
        (
            "[input]\nid_column = \"Id\"\n[dedup]\nthreshold = 1.5\ncomparisons = []\nblocking = []\n",
            "dedup.toml: dedup.comparisons: ",
        ),
    ] {
        let config = write(&dir, "dedup.toml", text);
        let (o, pairs, _) = dedup(&dir, &config, &input, &[]);
        assert_eq!(code(&o), 2, "{text}");
        assert!(stderr(&o).contains(needle), "{text}: {}", stderr(&o));
        assert!(!pairs.exists(), "no output on a bad config");
    }
}

#[test]
fn dedup_missing_files_exit_2() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", SALESFORCE);
    let missing = dir.join("missing.csv").display().to_string();
    let (o, _, _) = dedup(&dir, &config, &missing, &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.csv"), "{}", stderr(&o));

    let no_config = dir.join("none.toml").display().to_string();
    let (o, _, _) = dedup(&dir, &no_config, &data("salesforce_contacts.csv"), &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("none.toml"), "{}", stderr(&o));

    // An output directory that does not exist.
    let o = run(
        &[
            "dedup",
            "--config",
            &config,
            &data("salesforce_contacts.csv"),
            "--out-pairs",
            dir.join("no/such/dir/p.csv").to_str().unwrap(),
            "--out-clusters",
            dir.join("c.csv").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no/such/dir/p.csv"), "{}", stderr(&o));
}

#[test]
fn dedup_input_problems() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", "[input]\nid_column = \"id\"\n");
    // No id column.
    let input = write(&dir, "a.csv", "key,email\n1,a@example.com\n");
    let (o, _, _) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("the header has no column `id`"),
        "{}",
        stderr(&o)
    );
    // Duplicate ids: named by record, never by value.
    let input = write(
        &dir,
        "b.csv",
        "id,email\n7,a@example.com\n8,b@example.com\n7,c@example.com\n",
    );
    let (o, _, _) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("records 1 and 3 have the same id"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("example.com"),
        "no personal values in messages"
    );
    // An empty id is a bad row, reported and left out.
    let input = write(
        &dir,
        "c.csv",
        "id,email\n1,a@example.com\n,b@example.com\n3,c@example.com\n",
    );
    let (o, _, clusters) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("record 2: the id column `id` is empty"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(clusters).unwrap(),
        "id,cluster_id\n1,0\n3,1\n"
    );
    // bad_rows = "fail" stops on the first bad rows, listing them.
    let strict = write(
        &dir,
        "strict.toml",
        "[input]\nid_column = \"Id\"\npreset = \"salesforce_contacts\"\nbad_rows = \"fail\"\n",
    );
    let (o, pairs, _) = dedup(&dir, &strict, &data("salesforce_contacts.csv"), &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("2 bad rows (bad_rows = \"fail\")"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("line 72"), "{}", stderr(&o));
    let _ = pairs;
}

#[test]
fn dedup_with_normalization_and_delimiter() {
    let dir = temp_dir();
    let input = write(
        &dir,
        "people.csv",
        "id;first_name;last_name;birth_date;email\n\
         1;ADA;LOVELACE;12/10/1815;ada@example.com\n\
         2;Ada;Lovelace;1815-12-10;\n",
    );
    let config = write(
        &dir,
        "dedup.toml",
        r#"
[input]
id_column = "id"
delimiter = ";"

[normalize.fields.birth_date]
normalizer = "date"
order = "MDY"

[dedup]
threshold = 0.5
[[dedup.comparisons]]
field = "birth_date"
kind = "date"
[[dedup.comparisons]]
field = "last_name"
kind = "name"
[[dedup.blocking]]
keys = [{ field = "birth_date", transform = "date" }]
"#,
    );
    let (o, pairs, _) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, rows) = read_csv(&pairs);
    assert_eq!(rows.len(), 1, "the dates meet only once normalized");
}

#[test]
fn dedup_threads_must_be_positive() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", SALESFORCE);
    let (o, _, _) = dedup(
        &dir,
        &config,
        &data("salesforce_contacts.csv"),
        &["--threads", "0"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// link

const LINK: &str = r#"
[left]
id_column = "Id"
preset = "salesforce_contacts"

[right]
id_column = "hs_object_id"
preset = "hubspot_contacts"
"#;

fn link(dir: &Path, config: &str, extra: &[&str]) -> (Output, PathBuf) {
    let pairs = dir.join("links.csv");
    let left = data("salesforce_contacts.csv");
    let right = data("hubspot_contacts.csv");
    let mut args = vec![
        "link",
        "--config",
        config,
        &left,
        &right,
        "--out-pairs",
        pairs.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (run(&args, b""), pairs)
}

#[test]
fn link_sample_left_id_first() {
    let dir = temp_dir();
    let config = write(&dir, "link.toml", LINK);
    let (o, pairs) = link(&dir, &config, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 72"),
        "bad rows of the left file reported"
    );
    assert!(
        stderr(&o).contains("line 180"),
        "bad rows of the right file reported"
    );
    let (header, rows) = read_csv(&pairs);
    assert_eq!(
        header,
        ["id_a", "id_b", "match_probability", "match_weight"]
    );
    let left: BTreeSet<String> = truth_keys("salesforce").into_iter().collect();
    let right: BTreeSet<String> = truth_keys("hubspot").into_iter().collect();
    assert!(rows.len() > 100, "most of the 144 shared people are linked");
    for r in &rows {
        assert!(left.contains(&r[0]) && right.contains(&r[1]), "{r:?}");
        assert!(r[2].parse::<f64>().unwrap() >= 0.9);
    }
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted);

    // One-to-one, by flag or by configuration: each record at most once.
    let (o, pairs) = link(&dir, &config, &["--one-to-one", "--threads", "1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let flag = std::fs::read(&pairs).unwrap();
    let (_, rows) = read_csv(&pairs);
    let lefts: BTreeSet<&String> = rows.iter().map(|r| &r[0]).collect();
    let rights: BTreeSet<&String> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(lefts.len(), rows.len());
    assert_eq!(rights.len(), rows.len());
    let config = write(&dir, "link1.toml", &format!("one_to_one = true\n{LINK}"));
    let (o, pairs) = link(&dir, &config, &["--threads", "2"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read(&pairs).unwrap(), flag);
}

#[test]
fn link_bad_config() {
    let dir = temp_dir();
    let config = write(
        &dir,
        "link.toml",
        "[left]\nid_column = \"Id\"\n[right]\nid_column = \"x\"\nfoo = 1\n",
    );
    let (o, _) = link(&dir, &config, &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("link.toml: line 5, column 1: unknown field `foo`"),
        "{}",
        stderr(&o)
    );
    let config = write(&dir, "link2.toml", "[left]\nid_column = \"Id\"\n");
    let (o, _) = link(&dir, &config, &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("missing field `right`"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// run

fn pipeline_toml(out: &Path) -> String {
    format!(
        r#"
[[sources]]
name = "salesforce"
path = "{sf}"
preset = "salesforce_contacts"

[[sources]]
name = "hubspot"
path = "{hs}"
preset = "hubspot_contacts"

[dedup]
preset = "contacts"

[mapping]
[[mapping.variables]]
name = "first_name"
source = "profile.first_name"
fallback = "there"

[outputs]
dir = "{out}"
platforms = ["jsonl"]
"#,
        sf = data("salesforce_contacts.csv"),
        hs = data("hubspot_contacts.csv"),
        out = out.display()
    )
}

#[cfg(feature = "lake")]
#[test]
fn query_a_pipeline_with_sql() {
    let dir = temp_dir();
    let out = dir.join("out");
    let text = format!(
        "{}\n[semantic.views]\nbig = \"SELECT profile_id, cardinality(members) AS n FROM profiles WHERE cardinality(members) > 1\"\n",
        pipeline_toml(&out)
    );
    let config = write(&dir, "pipeline.toml", &text);
    let sql = "SELECT (SELECT count(*) FROM members) AS members, (SELECT count(*) FROM quarantine) AS quarantined";
    let o = run(
        &["query", "--config", &config, "--format", "csv", "-q", sql],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "members,quarantined\n396,3\n");
    assert!(!out.exists(), "a query writes nothing");
    let o = run(
        &[
            "query",
            "--config",
            &config,
            "-q",
            "SELECT count(*) AS n FROM big WHERE n > 1",
        ],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("+-----+\n| n   |\n"),
        "{}",
        stdout(&o)
    );
    let o = run(
        &[
            "query",
            "--config",
            &config,
            "--format",
            "json",
            "-q",
            "SELECT 1 AS one",
        ],
        b"",
    );
    assert_eq!(stdout(&o), "{\"one\":1}\n");
    let o = run(
        &[
            "query",
            "--config",
            &config,
            "-q",
            "SELECT nope FROM profiles",
        ],
        b"",
    );
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[cfg(feature = "lake")]
#[test]
fn run_writes_parquet_and_query_reads_every_table() {
    let dir = temp_dir();
    let out = dir.join("out");
    let lake = dir.join("lake");
    let text = format!(
        "{}\n[outputs.parquet]\ndir = \"{}\"\npartition_by = {{ audiences = \"platform\", members = \"source\" }}\n",
        pipeline_toml(&out),
        lake.display()
    );
    let config = write(&dir, "pipeline.toml", &text);
    let o = run(&["run", "--config", &config], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Parquet files to file:///"),
        "{}",
        stderr(&o)
    );
    for f in ["profiles.parquet", "merge_log.parquet", "clusters.parquet"] {
        assert!(lake.join(f).is_file(), "{f}");
    }
    assert!(
        lake.join("audiences/platform=jsonl/part-0.parquet")
            .is_file()
    );
    assert!(lake.join("members/source=hubspot/part-0.parquet").is_file());

    let sql = "SELECT (SELECT count(*) FROM clusters) AS clusters, \
               (SELECT count(*) FROM merge_log WHERE event IN ('attached', 'merged')) AS joins, \
               (SELECT count(DISTINCT profile_id) FROM clusters) AS profiles, \
               (SELECT count(*) FROM profiles) AS golden, (SELECT count(*) FROM audiences) > 0 AS sent";
    let o = run(
        &["query", "--config", &config, "--format", "json", "-q", sql],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = &json_lines(&o)[0];
    assert_eq!(v["clusters"], 396);
    assert_eq!(v["profiles"], v["golden"]);
    assert_eq!(
        v["joins"].as_i64().unwrap() + v["golden"].as_i64().unwrap(),
        396
    );
    assert_eq!(v["sent"], true);
}

#[cfg(not(feature = "lake"))]
#[test]
fn parquet_outputs_need_the_lake_feature() {
    let dir = temp_dir();
    let text = format!(
        "{}\n[outputs.parquet]\ndir = \"lake\"\n",
        pipeline_toml(&dir.join("out"))
    );
    let config = write(&dir, "pipeline.toml", &text);
    let o = run(&["run", "--config", &config], b"");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outputs.parquet: Parquet outputs need the feature `lake`"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn run_pipeline_file() {
    let dir = temp_dir();
    let out = dir.join("out");
    let config = write(&dir, "pipeline.toml", &pipeline_toml(&out));
    let o = run(&["run", "--config", &config, "--json"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = &json_lines(&o)[0];
    assert_eq!(report["records_in"], 399);
    assert_eq!(report["accepted"], 396);
    assert_eq!(report["quarantined"], 3);
    assert!(stderr(&o).contains("salesforce"), "a summary on stderr");
    for f in [
        "profiles.jsonl",
        "quarantine.jsonl",
        "report.json",
        "report.txt",
        "jsonl.jsonl",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let quarantine = std::fs::read_to_string(out.join("quarantine.jsonl")).unwrap();
    assert_eq!(quarantine.lines().count(), 3);

    let o = run(&["run", "--config", &config, "--quiet"], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "--quiet");
    assert_eq!(stdout(&o), "");
}

#[test]
fn run_errors_exit_2() {
    let dir = temp_dir();
    let bad = write(&dir, "bad.toml", "[[sources]]\nname = 3\n");
    let o = run(&["run", "--config", &bad], b"");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.toml: line 2, column 8:"),
        "{}",
        stderr(&o)
    );
    let missing = dir.join("missing.toml").display().to_string();
    let o = run(&["run", "--config", &missing], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    let o = run(&["run"], b"");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--config"), "{}", stderr(&o));
}

/// `mergetag run` over a Kafka source on librdkafka's mock cluster (127.0.0.1): a run whose
/// outputs cannot be written exits 2 and commits nothing, so the next run reads the same
/// messages; a run that wrote its outputs committed, so the next one reads nothing.
#[cfg(feature = "kafka")]
#[test]
fn run_commits_a_kafka_source_only_after_writing_its_outputs() {
    use mergetag::kafka::rdkafka::ClientConfig;
    use mergetag::kafka::rdkafka::mocking::MockCluster;
    use mergetag::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("contacts", 1, 1).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    for i in 1..=3 {
        let value = format!(r#"{{"id": {i}, "email": "person{i}@example.com"}}"#);
        let record: BaseRecord<'_, (), str> = BaseRecord::to("contacts").payload(&value);
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(std::time::Duration::from_secs(10)).unwrap();

    let dir = temp_dir();
    write(&dir, "blocked", "a file where a directory should be");
    let pipeline = |out: &str| {
        format!(
            "[[sources]]\nname = \"crm\"\nkind = \"kafka\"\nkey = \"id\"\n\
             [sources.settings]\nbrokers = \"{}\"\ntopic = \"contacts\"\ngroup_id = \"cli\"\n\
             commit = \"after_outputs\"\nproperties = {{ \"session.timeout.ms\" = \"6000\" }}\n\
             [outputs]\ndir = \"{out}\"\n",
            cluster.bootstrap_servers()
        )
    };
    let records_in = |config: &str| {
        let o = run(&["run", "--config", config, "--json"], b"");
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        json_lines(&o)[0]["records_in"].as_u64().unwrap()
    };
    let bad = write(&dir, "bad.toml", &pipeline("blocked/out"));
    let o = run(&["run", "--config", &bad], b"");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    let good = write(&dir, "good.toml", &pipeline("out"));
    assert_eq!(records_in(&good), 3, "the failed run committed nothing");
    assert_eq!(records_in(&good), 0, "the written run committed");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// fuzz inputs

/// Replays the inputs kept in `tests/fuzz/<target>/` (seeds and any crash the fuzzer found).
fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    mergetag_testkit::replay_fuzz_inputs(dir.join(target), run);
}

#[test]
fn fuzz_inputs_replay() {
    replay("cli_config", fuzz::cli_config);
}

// ---------------------------------------------------------------------------------------------
// unclosed quotes, overwrites, threads

/// A 55-row export whose row 3 (line 4) opens a quote that never closes.
fn export_with_unclosed_quote() -> String {
    let mut csv = String::from("id,first_name,last_name,email\n");
    for i in 1..=55 {
        if i == 3 {
            csv.push_str("3,\"Ann,Lee,ann@example.com\n");
        } else {
            csv.push_str(&format!("{i},F{i},L{i},p{i}@example.com\n"));
        }
    }
    csv
}

#[test]
fn dedup_unclosed_quote_is_one_bad_row_and_later_rows_are_read() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", "[input]\nid_column = \"id\"\n");
    let input = write(&dir, "export.csv", &export_with_unclosed_quote());
    let (o, _, clusters) = dedup(&dir, &config, &input, &[]);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert!(
        err.contains("an unclosed quote opened at line 4 ran to the end of the file (53 lines)"),
        "{err}"
    );
    assert!(
        err.contains("54 records read, bad rows left out: 1"),
        "rows in = records + rejected rows: {err}"
    );
    assert!(!err.contains("Ann"), "no values in messages: {err}");
    let (_, rows) = read_csv(&clusters);
    assert_eq!(rows.len(), 54);
    assert_eq!(rows.last().unwrap()[0], "55");

    let config = write(
        &dir,
        "fail.toml",
        "[input]\nid_column = \"id\"\nbad_rows = \"fail\"\n",
    );
    let (o, _, _) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("opened at line 4"), "{}", stderr(&o));
}

#[test]
fn utf16_without_bom_is_refused_by_dedup() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", "[input]\nid_column = \"id\"\n");
    let text = "id,email\n1,a@example.com\n";
    for (name, bytes) in [
        (
            "le.csv",
            text.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>(),
        ),
        (
            "be.csv",
            text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        ),
    ] {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let (o, _, _) = dedup(&dir, &config, input.to_str().unwrap(), &[]);
        assert_eq!(code(&o), 2, "{name}");
        assert!(stderr(&o).contains("UTF-16"), "{name}: {}", stderr(&o));
    }
}

/// Runs the binary in `dir`.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn dedup_and_link_outputs_never_overwrite_inputs() {
    let dir = temp_dir();
    let config_text = "[input]\nid_column = \"id\"\n";
    let config = write(&dir, "dedup.toml", config_text);
    let csv = "id,email\n1,a@example.com\n2,a@example.com\n";
    let input = write(&dir, "in.csv", csv);
    std::os::unix::fs::symlink(dir.join("in.csv"), dir.join("link.csv")).unwrap();
    let refused = |args: &[&str], both: [&str; 2]| {
        let o = run_in(&dir, args);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{args:?}: {err}");
        for path in both {
            assert!(err.contains(path), "{args:?} names {path}: {err}");
        }
        assert!(err.contains("is the same file as"), "{err}");
    };
    let dedup_args = |pairs: &'static str, clusters: &'static str| {
        vec![
            "dedup",
            "--config",
            "dedup.toml",
            "in.csv",
            "--out-pairs",
            pairs,
            "--out-clusters",
            clusters,
        ]
    };
    refused(&dedup_args("in.csv", "c.csv"), ["in.csv", "--out-pairs"]);
    refused(&dedup_args("./in.csv", "c.csv"), ["./in.csv", "in.csv"]);
    refused(&dedup_args("p.csv", "link.csv"), ["link.csv", "in.csv"]);
    refused(
        &dedup_args("dedup.toml", "c.csv"),
        ["dedup.toml", "configuration"],
    );
    refused(&dedup_args("c.csv", "./c.csv"), ["c.csv", "./c.csv"]);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), csv);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), config_text);
    assert!(!dir.join("c.csv").exists() && !dir.join("p.csv").exists());

    let link_config = "[left]\nid_column = \"id\"\n[right]\nid_column = \"id\"\n";
    write(&dir, "link.toml", link_config);
    write(&dir, "right.csv", csv);
    let link = |pairs: &'static str| {
        vec![
            "link",
            "--config",
            "link.toml",
            "in.csv",
            "right.csv",
            "--out-pairs",
            pairs,
        ]
    };
    refused(&link("right.csv"), ["right.csv", "right input"]);
    refused(&link("./in.csv"), ["./in.csv", "left input"]);
    refused(&link("link.toml"), ["link.toml", "configuration"]);
    assert_eq!(std::fs::read_to_string(dir.join("right.csv")).unwrap(), csv);
    let o = run_in(&dir, &link("pairs.csv"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(dir.join("pairs.csv").exists());
}

#[test]
fn run_outputs_never_overwrite_a_source_or_the_pipeline_file() {
    let dir = temp_dir();
    let records = "{\"id\": \"1\", \"email\": \"a@example.com\"}\n";
    let source = write(&dir, "profiles.jsonl", records);
    let pipeline =
        "[[sources]]\nname = \"crm\"\npath = \"profiles.jsonl\"\n\n[outputs]\ndir = \".\"\n";
    let config = write(&dir, "pipeline.toml", pipeline);
    let o = run(&["run", "--config", &config], b"");
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("profiles.jsonl") && err.contains("source `crm`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&source).unwrap(), records);

    // The pipeline file itself named like an output.
    let config = write(
        &dir,
        "report.txt",
        "[[sources]]\nname = \"crm\"\npath = \"other.jsonl\"\n\n[outputs]\ndir = \".\"\n",
    );
    let o = run(&["run", "--config", &config], b"");
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("report.txt") && err.contains("pipeline file"),
        "{err}"
    );
}

#[test]
fn a_failed_write_leaves_no_output_behind() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", "[input]\nid_column = \"id\"\n");
    let input = write(&dir, "in.csv", "id,email\n1,a@example.com\n");
    let pairs = dir.join("pairs.csv");
    let clusters = dir.join("missing-dir").join("clusters.csv");
    let o = run(
        &[
            "dedup",
            "--config",
            &config,
            &input,
            "--out-pairs",
            pairs.to_str().unwrap(),
            "--out-clusters",
            clusters.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!pairs.exists(), "the pairs file is not left behind");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file left: {left:?}"
    );
}

#[test]
fn too_many_threads_are_lowered_with_a_note() {
    let dir = temp_dir();
    let config = write(&dir, "dedup.toml", SALESFORCE);
    let started = std::time::Instant::now();
    let (o, _, clusters) = dedup(
        &dir,
        &config,
        &data("salesforce_contacts.csv"),
        &["--threads", "65535", "--quiet"],
    );
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert!(err.contains("--threads 65535 is more than"), "{err}");
    assert!(clusters.exists());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "capped threads start quickly"
    );
}

#[test]
fn configs_that_can_find_nothing_are_warned_about() {
    let dir = temp_dir();
    let config = write(
        &dir,
        "dedup.toml",
        "[input]\nid_column = \"Id\"\npreset = \"salesforce_contacts\"\n\
         [dedup]\npreset = \"contacts\"\nem_iterations = 0\n",
    );
    let input = data("salesforce_contacts.csv");
    let (o, _, _) = dedup(&dir, &config, &input, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: EM did not run (em_iterations = 0)"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_says_where_it_wrote_or_that_it_wrote_nothing() {
    let dir = temp_dir();
    let csv = data("hubspot_contacts.csv");
    let config = write(
        &dir,
        "p.toml",
        &format!(
            "[[sources]]\nname = \"hubspot\"\npath = \"{csv}\"\npreset = \"hubspot_contacts\"\n"
        ),
    );
    let o = run(&["run", "--config", &config], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no outputs.dir, so nothing was written"),
        "{}",
        stderr(&o)
    );
    let config = write(
        &dir,
        "q.toml",
        &format!(
            "[[sources]]\nname = \"hubspot\"\npath = \"{csv}\"\npreset = \"hubspot_contacts\"\n\
             [outputs]\ndir = \"out\"\n"
        ),
    );
    let o = run(&["run", "--config", &config], b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("mergetag run: wrote"), "{}", stderr(&o));
    assert!(dir.join("out").join("report.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
