//! A progress bar on stderr that appears only on a terminal, and only once a run takes more than a moment.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this never show a bar.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// A counter over a known number of items that draws itself when worth it.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: std::sync::atomic::AtomicBool,
}

impl Progress {
    /// A progress counter for `total` items; `enabled` is false when the user asked for quiet output.
    pub fn new(total: u64, message: &'static str, enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} files ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(message);
        let enabled = enabled && std::io::stderr().is_terminal();
        Progress { bar, started: Instant::now(), enabled, shown: std::sync::atomic::AtomicBool::new(false) }
    }

    /// Counts one item done.
    pub fn inc(&self) {
        self.bar.inc(1);
        if self.enabled
            && self.started.elapsed() >= SHOW_AFTER
            && !self.shown.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
