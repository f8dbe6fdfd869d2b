//! A progress hook: libraries report units of work through it and the
//! binary decides whether and how to draw a bar.

/// Receives progress from long-running library work.
pub trait Progress: Sync {
    /// Announces a new phase with `total` units of work.
    fn start(&self, message: &str, total: u64);
    /// Reports `n` more units done.
    fn advance(&self, n: u64);
    /// Ends the current phase.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _message: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
