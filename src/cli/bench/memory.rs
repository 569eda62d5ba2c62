//! Peak resident memory per phase: Linux keeps a process's high-water
//! mark (`VmHWM`) and resets it when `5` is written to
//! `/proc/self/clear_refs`, so each phase of one process reports its own
//! peak. Elsewhere the figures are simply absent.

/// Starts a new phase: the high-water mark drops to the current size.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory since the last reset (MiB).
pub fn peak_rss_mib() -> Option<f64> {
    crate::cli::rank::peak_rss_mib()
}

/// The larger of two optional figures.
pub fn larger(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
