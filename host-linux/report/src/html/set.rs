//! The page across trials: a table per configuration linking to each
//! trial's page, box plots on shared scales, and the verdicts.

use std::fmt::Write as _;
use std::path::Path;

use super::{escape, inline_code, json, page};
use crate::clocks;
use crate::evidence::{Measured, Verdict};
use crate::set::{Set, TrialRow};
use crate::text::{fixed, signed};
use crate::topology;
use crate::{ReportError, write_file};

const SET_JS: &str = include_str!("set.js");

/// Writes the page of `set` to `path`, or to `path/report.html` when `path`
/// is a directory. Each trial's `path` is taken relative to the page.
/// `intro` is the paragraph under the title, and `views` the effect-size
/// pictures beside the page (file, title) to show.
pub fn set(path: &Path, set: &Set, intro: &str, views: &[(&str, &str)]) -> Result<(), ReportError> {
    let file = if path.is_dir() {
        path.join("report.html")
    } else {
        path.to_owned()
    };
    // The page's script draws the configurations, not the topology and
    // clock studies' runs (in their CSVs and `report.json`): they stay out of it.
    let drawn = Set {
        topology_points: Vec::new(),
        clock_points: Vec::new(),
        ..set.clone()
    };
    let page = page(&set.title, &body(set, intro, views), &json(&drawn), SET_JS);
    write_file(&file, page)
}

/// The topology study: its table of medians, its verdict, and each
/// comparison with all-to-all with its effect sizes.
fn topology_section(h: &mut String, set: &Set) {
    if set.topology_table.is_empty() {
        return;
    }
    study_section(
        h,
        "The topologies in the simulator",
        "Medians over each size and topology's runs (every run is a row of <a href=\"topologies.csv\">topologies.csv</a>). Staleness is each machine's gap to the highest clock of any machine at the same model time.",
        &topology::COLUMNS,
        set.topology_table.iter().map(|r| r.cells().to_vec()),
        &topology::verdict(&set.topology_answers),
        set.topology_answers
            .iter()
            .map(|a| (&a.words, &a.effects[..])),
    );
}

/// The clock study: its table of medians, its verdict, and each skew's
/// comparison with its effect sizes.
fn clock_section(h: &mut String, set: &Set) {
    if set.clock_table.is_empty() {
        return;
    }
    let note = inline_code(clocks::INTRO).replace(
        "<code>clocks.csv</code>",
        "<a href=\"clocks.csv\">clocks.csv</a>",
    );
    study_section(
        h,
        "The clocks compared in the simulator",
        &note,
        &clocks::COLUMNS,
        set.clock_table.iter().map(|r| r.cells().to_vec()),
        &clocks::verdict(&set.clock_answers),
        set.clock_answers.iter().map(|a| (&a.words, &a.effects[..])),
    );
}

/// A study's section: `title`, the `note` under it (HTML), a table of
/// `rows` under `columns`, the `verdict`, and each comparison's words with
/// its effect sizes.
fn study_section<'a>(
    h: &mut String,
    title: &str,
    note: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
    verdict: &str,
    answers: impl Iterator<Item = (&'a String, &'a [Measured])>,
) {
    let _ = writeln!(
        h,
        "<section><h2>{}</h2>\n<p class=\"note\">{note}</p>",
        escape(title)
    );
    let head: Vec<String> = columns
        .iter()
        .map(|c| format!("<th>{}</th>", escape(c)))
        .collect();
    let _ = writeln!(
        h,
        "<table class=\"verdicts\"><thead><tr>{}</tr></thead><tbody>",
        head.concat()
    );
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| format!("<td>{}</td>", escape(c)))
            .collect();
        let _ = writeln!(h, "<tr>{}</tr>", cells.concat());
    }
    h.push_str("</tbody></table>\n");
    let _ = writeln!(h, "<p class=\"answer\">{}</p>\n<ul>", inline_code(verdict));
    for (words, effects) in answers {
        let effects: Vec<String> = effects.iter().map(|e| inline_code(&e.words())).collect();
        let _ = writeln!(
            h,
            "<li><strong>{}</strong><br><span class=\"note\">{}</span></li>",
            inline_code(words),
            effects.join("<br>")
        );
    }
    h.push_str("</ul></section>\n");
}

/// A table of `verdicts`: each with its result, its effect and how it was tested.
fn verdict_table(h: &mut String, verdicts: &[Verdict]) {
    h.push_str("<table class=\"verdicts\"><thead><tr><th>observation</th><th>result</th><th>effect (median, 95 % interval)</th><th>how it was tested</th></tr></thead><tbody>\n");
    for v in verdicts {
        let class = if v.of == 0 {
            "na"
        } else if v.held == v.of {
            "ok"
        } else if v.held * 2 < v.of {
            "bad"
        } else {
            "some"
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            inline_code(&v.statement),
            escape(&v.held_in()),
            v.effect
                .as_ref()
                .map_or_else(String::new, |m| escape(&m.words())),
            inline_code(&v.note)
        );
    }
    h.push_str("</tbody></table>\n");
}

