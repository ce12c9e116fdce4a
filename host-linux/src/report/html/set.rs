//! The page across trials: a table per configuration linking to each
//! trial's page, box plots on shared scales, and the verdicts.

use std::fmt::Write as _;
use std::path::Path;

use super::{escape, inline_code, json, page};
use crate::report::set::{Set, TrialRow};
use crate::report::{ReportError, write_file};
use crate::text::{fixed, signed};

const SET_JS: &str = include_str!("set.js");

/// Writes the page of `set` to `path`, or to `path/report.html` when `path`
/// is a directory. Each trial's `path` is taken relative to the page.
pub fn set(path: &Path, set: &Set) -> Result<(), ReportError> {
    let file = if path.is_dir() {
        path.join("report.html")
    } else {
        path.to_owned()
    };
    let page = page(&set.title, &body(set), &json(set), SET_JS);
    write_file(&file, page)
}

fn body(set: &Set) -> String {
    let trials: usize = set.groups.iter().map(|g| g.trials.len()).sum();
    let mut h = format!(
        "<header><h1>{}</h1><p class=\"facts\">{} configuration{}, {trials} trial{}.</p></header>\n",
        inline_code(&set.title),
        set.groups.len(),
        plural(set.groups.len()),
        plural(trials)
    );
    h.push_str("<section><h2>Verdicts</h2>\n");
    if set.verdicts.is_empty() {
        h.push_str("<p>No observation was checked.</p>\n");
    } else {
        h.push_str("<table class=\"verdicts\"><thead><tr><th>observation</th><th>result</th><th>how it was tested</th></tr></thead><tbody>\n");
        for v in &set.verdicts {
            let (class, result) = if v.of == 0 {
                ("na", "not tested".to_owned())
            } else if v.held == v.of {
                ("ok", format!("holds in all {} trials", v.of))
            } else {
                ("bad", format!("holds in {} of {} trials", v.held, v.of))
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"{class}\">{result}</td><td>{}</td></tr>",
                inline_code(&v.statement),
                inline_code(&v.note)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n<section><h2>Across trials</h2>\n<p class=\"note\">One box per configuration (quartiles, whiskers to the extremes), every trial a dot; the scales are shared by all configurations. Hover a dot for its trial.</p>\n<div id=\"boxes\"></div></section>\n");
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
        h.push_str("<table class=\"trials\"><thead><tr><th>trial</th><th>seed</th><th>rates (ticks/s)</th><th>model s</th><th>ended</th><th>violations</th><th>largest jump</th><th>largest drift (clock units)</th><th>slowest inbox growth (msgs/s)</th><th>predicted (msgs/s)</th></tr></thead><tbody>\n");
        for t in &g.trials {
            h.push_str(&row(t));
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
    h
}

fn row(t: &TrialRow) -> String {
    let [r0, r1, r2] = t.rates;
    format!(
        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{r0}, {r1}, {r2}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
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
        fixed(t.slowest_predicted_per_s, 2)
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
        let html = page(&set.title, &body(&set), &json(&set), SET_JS);
        assert!(
            html.contains("<title>Run trial-&lt;1&gt;</title>"),
            "{}",
            &html[..400]
        );
        assert!(html.contains("<h1>Run <code>trial-&lt;1&gt;</code></h1>"));
        // The data keeps the title as written; the page draws none of it.
        assert!(!body(&set).contains('`'), "a backtick left in the page");
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
