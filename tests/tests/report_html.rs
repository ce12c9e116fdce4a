//! `report.html` in a real browser: a trial's page and a page across
//! trials, loaded in headless Chromium, must run without an error or a
//! console message and draw every event and message of the run.
//!
//! The pages and their screenshots stay in `target/report-html/` (printed).
//! Without a browser the tests say "skipped: no chromium" and pass, unless
//! `SCALEMODEL_REQUIRE_BROWSER=1`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use scalemodel::analysis::Analysis;
use scalemodel::analysis::causality::{Causal, EventId};
use scalemodel::report::evidence::Verdict;
use scalemodel::report::set::{Group, Set, TrialRow};
use scalemodel::report::{html, plot};
use scalemodel::rundir::{Row, read_run};
use scalemodel_tests::browser::{self, Loaded};
use scalemodel_tests::{scalemodel, scalemodel_bin, sim_into};

/// Writes `text` to stderr past the test harness's capture, so that it
/// shows even when the test passes.
fn loud(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The browser, or `None` (and a loud note) when there is none and none is required.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(b) = browser::find() {
        return Some(b);
    }
    let required = std::env::var("SCALEMODEL_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "SCALEMODEL_REQUIRE_BROWSER=1 but no browser: install chromium or set SCALEMODEL_CHROMIUM"
    );
    loud(&format!(
        "\n*** {test}: skipped: no chromium (install it, or set SCALEMODEL_CHROMIUM; SCALEMODEL_REQUIRE_BROWSER=1 makes this a failure) ***\n"
    ));
    None
}

/// `target/report-html/<name>`, emptied: where a test leaves its pages and screenshots.
fn out_dir(name: &str) -> PathBuf {
    let target = scalemodel_bin()
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in target/<profile>/");
    let dir = target.join("report-html").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the output directory is writable");
    loud(&format!(
        "{name}: pages and screenshots in {}",
        dir.display()
    ));
    dir
}

/// Runs `analyze` on `dir`; true when the run conforms.
fn analyze(dir: &Path) -> bool {
    let out = scalemodel()
        .arg("analyze")
        .arg(dir)
        .output()
        .expect("analyze runs");
    out.status.success()
}

/// Events, received messages and messages sent, counted from a run's CSV logs.
fn counts_from_logs(dir: &Path) -> (u64, u64, u64) {
    let (mut events, mut received, mut sent) = (0, 0, 0);
    for m in 0..3 {
        let text =
            std::fs::read_to_string(dir.join(format!("machine-{m}.csv"))).expect("the log reads");
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            events += 1;
            match fields[4] {
                "receive" => received += 1,
                "send" => sent += fields[7].split(';').count() as u64,
                _ => {}
            }
        }
    }
    (events, received, sent)
}

/// The page ran to its end with no error and no console message.
fn assert_clean(page: &Path, loaded: &Loaded) {
    assert!(
        loaded.console.is_empty(),
        "{} wrote to the console:\n{}",
        page.display(),
        loaded.console.join("\n")
    );
    assert_eq!(
        loaded.attribute("html", "data-error"),
        None,
        "{} caught errors; the box at its top says:\n{}",
        page.display(),
        loaded
            .dom
            .split("id=\"errors\"")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(2000)
            .collect::<String>()
    );
    assert_eq!(
        loaded.attribute("body", "data-ready").as_deref(),
        Some("1"),
        "{} did not finish drawing",
        page.display()
    );
}

/// The trial page of the run in `dir` drew every event and message.
fn assert_trial_page(browser: &Path, dir: &Path) -> Loaded {
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).expect("analyze wrote report.html");
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "{} loads something from outside itself",
        page.display()
    );
    let loaded = browser::load(browser, &page);
    assert_clean(&page, &loaded);
    let (events, received, sent) = counts_from_logs(dir);
    let number = |a| {
        loaded
            .body_number(a)
            .unwrap_or_else(|| panic!("the page sets {a}"))
    };
    assert_eq!(number("data-events-total"), events, "events embedded");
    assert_eq!(number("data-events-embedded"), events, "events embedded");
    assert_eq!(number("data-events"), events, "events drawn in full view");
    assert_eq!(
        number("data-marks"),
        events,
        "one mark per event in full view"
    );
    assert_eq!(number("data-messages"), received, "message arrows drawn");
    assert_eq!(
        number("data-unreceived"),
        sent - received,
        "messages not received"
    );
    loaded
}

