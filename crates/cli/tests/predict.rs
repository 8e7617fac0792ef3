//! `mergetag predict fit` and `mergetag predict summary`, run as processes: the published
//! CDNOW fits through the command line, one JSON object on stdout, exit 2 naming the line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mergetag");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../predict/tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("mergetag-predict-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

fn ok_json(o: &Output) -> Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    serde_json::from_str(&text).unwrap()
}

fn close(json: &Value, key: &str, want: f64, tol: f64) {
    let got = json[key].as_f64().unwrap_or(f64::NAN);
    assert!((got - want).abs() <= tol, "{key}: {got} vs {want}");
}

#[test]
fn fit_bgnbd_on_the_cdnow_summary() {
    let j = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        &data("cdnow_customers_summary.csv"),
    ]));
    close(&j, "r", 0.242593, 1e-4);
    close(&j, "alpha", 4.413532, 1e-4);
    close(&j, "a", 0.792886, 1e-4);
    close(&j, "b", 2.425752, 1e-4);
    close(&j, "log_likelihood", -9582.43, 0.01);
    assert_eq!(j["converged"], true);
    assert!(j["iterations"].as_u64().unwrap() > 0);
}

#[test]
fn fit_pareto_nbd_on_the_cdnow_summary() {
    let j = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "pareto-nbd",
        &data("cdnow_customers_summary.csv"),
    ]));
    close(&j, "r", 0.553, 1e-3);
    close(&j, "alpha", 10.578, 1e-3);
    close(&j, "s", 0.606, 1e-3);
    close(&j, "beta", 11.669, 1.5e-3);
    assert_eq!(j["converged"], true);
}

#[test]
fn a_penalizer_shrinks_the_parameters() {
    let plain = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        &data("cdnow_customers_summary.csv"),
    ]));
    let pen = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        &data("cdnow_customers_summary.csv"),
        "--penalizer",
        "0.1",
    ]));
    assert!(pen["alpha"].as_f64().unwrap() < plain["alpha"].as_f64().unwrap());
    assert_eq!(pen["penalizer"], 0.1);
}

#[test]
fn summary_then_gamma_gamma_reproduces_the_published_fit() {
    let o = run(&[
        "predict",
        "summary",
        &data("cdnow_transactions.csv"),
        "--customer-column",
        "customer",
        "--date-column",
        "date",
        "--value-column",
        "value",
        "--calibration-end",
        "1997-09-30",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("id,frequency,recency,T,monetary_value\n"));
    // Customer 1: purchases on 1997-01-01, 01-18 and 08-02 in the calibration period.
    assert!(text.contains("\n1,2,213,272,22.345\n"), "{}", &text[..200]);
    assert_eq!(text.lines().count(), 2358);
    let summary = temp_file("summary.csv", &text);
    let j = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "gamma-gamma",
        summary.to_str().unwrap(),
    ]));
    close(&j, "p", 6.25, 5e-3);
    close(&j, "q", 3.74, 5e-3);
    close(&j, "v", 15.44, 5e-3);
    assert_eq!(j["customers"], 946);
    // The BG/NBD fit in days is the fit in weeks with alpha scaled by 7.
    let j = ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        summary.to_str().unwrap(),
    ]));
    close(&j, "r", 0.2426, 2e-3);
    close(&j, "alpha", 4.4135 * 7.0, 0.1);
    let _ = std::fs::remove_file(summary);
}

