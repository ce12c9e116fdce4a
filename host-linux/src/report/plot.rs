//! The run's pictures, as PNG files drawn with plotters and the DejaVu Sans
//! font that the binary carries, so they render on a machine with no fonts.

use std::path::Path;
use std::sync::Once;

use super::{PLOTS, ReportError};
use crate::analysis::{self, Analysis, MachineFigures, fastest};
use crate::rundir;

type Result<T> = std::result::Result<T, ReportError>;

use plotters::prelude::*;
use plotters::style::FontStyle;

/// Width and height of every picture, in pixels.
const SIZE: (u32, u32) = (1000, 600);
/// One colour per machine, by id.
const COLOURS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];

/// A line of a chart: its legend and its points.
pub type Series = (String, Vec<(f64, f64)>);

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

/// A line chart of one series per machine, against model time.
pub fn lines(path: &Path, title: &str, y_desc: &str, series: &[Series]) -> Result<()> {
    font();
    let e = err(path);
    let points = series.iter().flat_map(|s| s.1.iter());
    let x_max = points.clone().map(|p| p.0).fold(1e-9, f64::max);
    let (y_min, y_max) = points.fold((0.0, 1.0), |(lo, hi), p| {
        (f64::min(lo, p.1), f64::max(hi, p.1))
    });
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, y_min..y_max * 1.05)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("model time (s)")
        .y_desc(y_desc)
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(&e)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(&e)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(&e)?;
    root.present().map_err(&e)
}

/// One histogram panel per machine: how many events changed the clock by each size.
pub fn histograms(path: &Path, title: &str, panels: &[(String, Vec<(u64, u64)>)]) -> Result<()> {
    font();
    let e = err(path);
    let x_max = panels
        .iter()
        .flat_map(|p| p.1.iter().map(|b| b.0))
        .max()
        .unwrap_or(1)
        + 1;
    let y_max = panels
        .iter()
        .flat_map(|p| p.1.iter().map(|b| b.1))
        .max()
        .unwrap_or(1);
    let root = BitMapBackend::new(path, (SIZE.0, SIZE.1 + 200)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let root = root.titled(title, ("sans-serif", 26)).map_err(&e)?;
    for (i, (area, (name, bars))) in root
        .split_evenly((panels.len().max(1), 1))
        .iter()
        .zip(panels)
        .enumerate()
    {
        let colour = COLOURS[i % COLOURS.len()];
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .caption(name, ("sans-serif", 18))
            .build_cartesian_2d(
                0.5..x_max as f64 + 0.5,
                (0.8..y_max as f64 * 2.0).log_scale(),
            )
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc("clock change in one event")
            .y_desc("events (log scale)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(&e)?;
        chart
            .draw_series(bars.iter().map(|&(size, count)| {
                let x = size as f64;
                Rectangle::new([(x - 0.4, 0.8), (x + 0.4, count as f64)], colour.filled())
            }))
            .map_err(&e)?;
    }
    root.present().map_err(&e)
}

fn legend(m: &MachineFigures) -> String {
    format!("machine {} ({}/s)", m.id, m.rate)
}

/// Draws a run's four pictures into its directory.
pub fn trial(a: &Analysis) -> Result<()> {
    let (logs, figs, p) = (&a.run.logs, &a.figures, &a.run.params);
    let series = |y: fn(&rundir::Row) -> f64| -> Vec<Series> {
        figs.iter()
            .zip(logs.iter())
            .map(|(m, rows)| {
                (
                    legend(m),
                    rows.iter()
                        .map(|r| (r.model_ns as f64 / 1e9, y(r)))
                        .collect(),
                )
            })
            .collect()
    };
    lines(
        &a.dir.join(PLOTS[0].0),
        "Logical clock against model time",
        "Lamport clock",
        &series(|r| r.clock as f64),
    )?;
    lines(
        &a.dir.join(PLOTS[1].0),
        "Inbox length after each event",
        "messages waiting",
        &series(|r| r.queue_len as f64),
    )?;
    let panels: Vec<(String, Vec<(u64, u64)>)> = figs
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
    histograms(
        &a.dir.join(PLOTS[2].0),
        "Size of each clock change",
        &panels,
    )?;
    let fast = fastest(&p.rates);
    let end_ns = (p.duration_s * 1e9) as u64;
    let drift: Vec<Series> = figs
        .iter()
        .zip(logs.iter())
        .map(|(m, rows)| (legend(m), analysis::drift_series(&logs[fast], rows, end_ns)))
        .collect();
    lines(
        &a.dir.join(PLOTS[3].0),
        &format!("How far each clock trails machine {fast}, the fastest"),
        "clock units behind",
        &drift,
    )?;
    Ok(())
}
