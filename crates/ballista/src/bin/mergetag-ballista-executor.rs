//! A Ballista executor whose plan codecs know mergetag's UDFs: run one or more per machine.
//! The comparison and scoring UDFs arrive inside each task with the configuration and
//! model of the plan that sent them, so executors need neither.
//!
//! ```text
//! mergetag-ballista-executor --scheduler-host sched.internal --bind-host 0.0.0.0 \
//!     --external-host worker1.internal --work-dir /var/tmp/mergetag-executor
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mergetag_ballista::Executor;

mod common;

/// A Ballista executor for mergetag's deduplication plans.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The scheduler's host.
    #[arg(long, default_value = "127.0.0.1")]
    scheduler_host: String,
    /// The scheduler's gRPC port.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// The address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// The host name the scheduler, clients and other executors reach this one by
    /// (default: the bound address).
    #[arg(long)]
    external_host: Option<String>,
    /// The Arrow Flight port, where other executors and clients fetch results.
    #[arg(long, default_value_t = 50051)]
    flight_port: u16,
    /// The gRPC port, where the scheduler sends tasks.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// The directory for shuffle files and spills (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// How many tasks run at once (0: one per core).
    #[arg(long, default_value_t = 0)]
    concurrent_tasks: usize,
    /// The memory pool of the running tasks in bytes, beyond which joins and sorts spill
    /// (default: Ballista's share of the machine's memory).
    #[arg(long)]
    memory_pool: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();
    let mut executor = Executor::new(args.scheduler_host, args.scheduler_port);
    executor
        .bind_host(args.bind_host)
        .flight_port(args.flight_port)
        .grpc_port(args.grpc_port)
        .concurrent_tasks(args.concurrent_tasks)
        .memory_pool(args.memory_pool);
    if let Some(host) = args.external_host {
        executor.external_host(host);
    }
    if let Some(dir) = args.work_dir {
        executor.work_dir(dir);
    }
    common::run("mergetag-ballista-executor", executor.serve())
}
