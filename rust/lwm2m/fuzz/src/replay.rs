//! Replays a corpus folder through a target, catching panics, so that one run names every
//! failing input instead of stopping at the first.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::targets::Target;

/// What a replay found.
#[derive(Debug, Default)]
pub struct Report {
    /// Inputs run.
    pub inputs: usize,
    /// Each failing input and its panic message.
    pub failures: Vec<(PathBuf, String)>,
}

/// Runs `target` on every file of `dir` (sorted by name). An unreadable folder or file is an
/// error.
pub fn replay_dir(target: Target, dir: &Path) -> std::io::Result<Report> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut report = Report::default();
    for f in files {
        let data = std::fs::read(&f)?;
        report.inputs += 1;
        if let Err(message) = run_caught(target, &data) {
            report.failures.push((f, message));
        }
    }
    Ok(report)
}

/// Runs `target` on `data`; a panic becomes `Err` with its message.
pub fn run_caught(target: Target, data: &[u8]) -> Result<(), String> {
    panic::catch_unwind(AssertUnwindSafe(|| target(data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}
