//! The BG/NBD model (Fader, Hardie and Lee, "Counting your customers the easy way", 2005):
//! purchases at a gamma-mixed Poisson rate until a beta-geometric dropout after a purchase.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fit::{Fit, chunked_sum, fit_positive, log_add_exp, rising};
use crate::optimize::FitOptions;
use crate::special::{ln_beta, ln_gamma, ln_hyp2f1};
use crate::summary::{Distinct, Rfm, check_all};

const MODEL: &str = "bgnbd";

/// BG/NBD parameters: the purchase rate is gamma(`r`, `alpha`), the dropout probability after
/// each purchase beta(`a`, `b`).
///
/// ```
/// use mergetag_predict::{BgNbd, Rfm};
///
/// // The published CDNOW fit (weeks).
/// let m = BgNbd { r: 0.242593, alpha: 4.413532, a: 0.792886, b: 2.425752 };
/// let c = Rfm::new(2.0, 30.43, 38.86);
/// assert!((m.expected_purchases(39.0, &c) - 1.226).abs() < 1e-3);
/// assert!(m.p_alive(&c) > 0.7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbd {
    /// Shape of the purchase-rate gamma.
    pub r: f64,
    /// Scale (in time units) of the purchase-rate gamma.
    pub alpha: f64,
    /// First shape of the dropout beta.
    pub a: f64,
    /// Second shape of the dropout beta.
    pub b: f64,
}

impl BgNbd {
    /// Fits the model to `customers` by maximum likelihood: BFGS on the logarithms of the
    /// parameters with the analytic gradient, from r = α = a = b = 1, over the distinct rows.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when there are no customers, a customer fails [`Rfm::check`], or the
    /// options are not finite and positive.
    pub fn fit(customers: &[Rfm], options: &FitOptions) -> Result<Fit<BgNbd>> {
        BgNbd::fit_start(customers, options, None)
    }

    /// As [`BgNbd::fit`], starting the search from `start` (an earlier fit's parameters,
    /// when retraining on fresh data) instead of all ones: the same maximum, usually in
    /// fewer passes. A start outside the domain (a parameter not finite and positive) is
    /// ignored.
    ///
    /// # Errors
    ///
    /// As [`BgNbd::fit`].
    pub fn fit_from(customers: &[Rfm], options: &FitOptions, start: &BgNbd) -> Result<Fit<BgNbd>> {
        BgNbd::fit_start(customers, options, Some(start))
    }

    fn fit_start(
        customers: &[Rfm],
        options: &FitOptions,
        start: Option<&BgNbd>,
    ) -> Result<Fit<BgNbd>> {
        check_options(MODEL, options)?;
        check_all(MODEL, customers)?;
        let d = Distinct::new(customers);
        fit_positive(
            MODEL,
            &d,
            customers.len(),
            options,
            BgNbd::from_log,
            |m| [m.r, m.alpha, m.a, m.b],
            |m, d| {
                let (ll, g) = m.ll_and_gradient(d);
                (ll, g, 0.0)
            },
            start,
        )
    }

