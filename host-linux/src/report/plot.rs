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
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PLOTS, ReportError};
use crate::analysis::{self, Analysis, MachineFigures, fastest};
use crate::rundir::Row;

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
/// One colour per machine, by id.
const COLOURS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];
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

/// How many integer ticks fit `lo..hi` with at most `max` of them.
fn int_ticks(lo: f64, hi: f64, max: usize) -> usize {
    ((hi - lo).floor().max(1.0) as usize)
        .saturating_add(1)
        .clamp(2, max)
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

/// A straight line drawn over a panel, such as a fit, with its key entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Its key entry.
    pub label: String,
    /// Its two ends, as (model s, value).
    pub ends: [(f64, f64); 2],
    /// Dashed (a prediction) or solid (a measurement).
    pub dashed: bool,
}

/// One machine's panel in a figure of small multiples.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Its caption.
    pub title: String,
    /// Its key entry for `points`.
    pub key: String,
    /// Its colour.
    pub colour: RGBColor,
    /// Its series as (model s, value), drawn as a post-step line.
    pub points: Vec<(f64, f64)>,
    /// The series ends before the run does: its end is marked with a cross.
    pub ends_early: bool,
    /// Lines drawn over it.
    pub overlays: Vec<Overlay>,
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

/// A figure of one panel per machine sharing the x axis `0..x_end` (model s);
/// with `shared_y` they share the y scale too and each shows the others in grey.
pub fn panels(
    path: &Path,
    title: &str,
    y_desc: &str,
    x_end: f64,
    shared_y: bool,
    panels: &[Panel],
) -> Result<()> {
    font();
    let e = err(path);
    let x_end = if x_end.is_finite() && x_end > 0.0 {
        x_end
    } else {
        1.0
    };
    let n = panels.len().max(1) as u32;
    let height = TITLE_PX + n * PANEL_PX + X_AXIS_PX;
    let root = BitMapBackend::new(path, (WIDTH_PX, height)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let (top, mut rest) = root.split_vertically(TITLE_PX);
    top.titled(title, ("sans-serif", 24)).map_err(&e)?;
    let mut areas = Vec::new();
    for _ in 1..n {
        let (area, below) = rest.split_vertically(PANEL_PX);
        areas.push(area);
        rest = below;
    }
    areas.push(rest);
    let bounds = |p: &Panel| {
        let ends = p.overlays.iter().flat_map(|o| o.ends.iter());
        y_bounds(p.points.iter().chain(ends))
    };
    let all = panels
        .iter()
        .map(bounds)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
            (lo.min(b.0), hi.max(b.1))
        });
    for (i, (area, panel)) in areas.iter().zip(panels).enumerate() {
        let last = i + 1 == panels.len();
        let (plot, key) = area.split_horizontally(WIDTH_PX - KEY_PX);
        let (lo, hi) = if shared_y { all } else { bounds(panel) };
        let (lo, hi) = padded(lo, hi, 1.0);
        let mut chart = ChartBuilder::on(&plot)
            .caption(&panel.title, ("sans-serif", 17))
            .margin_top(4)
            .margin_right(12)
            .margin_left(8)
            .x_label_area_size(if last { X_AXIS_PX } else { 0 })
            .y_label_area_size(75)
            .build_cartesian_2d(0.0..x_end, lo..hi)
            .map_err(&e)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(y_desc)
            .axis_desc_style(("sans-serif", 15))
            .y_labels(int_ticks(lo, hi, 6))
            .y_label_formatter(&int_label)
            .x_label_formatter(&num_label)
            .label_style(("sans-serif", 14))
            .bold_line_style(GRID)
            .light_line_style(WHITE);
        if last {
            mesh.x_desc("model time (s)");
        }
        mesh.draw().map_err(&e)?;
        let mut entries: Vec<KeyEntry> = vec![(panel.key.clone(), panel.colour, 2, false)];
        if shared_y && panels.len() > 1 {
            for other in panels.iter().filter(|o| !std::ptr::eq(*o, panel)) {
                chart
                    .draw_series(LineSeries::new(steps(&other.points), GREY.stroke_width(1)))
                    .map_err(&e)?;
            }
            entries.push(("the other machines".into(), GREY, 1, false));
        }
        let own = panel.colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(steps(&panel.points), own))
            .map_err(&e)?;
        if let (true, Some(&end)) = (panel.ends_early, panel.points.last()) {
            chart
                .draw_series(std::iter::once(Cross::new(end, 6, own)))
                .map_err(&e)?;
            entries.push(("× the log ends".into(), WHITE, 1, false));
        }
        // Thin black over the coloured data, so both stay visible where they meet.
        for o in &panel.overlays {
            let width = if o.dashed { 2 } else { 1 };
            let style = BLACK.stroke_width(width);
            if o.dashed {
                chart.draw_series(DashedLineSeries::new(o.ends, 8, 8, style))
            } else {
                chart.draw_series(LineSeries::new(o.ends, style))
            }
            .map_err(&e)?;
            entries.push((o.label.clone(), BLACK, width, o.dashed));
        }
        draw_key(path, &key, &entries)?;
        if last && !shared_y {
            let note = ("sans-serif", 14).into_font().color(&BLACK);
            key.draw(&Text::new("each panel on its own scale", (8, 150), note))
                .map_err(&e)?;
        }
    }
    root.present().map_err(&e)
}

