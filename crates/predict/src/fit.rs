//! What every fit returns, and the deterministic parallel sum the likelihoods use.

use std::cell::Cell;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::optimize::{
    Convergence, FIT_TERMS_PER_ROW, FitOptions, Limits, Minimum, Objective, bfgs_from,
};
use crate::summary::Distinct;

/// A fitted model with its likelihood and how the fit converged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit<M> {
    /// The fitted parameters.
    pub model: M,
    /// The log-likelihood of the data at the fitted parameters, summed over customers
    /// (without the penalty).
    pub log_likelihood: f64,
    /// How the optimizer ended: `converged` is false when it stopped before the gradient
    /// vanished, and the parameters are then only the best found.
    pub convergence: Convergence,
    /// The customers fitted.
    pub customers: usize,
    /// The distinct customer rows the likelihood was evaluated on (customers with the same
    /// row count once, weighted).
    pub distinct_rows: usize,
}

/// Fits a model of `N` positive parameters to the distinct rows `d` by maximum likelihood:
/// BFGS on the logarithms of the parameters from all ones, minimising the mean negative
/// log-likelihood plus the penalizer times the sum of the squared parameters (the Python
/// reference's L2 penalty). `from_log` builds the model from the logarithms, `params` reads
/// its parameters back, and `ll_and_gradient` gives the summed log-likelihood and its gradient
/// in the parameters; `customers` is what the fit reports it fitted; `start`, when given, is
/// where the search starts (the parameters of an earlier fit, when retraining) instead of
/// all ones or a sample's fit. Shared by every buy-till-you-die model, so they penalize,
/// start and report alike.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_positive<M: Copy, const N: usize>(
    model_name: &'static str,
    d: &Distinct,
    customers: usize,
    options: &FitOptions,
    from_log: fn(&[f64]) -> M,
    params: fn(&M) -> [f64; N],
    ll_and_gradient: LlAndGradient<M, N>,
    start: Option<&M>,
) -> Result<Fit<M>> {
    let pen = options.penalizer;
    let limits = Limits::fit(options);
    let full = Penalized::new(d, pen, from_log, params, ll_and_gradient);
    // From an earlier fit's parameters, when they are inside the domain; when that search
    // does not converge, the usual start decides.
    let from_start = start
        .map(|m| params(m).map(f64::ln))
        .filter(|lp| lp.iter().all(|v| v.is_finite()))
        .and_then(|lp| {
            let own = Penalized::new(d, pen, from_log, params, ll_and_gradient);
            bfgs_from(&own, &lp, None, &limits)
        });
    let fit = |min: Minimum| {
        let model = from_log(&min.x);
        Fit {
            model,
            log_likelihood: ll_and_gradient(&model, d).0,
            convergence: min.convergence,
            customers,
            distinct_rows: d.len(),
        }
    };
    if let Some(min) = &from_start
        && min.convergence.converged
    {
        return Ok(fit(min.clone()));
    }
    // Many distinct rows: start where a fit to a systematic sample ended, with its curvature.
    // The sample's fit is only a start: to a looser tolerance ([`WARM_TOLERANCE`]), as a
    // sample's objective may not be resolvable to the full fit's (its search would stall
    // there after hundreds of evaluations).
    let warm: Option<Minimum> = (d.len() > options.warm_start_rows)
        .then(|| {
            let sample = d.sample(d.len().div_ceil(WARM_SAMPLE));
            let loose = Limits {
                tolerance: limits.tolerance.max(WARM_TOLERANCE),
                ..limits
            };
            bfgs_from(
                &Penalized::new(&sample, pen, from_log, params, ll_and_gradient),
                &[0.0; N],
                None,
                &loose,
            )
        })
        .flatten()
        .filter(|m| m.convergence.converged);
    let from_warm = match warm {
        Some(w) => bfgs_from(&full, &w.x, Some(&w.inverse_hessian), &limits),
        None => None,
    };
    // A warm start that did not converge (stalled at the objective's floating-point floor
    // on another path) gives way to the cold start, on a budget of its own.
    let min = match from_warm {
        Some(m) if m.convergence.converged => Some(m),
        other => {
            let cold = Penalized::new(d, pen, from_log, params, ll_and_gradient);
            match bfgs_from(&cold, &[0.0; N], None, &limits) {
                Some(c) if c.convergence.converged || other.is_none() => Some(c),
                _ => other,
            }
        }
    };
    let min = match (min, from_start) {
        (Some(m), _) if m.convergence.converged => m,
        (_, Some(s)) => s,
        (Some(m), None) => m,
        (None, None) => {
            return Err(Error::fit(
                model_name,
                "the likelihood is not finite at the start",
            ));
        }
    };
    Ok(fit(min))
}

