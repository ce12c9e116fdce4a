//! The run's pictures, as PNG files drawn with plotters and the DejaVu Sans
//! font that the binary carries, so they render on a machine with no fonts.
//!
//! Time series are small multiples: one panel per machine on a shared time
//! axis, the machine in colour and (where the scales agree) the others in grey
//! behind it. Overlaid lines hid machines with equal rates behind each other;
//! panels show every machine whatever the rates, and the grey keeps the
//! comparison. Every value holds until the next event, so series are steps.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PLOTS, ReportError};
use crate::text::fixed;
use scalemodel_analysis::{self as analysis, Analysis, MachineFigures, fastest};
use scalemodel_rundir::Row;

mod across;
mod charts;
pub mod effect;

pub use across::{Summary, across, quantile, summary};
pub use charts::{Overlay, Panel, histograms, panels};

type Result<T> = std::result::Result<T, ReportError>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Width of every picture, in pixels.
const WIDTH_PX: u32 = 1000;
/// Height of one machine's panel, in pixels.
const PANEL_PX: u32 = 190;
/// Height of the figure title and of the shared x axis, in pixels.
const TITLE_PX: u32 = 40;
const X_AXIS_PX: u32 = 50;
/// Width of the key column right of the plots, in pixels.
const KEY_PX: u32 = 230;
/// Machine `id`'s colour: the page's too (see [`super::palette`]).
pub fn machine_colour(id: usize) -> RGBColor {
    let (r, g, b) = super::palette::machine(id);
    RGBColor(r, g, b)
}
/// The other machines, behind a panel's own.
const GREY: RGBColor = RGBColor(185, 185, 185);
const GRID: RGBColor = RGBColor(225, 225, 225);

fn font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; it cannot fail to parse.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> ReportError + '_ {
    move |e| ReportError::Draw {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// `lo..=hi` widened by 7% of its span each side so nothing lies on the
/// frame, and to at least `min_span` so a constant series gets an axis.
fn padded(lo: f64, hi: f64, min_span: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let hi = hi.max(lo + min_span);
    let pad = 0.07 * (hi - lo);
    match (lo - pad, hi + pad) {
        (lo, hi) if lo.is_finite() && hi.is_finite() && lo < hi => (lo, hi),
        // Values near f64::MAX, or a span too small for f64 to widen.
        _ => (0.0, 1.0),
    }
}

/// The smallest and largest `y` of `points`, infinite when there are none.
fn y_bounds<'a>(points: impl Iterator<Item = &'a (f64, f64)>) -> (f64, f64) {
    points.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    })
}

/// A tick label for a count: the integer, or nothing between integers.
fn int_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() + 0.0)
    } else {
        String::new()
    }
}

/// A tick label for a measure: its shortest decimal, without float noise.
fn num_label(v: &f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6 + 0.0)
}