/// One histogram panel per machine: how many events changed the clock by
/// each size, on a log scale from 0.5 so a count of 1 is a visible bar, each
/// bar labelled with its count.
pub fn histograms(path: &Path, title: &str, panels: &[(String, Vec<(u64, u64)>)]) -> Result<()> {
    font();
    let e = err(path);
    let sizes = || panels.iter().flat_map(|p| p.1.iter().map(|b| b.0));
    let x_lo = sizes().min().unwrap_or(1) as f64 - 0.5;
    let x_hi = sizes().max().unwrap_or(1) as f64 + 0.5;
    let y_max = panels
        .iter()
        .flat_map(|p| p.1.iter().map(|b| b.1))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let n = panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (WIDTH_PX, TITLE_PX + n * 230)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let root = root.titled(title, ("sans-serif", 24)).map_err(&e)?;
    let label = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    // Few enough bars for a label each.
    let labelled = x_hi - x_lo <= 40.0;
    for (i, (area, (name, bars))) in root
        .split_evenly((panels.len().max(1), 1))
        .iter()
        .zip(panels)
        .enumerate()
    {
        let colour = COLOURS[i % COLOURS.len()];
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(75)
            .caption(name, ("sans-serif", 17))
            // Room above the tallest bar for its label.
            .build_cartesian_2d(x_lo..x_hi, (0.5..y_max * 4.0).log_scale())
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc("clock change in one event")
            .y_desc("events (log scale)")
            .x_labels(int_ticks(x_lo, x_hi, 20))
            .x_label_formatter(&int_label)
            .y_label_formatter(&int_label)
            .label_style(("sans-serif", 14))
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .disable_x_mesh()
            .draw()
            .map_err(&e)?;
        chart
            .draw_series(bars.iter().map(|&(size, count)| {
                let x = size as f64;
                Rectangle::new([(x - 0.4, 0.5), (x + 0.4, count as f64)], colour.filled())
            }))
            .map_err(&e)?;
        if labelled {
            chart
                .draw_series(bars.iter().map(|&(size, count)| {
                    Text::new(
                        count.to_string(),
                        (size as f64, count as f64 * 1.08),
                        label.clone(),
                    )
                }))
                .map_err(&e)?;
        }
    }
    root.present().map_err(&e)
}

/// The five numbers of a box plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The smallest value: the lower whisker.
    pub min: f64,
    /// The first quartile: the box's bottom.
    pub q1: f64,
    /// The median.
    pub median: f64,
    /// The third quartile: the box's top.
    pub q3: f64,
    /// The largest value: the upper whisker.
    pub max: f64,
}

/// The `q`-quantile of sorted `v`, interpolated linearly between order
/// statistics (numpy's default, R's type 7); `None` for no values.
pub fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let last = v.len().checked_sub(1)?;
    let h = q.clamp(0.0, 1.0) * last as f64;
    let (i, frac) = (h.floor() as usize, h - h.floor());
    let next = v[(i + 1).min(last)];
    Some(v[i] + frac * (next - v[i]))
}

/// The box-plot summary of the finite `values`; `None` when there are none.
pub fn summary(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    Some(Summary {
        min: *v.first()?,
        q1: quantile(&v, 0.25)?,
        median: quantile(&v, 0.5)?,
        q3: quantile(&v, 0.75)?,
        max: *v.last()?,
    })
}

