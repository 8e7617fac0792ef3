//! Progress shown while a long command works: a spinner on stderr, drawn only when stderr is
//! a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress line for long work (reading files, deduplicating): a spinner with the current
/// step and a count. Hidden when stderr is not a terminal, and in [`Progress::hidden`].
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A progress line on stderr, drawn only when stderr is a terminal.
    pub fn stderr() -> Progress {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress::with_target(target)
    }

    /// A progress line that draws nothing (for library use and tests).
    pub fn hidden() -> Progress {
        Progress::with_target(ProgressDrawTarget::hidden())
    }

    fn with_target(target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(None, target);
        let style = ProgressStyle::with_template("{spinner} {msg} {human_pos} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        Progress { bar }
    }

    /// Starts a step: its message, the count reset to zero, the spinner ticking on its own.
    pub fn step(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
        self.bar.set_position(0);
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    /// Sets the message and the count of the current step.
    pub fn update(&self, message: impl Into<String>, done: u64) {
        self.bar.set_message(message.into());
        self.bar.set_position(done);
    }

    /// Adds `n` to the count of the current step.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Runs `f` (which may write to stderr) with the progress line out of the way.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        self.bar.suspend(f)
    }

    /// Clears the progress line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
