//! What the predict fuzz targets in `fuzz/fuzz_targets/` run, shared with the replay in
//! `tests/predict.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//!
//! - `predict_summary`: any bytes as SUMMARY.csv; a summary that reads has only customers
//!   the models accept, and fitting it (a few iterations) never panics and never returns a
//!   NaN silently: each fit is an error, or parameters that are finite with P(alive) in
//!   [0, 1].
//! - `predict_transactions`: any bytes as a transaction log (`c,d,v` columns); a log that
//!   reads summarizes into customers the models accept.
//! - `predict_config`: any text, as TOML and as JSON, through the predict configuration; a
//!   configuration that builds predicts for a few profiles without a panic (an error only
//!   for a `churn.model_file` that cannot be read).
//! - `predict_churn_model`: any bytes as a saved churn model (JSON); a model that loads
//!   gives every customer a probability in [0, 1] or NaN, never a panic.
//! - `predict_model`: any bytes as a saved prediction model (JSON, with its holdout metrics
//!   and baseline sketches); a model that loads scores, checks drift (PSI finite and at
//!   least 0) and retrains on a few customers without a panic.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mergetag_model::{Event, Value};
use mergetag_predict::{
    BgNbd, ChurnModel, FitOptions, GammaGamma, ParetoNbd, Period, PredictConfig, Rfm, Summary,
    TransactionColumns,
};

/// Reads arbitrary bytes as a customer summary; fits the summaries that read.
pub fn predict_summary(data: &[u8]) {
    let Ok(s) = Summary::from_reader(data, "fuzz.csv") else {
        return;
    };
    assert_eq!(s.ids.len(), s.customers.len());
    assert!(s.customers.iter().all(|c| c.check().is_ok()));
    let cs = &s.customers[..s.customers.len().min(200)];
    let options = FitOptions::default().max_iterations(30);
    if let Ok(f) = BgNbd::fit(cs, &options) {
        let m = f.model;
        assert!(
            [m.r, m.alpha, m.a, m.b]
                .iter()
                .all(|v| v.is_finite() && *v > 0.0)
        );
        for c in cs {
            let p = m.p_alive(c);
            assert!((0.0..=1.0).contains(&p), "{p}");
            let _ = m.expected_purchases(30.0, c);
        }
    }
    if let Ok(f) = ParetoNbd::fit(cs, &options) {
        let m = f.model;
        assert!(
            [m.r, m.alpha, m.s, m.beta]
                .iter()
                .all(|v| v.is_finite() && *v > 0.0)
        );
        for c in cs {
            let p = m.p_alive(c);
            assert!(p.is_nan() || (0.0..=1.0).contains(&p), "{p}");
        }
    }
    if let Ok(f) = GammaGamma::fit(cs, &options) {
        let m = f.model;
        assert!([m.p, m.q, m.v].iter().all(|v| v.is_finite() && *v > 0.0));
    }
}

/// Reads arbitrary bytes as a transaction log; summarizes the logs that read.
pub fn predict_transactions(data: &[u8]) {
    let cols = TransactionColumns::new("c", "d").value("v");
    let Ok(log) = cols.read(data, "fuzz.csv") else {
        return;
    };
    let end = NaiveDate::from_ymd_opt(2024, 6, 30).expect("a date");
    for period in [Period::Day, Period::Week] {
        let s = Summary::from_transactions(&log, end, period);
        for c in &s.customers {
            // A customer whose first purchase is after the end is left out, so T >= 0 and
            // recency <= T.
            assert!(c.check().is_ok(), "{c:?}");
        }
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-21T00:00:00Z".parse().expect("a valid time")
}

/// Parses arbitrary text as a predict configuration (TOML, then JSON); predicts with the
/// configurations that build.
pub fn predict_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for config in [
        PredictConfig::from_toml_str(text),
        PredictConfig::from_json_str(text),
    ] {
        let Ok(config) = config else { continue };
        let Ok(p) = config.build() else { continue };
        let events: Vec<Vec<Event>> = (0..12)
            .map(|i| {
                (0..(i % 4))
                    .map(|k| {
                        Event::track(
                            config.order_event.clone(),
                            now() - Duration::days(20 + 37 * k + 11 * i),
                        )
                        .with_property(config.amount.clone(), Value::float(10.0 + k as f64))
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<Vec<&Event>> = events.iter().map(|e| e.iter().collect()).collect();
        let slices: Vec<&[&Event]> = refs.iter().map(Vec::as_slice).collect();
        let out = match p.predict(&slices, now()) {
            Ok(out) => out,
            Err(e) => {
                let file = config.churn.as_ref().and_then(|c| c.model_file.as_ref());
                assert!(file.is_some(), "{e}");
                continue;
            }
        };
        assert_eq!(out.traits.len(), 12);
        for t in &out.traits {
            if let Some(v) = t.get("p_alive").and_then(Value::as_f64) {
                assert!((0.0..=1.0).contains(&v));
            }
        }
    }
}

/// Reads arbitrary bytes as a saved churn model; scores a few customers with the models that
/// load.
pub fn predict_churn_model(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = ChurnModel::from_json_str(text, "fuzz.json") else {
        return;
    };
    for c in [
        Rfm::new(0.0, 0.0, 10.0),
        Rfm::new(3.0, 40.0, 90.0),
        Rfm::new(1e6, 1e9, 1e9),
    ] {
        let p = m.predict(&c);
        assert!(p.is_nan() || (0.0..=1.0).contains(&p), "{p}");
    }
}

/// Reads arbitrary bytes as a saved prediction model; scores, checks drift and retrains with
/// the models that load.
pub fn predict_model(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = mergetag_predict::PredictModel::from_json_str(text, "fuzz.json") else {
        return;
    };
    let cs = [
        Rfm::new(0.0, 0.0, 10.0),
        Rfm::new(3.0, 40.0, 90.0),
        Rfm::new(1.0, 5.0, 300.0),
        Rfm::new(12.0, 200.0, 365.0),
    ];
    for c in &cs {
        let p = m.transaction.p_alive(c);
        assert!(p.is_nan() || (0.0..=1.0).contains(&p), "{p}");
        let _ = m.transaction.expected_purchases(30.0, c);
    }
    if let Some(b) = &m.baseline {
        let d = b.compare(&m.transaction, &cs);
        assert!(
            d.stability
                .iter()
                .all(|s| s.psi.is_nan() || s.psi >= -1e-12),
            "{d:?}"
        );
    }
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let options = FitOptions::default().max_iterations(20);
    if let Ok(r) = mergetag_predict::retrain(&m, &cs, &options, (day, day), 30.0) {
        assert!(r.parameters.len() >= 4);
    }
}
