//! Small multiples over time, and histograms.

use super::*;

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
            .build_cartesian_2d(0.0..x_end, ticked(lo, hi, 6, true))
            .map_err(&e)?;
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(y_desc)
            .axis_desc_style(("sans-serif", 15))
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

/// The bars of a jump histogram: sizes above 1 that happened.
fn jumps_only(bars: &[(u64, u64)]) -> Vec<(u64, u64)> {
    bars.iter()
        .copied()
        .filter(|&(size, n)| size > 1 && n > 0)
        .collect()
}

/// One histogram panel per machine of how many events changed its clock by
/// each size above 1: the jumps, on a linear count axis shared by the
/// panels, each bar labelled with its count. `panels` holds each machine's
/// caption and its (size, events) pairs; sizes of 1 and below are not drawn.
///
/// One design for this picture and the page's histogram (`html/jumps.js`):
/// a +1 is not a jump, and its bar (hundreds of events) would flatten the
/// jumps' bars (a few each) on a linear axis, while a log axis makes 3 and 30
/// look alike; the question is how large the jumps are, so the bars are the
/// jumps, counted linearly, and the +1 steps are a number in the caption.
pub fn histograms(path: &Path, title: &str, panels: &[(String, Vec<(u64, u64)>)]) -> Result<()> {
    font();
    let e = err(path);
    let panels: Vec<(&String, Vec<(u64, u64)>)> =
        panels.iter().map(|(n, b)| (n, jumps_only(b))).collect();
    let sizes = || panels.iter().flat_map(|p| p.1.iter().map(|b| b.0));
    let x_lo = sizes().min().unwrap_or(2) as f64 - 0.5;
    let x_hi = sizes().max().unwrap_or(2) as f64 + 0.5;
    let y_max = panels
        .iter()
        .flat_map(|p| p.1.iter().map(|b| b.1))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    // Room above the tallest bar for its label.
    let y_hi = y_max * 1.15;
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
        .zip(&panels)
        .enumerate()
    {
        let colour = machine_colour(i);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(75)
            .caption(name.as_str(), ("sans-serif", 17))
            .build_cartesian_2d(ticked(x_lo, x_hi, 20, true), ticked(0.0, y_hi, 5, true))
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc("clock change in one event (jumps only: above +1)")
            .y_desc("events")
            .x_label_formatter(&|v| format!("+{}", int_label(v)).replace("+-", "-"))
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
                Rectangle::new([(x - 0.4, 0.0), (x + 0.4, count as f64)], colour.filled())
            }))
            .map_err(&e)?;
        if labelled {
            chart
                .draw_series(bars.iter().map(|&(size, count)| {
                    Text::new(
                        count.to_string(),
                        (size as f64, count as f64 + y_max * 0.02),
                        label.clone(),
                    )
                }))
                .map_err(&e)?;
        }
        if bars.is_empty() {
            let note = ("sans-serif", 16).into_font().color(&BLACK);
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                "no jumps",
                (w as i32 / 2 - 30, h as i32 / 2),
                note,
            ))
            .map_err(&e)?;
        }
    }
    root.present().map_err(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(points: Vec<(f64, f64)>, ends_early: bool) -> Panel {
        Panel {
            title: "machine 0".into(),
            key: "its clock".into(),
            colour: machine_colour(0),
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
    fn the_histogram_draws_the_jumps_only() {
        let changes = [(1, 240), (2, 5), (3, 0), (20, 1)];
        assert_eq!(jumps_only(&changes), [(2, 5), (20, 1)]);
        assert_eq!(jumps_only(&[(0, 3), (1, 9)]), []);
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
}
