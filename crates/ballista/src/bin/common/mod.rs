//! What the scheduler and executor binaries share: logging to stderr, the runtime, and
//! reporting an error with its causes.

use std::io::Write as _;
use std::process::ExitCode;

/// Ballista's log records, one a line on stderr (the level is `log`'s maximum).
struct Stderr;

/// The logger.
static LOGGER: Stderr = Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{:5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Logs to stderr at `MERGETAG_LOG`'s level (`error`, `warn`, `info`, `debug`, `trace`;
/// `info` when unset).
pub fn init_logging() {
    let level = std::env::var("MERGETAG_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Runs `server` on a multi-threaded runtime and turns its end into an exit code, printing
/// an error with each of its causes.
pub fn run<F>(name: &str, server: F) -> ExitCode
where
    F: std::future::Future<Output = mergetag_ballista::Result<()>>,
{
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| mergetag_ballista::Error::Io {
            step: "start the async runtime".into(),
            source,
        })
        .and_then(|runtime| runtime.block_on(server));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut out = std::io::stderr().lock();
            let _ = write!(out, "{name}: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                let _ = write!(out, ": {cause}");
                source = cause.source();
            }
            let _ = writeln!(out);
            ExitCode::FAILURE
        }
    }
}
