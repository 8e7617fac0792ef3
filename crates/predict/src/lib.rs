//! Predictions as merge variables: buy-till-you-die models (BG/NBD, Pareto/NBD) and the
//! Gamma-Gamma spend model fitted natively by maximum likelihood, giving each customer's
//! expected purchases, probability of being active, churn risk and lifetime value.
//!
//! ```
//! use mergetag_predict::{BgNbd, FitOptions, Rfm};
//!
//! // frequency (repeat purchases), recency (age at the last one) and T (age now), in weeks.
//! let customers: Vec<Rfm> = (0..200)
//!     .map(|i| {
//!         let x = (i % 5) as f64;
//!         Rfm::new(x, if x > 0.0 { 4.0 * x + (i % 3) as f64 } else { 0.0 }, 30.0)
//!     })
//!     .collect();
//! let fit = BgNbd::fit(&customers, &FitOptions::default())?;
//! assert!(fit.convergence.converged);
//! let m = fit.model;
//! let p = m.p_alive(&Rfm::new(3.0, 13.0, 30.0));
//! assert!((0.0..=1.0).contains(&p));
//! # Ok::<(), mergetag_predict::Error>(())
//! ```

mod bgnbd;
mod error;
mod fit;
mod gamma_gamma;
mod optimize;
mod pareto;
pub mod special;
mod summary;
mod transactions;

pub use crate::bgnbd::BgNbd;
pub use crate::error::{Error, Result};
pub use crate::fit::Fit;
pub use crate::gamma_gamma::GammaGamma;
pub use crate::optimize::{Convergence, FitOptions};
pub use crate::pareto::ParetoNbd;
pub use crate::summary::{Period, Rfm, Summary, Transaction};
pub use crate::transactions::{TransactionColumns, parse_date};
