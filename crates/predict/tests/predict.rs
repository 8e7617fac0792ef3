//! The published CDNOW fits reproduced, and the crate's invariants.

mod fuzz;

use chrono::NaiveDate;
use mergetag_predict::{
    BgNbd, FitOptions, GammaGamma, ParetoNbd, Period, Rfm, Summary, Transaction,
};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn cdnow_summary() -> Vec<Rfm> {
    Summary::from_path(data("cdnow_customers_summary.csv"))
        .expect("the bundled summary reads")
        .customers
}

fn cdnow_transactions() -> Vec<Transaction> {
    let text = std::fs::read_to_string(data("CDNOW_sample.txt")).expect("bundled");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Transaction {
                customer: f[1].to_owned(),
                date: NaiveDate::parse_from_str(f[2], "%Y%m%d").expect("a date"),
                value: Some(f[4].parse().expect("a value")),
            }
        })
        .collect()
}

fn close(name: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{name}: {got} vs {want} (tolerance {tol})"
    );
}

#[test]
fn bgnbd_reproduces_the_published_cdnow_fit() {
    let cs = cdnow_summary();
    let fit = BgNbd::fit(&cs, &FitOptions::default()).unwrap();
    assert!(fit.convergence.converged);
    let m = fit.model;
    close("r", m.r, 0.242593, 1e-4);
    close("alpha", m.alpha, 4.413532, 1e-4);
    close("a", m.a, 0.792886, 1e-4);
    close("b", m.b, 2.425752, 1e-4);
    // Fader, Hardie and Lee (2005) report LL = -9582.4.
    close("log_likelihood", fit.log_likelihood, -9582.4, 0.1);
    close(
        "expected",
        m.expected_purchases(39.0, &Rfm::new(2.0, 30.43, 38.86)),
        1.226,
        1e-3,
    );
}

#[test]
fn pareto_nbd_reproduces_the_published_cdnow_fit() {
    let cs = cdnow_summary();
    let fit = ParetoNbd::fit(&cs, &FitOptions::default()).unwrap();
    assert!(fit.convergence.converged);
    let m = fit.model;
    close("r", m.r, 0.553, 1e-3);
    close("alpha", m.alpha, 10.578, 1e-3);
    close("s", m.s, 0.606, 1e-3);
    // 11.6679 here: the likelihood is flat along s and beta, and ours is the higher maximum
    // (-9594.973930 against -9594.974010 at the published values), so the Python
    // reference's own test tolerance (1.5e-3) applies to beta.
    close("beta", m.beta, 11.669, 1.5e-3);
}

#[test]
fn gamma_gamma_reproduces_the_published_cdnow_fit() {
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    let s = Summary::from_transactions(&cdnow_transactions(), end, Period::Day);
    assert_eq!(s.customers.len(), 2357);
    let repeat = s.customers.iter().filter(|c| c.frequency > 0.0).count();
    assert_eq!(repeat, 946);
    let fit = GammaGamma::fit(&s.customers, &FitOptions::default()).unwrap();
    assert!(fit.convergence.converged);
    // Published to two decimals (6.2496, 3.7442 and 15.4435 here round to them).
    close("p", fit.model.p, 6.25, 5e-3);
    close("q", fit.model.q, 3.74, 5e-3);
    close("v", fit.model.v, 15.44, 5e-3);
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
    replay("predict_summary", fuzz::predict_summary);
    replay("predict_transactions", fuzz::predict_transactions);
    replay("predict_config", fuzz::predict_config);
}
