//! `scalemodel analyze DIR…`: check each run against the model, measure it,
//! and write `report.md`, `report.json` and four pictures into it.

use std::path::{Path, PathBuf};

use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::analysis::Analysis;
use crate::merge;
use crate::outln;
use crate::report::{self, evidence::Band, set::Group, set::Set};
use crate::rundir::{self, not_completed};
use crate::salvage;
use crate::text::{count, fixed, signed};

mod record;
mod walk;

/// Reads, checks and measures the run in `dir`.
///
/// A directory of hand-started nodes (`node-<id>.json`, no `params.json`
/// yet) gets its `params.json` merged from them first; the summary of a node
/// that died, which wrote none, is rebuilt from its log first, as `run` does.
pub fn analyse(dir: &Path) -> Result<Analysis> {
    prepare(dir)?;
    Ok(Analysis::of(dir, rundir::read_run(dir)?))
}

/// Makes a hand-started trial whole before it is read: the summary of a node
/// that died is rebuilt from its log, and the nodes' summaries are merged into
/// `params.json` when there is none. Says what it did.
pub fn prepare(dir: &Path) -> Result<()> {
    for id in salvage::salvage_missing(dir)? {
        outln!(
            "{}: machine {id} died without its {}: rebuilt it from {} (ended crashed)",
            dir.display(),
            rundir::node_name(id),
            rundir::log_name(id)
        );
    }
    // Machine 0's summary says how many machines ran; the merge names any
    // other that is missing.
    let nodes_only = !dir.join(rundir::PARAMS).exists() && dir.join(rundir::node_name(0)).exists();
    if nodes_only {
        let params = merge::merge_nodes(dir)?;
        params.write(dir)?;
        let last = params.n().saturating_sub(1);
        outln!(
            "{}: merged node-0.json … node-{last}.json into params.json",
            dir.display()
        );
    }
    Ok(())
}

/// Prints what the exercise asks of a run, machine by machine: its rate, its
/// final clock, its largest jump, how far its clock trails the fastest
/// machine's, and how its inbox grew against the queueing prediction.
pub fn print_science(a: &Analysis) {
    let tied = crate::analysis::fastest_all(&a.run.params.rates);
    let against = match tied.as_slice() {
        [one] => format!("trails machine {one}"),
        _ => "trails the fastest".to_owned(),
    };
    outln!(
        "{:>7} {:>4} {:>11} {:>12} {:>28} {:>30}",
        "machine",
        "rate",
        "final clock",
        "largest jump",
        format!("{against} mean / max"),
        "inbox growth /s (predicted, load)"
    );
    for m in &a.figures {
        outln!(
            "{:>7} {:>4} {:>11} {:>12} {:>28} {:>30}",
            m.id,
            m.rate,
            m.final_clock,
            m.jumps.max,
            format!("{} / {}", fixed(m.drift.mean, 1), m.drift.max),
            format!(
                "{} ({}, {})",
                signed(m.queue.growth_per_s, 2),
                fixed(m.estimate.predicted_growth_per_s, 2),
                crate::analysis::load_words(m.estimate.load)
            ),
        );
    }
    if tied.len() > 1 {
        outln!(
            "(a clock trails {}: the gap is to whichever is ahead at each time)",
            crate::analysis::drift_reference(&a.run.params.rates)
        );
    }
    if let Some(pairs) = &a.pairs {
        outln!("causality: {}", report::causality::line(pairs));
    }
    if let Some(hlc) = &a.hlc {
        outln!("hlc: {}", report::causality::hlc_line(hlc));
    }
}

/// True when `dir` is one run: a `params.json`, or a hand-started run's
/// `node-<id>.json` to merge.
fn is_run(dir: &Path) -> bool {
    probe_run(dir).unwrap_or(false)
}

