//! A Ballista scheduler whose plan codecs know mergetag's UDFs: run one per cluster.
//!
//! ```text
//! mergetag-ballista-scheduler --bind-host 0.0.0.0 --port 50050 --external-host sched.internal
//! ```

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use mergetag_ballista::Scheduler;

mod common;

/// A Ballista scheduler for mergetag's deduplication plans.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: IpAddr,
    /// The gRPC port clients and executors connect to.
    #[arg(long, default_value_t = 50050)]
    port: u16,
    /// The host name executors and clients reach this machine by (default: the bound
    /// address).
    #[arg(long)]
    external_host: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();
    let mut scheduler = Scheduler::new(SocketAddr::new(args.bind_host, args.port));
    if let Some(host) = args.external_host {
        scheduler.external_host(host);
    }
    common::run("mergetag-ballista-scheduler", scheduler.serve())
}
