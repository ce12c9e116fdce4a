//! `report.html`: one self-contained page per trial and per set of trials.
//!
//! Every byte of script and style is embedded (`include_str!`), so a page
//! works from `file://` with no network. The charts of time use uPlot
//! 1.6.32 (MIT, © 2022 Leon Sorokin; `html/uplot/`, licence in
//! `html/uplot/LICENSE`), vendored as published on npm; the space-time
//! diagram, the histogram and the box plots are our own canvas code
//! (`html/trial.js`, `html/jumps.js`, `html/causal.js`, `html/set.js`).
//!
//! A trial's events are embedded as columns, each number stored as its
//! difference from what the model predicts (the next tick, the tick's
//! scheduled time, a clock that adds 1), so that a well-behaved run is mostly
//! zeros and ones; the page adds the predictions back and shows each log line
//! as written. At most [`EVENTS_MAX`] events are embedded: beyond that the
//! page holds the events before a cut-off time and says so.

use serde::Serialize;

use scalemodel_analysis::Analysis;
use scalemodel_rundir::not_completed;

use super::{ReportError, write_file};

mod data;
mod set;

use data::TrialData;

pub use set::set;

/// The most events a trial's page embeds: a one-hour run at 6 ticks/s on
/// every machine has 64,800, so a few hours fit whole, and a page of this
/// many loads in about a second.
pub const EVENTS_MAX: usize = 200_000;

