//! A small quasi-Newton minimizer (BFGS with a backtracking line search) over the logarithms
//! of positive parameters, with its convergence reported rather than assumed.

use serde::{Deserialize, Serialize};

/// How a fit ended: reported with every fit, so that a failed convergence is never silent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Whether the gradient's largest component (with respect to the logarithms of the
    /// parameters) fell below the tolerance.
    pub converged: bool,
    /// Quasi-Newton iterations taken.
    pub iterations: usize,
    /// Objective evaluations (each a pass over the distinct customers).
    pub evaluations: usize,
    /// The gradient's largest absolute component at the end.
    pub gradient_norm: f64,
    /// Why the optimizer stopped (`None` in a fit recorded before this was kept).
    #[serde(default)]
    pub stop: Option<Stop>,
}

/// Why a fit's optimizer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stop {
    /// The gradient fell below the tolerance: converged.
    Converged,
    /// [`FitOptions::max_iterations`] iterations were taken.
    MaxIterations,
    /// The objective function was evaluated [`MAX_EVALUATIONS`] times.
    MaxEvaluations,
    /// The likelihood's series summed [`FIT_TERMS_PER_ROW`] terms per distinct row in all.
    MaxWork,
    /// Twenty iterations in a row lowered the objective by less than 1e-12 of it: the fit
    /// creeps toward a boundary of the parameter space.
    Stalled,
    /// No step, however small, lowered the objective (as far as floating point goes).
    NoDescent,
    /// The logarithm of a parameter reached ±[`LOG_PARAMETER_BOUND`]: the data do not
    /// identify it (it tends to 0 or to infinity), so the search ends there.
    ParameterBound,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Converged => "converged",
            Stop::MaxIterations => "reached the most iterations",
            Stop::MaxEvaluations => "reached the most likelihood evaluations",
            Stop::MaxWork => "spent its work budget (the likelihood's series grew too long)",
            Stop::Stalled => "stalled (the likelihood no longer improves)",
            Stop::NoDescent => "found no step that improves the likelihood",
            Stop::ParameterBound => {
                "a parameter reached its bound (e^-20 or e^20): the data do not identify it"
            }
        })
    }
}

/// The bound on the logarithm of every parameter of a buy-till-you-die fit: each parameter
/// stays within `[e^-20, e^20]` ≈ `[2.1e-9, 4.9e8]`. Published fits are within `[0.1, 100]`,
/// and rescaling time (seconds to years) or money (any currency) moves a scale by at most a
/// factor of about 10^7, so a fit that reaches the bound has a parameter tending to 0 or to
/// infinity (degenerate data such as no repeat purchases at all); it ends there,
/// unconverged ([`Stop::ParameterBound`]), instead of walking on to where the likelihood's
/// series need millions of terms.
pub const LOG_PARAMETER_BOUND: f64 = 20.0;

/// The most objective evaluations in one buy-till-you-die fit (each a pass over the distinct
/// rows): the CDNOW fits take fewer than 200, and a line search at most 40 per iteration.
/// Reaching it ends the fit unconverged ([`Stop::MaxEvaluations`]).
pub const MAX_EVALUATIONS: usize = 2_000;

/// The most hypergeometric-series terms a Pareto/NBD fit sums in all, per distinct row: the
/// CDNOW fit sums about 4,000 per row, and one evaluation at most
/// 2 × [`HYP2F1_TERM_BUDGET`](crate::special::HYP2F1_TERM_BUDGET) per row. Reaching it ends
/// the fit unconverged ([`Stop::MaxWork`]), so that a fit walking toward parameters where
/// every series is long (degenerate data) ends in milliseconds per row, not minutes.
pub const FIT_TERMS_PER_ROW: f64 = 1e6;

/// Options of a maximum-likelihood fit.
///
/// ```
/// use mergetag_predict::FitOptions;
///
/// let o = FitOptions::default().penalizer(0.01);
/// assert_eq!(o.penalizer, 0.01);
/// assert_eq!(o.max_iterations, 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitOptions {
    /// The L2 penalty on the parameters, added to the mean negative log-likelihood as
    /// `penalizer * Σ θ²` (the Python reference's `penalizer_coef`); 0 (the default) for none.
    pub penalizer: f64,
    /// The most quasi-Newton iterations (default 500).
    pub max_iterations: usize,
    /// Converged when every component of the gradient of the mean negative log-likelihood
    /// with respect to the logarithms of the parameters is at most this (default 1e-9).
    pub tolerance: f64,
    /// With more distinct rows than this (default 50,000), the fit starts where a fit to a
    /// systematic sample of about 20,000 of them (every k-th distinct row, weighted up)
    /// ended, with its curvature: the same maximum and tolerance, in a few passes over all
    /// rows instead of dozens. `usize::MAX` turns it off.
    pub warm_start_rows: usize,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            penalizer: 0.0,
            max_iterations: 500,
            tolerance: 1e-9,
            warm_start_rows: 50_000,
        }
    }
}