/// Round tick values over `lo..=hi`, about `max` of them (at most one
/// more): steps of 1, 2 or 5 times a power of ten, and with `whole` never
/// below 1, so that counts tick at whole numbers only.
fn ticks(lo: f64, hi: f64, max: usize, whole: bool) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return vec![];
    }
    let max = max.max(2) as f64;
    let raw = (hi - lo) / max;
    let mut step = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * step >= raw {
            step *= m;
            break;
        }
    }
    if whole {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil();
    (0..)
        .map(|k| (first + f64::from(k)) * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .take(max as usize + 1)
        .map(|v| v + 0.0)
        .collect()
}

/// An f64 axis over `lo..hi` whose grid lines and labels sit at `ticks`
/// only (plotters' own choice for a count axis of 10 is 2.5, 7.5).
struct Ticked {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

/// The axis `lo..hi` ticked at [`ticks`]`(lo, hi, max, whole)`.
fn ticked(lo: f64, hi: f64, max: usize, whole: bool) -> Ticked {
    Ticked {
        range: (lo..hi).into(),
        ticks: ticks(lo, hi, max, whole),
    }
}

impl Ranged for Ticked {
    // The labels come from each chart's own formatter.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// The corners of a post-step line through `points`: each value holds until
/// the next point.
pub fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            out.push((x, points[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

/// A key entry drawn as a line sample: its text, colour, width and dashing.
type KeyEntry = (String, RGBColor, u32, bool);

fn draw_key(path: &Path, area: &Area, entries: &[KeyEntry]) -> Result<()> {
    let e = err(path);
    let text = ("sans-serif", 14).into_font().color(&BLACK);
    let text = text.pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (label, colour, width, dashed)) in entries.iter().enumerate() {
        let y = 36 + 22 * k as i32;
        let style = colour.stroke_width(*width);
        let line = vec![(8, y), (42, y)];
        if *dashed {
            area.draw(&DashedPathElement::new(line, 7, 4, style))
        } else {
            area.draw(&PathElement::new(line, style))
        }
        .map_err(&e)?;
        area.draw(&Text::new(label.clone(), (50, y), text.clone()))
            .map_err(&e)?;
    }
    Ok(())
}

fn legend(m: &MachineFigures) -> String {
    format!("machine {} ({}/s)", m.id, m.rate)
}

/// Model seconds of a row.
fn secs(r: &Row) -> f64 {
    r.model_ns as f64 / 1e9
}

/// Model seconds of a log's last event; 0 for an empty log.
fn last_s(rows: &[Row]) -> f64 {
    rows.last().map_or(0.0, secs)
}

/// `(0, 0)`, then `y` after each event, held until `stop_s`: a clock and an
/// inbox start at 0, and keep their last value until the run or the log ends.
fn from_zero(rows: &[Row], y: fn(&Row) -> f64, stop_s: f64) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
        .chain(rows.iter().map(|r| (secs(r), y(r))))
        .collect();
    let last = *points.last().unwrap_or(&(0.0, 0.0));
    if stop_s > last.0 {
        points.push((stop_s, last.1));
    }
    points
}

/// The caption's note for a log that ends early.
fn ending(early: bool, rows: &[Row]) -> String {
    match (early, rows.last()) {
        (_, None) => ", no events logged".into(),
        (true, Some(r)) => format!(", log ends at {:.1} s", secs(r)),
        (false, Some(_)) => String::new(),
    }
}

/// The fitted and the predicted growth of an inbox, drawn over its panel: the
/// fit is the least-squares line of the report's `growth_per_s`, over the
/// events it was fitted to; the prediction grows from an empty inbox at 0 s.
fn queue_lines(m: &MachineFigures, rows: &[Row]) -> Vec<Overlay> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let n = rows.len() as f64;
    let mx = rows.iter().map(secs).sum::<f64>() / n;
    let my = rows.iter().map(|r| r.queue_len as f64).sum::<f64>() / n;
    // Rounded first, so a slope of -0.001 reads +0.00 rather than -0.00.
    let rate = |v: f64| format!("{:+.2}", (v * 100.0).round() / 100.0 + 0.0);
    let (slope, predicted) = (m.queue.growth_per_s, m.estimate.predicted_growth_per_s);
    let fit = |t: f64| my + slope * (t - mx);
    let (t0, t1) = (secs(first), secs(last));
    vec![
        Overlay {
            label: format!("fit {} msgs/s", rate(slope)),
            ends: [(t0, fit(t0)), (t1, fit(t1))],
            dashed: false,
        },
        Overlay {
            label: format!("predicted {} msgs/s", rate(predicted)),
            ends: [(0.0, 0.0), (t1, predicted * t1)],
            dashed: true,
        },
    ]
}

fn drift_title(rates: &[u32], early: bool) -> String {
    let reference = analysis::drift_reference(rates);
    let title = format!(
        "How far each clock trails {}",
        reference.replace("'s,", ",")
    );
    if early {
        format!("{title}, to its log's end")
    } else {
        title
    }
}

/// Draws a run's four pictures into its directory.
pub fn trial(a: &Analysis) -> Result<()> {
    let (logs, figs, p) = (&a.run.logs, &a.figures, &a.run.params);
    let x_end = logs.iter().map(|r| last_s(r)).fold(p.duration_s, f64::max);
    let end_ns = (p.duration_s.max(0.0) * 1e9) as u64;
    let early: Vec<bool> = figs
        .iter()
        .zip(logs.iter())
        .map(|(m, rows)| analysis::ends_early(rows, m.rate, end_ns))
        .collect();
    let stop_s = |i: usize| analysis::stop_ns(&logs[i], figs[i].rate, end_ns) as f64 / 1e9;
    let panel = |i: usize, title: String, key: &str, points: Vec<(f64, f64)>, overlays| Panel {
        title: title + &ending(early[i], &logs[i]),
        key: key.into(),
        colour: machine_colour(i),
        // A machine with no events has nothing to draw, not a line at 0.
        points: if logs[i].is_empty() { vec![] } else { points },
        ends_early: early[i],
        overlays,
    };
    let clocks: Vec<Panel> = figs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let title = format!("{}: final clock {}", legend(m), m.final_clock);
            panel(
                i,
                title,
                "its clock",
                from_zero(&logs[i], |r| r.clock as f64, stop_s(i)),
                vec![],
            )
        })
        .collect();
    panels(
        &a.dir.join(PLOTS[0].0),
        "Logical clock against model time",
        "Lamport clock",
        x_end,
        true,
        &clocks,
    )?;
    let queues: Vec<Panel> = figs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let title = format!(
                "{}: longest {}, load {}",
                legend(m),
                m.queue.max,
                analysis::load_words(m.estimate.load)
            );
            let points = from_zero(&logs[i], |r| r.queue_len as f64, stop_s(i));
            panel(i, title, "inbox length", points, queue_lines(m, &logs[i]))
        })
        .collect();
    panels(
        &a.dir.join(PLOTS[1].0),
        "Inbox length after each event",
        "messages waiting",
        x_end,
        false,
        &queues,
    )?;
    let bars: Vec<(String, Vec<(u64, u64)>)> = figs
        .iter()
        .map(|m| {
            let ones = m.jumps.histogram.get(&1).copied().unwrap_or(0);
            let jumps = match m.jumps.jumps {
                0 => "no jumps".to_owned(),
                n => format!("{n} jumps, largest +{}", m.jumps.max),
            };
            let name = format!("{}: {jumps}; {ones} steps of +1 not drawn", legend(m));
            (
                name,
                m.jumps.histogram.iter().map(|(&k, &v)| (k, v)).collect(),
            )
        })
        .collect();
    histograms(
        &a.dir.join(PLOTS[2].0),
        "Clock jumps: how many events changed a clock by more than 1",
        &bars,
    )?;
    let fast = fastest(&p.rates);
    let drift: Vec<Panel> = figs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let points = analysis::drift_series(&a.run, i);
            let (mean, largest) = (m.drift.mean, m.drift.max);
            // A machine tied for the highest rate has a gap too: to the
            // other tied clock when that one is ahead.
            let title = if i == fast && analysis::fastest_all(&p.rates).len() == 1 {
                format!("{}: the reference", legend(m))
            } else {
                format!("{}: mean {}, largest {largest}", legend(m), fixed(mean, 1))
            };
            panel(i, title, "its gap", points, vec![])
        })
        .collect();
    panels(
        &a.dir.join(PLOTS[3].0),
        &drift_title(&p.rates, early[fast]),
        "clock units behind",
        x_end,
        false,
        &drift,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_holds_each_value_until_the_next_point() {
        let pts = [(0.0, 0.0), (1.0, 3.0), (2.5, 4.0)];
        let want = [(0.0, 0.0), (1.0, 0.0), (1.0, 3.0), (2.5, 3.0), (2.5, 4.0)];
        assert_eq!(steps(&pts), want);
        assert_eq!(steps(&[]), []);
        assert_eq!(steps(&[(1.0, 2.0)]), [(1.0, 2.0)]);
    }

    #[test]
    fn ranges_have_headroom_and_a_width() {
        let (lo, hi) = padded(0.0, 100.0, 1.0);
        assert!(lo < 0.0 && hi > 100.0, "{lo} {hi}");
        let (lo, hi) = padded(0.0, 0.0, 1.0);
        assert!(lo < 0.0 && hi > 1.0, "{lo} {hi}");
        assert_eq!(padded(f64::INFINITY, f64::NEG_INFINITY, 1.0), (-0.07, 1.07));
        assert_eq!(padded(f64::NAN, 1.0, 1.0), (-0.07, 1.07));
    }

    #[test]
    fn count_labels_are_integers_or_nothing() {
        assert_eq!(int_label(&250.0), "250");
        assert_eq!(int_label(&-0.0), "0");
        assert_eq!(int_label(&0.5), "");
        assert_eq!(num_label(&0.30000000000000004), "0.3");
        assert_eq!(num_label(&10.0), "10");
    }

    #[test]
    fn counts_tick_at_whole_numbers_only() {
        // An inbox of at most 10: plotters' own choice had lines at 2.5, 7.5.
        assert_eq!(ticks(-0.7, 10.7, 6, true), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(-0.07, 1.07, 6, true), [0.0, 1.0]);
        assert_eq!(ticks(-0.35, 5.35, 20, true), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            ticks(0.0, 400.0, 6, true),
            [0.0, 100.0, 200.0, 300.0, 400.0]
        );
        let rates = ticks(0.0, 0.16, 6, false);
        let want = [0.0, 0.05, 0.1, 0.15];
        assert!(
            rates.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{rates:?}"
        );
        assert_eq!(rates.len(), want.len());
        assert_eq!(ticks(0.0, 0.16, 6, true), [0.0]);
        for (lo, hi) in [(-3.3, 47.1), (0.5, 1e9), (-1e18, 1e18), (2.0, 2.5)] {
            let t = ticks(lo, hi, 7, true);
            assert!(t.len() <= 8, "{lo} {hi}: {t:?}");
            assert!(
                t.iter().all(|v| v.fract() == 0.0 && (lo..=hi).contains(v)),
                "{t:?}"
            );
        }
        assert!(ticks(f64::NAN, 1.0, 6, true).is_empty());
        assert!(ticks(1.0, 1.0, 6, true).is_empty());
    }

    fn row(model_s: f64, clock: u64) -> Row {
        Row {
            line: 2,
            machine: 0,
            tick: 0,
            model_ns: (model_s * 1e9) as u64,
            system_ns: 0,
            kind: scalemodel_rundir::Kind::Internal,
            clock,
            queue_len: 0,
            peers: vec![],
            msg_clock: None,
            seqs: vec![],
            hlc: None,
            vc: None,
        }
    }

    #[test]
    fn a_series_holds_to_the_run_end_or_stops_where_its_log_does() {
        let rows = [row(1.0, 1), row(2.0, 5)];
        let clock = |r: &Row| r.clock as f64;
        let held = from_zero(&rows, clock, 10.0);
        assert_eq!(held, [(0.0, 0.0), (1.0, 1.0), (2.0, 5.0), (10.0, 5.0)]);
        assert_eq!(from_zero(&rows, clock, 2.0).last(), Some(&(2.0, 5.0)));
        assert_eq!(from_zero(&[], clock, 0.0), [(0.0, 0.0)]);
        assert!(analysis::ends_early(&rows, 1, 10_000_000_000));
        assert!(!analysis::ends_early(&rows, 1, 3_000_000_000));
        assert!(analysis::ends_early(&[], 0, 10_000_000_000));
    }
}