#[test]
fn a_trial_page_draws_every_event_and_message_without_an_error() {
    let Some(browser) = browser_or_skip("report_html trial") else {
        return;
    };
    let out = out_dir("trial");
    // A slow machine whose inbox grows: jumps, drift and unreceived messages.
    let dir = out.join("run");
    sim_into(
        &dir,
        &[
            "--seed",
            "3",
            "--rates",
            "1,6,6",
            "--sides",
            "4",
            "--duration",
            "40",
        ],
    );
    assert!(analyze(&dir), "the run conforms");
    let loaded = assert_trial_page(&browser, &dir);
    eprintln!("trial page loaded in {:?}", loaded.elapsed);
    assert_png_colours(&loaded);
    assert_one_time_axis(&loaded);
    let page = dir.join("report.html");
    browser::screenshot(&browser, &page, "", &out.join("trial.png"), (1400, 2400));
    // Zoomed in, hovering machine 0's seventh event: a receive that jumps its clock by 6.
    let zoomed = out.join("trial-hover.png");
    browser::screenshot(
        &browser,
        &page,
        "#zoom=2,8&hover=0,6",
        &zoomed,
        (1400, 1500),
    );

    // A broken run: one receive gone. The page still draws what is there.
    let broken = out.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for f in [
        "machine-0.csv",
        "machine-1.csv",
        "machine-2.csv",
        "params.json",
    ] {
        std::fs::copy(dir.join(f), broken.join(f)).unwrap();
    }
    let log = broken.join("machine-1.csv");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(",receive,"))
        .expect("a receive");
    lines.remove(at);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    assert!(!analyze(&broken), "the broken run does not conform");
    let loaded = assert_trial_page(&browser, &broken);
    assert!(
        loaded.dom.contains("violation"),
        "the page names the violations"
    );
}

/// The page drew each machine in the colour its PNGs use.
fn assert_png_colours(loaded: &Loaded) {
    let drawn = loaded
        .attribute("body", "data-machine-colours")
        .expect("the page records its machines' colours");
    let png: Vec<String> = (0..3)
        .map(|i| {
            let c = plot::machine_colour(i);
            format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
        })
        .collect();
    assert_eq!(drawn, png.join(" "), "the page's colours are the PNGs'");
}

/// The diagram and every chart below it put a time in one pixel column:
/// `data-time-x` holds, for the view's start, middle and end, the page x of
/// that time on the diagram and then on each chart.
fn assert_one_time_axis(loaded: &Loaded) {
    let at = loaded
        .attribute("body", "data-time-x")
        .expect("the page records where its times fall");
    for probe in at.split(',') {
        let xs: Vec<f64> = probe
            .split(' ')
            .map(|x| x.parse().expect("a number"))
            .collect();
        assert_eq!(xs.len(), 4, "the diagram and three charts: {at}");
        assert!(
            xs.iter().all(|x| (x - xs[0]).abs() <= 0.5),
            "one time at different x on the diagram and the charts: {at}"
        );
    }
}

#[test]
fn a_faulted_trial_page_draws_each_fault_and_ends_lost_messages_where_lost() {
    let Some(browser) = browser_or_skip("report_html faults") else {
        return;
    };
    let out = out_dir("faults");
    let dir = out.join("run");
    let faults = "crash 1@20s, partition 0-2@5s..15s, pause 2@30s..35s";
    sim_into(
        &dir,
        &["--seed", "5", "--duration", "60", "--faults", faults],
    );
    let loaded = assert_trial_page(&browser, &dir);
    let number = |a| loaded.body_number(a);
    // The crash, the partition and the pause, each drawn once in full view;
    // the 15 messages machine 1's crash destroyed end at crosses, the one
    // still in machine 2's inbox at the end keeps its dashed line.
    assert_eq!(number("data-faults"), Some(3), "faults drawn");
    assert_eq!(number("data-lost"), Some(15), "messages drawn lost");
    assert_eq!(number("data-unreceived"), Some(16), "never received");
    let page = dir.join("report.html");
    browser::screenshot(&browser, &page, "", &out.join("faults.png"), (1400, 2400));
    browser::screenshot(
        &browser,
        &page,
        "#zoom=3,36",
        &out.join("faults-zoomed.png"),
        (1400, 800),
    );
}

