//! The Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee, "RFM and CLV", 2005;
//! Colombo and Jiang, 1999), and customer lifetime value with a transaction model.

use serde::{Deserialize, Serialize};

use crate::bgnbd::{BgNbd, check_options};
use crate::error::{Error, Result};
use crate::fit::{Fit, chunked_sum, fit_positive};
use crate::optimize::FitOptions;
use crate::special::{digamma, ln_gamma};
use crate::summary::{Distinct, Rfm, check_all};

const MODEL: &str = "gamma-gamma";

/// Gamma-Gamma parameters: a customer's mean spend per purchase is gamma(`p`, ν) with ν
/// itself gamma(`q`, `v`).
///
/// ```
/// use mergetag_predict::{GammaGamma, Rfm};
///
/// let m = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };
/// // The population's mean spend, and a customer's pulled toward it.
/// assert!((m.mean_spend() - 6.25 * 15.44 / 2.74).abs() < 1e-9);
/// let c = Rfm::new(3.0, 20.0, 38.0).with_monetary_value(100.0);
/// let e = m.expected_spend(&c);
/// assert!(e > m.mean_spend() && e < 100.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaGamma {
    /// Shape of the spend per purchase.
    pub p: f64,
    /// Shape of the spend scale's gamma.
    pub q: f64,
    /// Scale of the spend scale's gamma.
    pub v: f64,
}

impl GammaGamma {
    /// Fits the model to the customers with repeat purchases (frequency above 0; the others
    /// are left out, as the model describes repeat spend) by maximum likelihood: BFGS on the
    /// logarithms of the parameters with the analytic gradient, from p = q = v = 1.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when a customer fails [`Rfm::check`], a repeat buyer has no monetary
    /// value or one that is not above 0, no customer has a repeat purchase, or the options are
    /// not finite and positive.
    pub fn fit(customers: &[Rfm], options: &FitOptions) -> Result<Fit<GammaGamma>> {
        check_options(MODEL, options)?;
        check_all(MODEL, customers)?;
        for (i, c) in customers.iter().enumerate() {
            if c.frequency > 0.0 && !c.monetary_value.is_some_and(|m| m > 0.0) {
                return Err(Error::fit(
                    MODEL,
                    format!(
                        "customer {i}, monetary_value: a repeat buyer needs a monetary value above 0"
                    ),
                ));
            }
        }
        let repeat: Vec<&Rfm> = customers.iter().filter(|c| c.frequency > 0.0).collect();
        if repeat.is_empty() {
            return Err(Error::fit(
                MODEL,
                "no customer with a repeat purchase to fit",
            ));
        }
        let d = Distinct::new(repeat.iter().copied());
        fit_positive(
            MODEL,
            &d,
            repeat.len(),
            options,
            GammaGamma::from_log,
            |m| [m.p, m.q, m.v],
            |m, d| {
                let (ll, g) = m.ll_and_gradient(d);
                (ll, g, 0.0)
            },
            None,
        )
    }

    fn from_log(lp: &[f64]) -> GammaGamma {
        GammaGamma {
            p: lp[0].exp(),
            q: lp[1].exp(),
            v: lp[2].exp(),
        }
    }

    fn ll_and_gradient(&self, d: &Distinct) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, v } = *self;
        let (lg_q, psi_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let s = chunked_sum::<4>(d.len(), |i, acc| {
            let (x, m, w) = (d.x[i], d.m[i], d.w[i]);
            let px = p * x;
            let (ln_m, ln_x, ln_xmv) = (m.ln(), x.ln(), (x * m + v).ln());
            let ll =
                ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_v + (px - 1.0) * ln_m + px * ln_x
                    - (px + q) * ln_xmv;
            let psi_pxq = digamma(px + q);
            acc[0] += w * ll;
            acc[1] += w * x * (psi_pxq - digamma(px) + ln_m + ln_x - ln_xmv);
            acc[2] += w * (psi_pxq - psi_q + ln_v - ln_xmv);
            acc[3] += w * (q / v - (px + q) / (x * m + v));
        });
        (s[0], [s[1], s[2], s[3]])
    }

    /// The mean spend per purchase in the population: `p v / (q - 1)` (infinite for q <= 1).
    pub fn mean_spend(&self) -> f64 {
        if self.q <= 1.0 {
            return f64::INFINITY;
        }
        self.p * self.v / (self.q - 1.0)
    }

    /// A customer's expected spend per purchase: their mean repeat spend shrunk toward the
    /// population's, the more the fewer repeat purchases they have (the population's mean for a
    /// customer without repeat purchases or monetary value).
    pub fn expected_spend(&self, c: &Rfm) -> f64 {
        let GammaGamma { p, q, .. } = *self;
        let x = c.frequency;
        let Some(m) = c.monetary_value.filter(|_| x > 0.0) else {
            return self.mean_spend();
        };
        let weight = p * x / (p * x + q - 1.0);
        (1.0 - weight) * self.mean_spend() + weight * m
    }

    /// Customer lifetime value over `months` months of `days_per_unit`-day time units (7 for
    /// a model fitted in weeks): the expected purchases in each month times the expected spend,
    /// discounted at `monthly_discount` per month (0.01 for 1%), as the Python reference's
    /// `customer_lifetime_value` computes it (30-day months in days, 4.345-week months in
    /// weeks).
    ///
    /// ```
    /// use mergetag_predict::{BgNbd, GammaGamma, Rfm};
    ///
    /// let bg = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    /// let gg = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };
    /// let c = Rfm::new(2.0, 30.43, 38.86).with_monetary_value(30.0);
    /// let clv = gg.clv(&bg, &c, 12, 7.0, 0.01);
    /// assert!(clv > 0.0 && clv < gg.expected_spend(&c) * 10.0);
    /// ```
    pub fn clv(
        &self,
        model: &BgNbd,
        c: &Rfm,
        months: u32,
        days_per_unit: f64,
        monthly_discount: f64,
    ) -> f64 {
        let per_month = if (days_per_unit - 7.0).abs() < 1e-9 {
            4.345
        } else {
            30.0 / days_per_unit
        };
        let spend = self.expected_spend(c);
        let mut clv = 0.0;
        let mut before = 0.0;
        for i in 1..=months {
            let t = f64::from(i) * per_month;
            let upto = model.expected_purchases(t, c);
            clv += spend * (upto - before) / (1.0 + monthly_discount).powi(i as i32);
            before = upto;
        }
        clv
    }
}
