//! Deduplication on a DataFusion Ballista cluster: the plan of `mergetag-scale`
//! ([`DedupPlan`](mergetag_scale::DedupPlan)) with its blocking joins, comparisons and
//! scoring run by Ballista executors, and the same answers as the local plan and
//! [`Deduper::run`](mergetag_dedup::Deduper::run).
//!
//! Three parts:
//!
//! - [`Scheduler`] and [`Executor`]: Ballista's scheduler and executor with plan codecs
//!   ([`LogicalCodec`], [`PhysicalCodec`]) that know mergetag's UDFs. The binaries
//!   `mergetag-ballista-scheduler` and `mergetag-ballista-executor` run them.
//! - [`ClusterPlan`]: a client that runs a [`DedupPlan`](mergetag_scale::DedupPlan) on the
//!   scheduler instead of in process.
//! - How the UDFs reach the executors: inside the plans. `mergetag_levels` travels with the
//!   deduplication configuration and `mergetag_weight` with the model (as JSON), through
//!   the codecs on the client, the scheduler and the executors; no executor is started
//!   with a configuration or a model. This matters because the weights are scored under
//!   the model rescaled to each run's blocking
//!   ([`TrainedModel::for_blocking`](mergetag_dedup::TrainedModel::for_blocking)), which
//!   is known only once the run has blocked, and it lets one cluster serve any
//!   configuration.
//!
//! ```no_run
//! use mergetag_ballista::{ClusterPlan, Executor, Scheduler};
//! use mergetag_dedup::DedupConfig;
//! use mergetag_scale::DedupPlan;
//! # let records: Vec<mergetag_model::Record> = Vec::new();
//!
//! // Usually separate processes (the binaries) on separate machines.
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.spawn(async { Scheduler::new("127.0.0.1:50050".parse().unwrap()).serve().await });
//! runtime.spawn(async {
//!     Executor::new("127.0.0.1", 50050)
//!         .flight_port(50051)
//!         .grpc_port(50052)
//!         .serve()
//!         .await
//! });
//!
//! let deduper = DedupConfig::contacts().build()?;
//! let model = deduper.run(&records).model;
//! let plan = ClusterPlan::new(DedupPlan::new(deduper)?, "df://127.0.0.1:50050")?;
//! let result = plan.run(&records, &model, "/tmp/mergetag-run".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Files: the plan's work directory is read and written by the executors at the path the
//! client gives, so on several machines it must be a shared file system (NFS, a cloud
//! file share) mounted at the same path on the client and every executor. Object stores
//! (`s3://`) are not supported by the plan yet.

mod client;
mod codec;
mod error;
mod server;

pub use crate::client::ClusterPlan;
pub use crate::codec::{LogicalCodec, PhysicalCodec};
pub use crate::error::{Error, Result};
pub use crate::server::{Executor, Scheduler};
