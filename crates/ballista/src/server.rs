//! A Ballista scheduler and executor that know mergetag's UDFs, as library calls the
//! binaries (`mergetag-ballista-scheduler`, `mergetag-ballista-executor`) wrap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::codec::{LogicalCodec, PhysicalCodec};
use crate::error::{Error, Result};

/// A Ballista scheduler whose codecs carry mergetag's UDFs: it decodes the logical plans a
/// [`ClusterPlan`](crate::ClusterPlan) sends and sends the stages, UDFs included, to the
/// executors. Jobs and executors are held in memory.
///
/// Built with [`Scheduler::new`], changed with the setters, started with
/// [`Scheduler::serve`].
#[derive(Debug, Clone)]
pub struct Scheduler {
    bind: SocketAddr,
    external_host: Option<String>,
}

impl Scheduler {
    /// A scheduler listening for clients and executors (gRPC) on `bind`.
    pub fn new(bind: SocketAddr) -> Scheduler {
        Scheduler {
            bind,
            external_host: None,
        }
    }

    /// The host name executors and clients reach the scheduler by (default: the bound
    /// address).
    pub fn external_host(&mut self, host: impl Into<String>) -> &mut Scheduler {
        self.external_host = Some(host.into());
        self
    }

    /// Ballista's configuration for this scheduler: mergetag's codecs, the address, and
    /// Ballista's defaults for the rest.
    pub fn ballista_config(&self) -> SchedulerConfig {
        let host = self
            .external_host
            .clone()
            .unwrap_or_else(|| self.bind.ip().to_string());
        let mut config = SchedulerConfig::default()
            .with_hostname(host)
            .with_port(self.bind.port());
        config.bind_host = self.bind.ip().to_string();
        config.override_logical_codec = Some(Arc::new(LogicalCodec::default()));
        config.override_physical_codec = Some(Arc::new(PhysicalCodec::default()));
        config
    }

    /// Runs the scheduler until the process stops.
    ///
    /// # Errors
    ///
    /// [`Error::Ballista`] when the address cannot be bound or the scheduler stops with an
    /// error.
    pub async fn serve(&self) -> Result<()> {
        let config = self.ballista_config();
        let step = format!("the scheduler at {}", self.bind);
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(Error::ballista(step.clone()))?;
        start_server(cluster, self.bind, Arc::new(config))
            .await
            .map_err(Error::ballista(step))
    }
}

/// A Ballista executor whose codecs carry mergetag's UDFs: the comparison and scoring UDFs
/// arrive inside each task, with the configuration and model of the plan that sent them,
/// so one executor serves any configuration and model.
///
/// Built with [`Executor::new`], changed with the setters, started with
/// [`Executor::serve`].
#[derive(Debug, Clone)]
pub struct Executor {
    scheduler_host: String,
    scheduler_port: u16,
    bind_host: String,
    external_host: Option<String>,
    flight_port: u16,
    grpc_port: u16,
    work_dir: Option<PathBuf>,
    concurrent_tasks: usize,
    memory_pool: Option<u64>,
}

impl Executor {
    /// An executor registering with the scheduler at `scheduler_host:scheduler_port`,
    /// bound to 127.0.0.1, serving shuffle data (Arrow Flight) on port 50051 and taking
    /// tasks (gRPC) on port 50052, running as many tasks at once as there are cores, with
    /// a temporary work directory and Ballista's memory pool (a share of the machine's
    /// memory).
    pub fn new(scheduler_host: impl Into<String>, scheduler_port: u16) -> Executor {
        Executor {
            scheduler_host: scheduler_host.into(),
            scheduler_port,
            bind_host: "127.0.0.1".into(),
            external_host: None,
            flight_port: 50051,
            grpc_port: 50052,
            work_dir: None,
            concurrent_tasks: 0,
            memory_pool: None,
        }
    }

    /// The address to bind (`0.0.0.0` to listen on every interface).
    pub fn bind_host(&mut self, host: impl Into<String>) -> &mut Executor {
        self.bind_host = host.into();
        self
    }

    /// The host name the scheduler and other executors reach this one by (default: the
    /// bound address).
    pub fn external_host(&mut self, host: impl Into<String>) -> &mut Executor {
        self.external_host = Some(host.into());
        self
    }

    /// The Arrow Flight port, where other executors and clients fetch results.
    pub fn flight_port(&mut self, port: u16) -> &mut Executor {
        self.flight_port = port;
        self
    }

    /// The gRPC port, where the scheduler sends tasks.
    pub fn grpc_port(&mut self, port: u16) -> &mut Executor {
        self.grpc_port = port;
        self
    }

    /// The directory for shuffle files and spills.
    pub fn work_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Executor {
        self.work_dir = Some(dir.into());
        self
    }

    /// How many tasks run at once (0, the default: one per core).
    pub fn concurrent_tasks(&mut self, n: usize) -> &mut Executor {
        self.concurrent_tasks = n;
        self
    }

    /// The memory pool shared by the running tasks, beyond which joins and sorts spill to
    /// the work directory (`None`, the default: Ballista's share of the machine's memory).
    pub fn memory_pool(&mut self, bytes: Option<u64>) -> &mut Executor {
        self.memory_pool = bytes;
        self
    }

    /// Ballista's configuration for this executor: mergetag's codecs, the addresses and
    /// settings above, and Ballista's defaults for the rest.
    pub fn ballista_config(&self) -> ExecutorProcessConfig {
        let external = self
            .external_host
            .clone()
            .unwrap_or_else(|| self.bind_host.clone());
        ExecutorProcessConfig {
            bind_host: self.bind_host.clone(),
            external_host: Some(external),
            port: self.flight_port,
            grpc_port: self.grpc_port,
            scheduler_host: self.scheduler_host.clone(),
            scheduler_port: self.scheduler_port,
            // Started beside its scheduler, an executor waits for it this long.
            scheduler_connect_timeout_seconds: 60,
            vcores: self.concurrent_tasks,
            work_dir: self.work_dir.as_ref().map(|d| d.display().to_string()),
            memory_pool_size: self.memory_pool,
            print_thread_info: false,
            override_logical_codec: Some(Arc::new(LogicalCodec::default())),
            override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
            ..ExecutorProcessConfig::default()
        }
    }

    /// Runs the executor until the process is told to stop (SIGTERM, Ctrl-C) or the
    /// scheduler stops it.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `work_dir` when the work directory is not UTF-8,
    /// [`Error::Ballista`] when the ports cannot be bound, the scheduler cannot be reached
    /// within a minute, or the executor stops with an error.
    pub async fn serve(&self) -> Result<()> {
        if let Some(dir) = &self.work_dir
            && dir.to_str().is_none()
        {
            return Err(Error::invalid(
                "work_dir",
                "the work directory's path is not UTF-8; choose another",
            ));
        }
        let step = format!(
            "the executor at {}:{} (scheduler {}:{})",
            self.bind_host, self.flight_port, self.scheduler_host, self.scheduler_port
        );
        start_executor_process(Arc::new(self.ballista_config()))
            .await
            .map_err(Error::ballista(step))
    }
}