/// A deterministic horizontal offset in `-0.5..0.5` for the `k`th point: a
/// hash of `k` (splitmix64), so the offsets follow neither the values nor
/// their order.
fn jitter(k: usize) -> f64 {
    let mut z = (k as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// Box plots of values across trials or configurations: one box per group
/// (median, quartiles, whiskers at min and max) on one y scale, with every
/// value drawn as a jittered point; `marks` are reference values by group
/// name (such as a prediction), drawn as a short dashed line on that box.
pub fn across(
    path: &Path,
    title: &str,
    y_desc: &str,
    groups: &[(String, Vec<f64>)],
    marks: &[(String, f64)],
) -> Result<()> {
    font();
    let e = err(path);
    let finite = |v: &&f64| v.is_finite();
    let values = || groups.iter().flat_map(|g| g.1.iter()).filter(finite);
    let integer = values().all(|v| v.fract() == 0.0);
    let marked = marks
        .iter()
        .filter(|m| m.1.is_finite() && groups.iter().any(|g| g.0 == m.0));
    let (lo, hi) = y_bounds(
        values()
            .map(|&v| (0.0, v))
            .chain(marked.clone().map(|m| (0.0, m.1)))
            .collect::<Vec<_>>()
            .iter(),
    );
    let min_span = if integer {
        1.0
    } else {
        (hi.abs().max(lo.abs()) * 0.1).max(1e-9)
    };
    let (lo, hi) = padded(lo, hi, min_span);
    let n = groups.len().max(1);
    let root = BitMapBackend::new(path, (WIDTH_PX, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let (plot, key) = root.split_horizontally(WIDTH_PX - KEY_PX);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, lo..hi)
        .map_err(&e)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .x_labels(0)
        .disable_x_mesh()
        .label_style(("sans-serif", 14))
        .bold_line_style(GRID)
        .light_line_style(WHITE);
    if integer {
        mesh.y_labels(int_ticks(lo, hi, 10))
            .y_label_formatter(&int_label);
    } else {
        mesh.y_label_formatter(&num_label);
    }
    mesh.draw().map_err(&e)?;
    let ink = RGBColor(60, 60, 60);
    // One colour for every group: the machines' colours would suggest machines.
    const POINT: RGBAColor = RGBAColor(31, 119, 180, 0.6);
    let name_style = ("sans-serif", 15)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, (name, vals)) in groups.iter().enumerate() {
        let x = i as f64;
        if let Some(s) = summary(vals) {
            let line = |pts: Vec<(f64, f64)>, w| PathElement::new(pts, ink.stroke_width(w));
            chart
                .draw_series([
                    line(vec![(x, s.q3), (x, s.max)], 1),
                    line(vec![(x, s.q1), (x, s.min)], 1),
                    line(vec![(x - 0.1, s.max), (x + 0.1, s.max)], 1),
                    line(vec![(x - 0.1, s.min), (x + 0.1, s.min)], 1),
                    line(vec![(x - 0.25, s.median), (x + 0.25, s.median)], 3),
                ])
                .map_err(&e)?;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.25, s.q1), (x + 0.25, s.q3)],
                    ink.stroke_width(1),
                )))
                .map_err(&e)?;
        }
        chart
            .draw_series(
                vals.iter()
                    .filter(finite)
                    .enumerate()
                    .map(|(k, &v)| Circle::new((x + 0.3 * jitter(k), v), 3, POINT.filled())),
            )
            .map_err(&e)?;
        for m in marks.iter().filter(|m| m.0 == *name && m.1.is_finite()) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x - 0.35, m.1), (x + 0.35, m.1)],
                    6,
                    4,
                    BLACK.stroke_width(2),
                ))
                .map_err(&e)?;
        }
        let (px, py) = chart.backend_coord(&(x, lo));
        plot.draw(&Text::new(name.clone(), (px, py + 8), name_style.clone()))
            .map_err(&e)?;
    }
    let mut entries: Vec<KeyEntry> = vec![
        ("median".into(), ink, 3, false),
        ("box: quartiles".into(), ink, 1, false),
        ("whiskers: min, max".into(), ink, 1, false),
        ("● one value each".into(), WHITE, 1, false),
    ];
    if marked.clone().next().is_some() {
        entries.push(("reference".into(), BLACK, 2, true));
    }
    draw_key(path, &key, &entries)?;
    root.present().map_err(&e)
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

