//! `scalemodel-report`: a run's report, `report.json` for programs,
//! `report.md`, the PNG pictures and `report.html` for people; the report
//! across trials ([`write_set`]); and [`text`], the wording helpers the
//! commands share with it.
//!
//! Depends on `scalemodel-core`, `scalemodel-rundir`, `scalemodel-check`
//! and `scalemodel-analysis`. The only crate of the workspace that links
//! plotters and the DejaVu fonts: the `scalemodel-node` binary never does.

use std::path::{Path, PathBuf};

use serde::Serialize;

use scalemodel_analysis::causality::Pairs;
use scalemodel_analysis::hlc::HlcFigures;
use scalemodel_analysis::{Analysis, MachineFigures};
use scalemodel_rundir::LinkSummary;

pub mod answers;
pub mod causality;
pub mod clocks;
pub mod csv_out;
pub mod evidence;
pub mod group;
pub mod html;
pub mod markdown;
pub mod palette;
pub mod plot;
pub mod set;
pub mod text;
pub mod topology;

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A picture could not be drawn.
    #[error("cannot draw {}: {detail}", path.display())]
    Draw {
        /// The picture.
        path: PathBuf,
        /// What plotters said.
        detail: String,
    },
}

/// Writes `contents` to `path`, naming the file when it fails.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), ReportError> {
    std::fs::write(path, contents).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The pictures every report links to, with their titles.
pub const PLOTS: [(&str, &str); 4] = [
    ("clocks.png", "Logical clocks"),
    ("queues.png", "Inbox lengths"),
    ("jumps.png", "Clock jumps"),
    ("drift.png", "Drift behind the fastest machine"),
];

/// `report.json`: the same figures as `report.md`, for programs.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `sim` or `net`.
    pub mode: String,
    /// The run's seed.
    pub seed: u64,
    /// Model seconds.
    pub duration_s: f64,
    /// Faces of the die.
    pub sides: u8,
    /// Each machine's rate.
    pub rates: Vec<u32>,
    /// Broken rules, as `file line N (tick T): rule: detail`: the first
    /// [`scalemodel_check::VIOLATIONS_KEPT`].
    pub violations: Vec<String>,
    /// Every broken rule found, listed or not.
    pub violations_total: u64,
    /// Per machine.
    pub machines: Vec<MachineFigures>,
    /// Per directed link.
    pub links: Vec<LinkSummary>,
    /// Cross-machine event pairs by causality, Lamport's order and the
    /// timestamps.
    pub causality: Option<Pairs>,
    /// The HLC replayed over the logs: how far it ran ahead of physical
    /// time, against its bound.
    pub hlc: Option<HlcFigures>,
}

/// Writes `report.json`, the pictures and `report.md` into the run directory.
pub fn write(a: &Analysis) -> Result<(), ReportError> {
    let p = &a.run.params;
    let report = Report {
        mode: p.mode.clone(),
        seed: p.seed,
        duration_s: p.duration_s,
        sides: p.sides,
        rates: p.rates.clone(),
        violations: a.violations.iter().map(ToString::to_string).collect(),
        violations_total: a.violations.total(),
        machines: a.figures.clone(),
        links: p.links.clone(),
        causality: a.pairs.clone(),
        hlc: a.hlc.clone(),
    };
    // Plain numbers and strings: serialising cannot fail.
    let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    write_file(&a.dir.join("report.json"), json)?;
    plot::trial(a)?;
    html::trial(a)?;
    write_file(&a.dir.join("report.md"), markdown::trial(a))
}

/// Writes a set's (trials, configurations, a study) `report.json`,
/// pictures, `report.md` and `report.html` into `dir`.
pub fn write_set(dir: &Path, set: &set::Set, intro: &str) -> Result<(), ReportError> {
    let views = set::write(dir, set, intro)?;
    csv_out::write(dir, set)?;
    html::set(&dir.join("report.html"), set, intro, &views)
}