const PAGE: &str = include_str!("html/page.html");
const STYLE: &str = include_str!("html/style.css");
const GUARD_JS: &str = include_str!("html/guard.js");
const COMMON_JS: &str = include_str!("html/common.js");
const TRIAL_JS: &str = include_str!("html/trial.js");
const JUMPS_JS: &str = include_str!("html/jumps.js");
const FAULTS_JS: &str = include_str!("html/faults.js");
const CAUSAL_JS: &str = include_str!("html/causal.js");
const UPLOT_JS: &str = include_str!("html/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("html/uplot/uPlot.min.css");

/// Writes `report.html` of the analysed trial `a` into its directory.
pub fn trial(a: &Analysis) -> Result<(), ReportError> {
    let data = TrialData::of(a);
    let body = trial_header(a, &data);
    let script = [JUMPS_JS, FAULTS_JS, CAUSAL_JS, TRIAL_JS].concat();
    let page = page(&title_of(a), &body, &json(&data), &script);
    write_file(&a.dir.join("report.html"), page)
}

/// The run's name: its folder's.
fn title_of(a: &Analysis) -> String {
    a.dir.file_name().map_or_else(
        || a.dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `text` without markdown's code marks: a window's title shows no markup.
pub fn plain(text: &str) -> String {
    text.replace('`', "")
}

/// `text` escaped for HTML, its markdown code spans (`` `x` ``) as
/// `<code>x</code>`: the titles and verdicts are written for `report.md`.
pub fn inline_code(text: &str) -> String {
    if text.matches('`').count() % 2 == 1 {
        return escape(&plain(text));
    }
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

/// A whole page: the template filled in, scripts and styles inline.
fn page(title: &str, body: &str, data: &str, script: &str) -> String {
    fill(
        PAGE,
        &[
            ("title", &escape(&plain(title))),
            ("uplot_css", UPLOT_CSS),
            ("style", STYLE),
            ("guard_js", GUARD_JS),
            ("palette", &json(&super::palette::PagePalette::new())),
            ("body", body),
            ("data", data),
            ("uplot_js", UPLOT_JS),
            ("common_js", COMMON_JS),
            ("page_js", script),
        ],
    )
}

/// `template` with each `{{key}}` replaced, in one pass: a value is never
/// searched for keys itself.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, end + 2))
        });
        match value {
            Some((v, used)) => {
                out.push_str(v);
                rest = &after[used..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<` can close it.
fn json(value: &impl Serialize) -> String {
    // Plain numbers, strings and lists: serialising cannot fail.
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
}

/// ` · N machines, topology T` for a run other than three machines under
/// `all`, whose page reads as before the topologies.
fn machines_fact(p: &scalemodel_rundir::Params) -> String {
    if p.n() == 3 && p.topology == scalemodel_rundir::Topology::All {
        String::new()
    } else {
        format!(
            " · <b>{}</b> machines, topology <b>{}</b>",
            p.n(),
            p.topology
        )
    }
}

/// The header of a trial's page: what ran, and whether it held.
fn trial_header(a: &Analysis, data: &TrialData) -> String {
    let p = &a.run.params;
    let rates = crate::text::joined(&p.rates, ", ");
    let drawn = p.rate_range.map_or_else(
        || "given".to_owned(),
        |[lo, hi]| format!("drawn from {lo}..={hi}"),
    );
    let mut h = format!(
        "<header><h1>Run <code>{}</code></h1>\n<p class=\"facts\">mode <b>{}</b> · seed <b>{}</b> · rates <b>{rates}</b> ticks/s ({}) · die of <b>{}</b> sides{} · <b>{}</b> s of model time at speed {}</p>\n",
        escape(&title_of(a)),
        escape(&p.mode),
        p.seed,
        escape(&drawn),
        p.sides,
        machines_fact(p),
        p.duration_s,
        p.speed
    );
    let total = a.violations.total();
    if total == 0 {
        h.push_str("<p class=\"ok\">Conforms: every rule of the model holds.</p>\n");
    } else {
        h.push_str(&format!(
            "<details class=\"bad\"><summary>{total} violation{} of the model's rules</summary><ul>",
            if total == 1 { "" } else { "s" }
        ));
        for v in a.violations.iter() {
            h.push_str(&format!("<li><code>{}</code></li>", escape(&v.to_string())));
        }
        if a.violations.not_kept() > 0 {
            h.push_str(&format!(
                "<li>… and {} more, counted but not listed.</li>",
                a.violations.not_kept()
            ));
        }
        h.push_str("</ul></details>\n");
    }
    match not_completed(p) {
        Some(ends) => h.push_str(&format!(
            "<p class=\"bad\">Not every machine completed: {}.</p>\n",
            escape(&ends)
        )),
        None => h.push_str("<p class=\"ok\">Every machine completed.</p>\n"),
    }
    if !data.faults.is_empty() {
        let listed: Vec<String> = data.faults.iter().map(|f| escape(&f.text)).collect();
        h.push_str(&format!(
            "<p class=\"bad\">Faults, drawn on the space-time diagram where they acted: {}. Messages lost to them: {}.</p>\n",
            listed.join("; "),
            data.lost.k.len()
        ));
    }
    if let Some(pairs) = &a.pairs {
        let (vectors, hlc_from) = crate::causality::sources(p.clock.as_deref());
        h.push_str(&format!(
            "<p class=\"facts\">Causality ({vectors}): {}.</p>\n",
            escape(&crate::causality::line(pairs))
        ));
        if let Some(skew) = crate::causality::skew(p, &a.figures) {
            h.push_str(&format!("<p class=\"facts\">{}</p>\n", inline_code(&skew)));
        }
        if let Some(hlc) = &a.hlc {
            h.push_str(&format!(
                "<p class=\"facts\">HLC ({hlc_from}): {}.</p>\n",
                escape(&crate::causality::hlc_line(hlc))
            ));
        }
    }
    if data.events_embedded < data.events_total {
        h.push_str(&format!(
            "<p class=\"bad\">This page holds the first {} of the run's {} events (those before {:.3} s of model time): a page holds at most {EVENTS_MAX}. The figures in <code>report.md</code> cover the whole run.</p>\n",
            data.events_embedded,
            data.events_total,
            data.cutoff_s.unwrap_or(0.0)
        ));
    }
    h.push_str("</header>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_keys_once_and_leaves_strangers() {
        let out = fill("a {{x}} b {{y}} {{z}} {{", &[("x", "{{y}}"), ("y", "2")]);
        assert_eq!(out, "a {{y}} b 2 {{z}} {{");
    }

    #[test]
    fn escaping_keeps_markup_out() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(json(&"</script>"), "\"\\u003c/script>\"");
    }
}
