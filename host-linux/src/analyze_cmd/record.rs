//! What the command that wrote a folder of runs recorded of it: the title
//! and the configurations, in order, of the folder's own `report.json`
//! (written by `report::write_set`, under `run`, `study` or an earlier
//! `analyze`).
//!
//! Re-analysing such a folder keeps them, so that `analyze` gives the report
//! the writer gave it (`Study: …` with `standard` first), rather than one
//! grouped and named by folder. The record is used only when it lists
//! exactly the runs found: a folder that gained or lost a trial since is
//! grouped by folder again, and said so.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::infile::InFile;
use crate::report::evidence::{Band, Point};

/// The name of the record in a folder of runs.
pub const REPORT_JSON: &str = "report.json";

/// The most bytes a `report.json` is read up to: a study of a thousand
/// trials per configuration writes well under 10 MB.
const RECORD_BYTES_MAX: u64 = 64 << 20;

/// A folder's `report.json`, the parts that say how its report reads.
#[derive(Debug, Deserialize)]
pub struct Record {
    /// The report's title.
    pub title: String,
    /// The paragraph under it, when the writer recorded one.
    #[serde(default)]
    pub intro: Option<String>,
    /// Its configurations, in order.
    pub groups: Vec<RecordGroup>,
    /// The topology study's runs (a study's), kept as they were: the folder
    /// does not hold them.
    #[serde(default)]
    pub topology_points: Vec<crate::report::topology::TopologyPoint>,
    /// The clock study's runs (a study's), kept as the topology study's.
    #[serde(default)]
    pub clock_points: Vec<crate::report::clocks::ClockPoint>,
}

/// One configuration of a [`Record`].
#[derive(Debug, Deserialize)]
pub struct RecordGroup {
    /// Its name.
    pub name: String,
    /// Its rates, as the writer put them.
    pub rates: String,
    /// Faces of its die.
    pub sides: u8,
    /// Its trials, in order.
    pub trials: Vec<RecordTrial>,
    /// Its simulated trials at scale (a study's), kept as they were: the
    /// folder does not hold them.
    #[serde(default)]
    pub scale: Vec<Point>,
}

/// One trial of a [`RecordGroup`].
#[derive(Debug, Deserialize)]
pub struct RecordTrial {
    /// Its folder, relative to the report's.
    pub path: String,
    /// The simulator's band for its rates (a study's trial), kept as it was.
    #[serde(default)]
    pub band: Option<Band>,
}

/// Why a folder's record is not used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Read(#[from] crate::infile::InFileError),
    /// Reading it failed midway.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// It is not a report's record.
    #[error("it is not a report's record: {0}")]
    Parse(#[from] serde_json::Error),
    /// It names the same trial twice.
    #[error("it lists {0} twice")]
    Twice(String),
    /// Its trials are not the runs found.
    #[error("it lists {listed} runs, {missing} of which are not among the {found} found")]
    Differs {
        /// Runs it lists.
        listed: usize,
        /// Runs found.
        found: usize,
        /// Runs it lists that were not found.
        missing: usize,
    },
}

/// The record in `dir`, or `None` when it has none.
pub fn read(dir: &Path) -> Result<Option<Record>, RecordError> {
    let path = dir.join(REPORT_JSON);
    if !path.try_exists()? {
        return Ok(None);
    }
    let bytes = InFile::open(&path, RECORD_BYTES_MAX)?.read_all()?;
    Ok(Some(serde_json::from_slice(&bytes)?))
}

impl Record {
    /// For each run of `found` (its folder relative to the report's), the
    /// index of its group and its place in the group, when the record lists
    /// exactly these runs.
    pub fn place(&self, found: &[String]) -> Result<Vec<(usize, usize)>, RecordError> {
        let mut listed: HashMap<&str, (usize, usize)> = HashMap::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (k, t) in group.trials.iter().enumerate() {
                if listed.insert(t.path.as_str(), (g, k)).is_some() {
                    return Err(RecordError::Twice(t.path.clone()));
                }
            }
        }
        let places: Vec<Option<(usize, usize)>> = found
            .iter()
            .map(|p| listed.get(p.as_str()).copied())
            .collect();
        let known = places.iter().flatten().count();
        if known != found.len() || listed.len() != found.len() {
            return Err(RecordError::Differs {
                listed: listed.len(),
                found: found.len(),
                missing: listed.len() - known.min(listed.len()),
            });
        }
        Ok(places.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        serde_json::from_str(
            r#"{"title": "Study: x", "verdicts": [], "groups": [
                {"name": "standard", "rates": "1..=6", "sides": 10, "trials": [{"path": "standard/trial-1", "seed": 1}]},
                {"name": "both", "rates": "3..=4", "sides": 4, "trials": [{"path": "both/trial-1"}, {"path": "both/trial-2"}]}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn runs_are_placed_in_the_records_order_only_when_it_lists_exactly_them() {
        let r = record();
        let found = ["both/trial-2", "both/trial-1", "standard/trial-1"].map(String::from);
        assert_eq!(r.place(&found).unwrap(), [(1, 1), (1, 0), (0, 0)]);
        let fewer = ["both/trial-1", "standard/trial-1"].map(String::from);
        assert_eq!(
            r.place(&fewer).unwrap_err().to_string(),
            "it lists 3 runs, 1 of which are not among the 2 found"
        );
        let other = ["both/trial-1", "both/trial-2", "standard/trial-9"].map(String::from);
        assert!(matches!(
            r.place(&other),
            Err(RecordError::Differs { missing: 1, .. })
        ));
    }

    #[test]
    fn a_missing_record_is_none_and_a_bad_one_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read(tmp.path()).unwrap().is_none());
        std::fs::write(tmp.path().join(REPORT_JSON), "{\"title\": 3}").unwrap();
        let e = read(tmp.path()).unwrap_err();
        assert!(
            e.to_string().starts_with("it is not a report's record"),
            "{e}"
        );
    }
}