/// Analyses each run directory under `root` named in `trials`, as a group.
fn group(root: &Path, name: &str, rates: &str, seeds: &[u64]) -> Group {
    let trials = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| {
            let path = format!("{name}/trial-{}", i + 1);
            let dir = root.join(&path);
            let seed = seed.to_string();
            sim_into(
                &dir,
                &["--seed", &seed, "--rates", rates, "--duration", "20"],
            );
            assert!(analyze(&dir), "{path} conforms");
            let analysis = Analysis::of(&dir, read_run(&dir).expect("the run reads"));
            TrialRow::of(&analysis, path)
        })
        .collect();
    let mut group = Group::new(name, rates, 10);
    group.trials = trials;
    group
}

#[test]
fn a_set_page_links_and_plots_every_trial_without_an_error() {
    let Some(browser) = browser_or_skip("report_html set") else {
        return;
    };
    let out = out_dir("set");
    let groups = vec![
        group(&out, "standard", "1..=6", &[1, 2, 3]),
        group(&out, "smaller spread of rates", "3..=4", &[1, 2]),
    ];
    let set = Set {
        title: "Two configurations".to_owned(),
        groups,
        verdicts: vec![
            Verdict {
                statement: "Clocks only increase.".to_owned(),
                held: 5,
                of: 5,
                note: "checked on every event".to_owned(),
                skipped: 0,
                paired: false,
                why_skipped: String::new(),
                effect: None,
            },
            Verdict {
                statement: "The slowest machine jumps most.".to_owned(),
                held: 3,
                of: 5,
                note: "largest jump per machine".to_owned(),
                skipped: 0,
                paired: false,
                why_skipped: String::new(),
                effect: None,
            },
            Verdict {
                statement: "A smaller die loads the inboxes.".to_owned(),
                held: 0,
                of: 0,
                note: "no trial with a smaller die".to_owned(),
                skipped: 0,
                paired: false,
                why_skipped: String::new(),
                effect: None,
            },
        ],
        scale_verdicts: Vec::new(),
        band_verdicts: Vec::new(),
        answers: Vec::new(),
        topology_points: Vec::new(),
        topology_table: Vec::new(),
        topology_answers: Vec::new(),
        clock_points: Vec::new(),
        clock_table: Vec::new(),
        clock_answers: Vec::new(),
    };
    html::set(&out, &set, "Two configurations, side by side.", &[])
        .expect("the set page is written");
    let page = out.join("report.html");
    let loaded = browser::load(&browser, &page);
    assert_clean(&page, &loaded);
    assert_eq!(loaded.body_number("data-groups"), Some(2));
    // Three panels, one dot per trial each.
    assert_eq!(loaded.body_number("data-points"), Some(3 * 5));
    for link in [
        "href=\"standard/trial-3/report.html\"",
        "href=\"smaller%20spread%20of%20rates/trial-1/report.html\"",
    ] {
        assert!(loaded.dom.contains(link), "the page links {link}");
    }
    for verdict in [
        "holds in all 5 trials",
        "holds in 3 of 5 trials",
        "not tested",
    ] {
        assert!(loaded.dom.contains(verdict), "the page says {verdict}");
    }
    // The medians across trials, report.md's table, one row per configuration.
    for cell in [
        "<th>concurrent event pairs (%)</th>",
        "<tr><td>standard</td><td>3</td>",
    ] {
        assert!(
            loaded.dom.contains(cell),
            "the page's table across trials has {cell}"
        );
    }
    for t in ["standard/trial-1", "smaller spread of rates/trial-2"] {
        assert!(
            out.join(t).join("report.html").is_file(),
            "{t} has its page"
        );
    }
    browser::screenshot(&browser, &page, "", &out.join("set.png"), (1400, 1800));
}

