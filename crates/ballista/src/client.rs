//! Running a deduplication plan on a Ballista cluster.

use std::path::Path;
use std::sync::Arc;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use mergetag_dedup::TrainedModel;
use mergetag_model::Record;
use mergetag_scale::{DedupPlan, PlanResult};

use crate::codec::{LogicalCodec, PhysicalCodec};
use crate::error::{Error, Result};

/// A [`DedupPlan`] whose queries run on a Ballista cluster: a scheduler started with
/// [`Scheduler`](crate::Scheduler) (or `mergetag-ballista-scheduler`) and its executors
/// ([`Executor`](crate::Executor), `mergetag-ballista-executor`). The answers are the local
/// plan's: the same pairs, weights and clusters.
///
/// ```no_run
/// use mergetag_ballista::ClusterPlan;
/// use mergetag_dedup::DedupConfig;
/// use mergetag_scale::DedupPlan;
/// # let records: Vec<mergetag_model::Record> = Vec::new();
///
/// let deduper = DedupConfig::contacts().build()?;
/// let model = deduper.run(&records).model;
/// let plan = ClusterPlan::new(DedupPlan::new(deduper)?, "df://127.0.0.1:50050")?;
/// // A directory every executor reads and writes at the same path.
/// let result = plan.run(&records, &model, "/shared/mergetag/run-1".as_ref())?;
/// println!("{} clusters", result.cluster_count);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    plan: DedupPlan,
    scheduler: String,
}

impl ClusterPlan {
    /// `plan` run by the scheduler at `scheduler_url` (`df://host:port` or
    /// `http://host:port`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `scheduler_url` when it does not name a host and port.
    pub fn new(plan: DedupPlan, scheduler_url: &str) -> Result<ClusterPlan> {
        let invalid = || {
            Error::invalid(
                "scheduler_url",
                "write it as df://HOST:PORT (the scheduler's gRPC port, 50050 by default)",
            )
        };
        let rest = scheduler_url
            .strip_prefix("df://")
            .or_else(|| scheduler_url.strip_prefix("http://"))
            .ok_or_else(invalid)?;
        let rest = rest.trim_end_matches('/');
        let valid = rest
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid {
            return Err(invalid());
        }
        Ok(ClusterPlan {
            plan,
            scheduler: format!("http://{rest}"),
        })
    }

    /// The plan.
    pub fn plan(&self) -> &DedupPlan {
        &self.plan
    }

    /// The scheduler's address, as `http://host:port`.
    pub fn scheduler(&self) -> &str {
        &self.scheduler
    }

    /// A client session of the scheduler: the plan's settings
    /// ([`DedupPlan::session_config`]), Ballista's, and codecs that send mergetag's UDFs
    /// with their configuration and model. Queries on it run on the cluster.
    ///
    /// # Errors
    ///
    /// [`Error::DataFusion`] when DataFusion refuses the session.
    pub fn session(&self) -> Result<SessionContext> {
        let config = self
            .plan
            .session_config()
            .upgrade_for_ballista()
            .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()));
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .build()
            .upgrade_for_ballista(self.scheduler.clone())
            .map_err(|source| Error::DataFusion {
                step: format!("a session of the scheduler {}", self.scheduler),
                source: Box::new(source),
            })?;
        Ok(SessionContext::new_with_state(state))
    }

    /// Deduplicates `records` with `model` on the cluster, as [`DedupPlan::run`] does in
    /// process: the records table, the compared pairs and the matches are written in `dir`,
    /// which the executors read and write at the same path (on one machine, any local
    /// directory; on several, a shared file system mounted at the same path everywhere).
    /// Blocking, comparing and scoring run on the executors; the records' features are
    /// extracted and the pairs clustered in this process.
    ///
    /// # Errors
    ///
    /// [`Error::DataFusion`] when the session cannot be made, [`Error::Plan`] when a step
    /// of the plan fails: its source names the step, and the cluster's error (an
    /// unreachable scheduler, a failed task) is its source.
    pub fn run(&self, records: &[Record], model: &TrainedModel, dir: &Path) -> Result<PlanResult> {
        let ctx = self.session()?;
        Ok(self.plan.run_on(&ctx, records, model, dir)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_dedup::DedupConfig;

    #[test]
    fn scheduler_urls_are_checked() {
        let plan = DedupPlan::new(DedupConfig::contacts().build().unwrap()).unwrap();
        for (url, expected) in [
            ("df://127.0.0.1:50050", "http://127.0.0.1:50050"),
            ("http://sched.internal:6000/", "http://sched.internal:6000"),
        ] {
            let c = ClusterPlan::new(plan.clone(), url).unwrap();
            assert_eq!(c.scheduler(), expected);
        }
        for url in [
            "127.0.0.1:50050",
            "df://127.0.0.1",
            "df://:50050",
            "df://h:99999",
        ] {
            let e = ClusterPlan::new(plan.clone(), url).unwrap_err();
            assert!(e.to_string().starts_with("scheduler_url: "), "{e}");
        }
    }
}