#[test]
fn summary_by_week_counts_one_purchase_per_week() {
    let log = temp_file(
        "week.csv",
        "cust,day,amount\na,2024-01-01,10\na,2024-01-07,5\na,2024-01-08,20\nb,2024-01-03,1\n",
    );
    let o = run(&[
        "predict",
        "summary",
        log.to_str().unwrap(),
        "--customer-column",
        "cust",
        "--date-column",
        "day",
        "--value-column",
        "amount",
        "--calibration-end",
        "2024-01-31",
        "--freq",
        "week",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Monday 1 and Sunday 7 January are one week; Monday 8 is the next.
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "id,frequency,recency,T,monetary_value\na,1,1,4,20\nb,0,0,4,0\n"
    );
    let _ = std::fs::remove_file(log);
}

#[test]
fn a_bad_row_exits_2_naming_its_line() {
    let bad = temp_file(
        "bad.csv",
        "ID,frequency,recency,T\n1,2,30.43,38.86\n2,1,50,38.86\n",
    );
    let o = run(&["predict", "fit", "--model", "bgnbd", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 3, column `recency`: recency exceeds T"),
        "{err}"
    );
    let no_money = temp_file("nomoney.csv", "ID,frequency,recency,T\n1,2,30.43,38.86\n");
    let o = run(&[
        "predict",
        "fit",
        "--model",
        "gamma-gamma",
        no_money.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("monetary value"));
    let log = temp_file("badlog.csv", "c,d\na,2024-01-01\nb,yesterday\n");
    let o = run(&[
        "predict",
        "summary",
        log.to_str().unwrap(),
        "--customer-column",
        "c",
        "--date-column",
        "d",
        "--calibration-end",
        "2024-02-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 3, column `d`"));
    for p in [bad, no_money, log] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn fit_save_then_score_and_drift() {
    let model = std::env::temp_dir().join(format!(
        "mergetag-predict-{}-model.json",
        std::process::id()
    ));
    let summary = data("cdnow_customers_summary.csv");
    let o = run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        &summary,
        "--save",
        model.to_str().unwrap(),
        "--calibration-end",
        "1997-09-30",
    ]);
    ok_json(&o);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["trained_to"], "1997-09-30");
    assert_eq!(saved["trained_from"], "1997-01-01");
    assert_eq!(saved["transaction"]["model"], "bgnbd");
    let o = run(&[
        "predict",
        "score",
        "--model-file",
        model.to_str().unwrap(),
        &summary,
        "--horizon-days",
        "273",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 2357);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    // Customer 1 (x=2, t_x=30.43, T=38.86): 1.226 purchases in the next 39 weeks.
    assert_eq!(first["id"], "1");
    close(&first, "expected_purchases", 1.226, 1e-3);
    let p = first["p_alive"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    // The same customers: no drift.
    let o = run(&[
        "predict",
        "drift",
        "--model-file",
        model.to_str().unwrap(),
        "--baseline",
        &summary,
        &summary,
    ]);
    let j = ok_json(&o);
    assert_eq!(j["retrain"], false);
    assert!(
        j["stability"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["psi"].as_f64().unwrap() < 1e-9)
    );
    // Customers who all stopped buying: retrain.
    let lapsed = temp_file(
        "lapsed.csv",
        &std::iter::once("id,frequency,recency,T".to_owned())
            .chain((0..500).map(|i| format!("{i},0,0,{}", 60 + i % 10)))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let o = run(&[
        "predict",
        "drift",
        "--model-file",
        model.to_str().unwrap(),
        "--baseline",
        &summary,
        lapsed.to_str().unwrap(),
    ]);
    // The verdict is retrain: exit 1, the report on stdout, the reasons on stderr.
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (j["retrain"].as_bool(), j["verdict"].as_str()),
        (Some(true), Some("retrain"))
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("drift: "));
    for p in [model, lapsed] {
        let _ = std::fs::remove_file(p);
    }
}

/// A summary CSV of `n` customers drawn from a BG/NBD process in days.
fn simulated(name: &str, truth: &mergetag_predict::BgNbd, n: usize, seed: u64) -> PathBuf {
    let cs = mergetag_predict::simulate_bgnbd(truth, n, 365.0, 90.0, seed);
    let mut text = "id,frequency,recency,T\n".to_owned();
    for (i, c) in cs.iter().enumerate() {
        text.push_str(&format!("{i},{},{},{}\n", c.frequency, c.recency, c.t));
    }
    temp_file(name, &text)
}

#[test]
fn drift_against_the_saved_sketches_flags_a_shift_and_retrain_reports_the_change() {
    let truth = mergetag_predict::BgNbd {
        r: 0.25,
        alpha: 30.0,
        a: 0.8,
        b: 2.5,
    };
    let trained = simulated("trained.csv", &truth, 4000, 1);
    let same = simulated("same.csv", &truth, 4000, 2);
    let busier = simulated(
        "busier.csv",
        &mergetag_predict::BgNbd {
            alpha: 5.0,
            ..truth
        },
        4000,
        3,
    );
    let model = trained.with_extension("model.json");
    let p = |p: &PathBuf| p.to_str().unwrap().to_owned();
    ok_json(&run(&[
        "predict",
        "fit",
        "--model",
        "bgnbd",
        &p(&trained),
        "--save",
        &p(&model),
        "--calibration-end",
        "2026-06-01",
        "--freq",
        "day",
    ]));
    // No --baseline: the distributions saved in the model.
    let o = run(&["predict", "drift", "--model-file", &p(&model), &p(&same)]);
    let j = ok_json(&o);
    assert_eq!(j["verdict"], "stable", "{j}");
    assert_eq!(j["stability"].as_array().unwrap().len(), 5);
    let o = run(&["predict", "drift", "--model-file", &p(&model), &p(&busier)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["verdict"], "retrain");
    assert!(j["reasons"][0].as_str().unwrap().contains("PSI"), "{j}");

    // Retrain on the busier customers: alpha falls, the new model is saved, the input kept.
    let before = std::fs::read(&busier).unwrap();
    let new = trained.with_extension("new.json");
    let o = run(&[
        "predict",
        "retrain",
        "--model-file",
        &p(&model),
        &p(&busier),
        "--calibration-end",
        "2026-09-01",
        "--save",
        &p(&new),
    ]);
    let j = ok_json(&o);
    let alpha = j["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "alpha")
        .unwrap();
    assert!(
        (alpha["old"].as_f64().unwrap() - 30.0).abs() < 5.0,
        "{alpha}"
    );
    assert!(
        (alpha["new"].as_f64().unwrap() - 5.0).abs() < 2.0,
        "{alpha}"
    );
    let (old_ll, new_ll) = (
        j["log_likelihood"]["old"].as_f64().unwrap(),
        j["log_likelihood"]["new"].as_f64().unwrap(),
    );
    assert!(new_ll > old_ll, "{j}");
    assert!(j["predictions"][1]["psi"].as_f64().unwrap() > 0.25, "{j}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&new).unwrap()).unwrap();
    assert_eq!(saved["trained_to"], "2026-09-01");
    assert!(saved["baseline"].is_object());
    // The new model describes the busier customers: no drift against them.
    let o = run(&["predict", "drift", "--model-file", &p(&new), &p(&busier)]);
    assert_eq!(ok_json(&o)["verdict"], "stable");
    // The input is never overwritten.
    let o = run(&[
        "predict",
        "retrain",
        "--model-file",
        &p(&model),
        &p(&busier),
        "--calibration-end",
        "2026-09-01",
        "--save",
        &p(&busier),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&busier).unwrap(), before);
    for f in [trained, same, busier, model, new] {
        let _ = std::fs::remove_file(f);
    }
}

/// The sample pipeline with predictions (examples/data/predict.toml), its paths made
/// absolute and `model_file` set, in a temporary directory.
fn sample_pipeline(dir: &Path) -> PathBuf {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
    let data = data.canonicalize().unwrap();
    let text = std::fs::read_to_string(data.join("predict.toml")).unwrap();
    let text = text
        .replace("path = \"", &format!("path = \"{}/", data.display()))
        .replace("[predict]\n", "[predict]\nmodel_file = \"model.json\"\n");
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("pipeline.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn fit_score_drift_retrain_with_the_pipeline_file() {
    let dir = std::env::temp_dir().join(format!("mergetag-predict-config-{}", std::process::id()));
    let config = sample_pipeline(&dir);
    let c = config.to_str().unwrap();
    let model = dir.join("model.json");
    let j = ok_json(&run(&["predict", "fit", "--config", c]));
    assert_eq!(j["model"], "bgnbd");
    assert_eq!(j["trained_to"], "2026-11-21");
    assert_eq!(j["converged"], true);
    assert_eq!(j["holdout"]["calibration_end"], "2026-08-23");
    assert!(j["holdout"]["actual"].as_f64().unwrap() > 0.0);
    assert_eq!(j["saved"].as_str().unwrap(), model.to_str().unwrap());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["baseline"]["features"].as_array().unwrap().len(), 5);

    // One line per golden profile; those with orders have predictions.
    let o = run(&["predict", "score", "--config", c]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 54, "{}", lines.len());
    let scored: Vec<&Value> = lines.iter().filter(|l| l["p_alive"].is_f64()).collect();
    assert_eq!(scored.len(), 54);
    for l in &scored {
        assert!(l["profile_id"].is_string());
        assert!(l["expected_purchases_90d"].as_f64().unwrap() >= 0.0);
        assert!(["low", "medium", "high"].contains(&l["churn_risk_band"].as_str().unwrap()));
    }

    // The same profiles: stable; the holdout has too few purchases to judge, and says so.
    let o = run(&["predict", "drift", "--config", c]);
    let j = ok_json(&o);
    assert_eq!(j["verdict"], "stable");
    assert!(
        j["stability"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["psi"] == 0.0)
    );
    assert_eq!(j["calibration"]["holdout_end"], "2026-11-21");
    assert!(
        j["reasons"][0].as_str().unwrap().contains("not judged"),
        "{j}"
    );

    // Retrain over the model file (atomically): the same data, the same parameters.
    let o = run(&["predict", "retrain", "--config", c]);
    let j = ok_json(&o);
    for ch in j["parameters"].as_array().unwrap() {
        let (a, b) = (ch["old"].as_f64().unwrap(), ch["new"].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{ch}");
    }
    assert_eq!(j["saved"].as_str().unwrap(), model.to_str().unwrap());
    assert!(j["holdout"]["old"].is_object() && j["holdout"]["new"].is_object());
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");

    // `mergetag run` scores with the saved model, and says so; a broken one stops the run
    // naming it.
    let o = run(&["run", "--config", c]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("predict: ") && err.contains("model saved") && err.contains("drift_verdict"),
        "{err}"
    );
    let good = std::fs::read(&model).unwrap();
    std::fs::write(&model, "garbage").unwrap();
    let o = run(&["run", "--config", c]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("model.json: line 1"), "{err}");
    std::fs::write(&model, good).unwrap();

    // The model never goes over the pipeline file.
    let o = run(&["predict", "fit", "--config", c, "--save", c]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("[predict]")
    );
    // A pipeline without [predict]: exit 2, saying what to add.
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/pipeline.toml");
    let o = run(&["predict", "fit", "--config", plain.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no [predict] table"));
    // Without a model file anywhere: exit 2 naming both ways to give one.
    let o = run(&["predict", "score", "--config", plain.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