/// Whether `dir` is one run, or why that cannot be known (it may not be
/// read, say): an error other than "not found" is not "no run".
fn probe_run(dir: &Path) -> std::io::Result<bool> {
    if dir.join(rundir::PARAMS).try_exists()? {
        return Ok(true);
    }
    // Any node's summary: machine 0 may be the one that died without its own.
    for id in 0..rundir::MACHINES_MAX {
        if dir.join(rundir::node_name(id)).try_exists()? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Why `dir` is not a run, naming the path and any error other than
/// "not found" (a permission, say) rather than calling it empty.
fn why_not_a_run(dir: &Path) -> String {
    let meta = match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return "no such folder".into(),
        Err(e) => return format!("cannot read it: {e}"),
        Ok(meta) => meta,
    };
    if !meta.is_dir() {
        return "a file, not a run directory (give the folder that holds params.json)".into();
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return format!("cannot list it: {e}");
    }
    if let Err(e) = probe_run(dir) {
        return format!("cannot read its {}: {e}", rundir::PARAMS);
    }
    "no run here: no params.json, and no folder below it with one (such as a trial-1/ of `scalemodel run`)".into()
}

/// The runs in folders named after a number (`trial-2` before `trial-10`),
/// then by name.
fn sort_runs(runs: &mut [PathBuf]) {
    let number = |p: &PathBuf| -> (u64, PathBuf) {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let n = name[name.len() - digits..].parse().unwrap_or(u64::MAX);
        (n, p.clone())
    };
    runs.sort_by_cached_key(number);
}

/// The runs at or below `dir`, at any depth (a trial, a `run`'s trials, a
/// study's configurations' trials, or all of these side by side in `runs/`),
/// saying on the terminal what was found and what was passed over and why.
/// `dir` itself when there are none, so that its error names what is missing;
/// `truncated` is set when the walk stopped at its bound.
fn runs_in(dir: &Path, truncated: &mut bool) -> Vec<PathBuf> {
    let found = walk::find(dir, walk::Limits::default(), &probe_run, &sort_runs);
    for (folder, why) in &found.skipped {
        outln!("{}: skipped: {why}", folder.display());
    }
    if found.truncated {
        eprintln!(
            "{}: stopped looking after {} folders; the rest is not analysed (give a folder deeper in)",
            dir.display(),
            walk::MAX_FOLDERS
        );
        *truncated = true;
    }
    if found.runs.is_empty() {
        return vec![dir.to_owned()];
    }
    if found.runs.as_slice() != [dir] {
        outln!("{}: found {}", dir.display(), where_found(dir, &found.runs));
    }
    found.runs
}

/// "5 runs: 1 in runs, 2 in run-b, 2 in study-c/standard": the runs counted
/// by the folder they are in, relative to `dir` (`runs` here).
fn where_found(dir: &Path, runs: &[PathBuf]) -> String {
    let mut folders: Vec<(&Path, usize)> = Vec::new();
    for run in runs {
        let parent = run.parent().unwrap_or(Path::new(""));
        match folders.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, n)) => *n += 1,
            None => folders.push((parent, 1)),
        }
    }
    let parts: Vec<String> = folders
        .iter()
        .map(|(p, n)| {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            // The folder given itself, by its name, as the report across names it.
            let rel = if rel.as_os_str().is_empty() {
                p.file_name()
                    .map_or_else(|| ".".to_owned(), |n| n.to_string_lossy().into_owned())
            } else {
                rel.display().to_string()
            };
            format!("{n} in {rel}")
        })
        .collect();
    format!("{}: {}", count(runs.len() as u64, "run"), parts.join(", "))
}

