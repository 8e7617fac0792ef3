//! Buy-till-you-die fits: ours (distinct rows weighted, rising-factorial tables, analytic
//! gradients, BFGS, parallel chunks) beside a baseline in the same run: Nelder-Mead on the
//! log-parameters over the per-customer log-likelihood, one customer at a time, as the
//! Python reference's default fit does.
//!
//! Run with `cargo bench --bench predict`. Figures (2 shared cores): see the crate docs of
//! `mergetag-predict`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::predict::{BgNbd, FitOptions, ParetoNbd, Rfm, Summary, simulate_bgnbd};

fn cdnow() -> Vec<Rfm> {
    Summary::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/predict/tests/data/cdnow_customers_summary.csv"
    ))
    .expect("the bundled CDNOW summary")
    .customers
}

/// Nelder-Mead over `f` from `x0` (standard coefficients), until the simplex's values agree
/// to 1e-10 or `max` iterations.
fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], max: usize) -> Vec<f64> {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut x = x0.to_vec();
            if i > 0 {
                x[i - 1] += 0.5;
            }
            let v = f(&x);
            (x, v)
        })
        .collect();
    for _ in 0..max {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (simplex[n].1 - simplex[0].1).abs() < 1e-10 {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64)
            .collect();
        let at = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n].0[j] - centroid[j]))
                .collect()
        };
        let xr = at(-1.0);
        let fr = f(&xr);
        if fr < simplex[0].1 {
            let xe = at(-2.0);
            let fe = f(&xe);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let xc = at(0.5);
            let fc = f(&xc);
            if fc < simplex[n].1 {
                simplex[n] = (xc, fc);
            } else {
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    for (v, b) in p.0.iter_mut().zip(&best) {
                        *v = b + 0.5 * (*v - b);
                    }
                    p.1 = f(&p.0);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0).0
}

fn baseline_bgnbd(cs: &[Rfm]) -> BgNbd {
    let f = |lp: &[f64]| {
        let m = BgNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            a: lp[2].exp(),
            b: lp[3].exp(),
        };
        let v = -cs.iter().map(|c| m.log_likelihood(c)).sum::<f64>() / cs.len() as f64;
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let x = nelder_mead(&f, &[0.0; 4], 5000);
    BgNbd {
        r: x[0].exp(),
        alpha: x[1].exp(),
        a: x[2].exp(),
        b: x[3].exp(),
    }
}

fn baseline_pareto(cs: &[Rfm]) -> ParetoNbd {
    let f = |lp: &[f64]| {
        let m = ParetoNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            s: lp[2].exp(),
            beta: lp[3].exp(),
        };
        let v = -cs.iter().map(|c| m.log_likelihood(c)).sum::<f64>() / cs.len() as f64;
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let x = nelder_mead(&f, &[0.0; 4], 5000);
    ParetoNbd {
        r: x[0].exp(),
        alpha: x[1].exp(),
        s: x[2].exp(),
        beta: x[3].exp(),
    }
}

fn cdnow_fits(c: &mut Criterion) {
    let cs = cdnow();
    let mut group = c.benchmark_group("mergetag_predict::fit/cdnow");
    group.sample_size(10);
    group.throughput(Throughput::Elements(cs.len() as u64));
    let n = cs.len();
    group.bench_with_input(
        BenchmarkId::new("bgnbd_nelder_mead_baseline", n),
        &cs,
        |b, cs| {
            b.iter(|| {
                let m = baseline_bgnbd(cs);
                assert!((m.r - 0.2426).abs() < 2e-3, "{m:?}");
                black_box(m)
            });
        },
    );
    group.bench_with_input(BenchmarkId::new("bgnbd", n), &cs, |b, cs| {
        b.iter(|| {
            let f = BgNbd::fit(cs, &FitOptions::default()).unwrap();
            assert!(f.convergence.converged && (f.model.r - 0.242593).abs() < 1e-4);
            black_box(f)
        });
    });
    group.bench_with_input(
        BenchmarkId::new("pareto_nbd_nelder_mead_baseline", n),
        &cs,
        |b, cs| {
            b.iter(|| {
                let m = baseline_pareto(cs);
                assert!((m.r - 0.553).abs() < 1e-2, "{m:?}");
                black_box(m)
            });
        },
    );
    group.bench_with_input(BenchmarkId::new("pareto_nbd", n), &cs, |b, cs| {
        b.iter(|| {
            let f = ParetoNbd::fit(cs, &FitOptions::default()).unwrap();
            assert!(f.convergence.converged && (f.model.r - 0.553).abs() < 1e-3);
            black_box(f)
        });
    });
    group.finish();
}

fn million(c: &mut Criterion) {
    let truth = BgNbd {
        r: 0.25,
        alpha: 30.0,
        a: 0.8,
        b: 2.5,
    };
    let n = 1_000_000;
    let cs = simulate_bgnbd(&truth, n, 365.0, 90.0, 1);
    let mut group = c.benchmark_group("mergetag_predict::fit/simulated");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new("bgnbd", n), &cs, |b, cs| {
        b.iter(|| {
            let f = BgNbd::fit(cs, &FitOptions::default()).unwrap();
            assert!(
                f.convergence.converged && (f.model.r - truth.r).abs() < 0.02,
                "{f:?}"
            );
            black_box(f)
        });
    });
    group.bench_with_input(BenchmarkId::new("pareto_nbd", n), &cs, |b, cs| {
        b.iter(|| {
            let f = ParetoNbd::fit(cs, &FitOptions::default()).unwrap();
            assert!(f.convergence.converged, "{f:?}");
            black_box(f)
        });
    });
    // Every customer distinct (recency and T to the second): no compression to lean on.
    let spread: Vec<Rfm> = cs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let jitter = (i % 86_400) as f64 / 86_400.0;
            let t = c.t + jitter;
            let r = if c.frequency > 0.0 {
                c.recency + jitter
            } else {
                0.0
            };
            Rfm::new(c.frequency, r, t)
        })
        .collect();
    group.bench_with_input(
        BenchmarkId::new("bgnbd_all_distinct", n),
        &spread,
        |b, cs| {
            b.iter(|| {
                let f = BgNbd::fit(cs, &FitOptions::default()).unwrap();
                assert!(
                    f.convergence.converged && (f.model.r - truth.r).abs() < 0.02,
                    "{f:?}"
                );
                black_box(f)
            });
        },
    );
    group.finish();
}

criterion_group!(benches, cdnow_fits, million);
criterion_main!(benches);