fn drift_title(fast: usize, early: bool) -> String {
    let title = format!("How far each clock trails machine {fast}, the fastest");
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
        colour: COLOURS[i % COLOURS.len()],
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
            let title = format!("{}: longest {}", legend(m), m.queue.max);
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
            let name = format!(
                "{}: {} jumps > 1, largest {}",
                legend(m),
                m.jumps.jumps,
                m.jumps.max
            );
            (
                name,
                m.jumps.histogram.iter().map(|(&k, &v)| (k, v)).collect(),
            )
        })
        .collect();
    histograms(&a.dir.join(PLOTS[2].0), "Size of each clock change", &bars)?;
    let fast = fastest(&p.rates);
    let drift: Vec<Panel> = figs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let points = analysis::drift_series(&a.run, i);
            let (mean, largest) = (m.drift.mean, m.drift.max);
            let title = if i == fast {
                format!("{}: the reference", legend(m))
            } else {
                format!("{}: mean {mean:.1}, largest {largest}", legend(m))
            };
            panel(i, title, "its gap", points, vec![])
        })
        .collect();
    panels(
        &a.dir.join(PLOTS[3].0),
        &drift_title(fast, early[fast]),
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
        assert_eq!(int_ticks(-0.07, 1.07, 6), 2);
        assert_eq!(int_ticks(0.0, 400.0, 6), 6);
    }

    fn panel(points: Vec<(f64, f64)>, ends_early: bool) -> Panel {
        Panel {
            title: "machine 0".into(),
            key: "its clock".into(),
            colour: COLOURS[0],
            points,
            ends_early,
            overlays: vec![Overlay {
                label: "fit".into(),
                ends: [(0.0, 0.0), (0.1, 0.0)],
                dashed: true,
            }],
        }
    }

    #[test]
    fn odd_series_draw_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        for x_end in [0.0, 0.1, f64::NAN, 60.0] {
            panels(&path, "t", "y", x_end, true, &[]).unwrap();
            let odd = [
                panel(vec![], true),
                panel(vec![(0.0, 0.0)], false),
                panel(vec![(0.0, 0.0), (0.05, 0.0)], true),
                panel(vec![(0.0, 1e18), (0.05, -1e18)], false),
            ];
            panels(&path, "t", "y", x_end, true, &odd).unwrap();
            panels(&path, "t", "y", x_end, false, &odd).unwrap();
        }
        histograms(&path, "t", &[]).unwrap();
        let bars = vec![
            ("m".to_string(), vec![]),
            ("n".into(), vec![(0, 0), (500, 1)]),
        ];
        histograms(&path, "t", &bars).unwrap();
        assert!(path.exists());
    }

    #[test]
    fn quartiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.25), Some(1.75));
        assert_eq!(quantile(&v, 0.5), Some(2.5));
        assert_eq!(quantile(&v, 0.75), Some(3.25));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7.0], 0.25), Some(7.0));
        let s = summary(&[5.0, f64::NAN, 1.0, 3.0, 2.0, 4.0]).unwrap();
        let want = Summary {
            min: 1.0,
            q1: 2.0,
            median: 3.0,
            q3: 4.0,
            max: 5.0,
        };
        assert_eq!(s, want);
        assert_eq!(summary(&[f64::INFINITY]), None);
    }

    #[test]
    fn jitter_is_deterministic_and_inside_the_box() {
        let offsets: Vec<f64> = (0..1000).map(jitter).collect();
        assert!(offsets.iter().all(|j| (-0.5..0.5).contains(j)));
        assert_eq!(offsets, (0..1000).map(jitter).collect::<Vec<_>>());
    }

    /// A sample of [`across`]: set `SCALEMODEL_PLOT_SAMPLES` to a directory
    /// to keep it there and look at it.
    #[test]
    fn across_draws_groups_and_odd_input() {
        let dir = tempfile::tempdir().unwrap();
        let out = std::env::var_os("SCALEMODEL_PLOT_SAMPLES")
            .map_or_else(|| dir.path().to_owned(), std::path::PathBuf::from);
        let growth = |base: f64| -> Vec<f64> {
            (0..20)
                .map(|k| base + 0.3 * jitter(k * 7) + 0.1 * jitter(k))
                .collect()
        };
        let groups = vec![
            ("rates 1,6,6".to_string(), growth(2.9)),
            ("rates 2,4,6".into(), growth(0.7)),
            ("rates 6,6,6".into(), growth(0.0)),
            ("one trial".into(), vec![1.2]),
            ("no trials".into(), vec![]),
        ];
        let marks = vec![
            ("rates 1,6,6".to_string(), 3.0),
            ("rates 2,4,6".into(), 0.67),
            ("rates 6,6,6".into(), 0.0),
            ("not a group".into(), 99.0),
        ];
        let title = "Slowest machine's inbox growth across 20 trials";
        across(&out.join("across.png"), title, "msgs/s", &groups, &marks).unwrap();
        let jumps: Vec<(String, Vec<f64>)> = (1..=6)
            .map(|r| {
                (
                    format!("{r}/s"),
                    (0..15).map(|k| ((k * r) % 9) as f64).collect(),
                )
            })
            .collect();
        let title = "Largest clock jump by rate";
        across(
            &out.join("across-int.png"),
            title,
            "clock units",
            &jumps,
            &[],
        )
        .unwrap();
        let path = dir.path().join("odd.png");
        across(&path, "t", "y", &[], &[]).unwrap();
        let zeros = [("a".to_string(), vec![0.0; 5])];
        across(&path, "t", "y", &zeros, &[]).unwrap();
        let odd = [("a".to_string(), vec![f64::NAN, 1e300, -1e300])];
        across(&path, "t", "y", &odd, &[("a".into(), f64::NAN)]).unwrap();
    }

    fn row(model_s: f64, clock: u64) -> Row {
        Row {
            line: 2,
            machine: 0,
            tick: 0,
            model_ns: (model_s * 1e9) as u64,
            system_ns: 0,
            kind: crate::rundir::Kind::Internal,
            clock,
            queue_len: 0,
            peers: vec![],
            msg_clock: None,
            seqs: vec![],
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