/// Runs `scalemodel analyze`: each DIR is a run or a folder with runs below
/// it at any depth (the trials of `scalemodel run`, a study's, or `runs/`
/// with all of these). With more
/// than one run, a report across them goes into `out`, or by default the
/// folder given, or the one that holds every run given.
pub fn run(dirs: &[PathBuf], out: Option<&Path>) -> Result<()> {
    let mut failed = Vec::new();
    let mut analysed = Vec::new();
    let mut truncated = false;
    let found: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| runs_in(d, &mut truncated))
        .collect();
    if truncated {
        failed.push(format!(
            "not every folder was looked at (at most {} per folder given)",
            walk::MAX_FOLDERS
        ));
    }
    for dir in found {
        let dir = &dir;
        if !is_run(dir) {
            eprintln!("{}: {}", dir.display(), why_not_a_run(dir));
            failed.push(format!("{} could not be analysed", dir.display()));
            continue;
        }
        let started = Instant::now();
        match analyse(dir).and_then(|a| report::write(&a).map(|()| a).map_err(Into::into)) {
            Ok(a) => {
                outln!("{}", summary_line(&a, started.elapsed().as_secs_f64()));
                for v in a.violations.iter().take(50) {
                    outln!("  {v}");
                }
                let total = a.violations.total();
                if total > 50 {
                    outln!(
                        "  … and {} more; report.md lists the first {}",
                        total - 50,
                        a.violations.len()
                    );
                }
                if total > 0 {
                    failed.push(format!("{} breaks {total} rules", dir.display()));
                }
                analysed.push(a);
            }
            Err(e) => {
                eprintln!("{}: {e:#}", dir.display());
                failed.push(format!("{} could not be analysed", dir.display()));
            }
        }
    }
    if analysed.len() > 1 {
        let into = match (out, dirs) {
            (Some(out), _) => out.to_owned(),
            (None, [one]) => one.clone(),
            _ => common_folder(analysed.iter().map(|a| a.dir.as_path())),
        };
        match write_across(&into, &analysed) {
            Ok(()) => outln!("across the runs: {}", into.join("report.md").display()),
            Err(e) => failed.push(format!("no report across the runs: {e:#}")),
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// The deepest folder that holds every path of `paths` (`.` when they share none).
fn common_folder<'a>(mut paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let Some(first) = paths.next() else {
        return PathBuf::from(".");
    };
    let mut common = first.parent().unwrap_or(first).to_owned();
    for p in paths {
        while !p.starts_with(&common) {
            if !common.pop() {
                return PathBuf::from(".");
            }
        }
    }
    if common.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        common
    }
}

/// Writes the report across `runs` into `dir`: the configurations and the
/// title that `dir`'s own `report.json` records, when it lists exactly these
/// runs (a folder written by `run` or `study`); otherwise one configuration
/// per folder the runs are in.
fn write_across(dir: &Path, runs: &[Analysis]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // A run's folder as the report's links and names see it: the report's own
    // folder by its name.
    let relative = |p: &Path| -> String {
        let rel = p.strip_prefix(dir).unwrap_or(p);
        if rel.as_os_str().is_empty() {
            folder_name(p)
        } else {
            rel.display().to_string()
        }
    };
    let paths: Vec<String> = runs.iter().map(|a| relative(&a.dir)).collect();
    let recorded = match record::read(dir) {
        Ok(Some(r)) => match r.place(&paths) {
            Ok(places) => Some((r, places)),
            Err(e) => {
                outln!(
                    "{}: not kept ({e}): the report groups the runs by folder",
                    dir.join(record::REPORT_JSON).display()
                );
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            outln!(
                "{}: not kept ({e}): the report groups the runs by folder",
                dir.join(record::REPORT_JSON).display()
            );
            None
        }
    };
    let mut intro = None;
    let (mut topology_points, mut clock_points) = (Vec::new(), Vec::new());
    let (title, set_groups, bands) = match recorded {
        Some((mut r, places)) => {
            topology_points = std::mem::take(&mut r.topology_points);
            clock_points = std::mem::take(&mut r.clock_points);
            outln!(
                "{}: kept its title and its {} in order",
                dir.join(record::REPORT_JSON).display(),
                count(r.groups.len() as u64, "configuration")
            );
            intro = r.intro.clone();
            recorded_groups(r, &places, runs, &paths)
        }
        None => {
            let (title, groups) = folder_groups(runs, &paths, &relative);
            (title, groups, Vec::new())
        }
    };
    let intro = intro.unwrap_or_else(|| "Every run given to `scalemodel analyze`, grouped by the folder each is in. Each run's own report is in its folder.".to_owned());
    let mut set = Set::of(title, set_groups);
    if bands.iter().any(Option::is_some) || set.groups.iter().any(|g| !g.scale.is_empty()) {
        // A study's simulator at scale, which its folder does not hold.
        let net = runs.iter().any(|a| a.run.params.mode == "net");
        set.keep_scale(if net { "network" } else { "simulated" }, bands);
    }
    if !topology_points.is_empty() {
        set.add_topologies(topology_points);
    }
    if !clock_points.is_empty() {
        set.add_clocks(clock_points);
    }
    report::write_set(dir, &set, &intro)?;
    Ok(())
}

/// A folder's name, or the path when it has none.
fn folder_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The configurations of the run set, as `Set::of` takes them.
type SetGroups<'a> = Vec<(Group, Vec<(&'a Analysis, String)>)>;

