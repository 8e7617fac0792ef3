//! The Pareto/NBD model (Schmittlein, Morrison and Colombo, 1987): purchases at a
//! gamma-mixed Poisson rate until an exponential lifetime with a gamma-mixed rate.

use serde::{Deserialize, Serialize};

use crate::bgnbd::check_options;
use crate::error::{Error, Result};
use crate::fit::{Fit, chunked_sum, log_add_exp, rising};
use crate::optimize::{FitOptions, bfgs, numeric_gradient};
use crate::special::{ln_gamma, ln_hyp2f1};
use crate::summary::{Distinct, Rfm, check_all};

const MODEL: &str = "pareto-nbd";

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
    /// central-difference gradient, from r = α = s = β = 1, over the distinct rows.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when there are no customers, a customer fails [`Rfm::check`], or the
    /// options are not finite and positive.
    pub fn fit(customers: &[Rfm], options: &FitOptions) -> Result<Fit<ParetoNbd>> {
        check_options(MODEL, options)?;
        check_all(MODEL, customers)?;
        let d = Distinct::new(customers);
        let pen = options.penalizer;
        let value = |lp: &[f64]| -> f64 {
            let m = ParetoNbd::from_log(lp);
            let ll = m.ll(&d);
            let p = [m.r, m.alpha, m.s, m.beta];
            -ll / d.total + pen * p.iter().map(|v| v * v).sum::<f64>()
        };
        let objective = |lp: &[f64], grad: &mut [f64]| -> f64 {
            numeric_gradient(&value, lp, grad);
            value(lp)
        };
        let min = bfgs(
            &objective,
            &[0.0; 4],
            options.max_iterations,
            // The central differences are good to a few 1e-9 of the objective's scale.
            options.tolerance.max(1e-8),
        )
        .ok_or_else(|| Error::fit(MODEL, "the likelihood is not finite at the start"))?;
        let model = ParetoNbd::from_log(&min.x);
        Ok(Fit {
            model,
            log_likelihood: model.ll(&d),
            convergence: min.convergence,
            customers: customers.len(),
            distinct_rows: d.len(),
        })
    }

    fn from_log(lp: &[f64]) -> ParetoNbd {
        ParetoNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            s: lp[2].exp(),
            beta: lp[3].exp(),
        }
    }

    fn ll(&self, d: &Distinct) -> f64 {
        let (mut lr, mut unused) = (Vec::new(), Vec::new());
        rising(self.r, d.max_x, &mut lr, &mut unused);
        chunked_sum::<1>(d.len(), |i, acc| {
            let c = Rfm::new(d.x[i], d.tx[i], d.t[i]);
            acc[0] += d.w[i] * self.ll_with(&c, lr[d.x[i] as usize]);
        })[0]
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