    fn from_log(lp: &[f64]) -> BgNbd {
        BgNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            a: lp[2].exp(),
            b: lp[3].exp(),
        }
    }

    /// The summed log-likelihood over distinct rows and its gradient in (r, α, a, b).
    fn ll_and_gradient(&self, d: &Distinct) -> (f64, [f64; 4]) {
        let BgNbd { r, alpha, a, b } = *self;
        let (mut lr, mut pr) = (Vec::new(), Vec::new());
        let (mut lb, mut pb) = (Vec::new(), Vec::new());
        let (mut lab, mut pab) = (Vec::new(), Vec::new());
        rising(r, d.max_x, &mut lr, &mut pr);
        rising(b, d.max_x, &mut lb, &mut pb);
        rising(a + b, d.max_x, &mut lab, &mut pab);
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        let s = chunked_sum::<5>(d.len(), |i, acc| {
            let (x, tx, t, w) = (d.x[i], d.tx[i], d.t[i], d.w[i]);
            let k = x as usize;
            let rx = r + x;
            let (la_t, la_tx) = ((alpha + t).ln(), (alpha + tx).ln());
            let a1 = lr[k] + r * ln_alpha;
            let a2 = lb[k] - lab[k];
            let a3 = -rx * la_t;
            let (ll, w3, w4) = if k > 0 {
                let a4 = ln_a - (b + x - 1.0).ln() - rx * la_tx;
                let m = a3.max(a4);
                let (e3, e4) = ((a3 - m).exp(), (a4 - m).exp());
                let sum = e3 + e4;
                (a1 + a2 + m + sum.ln(), e3 / sum, e4 / sum)
            } else {
                (a1 + a2 + a3, 1.0, 0.0)
            };
            acc[0] += w * ll;
            acc[1] += w * (pr[k] + ln_alpha - w3 * la_t - w4 * la_tx);
            acc[2] += w * (r / alpha - w3 * rx / (alpha + t) - w4 * rx / (alpha + tx));
            let w4_term_a = if k > 0 { w4 / a } else { 0.0 };
            let w4_term_b = if k > 0 { w4 / (b + x - 1.0) } else { 0.0 };
            acc[3] += w * (-pab[k] + w4_term_a);
            acc[4] += w * (pb[k] - pab[k] - w4_term_b);
        });
        (s[0], [s[1], s[2], s[3], s[4]])
    }

    /// The log-likelihood of one customer.
    pub fn log_likelihood(&self, c: &Rfm) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (x, tx, t) = (c.frequency, c.recency, c.t);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_beta(a, b + x) - ln_beta(a, b);
        let a3 = -(r + x) * (alpha + t).ln();
        if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln();
            a1 + a2 + log_add_exp(a3, a4)
        } else {
            a1 + a2 + a3
        }
    }

    /// The probability that the customer is still active at the end of the observation.
    /// Always in `[0, 1]`; 1 without repeat purchases (BG/NBD drops out only after a purchase).
    pub fn p_alive(&self, c: &Rfm) -> f64 {
        if c.frequency <= 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = c.frequency;
        let ln_odds =
            a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + c.t).ln() - (alpha + c.recency).ln());
        let p = 1.0 / (1.0 + ln_odds.exp());
        if p.is_nan() { 0.0 } else { p }
    }

    /// The expected number of purchases in the next `t` time units of a customer with this
    /// history (the conditional expectation; 0 for `t <= 0`). The Gauss hypergeometric
    /// function is taken in log space, with Euler's transformation when the direct series
    /// does not converge; a customer for whom neither does gets NaN.
    pub fn expected_purchases(&self, t: f64, c: &Rfm) -> f64 {
        if t <= 0.0 || t.is_nan() {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let (x, tx, big_t) = (c.frequency, c.recency, c.t);
        let (aa, bb, cc) = (r + x, b + x, a + b + x - 1.0);
        let z = t / (alpha + big_t + t);
        let hyp = ln_hyp2f1(aa, bb, cc, z).or_else(|| {
            ln_hyp2f1(cc - aa, cc - bb, cc, z)
                .map(|(l, s)| (l + (cc - aa - bb) * (1.0 - z).ln(), s))
        });
        let Some((ln_hyp, sign)) = hyp else {
            return f64::NAN;
        };
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second =
            1.0 - sign * (ln_hyp + (r + x) * ((alpha + big_t) / (alpha + t + big_t)).ln()).exp();
        let numerator = first * second;
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((r + x) * ((alpha + big_t) / (alpha + tx)).ln()).exp()
        } else {
            1.0
        };
        numerator / denominator
    }

    /// The expected number of purchases in `(0, t]` of a customer just acquired.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        if t <= 0.0 {
            return 0.0;
        }
        let z = t / (alpha + t);
        let Some((ln_hyp, sign)) = ln_hyp2f1(r, b, a + b - 1.0, z) else {
            return f64::NAN;
        };
        (a + b - 1.0) / (a - 1.0) * (1.0 - sign * (ln_hyp + r * (alpha / (alpha + t)).ln()).exp())
    }
}

pub(crate) fn check_options(model: &'static str, o: &FitOptions) -> Result<()> {
    if !o.penalizer.is_finite() || o.penalizer < 0.0 {
        return Err(Error::fit(
            model,
            "the penalizer must be a finite number at least 0",
        ));
    }
    if !o.tolerance.is_finite() || o.tolerance <= 0.0 {
        return Err(Error::fit(
            model,
            "the tolerance must be a finite number above 0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let cs = [
            Rfm::new(0.0, 0.0, 30.0),
            Rfm::new(2.0, 20.0, 30.0),
            Rfm::new(7.0, 29.0, 35.0),
        ];
        let d = Distinct::new(&cs);
        let m = BgNbd {
            r: 0.7,
            alpha: 3.0,
            a: 0.9,
            b: 2.2,
        };
        let (ll, g) = m.ll_and_gradient(&d);
        let direct: f64 = cs.iter().map(|c| m.log_likelihood(c)).sum();
        assert!((ll - direct).abs() < 1e-10, "{ll} {direct}");
        let p = [m.r, m.alpha, m.a, m.b];
        for k in 0..4 {
            let mut q = p;
            let h = 1e-6;
            q[k] += h;
            let up = BgNbd {
                r: q[0],
                alpha: q[1],
                a: q[2],
                b: q[3],
            }
            .ll_and_gradient(&d)
            .0;
            q[k] -= 2.0 * h;
            let down = BgNbd {
                r: q[0],
                alpha: q[1],
                a: q[2],
                b: q[3],
            }
            .ll_and_gradient(&d)
            .0;
            let num = (up - down) / (2.0 * h);
            assert!((num - g[k]).abs() < 1e-6, "{k}: {num} {}", g[k]);
        }
    }
}