/// The record's title and configurations, each run at its `places` entry.
fn recorded_groups<'a>(
    r: record::Record,
    places: &[(usize, usize)],
    runs: &'a [Analysis],
    paths: &[String],
) -> (String, SetGroups<'a>, Vec<Option<Band>>) {
    let mut slots: Vec<Vec<Option<(&Analysis, String)>>> = r
        .groups
        .iter()
        .map(|g| vec![None; g.trials.len()])
        .collect();
    for ((a, path), &(g, k)) in runs.iter().zip(paths).zip(places) {
        if let Some(slot) = slots.get_mut(g).and_then(|s| s.get_mut(k)) {
            *slot = Some((a, path.clone()));
        }
    }
    let mut bands = Vec::new();
    let groups = r
        .groups
        .into_iter()
        .zip(slots)
        .map(|(g, trials)| {
            bands.extend(g.trials.into_iter().map(|t| t.band));
            let mut group = Group::new(g.name, g.rates, g.sides);
            group.scale = g.scale;
            (group, trials.into_iter().flatten().collect())
        })
        .collect();
    (r.title, groups, bands)
}

/// One configuration per folder the runs are in, in the order met, and a
/// title that counts them.
fn folder_groups<'a>(
    runs: &'a [Analysis],
    paths: &[String],
    relative: &dyn Fn(&Path) -> String,
) -> (String, SetGroups<'a>) {
    let mut groups: Vec<(PathBuf, Vec<(&Analysis, String)>)> = Vec::new();
    for (a, path) in runs.iter().zip(paths) {
        let parent = a.dir.parent().unwrap_or(Path::new("")).to_owned();
        let row = (a, path.clone());
        match groups.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, g)) => g.push(row),
            None => groups.push((parent, vec![row])),
        }
    }
    let title = match groups.as_slice() {
        [(folder, _)] => format!(
            "`{}`: {}",
            folder_name(folder),
            count(runs.len() as u64, "run")
        ),
        _ => format!(
            "{} in {} folders, side by side",
            count(runs.len() as u64, "run"),
            groups.len()
        ),
    };
    let set_groups = groups
        .into_iter()
        .map(|(parent, trials)| {
            let first = &trials[0].0.run.params;
            let same_rates = trials
                .iter()
                .all(|(a, _)| a.run.params.rates == first.rates);
            let rates = match first.rate_range {
                Some([lo, hi])
                    if trials
                        .iter()
                        .all(|(a, _)| a.run.params.rate_range == first.rate_range) =>
                {
                    format!("{lo}..={hi}")
                }
                _ if same_rates => crate::report::text::joined(&first.rates, ","),
                _ => "mixed".to_owned(),
            };
            let group = Group::new(relative(&parent), rates, first.sides);
            (group, trials)
        })
        .collect();
    (title, set_groups)
}

fn summary_line(a: &Analysis, secs: f64) -> String {
    let slow = a.figures.iter().min_by_key(|m| m.rate);
    let verdict = if a.violations.is_empty() {
        "conforms".to_owned()
    } else {
        count(a.violations.total(), "violation")
    };
    let queue = slow.map_or_else(String::new, |m| {
        format!(
            "; slowest machine {} inbox growth {} msgs/s (predicted {} at load {}), max jump {}",
            m.id,
            signed(m.queue.growth_per_s, 2),
            fixed(m.estimate.predicted_growth_per_s, 2),
            crate::analysis::load_words(m.estimate.load),
            m.jumps.max
        )
    });
    let ends = not_completed(&a.run.params)
        .map(|e| format!("; not completed: {e}"))
        .unwrap_or_default();
    let late = rundir::lateness(&a.run.params)
        .map(|l| format!("; late ticks: {l}"))
        .unwrap_or_default();
    format!(
        "{}: {verdict}{ends}{late}{queue}; analysed in {secs:.3} s",
        a.dir.display()
    )
}
