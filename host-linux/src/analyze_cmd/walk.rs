//! Finding the runs below a folder given to `scalemodel analyze`.
//!
//! Every command writes under `runs/`: single runs (`sim-*`), folders of
//! trials (`run-*`) and folders of configurations of trials (`study-*`),
//! side by side. The walk finds a run at any depth, stops at a run (a run's
//! own folders are not runs), and notes every folder it passed over and why.
//! It is bounded in depth and in folders visited, and it does not follow
//! symbolic links to folders, so that a hostile or looping tree cannot keep
//! it going for ever.

use std::path::{Path, PathBuf};

/// How many levels below the folder given runs are looked for: a study
/// inside `runs/` is 3 deep (`runs/study-*/standard/trial-1`).
pub const MAX_DEPTH: usize = 8;

/// How many folders one walk visits at most, runs included.
pub const MAX_FOLDERS: usize = 20_000;

/// The runs below one folder, and the folders passed over with the reason.
#[derive(Debug, Default)]
pub struct Found {
    /// The runs, in walk order: each folder's entries as `sort_runs` orders
    /// them. A folder whose run-ness cannot be read is kept here, so that its
    /// error is told rather than the folder passed over.
    pub runs: Vec<PathBuf>,
    /// Folders passed over, each with why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Set when the walk stopped at [`MAX_FOLDERS`] before it had seen everything.
    pub truncated: bool,
}

/// The walk's bounds, a parameter so that tests can make them small.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// See [`MAX_DEPTH`].
    pub depth: usize,
    /// See [`MAX_FOLDERS`].
    pub folders: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: MAX_DEPTH,
            folders: MAX_FOLDERS,
        }
    }
}

/// Finds the runs at or below `dir`, as [`Found`] describes. `probe` says
/// whether a folder is a run, or fails when that cannot be read; `sort`
/// orders a folder's entries.
pub fn find(
    dir: &Path,
    limits: Limits,
    probe: &dyn Fn(&Path) -> std::io::Result<bool>,
    sort: &dyn Fn(&mut [PathBuf]),
) -> Found {
    let mut found = Found::default();
    let mut visited = 0;
    walk(dir, 0, limits, probe, sort, &mut visited, &mut found);
    found
}

fn walk(
    dir: &Path,
    depth: usize,
    limits: Limits,
    probe: &dyn Fn(&Path) -> std::io::Result<bool>,
    sort: &dyn Fn(&mut [PathBuf]),
    visited: &mut usize,
    found: &mut Found,
) {
    if *visited >= limits.folders {
        found.truncated = true;
        return;
    }
    *visited += 1;
    if probe(dir).unwrap_or(true) {
        found.runs.push(dir.to_owned());
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // The folder given is named with its error by the caller.
        Err(_) if depth == 0 => return,
        Err(e) => {
            found
                .skipped
                .push((dir.to_owned(), format!("cannot list it: {e}")));
            return;
        }
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                found
                    .skipped
                    .push((dir.to_owned(), format!("cannot list all of it: {e}")));
                continue;
            }
        };
        // The entry's own type: a symbolic link is not followed, so no loop.
        match entry.file_type() {
            Ok(t) if t.is_dir() => folders.push(entry.path()),
            Ok(t) if t.is_symlink() && entry.path().is_dir() => found.skipped.push((
                entry.path(),
                "a symbolic link to a folder, not followed (give its target to analyse it)"
                    .to_owned(),
            )),
            Ok(_) => {}
            Err(e) => found
                .skipped
                .push((entry.path(), format!("cannot tell what it is: {e}"))),
        }
    }
    sort(&mut folders);
    let before = found.runs.len();
    for folder in folders {
        if depth + 1 > limits.depth {
            found.skipped.push((
                folder,
                format!(
                    "more than {} levels below the folder given (give a folder nearer to it)",
                    limits.depth
                ),
            ));
            continue;
        }
        walk(&folder, depth + 1, limits, probe, sort, visited, found);
    }
    if depth > 0 && found.runs.len() == before && !found.truncated {
        found.skipped.push((
            dir.to_owned(),
            "no params.json, and no run below it".to_owned(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(dir: &Path) -> std::io::Result<bool> {
        dir.join("params.json").try_exists()
    }

    fn sort(p: &mut [PathBuf]) {
        p.sort();
    }

    fn run(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("params.json"), "{}").unwrap();
    }

    #[test]
    fn runs_are_found_at_any_depth_beside_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        run(&root.join("sim-a"));
        run(&root.join("run-b/trial-1"));
        run(&root.join("run-b/trial-2"));
        run(&root.join("study-c/standard/trial-1"));
        std::fs::create_dir_all(root.join("notes/empty")).unwrap();
        let found = find(root, Limits::default(), &probe, &sort);
        let rel: Vec<_> = found
            .runs
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            rel,
            [
                "run-b/trial-1",
                "run-b/trial-2",
                "sim-a",
                "study-c/standard/trial-1"
            ]
            .map(PathBuf::from)
        );
        let skipped: Vec<_> = found.skipped.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(skipped, [root.join("notes/empty"), root.join("notes")]);
        assert!(!found.truncated);
    }

    #[test]
    fn the_walk_is_bounded_and_follows_no_link() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        run(&root.join("a/b/c/deep"));
        std::os::unix::fs::symlink(root, root.join("loop")).unwrap();
        let shallow = Limits {
            depth: 2,
            folders: 100,
        };
        let found = find(root, shallow, &probe, &sort);
        assert!(found.runs.is_empty(), "{found:?}");
        let why = |name: &str| {
            found
                .skipped
                .iter()
                .find(|(p, _)| p.ends_with(name))
                .map(|(_, why)| why.clone())
                .unwrap_or_default()
        };
        assert!(why("a/b/c").contains("more than 2 levels"), "{found:?}");
        assert!(why("loop").contains("symbolic link"), "{found:?}");

        let few = Limits {
            depth: 8,
            folders: 2,
        };
        let found = find(root, few, &probe, &sort);
        assert!(found.truncated && found.runs.is_empty(), "{found:?}");
        let found = find(root, Limits::default(), &probe, &sort);
        assert_eq!(found.runs, [root.join("a/b/c/deep")]);
    }
}