/// A model's summed log-likelihood over distinct rows, its gradient in the parameters, and
/// the work done (hypergeometric-series terms summed; 0 for a closed-form likelihood).
pub(crate) type LlAndGradient<M, const N: usize> = fn(&M, &Distinct) -> (f64, [f64; N], f64);

/// The objective of [`fit_positive`]: the mean negative log-likelihood plus the penalty, in
/// the logarithms of the parameters, counting its work against a budget.
struct Penalized<'a, M, const N: usize> {
    d: &'a Distinct,
    pen: f64,
    from_log: fn(&[f64]) -> M,
    params: fn(&M) -> [f64; N],
    ll_and_gradient: LlAndGradient<M, N>,
    /// The work done so far.
    work: Cell<f64>,
    /// [`FIT_TERMS_PER_ROW`] per distinct row.
    budget: f64,
}

impl<'a, M, const N: usize> Penalized<'a, M, N> {
    fn new(
        d: &'a Distinct,
        pen: f64,
        from_log: fn(&[f64]) -> M,
        params: fn(&M) -> [f64; N],
        ll_and_gradient: LlAndGradient<M, N>,
    ) -> Self {
        Penalized {
            d,
            pen,
            from_log,
            params,
            ll_and_gradient,
            work: Cell::new(0.0),
            budget: FIT_TERMS_PER_ROW * d.len() as f64,
        }
    }
}

impl<M, const N: usize> Objective for Penalized<'_, M, N> {
    fn eval(&self, lp: &[f64], grad: &mut [f64]) -> f64 {
        let m = (self.from_log)(lp);
        let (ll, g, work) = (self.ll_and_gradient)(&m, self.d);
        self.work.set(self.work.get() + work);
        let p = (self.params)(&m);
        let (d, pen) = (self.d, self.pen);
        let mut value = -ll / d.total;
        for k in 0..N {
            value += pen * p[k] * p[k];
            // d/d ln θ = θ d/dθ.
            grad[k] = (-g[k] / d.total + 2.0 * pen * p[k]) * p[k];
        }
        value
    }

    fn exhausted(&self) -> bool {
        self.work.get() >= self.budget
    }
}

/// Distinct rows in the sample a large fit starts from.
const WARM_SAMPLE: usize = 20_000;

/// The tolerance of the sample's fit a large fit starts from (the full fit then goes on to
/// [`FitOptions::tolerance`]).
const WARM_TOLERANCE: f64 = 1e-6;

/// Rows per chunk of a parallel likelihood pass.
const CHUNK: usize = 2048;

/// Sums `row(i, &mut acc)` over `0..n` into `N` accumulators, in chunks of a fixed size whose
/// partial sums are added in order, so that the result is the same on any number of threads.
pub(crate) fn chunked_sum<const N: usize>(
    n: usize,
    row: impl Fn(usize, &mut [f64; N]) + Sync,
) -> [f64; N] {
    let chunk = |c: usize| {
        let mut acc = [0.0; N];
        for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
            row(i, &mut acc);
        }
        acc
    };
    let chunks = n.div_ceil(CHUNK);
    let partial: Vec<[f64; N]> = if chunks <= 1 {
        (0..chunks).map(chunk).collect()
    } else {
        (0..chunks).into_par_iter().map(chunk).collect()
    };
    let mut total = [0.0; N];
    for p in partial {
        for k in 0..N {
            total[k] += p[k];
        }
    }
    total
}

/// `ln Γ(θ + k) - ln Γ(θ)` and `ψ(θ + k) - ψ(θ)` for k = 0..=max, by their recurrences:
/// exact for the whole-number frequencies the models see, and a table instead of a log-gamma
/// per customer.
pub(crate) fn rising(theta: f64, max: usize, ln: &mut Vec<f64>, psi: &mut Vec<f64>) {
    ln.clear();
    psi.clear();
    ln.push(0.0);
    psi.push(0.0);
    let (mut l, mut p) = (0.0, 0.0);
    for k in 0..max {
        let v = theta + k as f64;
        l += v.ln();
        p += 1.0 / v;
        ln.push(l);
        psi.push(p);
    }
}

/// `ln(e^a + e^b)` without overflow.
pub(crate) fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}
