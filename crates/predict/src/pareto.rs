//! The Pareto/NBD model (Schmittlein, Morrison and Colombo, 1987): purchases at a
//! gamma-mixed Poisson rate until an exponential lifetime with a gamma-mixed rate.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bgnbd::check_options;
use crate::error::Result;
use crate::fit::{Fit, chunked_sum, fit_positive, log_add_exp, rising};
use crate::optimize::FitOptions;
use crate::special::{Hyp2f1Table, LANES, ln_gamma, ln_hyp2f1};
use crate::summary::{Distinct, Rfm, check_all};

const MODEL: &str = "pareto-nbd";

/// Pairs per block of a parallel pass over the (frequency, age) pairs: each block tables the
/// series' coefficients of the frequencies it meets.
const PAIR_BLOCK: usize = 1024;

/// Pareto/NBD parameters: the purchase rate is gamma(`r`, `alpha`), the dropout rate
/// gamma(`s`, `beta`).
///
/// ```
/// use mergetag_predict::{ParetoNbd, Rfm};
///
/// let m = ParetoNbd { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
/// let c = Rfm::new(2.0, 30.43, 38.86);
/// let p = m.p_alive(&c);
/// assert!(p > 0.0 && p < 1.0);
/// assert!(m.expected_purchases(39.0, &c) > 0.5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoNbd {
    /// Shape of the purchase-rate gamma.
    pub r: f64,
    /// Scale of the purchase-rate gamma.
    pub alpha: f64,
    /// Shape of the dropout-rate gamma.
    pub s: f64,
    /// Scale of the dropout-rate gamma.
    pub beta: f64,
}

impl ParetoNbd {
    /// Fits the model by maximum likelihood: BFGS on the logarithms of the parameters with a
    /// analytic gradient (the hypergeometric series differentiated term by term), from r = α = s = β = 1, over the distinct rows.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`](crate::Error::Fit) when there are no customers, a customer fails [`Rfm::check`], or the
    /// options are not finite and positive.
    pub fn fit(customers: &[Rfm], options: &FitOptions) -> Result<Fit<ParetoNbd>> {
        ParetoNbd::fit_start(customers, options, None)
    }

    /// As [`ParetoNbd::fit`], starting the search from `start` (an earlier fit's parameters,
    /// when retraining on fresh data) instead of all ones: the same maximum, usually in
    /// fewer passes. A start outside the domain (a parameter not finite and positive) is
    /// ignored.
    ///
    /// # Errors
    ///
    /// As [`ParetoNbd::fit`].
    pub fn fit_from(
        customers: &[Rfm],
        options: &FitOptions,
        start: &ParetoNbd,
    ) -> Result<Fit<ParetoNbd>> {
        ParetoNbd::fit_start(customers, options, Some(start))
    }

    fn fit_start(
        customers: &[Rfm],
        options: &FitOptions,
        start: Option<&ParetoNbd>,
    ) -> Result<Fit<ParetoNbd>> {
        check_options(MODEL, options)?;
        check_all(MODEL, customers)?;
        let d = Distinct::new(customers);
        fit_positive(
            MODEL,
            &d,
            customers.len(),
            options,
            ParetoNbd::from_log,
            |m| [m.r, m.alpha, m.s, m.beta],
            ParetoNbd::ll_gradient_and_work,
            start,
        )
    }

