//! Customers drawn from a BG/NBD process with a seeded generator: deterministic fixtures
//! for tests and benchmarks, whose true parameters are known.

use crate::bgnbd::BgNbd;
use crate::summary::Rfm;

/// A small seeded generator (SplitMix64): the same numbers on every machine.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Gamma with `shape` and scale 1 (Marsaglia and Tsang).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
}

/// `n` customers drawn from the BG/NBD process of `model`, in days: each first buys on a day
/// spread evenly over `cohort_days` and is observed until day `horizon` (so `T` is between
/// `horizon - cohort_days` and `horizon`); purchase times are rounded to whole days, and
/// several purchases on one day count once, as in a summary made from a transaction log.
///
/// ```
/// use mergetag_predict::{BgNbd, simulate_bgnbd};
///
/// let truth = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
/// let a = simulate_bgnbd(&truth, 1000, 270.0, 90.0, 7);
/// assert_eq!(a, simulate_bgnbd(&truth, 1000, 270.0, 90.0, 7));
/// assert!(a.iter().all(|c| c.check().is_ok()));
/// ```
pub fn simulate_bgnbd(
    model: &BgNbd,
    n: usize,
    horizon: f64,
    cohort_days: f64,
    seed: u64,
) -> Vec<Rfm> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let start = (cohort_days * i as f64 / n.max(1) as f64).floor();
            let t = (horizon - start).max(0.0);
            let lambda = rng.gamma(model.r) / model.alpha;
            let (ga, gb) = (rng.gamma(model.a), rng.gamma(model.b));
            let p = ga / (ga + gb);
            let (mut now, mut last, mut x) = (0.0f64, 0.0f64, 0u32);
            if lambda > 0.0 {
                loop {
                    now += -rng.uniform().ln() / lambda;
                    let day = now.floor();
                    if day > t {
                        break;
                    }
                    if day > last {
                        x += 1;
                        last = day;
                    }
                    if rng.uniform() < p {
                        break;
                    }
                }
            }
            Rfm::new(f64::from(x), last, t)
        })
        .collect()
}

/// Customers with a known churn process, from [`simulate_churn`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnData {
    /// The feature names, in column order.
    pub names: [&'static str; 6],
    /// The features of each customer.
    pub x: Vec<Vec<f64>>,
    /// Whether each churned.
    pub y: Vec<bool>,
    /// The true churn probability each was drawn with.
    pub p: Vec<f64>,
}

/// `n` customers whose churn depends on their features in a known nonlinear way, drawn with
/// a seeded generator (the same data on every machine; `tests/data/churn_sklearn.py` draws
/// the same numbers in Python). Per customer, from seven uniforms `u1..u7` in (0, 1):
///
/// - `tenure_days = 30 + ⌊970 u1⌋`, `open_rate = u2`,
/// - `orders = ⌊-ln(u3) (1 + tenure_days / 100) (0.3 + open_rate)⌋`,
/// - `days_since_last = ⌊u4 tenure_days⌋`, `order_value = 10 + 190 u5`,
///   `tickets = ⌊6 u6²⌋`,
///
/// and churns when `u7 < σ(z)` with
///
/// ```text
/// z = -1 + 3·[days_since_last > 120] - 1.2 ln(1 + orders)
///        + 1.5·[tickets ≥ 3 and open_rate < 0.3] + 0.8 sin(order_value / 20)
///        + 2 (2 open_rate - 1)²
/// ```
///
/// a step, a logarithm, an interaction, a wave and a U, none of them a straight line.
///
/// ```
/// use mergetag_predict::simulate_churn;
///
/// let d = simulate_churn(500, 1);
/// assert_eq!(d, simulate_churn(500, 1));
/// assert_eq!((d.x.len(), d.x[0].len()), (500, 6));
/// assert!(d.p.iter().all(|p| (0.0..=1.0).contains(p)));
/// ```
pub fn simulate_churn(n: usize, seed: u64) -> ChurnData {
    let mut rng = Rng::new(seed);
    let (mut x, mut y, mut p) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for _ in 0..n {
        let u: [f64; 7] = std::array::from_fn(|_| rng.uniform());
        let tenure = 30.0 + (970.0 * u[0]).floor();
        let open_rate = u[1];
        let orders = (-u[2].ln() * (1.0 + tenure / 100.0) * (0.3 + open_rate)).floor();
        let since_last = (u[3] * tenure).floor();
        let value = 10.0 + 190.0 * u[4];
        let tickets = (6.0 * u[5] * u[5]).floor();
        let step = |c: bool| if c { 1.0 } else { 0.0 };
        let z = -1.0 + 3.0 * step(since_last > 120.0) - 1.2 * orders.ln_1p()
            + 1.5 * step(tickets >= 3.0 && open_rate < 0.3)
            + 0.8 * (value / 20.0).sin()
            + 2.0 * (2.0 * open_rate - 1.0).powi(2);
        let prob = crate::churn::sigmoid(z);
        x.push(vec![tenure, orders, since_last, value, open_rate, tickets]);
        y.push(u[6] < prob);
        p.push(prob);
    }
    ChurnData {
        names: [
            "tenure_days",
            "orders",
            "days_since_last",
            "order_value",
            "open_rate",
            "tickets",
        ],
        x,
        y,
        p,
    }
}
