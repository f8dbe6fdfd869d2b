//! The one owner of stdout and stderr: summaries, notes, errors and
//! progress bars (hidden when quiet or when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// Prints for the binary.
pub struct Printer {
    quiet: bool,
    json: bool,
    bars: bool,
}

impl Printer {
    /// A printer for the given global flags.
    pub fn new(quiet: bool, json: bool) -> Self {
        Self {
            quiet,
            json,
            bars: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Whether a JSON summary was asked for.
    pub fn json(&self) -> bool {
        self.json
    }

    /// This printer, also quiet and/or JSON when `words` (arguments clap
    /// did not see, such as a verb's after `arco plan`) hold those flags.
    pub fn with_flags_in(&self, words: &[String]) -> Self {
        let has = |f: &[&str]| words.iter().any(|w| f.contains(&w.as_str()));
        Self::new(
            self.quiet || has(&["--quiet", "-q"]),
            self.json || has(&["--json"]),
        )
    }

    /// Whether progress bars are drawn (not quiet, stderr a terminal).
    pub fn bars(&self) -> bool {
        self.bars
    }

    /// A human line on stdout (not with --json or --quiet).
    #[allow(clippy::print_stdout)]
    pub fn line(&self, msg: &str) {
        if !self.quiet && !self.json {
            println!("{msg}");
        }
    }

    /// A note on stderr (not with --quiet).
    #[allow(clippy::print_stderr)]
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("note: {msg}");
        }
    }

    /// An error on stderr, always.
    #[allow(clippy::print_stderr, clippy::unused_self)]
    pub fn error(&self, msg: &str) {
        eprintln!("error: {msg}");
    }

    /// The JSON summary on stdout.
    #[allow(clippy::unused_self)]
    pub fn emit_json(&self, value: &serde_json::Value) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)
    }

    /// A progress hook for library work.
    pub fn progress(&self, label: &str) -> Bar {
        Bar {
            enabled: self.bars,
            label: label.to_string(),
            inner: Mutex::new(None),
        }
    }
}

/// An indicatif bar behind the library's `Progress` hook.
pub struct Bar {
    enabled: bool,
    label: String,
    inner: Mutex<Option<ProgressBar>>,
}

impl arco_core::Progress for Bar {
    fn start(&self, message: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} {msg:>8} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(self.label.clone());
        bar.set_message(message.to_string());
        if let Ok(mut slot) = self.inner.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.inner.lock() {
            if let Some(b) = slot.as_ref() {
                b.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.inner.lock() {
            if let Some(b) = slot.take() {
                b.finish_and_clear();
            }
        }
    }
}