    fn from_log(lp: &[f64]) -> ParetoNbd {
        ParetoNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            s: lp[2].exp(),
            beta: lp[3].exp(),
        }
    }

    /// The summed log-likelihood over distinct rows and its gradient in (r, α, s, β); NaN
    /// when a hypergeometric series does not converge (the line search then steps back).
    #[cfg(test)]
    fn ll_and_gradient(&self, d: &Distinct) -> (f64, [f64; 4]) {
        let (ll, g, _) = self.ll_gradient_and_work(d);
        (ll, g)
    }

    /// [`ParetoNbd::ll_and_gradient`] with the hypergeometric terms summed (the work done).
    fn ll_gradient_and_work(&self, d: &Distinct) -> (f64, [f64; 4], f64) {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let (mut lr, mut pr) = (Vec::new(), Vec::new());
        rising(r, d.max_x, &mut lr, &mut pr);
        let (ln_alpha, ln_beta, ln_s) = (alpha.ln(), beta.ln(), s.ln());
        let alpha_low = alpha < beta;
        let (lo, hi) = if alpha_low {
            (alpha, beta)
        } else {
            (beta, alpha)
        };
        // Per distinct (frequency, age) pair: l = ln F(z) - ρ ln q and its gradient, where
        // the series is summed once for every row sharing the pair (each pair on its own,
        // so the result does not depend on the threads).
        let ages = d.ages();
        // The pairs are sorted by frequency, so that the series' coefficients (which depend
        // on the frequency, not on the age) are tabled once per frequency in each block of
        // pairs and every age sums its series without a division.
        let setup = |k: usize| -> (f64, f64, f64, f64) {
            let x = ages.x[k];
            let q = hi + ages.age[k];
            (
                r + s + x,
                if alpha_low { r + x } else { s + 1.0 },
                q,
                (hi - lo) / q,
            )
        };
        // l and its gradient from the series' value and derivatives.
        let finish = |k: usize, series: Option<[f64; 4]>| -> [f64; 5] {
            let Some([lf, fa, fb, fz]) = series else {
                return [f64::NAN; 5];
            };
            let (rho, _, q, _) = setup(k);
            let age = ages.age[k];
            let ln_q = q.ln();
            // dz/dθ and dq/dθ for θ = (r, α, s, β).
            let (dz, dq) = if alpha_low {
                (
                    [0.0, -1.0 / q, 0.0, (alpha + age) / (q * q)],
                    [0.0, 0.0, 0.0, 1.0],
                )
            } else {
                (
                    [0.0, (beta + age) / (q * q), 0.0, -1.0 / q],
                    [0.0, 1.0, 0.0, 0.0],
                )
            };
            let drho = [1.0, 0.0, 1.0, 0.0];
            let db2 = if alpha_low {
                [1.0, 0.0, 0.0, 0.0]
            } else {
                [0.0, 0.0, 1.0, 0.0]
            };
            let mut out = [lf - rho * ln_q, 0.0, 0.0, 0.0, 0.0];
            for p in 0..4 {
                out[p + 1] =
                    fa * drho[p] + fb * db2[p] + fz * dz[p] - ln_q * drho[p] - rho * dq[p] / q;
            }
            out
        };
        let n = ages.len();
        // Each block of pairs on its own (fixed blocks: the same result on any number of
        // threads); runs of LANES pairs sharing a frequency sum their series together.
        let fill = |(c, out): (usize, &mut [([f64; 5], usize)])| {
            let first = c * PAIR_BLOCK;
            let mut table = Hyp2f1Table::default();
            let mut j = 0;
            while j < out.len() {
                let k = first + j;
                let (rho, b2, _, z) = setup(k);
                if !table.is_for(rho, b2) {
                    table = Hyp2f1Table::new(rho, b2);
                }
                let same = j + LANES <= out.len()
                    && (1..LANES).all(|l| ages.x[k + l].to_bits() == ages.x[k].to_bits());
                if same {
                    let zs: [f64; LANES] = std::array::from_fn(|l| setup(k + l).3);
                    let mut terms = [0; LANES];
                    let series = table.ln_with_gradient_lanes(zs, &mut terms);
                    for l in 0..LANES {
                        out[j + l] = (finish(k + l, series[l]), terms[l]);
                    }
                    j += LANES;
                } else {
                    let mut terms = 0;
                    let series = table.ln_with_gradient(z, &mut terms);
                    out[j] = (finish(k, series), terms);
                    j += 1;
                }
            }
        };
        let mut pairs: Vec<([f64; 5], usize)> = vec![([0.0; 5], 0); n];
        if n > PAIR_BLOCK {
            pairs.par_chunks_mut(PAIR_BLOCK).enumerate().for_each(fill);
        } else {
            pairs.chunks_mut(PAIR_BLOCK).enumerate().for_each(fill);
        }
        let work: f64 = pairs.iter().map(|p| p.1 as f64).sum();
        let mut total = chunked_sum::<5>(d.len(), |i, acc| {
            let (x, t, w) = (d.x[i], d.t[i], d.w[i]);
            let k = x as usize;
            let rho = r + s + x;
            let (p0, p1) = (
                &pairs[ages.of_tx[i] as usize].0,
                &pairs[ages.of_t[i] as usize].0,
            );
            if p0[0].is_nan() || p1[0].is_nan() {
                acc[0] = f64::NAN;
                return;
            }
            let l = [p0[0], p1[0]];
            let dl = [[p0[1], p0[2], p0[3], p0[4]], [p1[1], p1[2], p1[3], p1[4]]];
            // ln A_0 = l_0 + ln(1 - e^(l_1 - l_0)); l_0 >= l_1 as recency <= T.
            let e = (l[1] - l[0]).exp();
            let ln_a0 = if e < 1.0 {
                l[0] + (-e).ln_1p()
            } else {
                f64::NEG_INFINITY
            };
            let a1 = lr[k] + r * ln_alpha + s * ln_beta;
            let b = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
            let c = ln_s + ln_a0 - rho.ln();
            let m = b.max(c);
            let (eb, ec) = ((b - m).exp(), (c - m).exp());
            let (wb, wc) = (eb / (eb + ec), ec / (eb + ec));
            acc[0] += w * (a1 + m + (eb + ec).ln());
            let da1 = [pr[k] + ln_alpha, r / alpha, ln_beta, s / beta];
            let db = [
                -(alpha + t).ln(),
                -(r + x) / (alpha + t),
                -(beta + t).ln(),
                -s / (beta + t),
            ];
            for p in 0..4 {
                let dln_a0 = if e < 1.0 {
                    (dl[0][p] - e * dl[1][p]) / (1.0 - e)
                } else {
                    0.0
                };
                let dc = dln_a0 - if p == 0 || p == 2 { 1.0 / rho } else { 0.0 }
                    + if p == 2 { 1.0 / s } else { 0.0 };
                let g = da1[p] + wb * db[p] + if wc > 0.0 { wc * dc } else { 0.0 };
                acc[p + 1] += w * g;
            }
        });
        if pairs.iter().any(|p| p.0[0].is_nan()) {
            total[0] = f64::NAN;
        }
        (total[0], [total[1], total[2], total[3], total[4]], work)
    }

    /// `ln A_0` of the likelihood (the integral over the unobserved dropout time), in log
    /// space; NaN when the hypergeometric series does not converge.
    fn ln_a0(&self, x: f64, tx: f64, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let (lo, hi, second) = if alpha < beta {
            (alpha, beta, r + x)
        } else {
            (beta, alpha, s + 1.0)
        };
        let rsf = r + s + x;
        let (q1, q2) = (hi + tx, hi + t);
        let f = |q: f64| ln_hyp2f1(rsf, second, rsf + 1.0, (hi - lo) / q);
        let (Some((p1, _)), Some((p2, _))) = (f(q1), f(q2)) else {
            return f64::NAN;
        };
        // ln(F(q1) q2^-rsf... ) written as ln(p1 q2^rsf - p2 q1^rsf) - rsf ln(q1 q2).
        let u = p1 + rsf * q2.ln();
        let v = p2 + rsf * q1.ln();
        let diff = if v < u {
            u + (-(v - u).exp()).ln_1p()
        } else {
            f64::NEG_INFINITY
        };
        diff - rsf * (q1 * q2).ln()
    }

    /// The log-likelihood of `c`, given `ln Γ(r + x) - ln Γ(r)`.
    fn ll_with(&self, c: &Rfm, ln_rising: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let (x, tx, t) = (c.frequency, c.recency, c.t);
        let a1 = ln_rising + r * alpha.ln() + s * beta.ln();
        let a0 = self.ln_a0(x, tx, t);
        let a2 = log_add_exp(
            -(r + x) * (alpha + t).ln() - s * (beta + t).ln(),
            s.ln() + a0 - (r + s + x).ln(),
        );
        a1 + a2
    }

    /// The log-likelihood of one customer.
    pub fn log_likelihood(&self, c: &Rfm) -> f64 {
        self.ll_with(c, ln_gamma(self.r + c.frequency) - ln_gamma(self.r))
    }

    /// The probability that the customer is still active at the end of the observation, in
    /// `[0, 1]` (NaN only when the hypergeometric series does not converge).
    pub fn p_alive(&self, c: &Rfm) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let (x, t) = (c.frequency, c.t);
        let a0 = self.ln_a0(x, c.recency, t);
        let z = s.ln() - (r + s + x).ln() + (r + x) * (alpha + t).ln() + s * (beta + t).ln() + a0;
        1.0 / (1.0 + z.exp())
    }

    /// The expected number of purchases in the next `t` time units of a customer with this
    /// history.
    pub fn expected_purchases(&self, t: f64, c: &Rfm) -> f64 {
        if t <= 0.0 || t.is_nan() {
            return 0.0;
        }
        let ParetoNbd { r, alpha, s, beta } = *self;
        let (x, big_t) = (c.frequency, c.t);
        let ll = self.log_likelihood(c);
        let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
            - (r + x) * (alpha + big_t).ln()
            - s * (beta + big_t).ln();
        let second = (r + x).ln() + (beta + big_t).ln() - (alpha + big_t).ln();
        let q = (beta + big_t) / (beta + big_t + t);
        // (1 - q^(s-1)) / (s - 1), which tends to -ln q as s tends to 1.
        let third = if (s - 1.0).abs() < 1e-9 {
            -q.ln()
        } else {
            -((s - 1.0) * q.ln()).exp_m1() / (s - 1.0)
        };
        (first + second + third.ln() - ll).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabled_series_give_the_per_customer_likelihood() {
        // Customers with distinct ages (as to the second), many sharing a frequency, so that
        // the lanes and the tables run; against the plain series per customer.
        let truth = crate::BgNbd {
            r: 0.25,
            alpha: 30.0,
            a: 0.8,
            b: 2.5,
        };
        let cs: Vec<Rfm> = crate::simulate_bgnbd(&truth, 20_000, 365.0, 90.0, 3)
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let jitter = (i % 86_400) as f64 / 86_400.0;
                let r = if c.frequency > 0.0 {
                    c.recency + jitter
                } else {
                    0.0
                };
                Rfm::new(c.frequency, r, c.t + jitter)
            })
            .collect();
        let d = Distinct::new(&cs);
        for m in [
            ParetoNbd {
                r: 0.55,
                alpha: 10.6,
                s: 0.61,
                beta: 11.7,
            },
            ParetoNbd {
                r: 0.3,
                alpha: 40.0,
                s: 0.9,
                beta: 5.0,
            },
        ] {
            let (ll, _) = m.ll_and_gradient(&d);
            let direct: f64 = cs.iter().map(|c| m.log_likelihood(c)).sum();
            assert!((ll - direct).abs() <= 1e-12 * direct.abs(), "{ll} {direct}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let cs = [
            Rfm::new(0.0, 0.0, 30.0),
            Rfm::new(2.0, 20.0, 30.0),
            Rfm::new(7.0, 29.0, 35.0),
            Rfm::new(1.0, 35.0, 35.0),
        ];
        let d = Distinct::new(&cs);
        for p in [[0.7, 3.0, 0.9, 5.2], [0.5, 12.0, 1.3, 4.0]] {
            let m = ParetoNbd {
                r: p[0],
                alpha: p[1],
                s: p[2],
                beta: p[3],
            };
            let (ll, g) = m.ll_and_gradient(&d);
            let direct: f64 = cs.iter().map(|c| m.log_likelihood(c)).sum();
            assert!((ll - direct).abs() < 1e-9, "{ll} {direct}");
            for k in 0..4 {
                let mut q = p;
                let h = 1e-6;
                q[k] += h;
                let up = ParetoNbd {
                    r: q[0],
                    alpha: q[1],
                    s: q[2],
                    beta: q[3],
                }
                .ll_and_gradient(&d)
                .0;
                q[k] -= 2.0 * h;
                let down = ParetoNbd {
                    r: q[0],
                    alpha: q[1],
                    s: q[2],
                    beta: q[3],
                }
                .ll_and_gradient(&d)
                .0;
                let num = (up - down) / (2.0 * h);
                assert!((num - g[k]).abs() < 1e-5, "{p:?} {k}: {num} {}", g[k]);
            }
        }
    }
}