impl FitOptions {
    /// Sets [`FitOptions::penalizer`].
    pub fn penalizer(mut self, penalizer: f64) -> FitOptions {
        self.penalizer = penalizer;
        self
    }

    /// Sets [`FitOptions::max_iterations`].
    pub fn max_iterations(mut self, max_iterations: usize) -> FitOptions {
        self.max_iterations = max_iterations;
        self
    }

    /// Sets [`FitOptions::tolerance`].
    pub fn tolerance(mut self, tolerance: f64) -> FitOptions {
        self.tolerance = tolerance;
        self
    }

    /// Sets [`FitOptions::warm_start_rows`].
    pub fn warm_start_rows(mut self, rows: usize) -> FitOptions {
        self.warm_start_rows = rows;
        self
    }
}

/// An objective: its value and gradient at `x` (the gradient written into `grad`). A value
/// that is not finite marks `x` as outside the domain; the line search steps back.
pub(crate) trait Objective {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64;

    /// Whether the objective has spent its work budget: the search then ends
    /// ([`Stop::MaxWork`]).
    fn exhausted(&self) -> bool {
        false
    }
}

impl<F: Fn(&[f64], &mut [f64]) -> f64> Objective for F {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self(x, grad)
    }
}

/// The end of a minimization: the point and how it got there.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub convergence: Convergence,
    /// The inverse-Hessian approximation at the end (row-major), to warm-start another fit.
    pub inverse_hessian: Vec<f64>,
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, g| m.max(g.abs()))
}

/// The largest step in any coordinate of the log-parameters: e^4 ≈ 55 times per step at
/// most, so that a line search never jumps to parameters that overflow.
const MAX_STEP: f64 = 4.0;

/// Minimizes `f` from `x0` with BFGS (inverse-Hessian update, Armijo backtracking, a reset to
/// steepest descent when the direction is not one of descent). `None` when `f` is not
/// finite at `x0`.
pub(crate) fn bfgs(
    f: &dyn Objective,
    x0: &[f64],
    max_iterations: usize,
    tolerance: f64,
) -> Option<Minimum> {
    bfgs_from(f, x0, None, &Limits::unbounded(max_iterations, tolerance))
}

/// Where and for how long [`bfgs_from`] searches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The most iterations.
    pub max_iterations: usize,
    /// Converged when the gradient's largest component is at most this.
    pub tolerance: f64,
    /// Every coordinate stays within `[-bound, bound]`; reaching it ends the search.
    pub bound: f64,
    /// The most objective evaluations.
    pub max_evaluations: usize,
}

impl Limits {
    /// No bound on the coordinates nor on the evaluations.
    pub fn unbounded(max_iterations: usize, tolerance: f64) -> Limits {
        Limits {
            max_iterations,
            tolerance,
            bound: f64::INFINITY,
            max_evaluations: usize::MAX,
        }
    }

    /// The limits of a buy-till-you-die fit: [`LOG_PARAMETER_BOUND`] and
    /// [`MAX_EVALUATIONS`].
    pub fn fit(options: &FitOptions) -> Limits {
        Limits {
            max_iterations: options.max_iterations,
            tolerance: options.tolerance,
            bound: LOG_PARAMETER_BOUND,
            max_evaluations: MAX_EVALUATIONS,
        }
    }
}