fn body(set: &Set, intro: &str, views: &[(&str, &str)]) -> String {
    let trials: usize = set.groups.iter().map(|g| g.trials.len()).sum();
    let mut h = format!(
        "<header><h1>{}</h1><p class=\"facts\">{} configuration{}, {trials} trial{}.</p></header>\n",
        inline_code(&set.title),
        set.groups.len(),
        plural(set.groups.len()),
        plural(trials)
    );
    if !intro.is_empty() {
        let _ = writeln!(h, "<p class=\"intro\">{}</p>", inline_code(intro));
    }
    if !set.answers.is_empty() {
        h.push_str("<section><h2>Answers</h2>\n");
        for a in &set.answers {
            let links: Vec<String> = a
                .figures
                .iter()
                .map(|f| {
                    // The figure on this page when it is one of its views.
                    let target = if views.iter().any(|v| v.0 == f) {
                        format!("#{f}")
                    } else {
                        f.clone()
                    };
                    format!("<a href=\"{}\">{}</a>", escape(&target), escape(f))
                })
                .collect();
            let _ = writeln!(
                h,
                "<h3>{}</h3>\n<p class=\"answer\">{} <span class=\"note\">See {}.</span></p>",
                escape(&a.question),
                escape(&a.text),
                links.join(", ")
            );
        }
        h.push_str("</section>\n");
    }
    h.push_str("<section><h2>Verdicts</h2>\n");
    if set.verdicts.is_empty() {
        h.push_str("<p>No observation was checked.</p>\n");
    } else {
        verdict_table(&mut h, &set.verdicts);
    }
    if !set.scale_verdicts.is_empty() {
        let per = set.groups.iter().map(|g| g.scale.len()).max().unwrap_or(0);
        let _ = writeln!(
            h,
            "<h3>The same observations in the simulator at scale <span class=\"note\">{per} simulated trials per configuration, the same seeds in every configuration</span></h3>"
        );
        verdict_table(&mut h, &set.scale_verdicts);
    }
    if !set.band_verdicts.is_empty() {
        h.push_str("<h3>The trials against the simulator</h3>\n");
        verdict_table(&mut h, &set.band_verdicts);
    }
    h.push_str("</section>\n");
    topology_section(&mut h, set);
    clock_section(&mut h, set);
    if !views.is_empty() {
        h.push_str("<section><h2>Effect sizes</h2>\n<p class=\"note\">Every simulated trial a small faint dot, each of the set's own trials a large outlined one, one colour per configuration. Hover a dot for its trial.</p>\n");
        for (file, title) in views {
            let _ = writeln!(
                h,
                "<figure class=\"effect\" id=\"{0}\"><h3>{1}</h3><div class=\"view\"></div><figcaption>The same as a picture: <a href=\"{0}\">{0}</a>.</figcaption></figure>",
                escape(file),
                escape(title)
            );
        }
        h.push_str("</section>\n");
    }
    h.push_str("</section>\n<section><h2>Across trials</h2>\n<p class=\"note\">One box per configuration (quartiles, whiskers to the extremes), every trial a dot; the scales are shared by all configurations. Hover a dot for its trial.</p>\n<div id=\"boxes\"></div>\n");
    h.push_str("<p class=\"note\">Median and, in brackets, the range (least–most) over each configuration's trials.</p>\n<table class=\"trials\"><thead><tr><th>configuration</th><th>trials</th>");
    for title in crate::set::across_titles() {
        let _ = write!(h, "<th>{}</th>", escape(title));
    }
    h.push_str("</tr></thead><tbody>\n");
    for g in &set.groups {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            escape(&g.name),
            g.trials.len()
        );
        for cell in crate::set::across_cells(g) {
            let _ = write!(h, "<td>{}</td>", escape(&cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></section>\n");
    h.push_str("<section><h2>Trials</h2>\n");
    for g in &set.groups {
        let _ = writeln!(
            h,
            "<h3>{} <span class=\"note\">rates {}, die of {} sides, {} trial{}</span></h3>",
            escape(&g.name),
            escape(&g.rates),
            g.sides,
            g.trials.len(),
            plural(g.trials.len())
        );
        h.push_str("<table class=\"trials\"><thead><tr><th>trial</th><th>seed</th><th>rates (ticks/s)</th><th>model s</th><th>ended</th><th>violations</th><th>largest jump</th><th>largest drift (clock units)</th><th>slowest inbox growth (msgs/s)</th><th>predicted (msgs/s)</th><th>load</th></tr></thead><tbody>\n");
        for t in &g.trials {
            h.push_str(&row(t));
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
    h
}

fn row(t: &TrialRow) -> String {
    let rates = crate::text::joined(&t.rates, ", ");
    format!(
        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{rates}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(&href(&t.path)),
        escape(&t.path),
        t.seed,
        t.duration_s,
        if t.completed { "ok" } else { "bad" },
        if t.completed {
            "completed"
        } else {
            "not completed"
        },
        if t.violations == 0 { "ok" } else { "bad" },
        t.violations,
        t.largest_jump,
        t.largest_drift,
        signed(t.slowest_growth_per_s, 3),
        fixed(t.slowest_predicted_per_s, 2),
        scalemodel_analysis::load_words(t.point.slowest_load)
    )
}

/// The link to a trial's page: its folder, each segment percent-encoded,
/// then `report.html`.
fn href(path: &str) -> String {
    let mut out = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
        out.push('/');
    }
    out.push_str("report.html");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_show_no_markdown() {
        let set = Set::of("Run `trial-<1>`".to_owned(), vec![]);
        let html = page(&set.title, &body(&set, "", &[]), &json(&set), SET_JS);
        assert!(
            html.contains("<title>Run trial-&lt;1&gt;</title>"),
            "{}",
            &html[..400]
        );
        assert!(html.contains("<h1>Run <code>trial-&lt;1&gt;</code></h1>"));
        // The data keeps the title as written; the page draws none of it.
        assert!(
            !body(&set, "", &[]).contains('`'),
            "a backtick left in the page"
        );
        assert_eq!(super::super::inline_code("a `b` `c"), "a b c");
    }

    #[test]
    fn links_are_encoded_per_segment() {
        assert_eq!(href("trial-1"), "trial-1/report.html");
        assert_eq!(
            href("smaller spread/trial-2"),
            "smaller%20spread/trial-2/report.html"
        );
        assert_eq!(href("a\"<b"), "a%22%3Cb/report.html");
    }
}