#[test]
fn a_study_page_opens_with_its_answers_and_draws_its_effect_views() {
    let Some(browser) = browser_or_skip("report_html study") else {
        return;
    };
    let out = out_dir("study");
    let status = scalemodel()
        .args([
            "study",
            "--sim",
            "--sim-trials",
            "20",
            "--topology-trials",
            "4",
            "--trials",
            "2",
            "--duration",
            "20",
            "--seed",
            "11",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("the study runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let page = out.join("report.html");
    let loaded = browser::load(&browser, &page);
    assert_clean(&page, &loaded);
    // Three views, each drawing every simulated trial (4 configurations ×
    // 20) and every trial of the study (4 × 2).
    assert_eq!(loaded.body_number("data-view-dots"), Some(3 * 4 * (20 + 2)));
    let answers = loaded
        .dom
        .find("<h2>Answers</h2>")
        .expect("the page answers");
    assert!(answers < loaded.dom.find("<h2>Verdicts</h2>").expect("verdicts"));
    assert!(
        loaded
            .dom
            .contains("How does the slow machine's inbox grow?")
    );
    assert!(loaded.dom.contains("sign test p"));
    // The topology study: its table and its verdict, in the answers and below.
    assert!(
        loaded
            .dom
            .contains("<h2>The topologies in the simulator</h2>")
    );
    assert!(
        loaded.dom.contains("the notebook&#39;s idea")
            || loaded.dom.contains("the notebook's idea")
    );
    browser::screenshot(&browser, &page, "", &out.join("study.png"), (1400, 5000));
}

/// What the page should record for hovering `f`: its lane and index, then
/// the events in its causal past and future and those concurrent with it,
/// split by Lamport's clocks (below, equal, above f's), each asked of the
/// vector clocks `analyze` rebuilds, event by event.
fn cone_from_vector_clocks(logs: &[Vec<Row>], causal: &Causal, f: EventId) -> String {
    let clock = logs[usize::from(f.0)][f.1 as usize].clock;
    let (mut past, mut future, mut concurrent) = (0, 0, 0);
    let (mut before, mut level, mut after) = (0, 0, 0);
    for (l, log) in logs.iter().enumerate() {
        for (k, row) in log.iter().enumerate() {
            let e = (l as u8, k as u32);
            if e == f {
                continue;
            }
            if causal.happened_before(e, f) {
                past += 1;
            } else if causal.happened_before(f, e) {
                future += 1;
            } else {
                concurrent += 1;
                match row.clock.cmp(&clock) {
                    std::cmp::Ordering::Less => before += 1,
                    std::cmp::Ordering::Equal => level += 1,
                    std::cmp::Ordering::Greater => after += 1,
                }
            }
        }
    }
    format!(
        "{} {} {past} {future} {concurrent} {before} {level} {after}",
        f.0, f.1
    )
}

/// A run to hover on the page: its name, its `sim` flags, and each hovered
/// event as its lane and how far along its log.
type Hovered = (&'static str, &'static [&'static str], &'static [(u8, f64)]);

#[test]
fn hovering_an_event_shows_the_causal_past_and_future_the_vector_clocks_give() {
    let Some(browser) = browser_or_skip("report_html causal cone") else {
        return;
    };
    let out = out_dir("cone");
    let runs: [Hovered; 2] = [
        (
            "three",
            &["--seed", "1", "--duration", "40"],
            &[(0, 0.55), (2, 0.25), (1, 0.0)],
        ),
        (
            "ring-of-five",
            &[
                "--seed",
                "6",
                "--duration",
                "30",
                "--machines",
                "5",
                "--topology",
                "ring",
                "--faults",
                "crash 2@10s",
            ],
            &[(3, 0.5), (2, 0.9), (4, 0.2)],
        ),
    ];
    for (name, args, hovers) in runs {
        let dir = out.join(name);
        sim_into(&dir, args);
        let run = read_run(&dir).expect("the run reads");
        let causal = Causal::of(&run.logs);
        let page = dir.join("report.html");
        let events: Vec<EventId> = hovers
            .iter()
            .map(|&(i, along)| {
                let len = run.logs[usize::from(i)].len();
                assert!(len > 0, "{name}: machine {i} logged events");
                (i, ((len - 1) as f64 * along) as u32)
            })
            .collect();
        for &f in &events {
            let loaded = browser::load_at(&browser, &page, &format!("#hover={},{}", f.0, f.1));
            assert_clean(&page, &loaded);
            let got = loaded
                .attribute("body", "data-cone")
                .expect("the page records the hovered event's cone");
            let want = cone_from_vector_clocks(&run.logs, &causal, f);
            assert_eq!(got, want, "{name}: the cone of {f:?}");
        }
        let (i, j) = events[0];
        let at = run.logs[usize::from(i)][j as usize].model_ns as f64 / 1e9;
        browser::screenshot(
            &browser,
            &page,
            &format!("#zoom={},{}&hover={i},{j}", at - 2.0, at + 2.0),
            &out.join(format!("{name}-cone.png")),
            (1400, 1100),
        );
    }
}