/// [`bfgs`] from a starting inverse Hessian (`n × n`, row-major; another fit's
/// [`Minimum::inverse_hessian`]) instead of a scaled identity, within `limits`: every
/// coordinate kept within `±limits.bound` (reaching it ends the search, unconverged) and at
/// most `limits.max_evaluations` evaluations.
pub(crate) fn bfgs_from(
    f: &dyn Objective,
    x0: &[f64],
    h0: Option<&[f64]>,
    limits: &Limits,
) -> Option<Minimum> {
    let Limits {
        max_iterations,
        tolerance,
        bound,
        max_evaluations,
    } = *limits;
    let n = x0.len();
    let mut x: Vec<f64> = x0.iter().map(|v| v.clamp(-bound, bound)).collect();
    let mut g = vec![0.0; n];
    let mut fx = f.eval(&x, &mut g);
    let mut evaluations = 1;
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let identity = |h: &mut Vec<f64>| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            h[i * n + i] = 1.0;
        }
    };
    let mut h = vec![0.0; n * n];
    identity(&mut h);
    let mut fresh = true;
    if let Some(h0) = h0.filter(|h0| h0.len() == n * n && h0.iter().all(|v| v.is_finite())) {
        h.copy_from_slice(h0);
        fresh = false;
    }
    let mut d = vec![0.0; n];
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut iterations = 0;
    // Iterations in a row that lowered the objective by less than 1e-12 of it: a fit creeping
    // toward a boundary of the parameter space (a parameter tending to 0 or infinity) stops
    // after 20 of them, unconverged, instead of spending every iteration.
    let mut stalled = 0;
    let mut stop = None;
    while stop.is_none() {
        if inf_norm(&g) <= tolerance {
            stop = Some(Stop::Converged);
            break;
        }
        if iterations >= max_iterations {
            stop = Some(Stop::MaxIterations);
            break;
        }
        if stalled >= 20 {
            stop = Some(Stop::Stalled);
            break;
        }
        iterations += 1;
        for i in 0..n {
            d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 || !slope.is_finite() {
            identity(&mut h);
            fresh = true;
            d.iter_mut().zip(&g).for_each(|(d, g)| *d = -g);
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let biggest = inf_norm(&d);
        let mut step = if biggest > MAX_STEP {
            MAX_STEP / biggest
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..40 {
            if evaluations >= max_evaluations {
                stop = Some(Stop::MaxEvaluations);
                break;
            }
            if f.exhausted() {
                stop = Some(Stop::MaxWork);
                break;
            }
            for i in 0..n {
                // A step past the bound is cut back to it (a projected line search).
                xn[i] = (x[i] + step * d[i]).clamp(-bound, bound);
            }
            let fnew = f.eval(&xn, &mut gn);
            evaluations += 1;
            // Armijo's sufficient decrease; or, at the objective's floating-point floor
            // (a change within rounding), a step that shrinks the gradient: near the
            // optimum of a flat likelihood the decrease a step makes can be below what f64
            // resolves while the gradient still says where the optimum is.
            let armijo = fnew <= fx + 1e-4 * step * slope;
            let at_floor =
                fnew <= fx + 1e-14 * fx.abs().max(1.0) && inf_norm(&gn) < 0.5 * inf_norm(&g);
            if fnew.is_finite() && gn.iter().all(|v| v.is_finite()) && (armijo || at_floor) {
                accepted = true;
                // BFGS update of the inverse Hessian with s = xn - x, y = gn - g.
                let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
                let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
                if sy > 1e-300 {
                    if fresh {
                        // Scale the first inverse Hessian to the curvature seen.
                        let yy: f64 = y.iter().map(|v| v * v).sum();
                        let scale = sy / yy;
                        h.iter_mut().for_each(|v| *v *= scale);
                        fresh = false;
                    }
                    let hy: Vec<f64> = (0..n)
                        .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                        .collect();
                    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
                    let rho = 1.0 / sy;
                    for i in 0..n {
                        for j in 0..n {
                            h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                                + (rho * rho * yhy + rho) * s[i] * s[j];
                        }
                    }
                }
                if fx - fnew < 1e-12 * fx.abs().max(1.0) {
                    stalled += 1;
                } else {
                    stalled = 0;
                }
                x.copy_from_slice(&xn);
                g.copy_from_slice(&gn);
                fx = fnew;
                if x.iter().any(|v| v.abs() >= bound) {
                    stop = Some(Stop::ParameterBound);
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted && stop.is_none() {
            if fresh {
                // Not even a tiny steepest-descent step lowers the objective: as far as
                // floating point goes.
                stop = Some(Stop::NoDescent);
                break;
            }
            identity(&mut h);
            fresh = true;
        }
    }
    let gradient_norm = inf_norm(&g);
    // At the bound the gradient may be small only because the objective flattens out there.
    let converged = gradient_norm <= tolerance && stop != Some(Stop::ParameterBound);
    if converged {
        stop = Some(Stop::Converged);
    }
    Some(Minimum {
        x,
        inverse_hessian: h,
        convergence: Convergence {
            converged,
            iterations,
            evaluations,
            gradient_norm,
            stop,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_rosenbrock() {
        let f = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = bfgs(&f, &[-1.2, 1.0], 500, 1e-10).unwrap();
        assert!(m.convergence.converged, "{:?}", m.convergence);
        assert!((m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8);
    }

    #[test]
    fn reports_a_start_outside_the_domain() {
        let f = |_: &[f64], _: &mut [f64]| f64::NAN;
        assert!(bfgs(&f, &[0.0], 10, 1e-9).is_none());
    }
}
