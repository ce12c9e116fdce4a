//! Box plots of a figure across trials or configurations.

use super::*;

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
pub(super) fn jitter(k: usize) -> f64 {
    let mut z = (k as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// The smallest span of an axis of measures that are not counts (such as
/// msgs/s), so that all-zero data still gets an axis; the page's box plots
/// (`html/set.js`) use the same, and 1 for counts.
pub const SPAN_MIN_RATE: f64 = 0.1;

/// The y axis for `values`: it follows the data, from 0 or below (0 is no
/// growth, no jump), spans at least 1 for counts (`integer`) and
/// [`SPAN_MIN_RATE`] otherwise, with a margin each side.
fn y_axis(values: impl Iterator<Item = f64>, integer: bool) -> (f64, f64) {
    let points: Vec<(f64, f64)> = values.chain([0.0]).map(|v| (0.0, v)).collect();
    let (lo, hi) = y_bounds(points.iter());
    padded(lo, hi, if integer { 1.0 } else { SPAN_MIN_RATE })
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
    let marked = marks
        .iter()
        .filter(|m| m.1.is_finite() && groups.iter().any(|g| g.0 == m.0));
    let all = || values().copied().chain(marked.clone().map(|m| m.1));
    // Whole numbers tick as counts. All zeros say nothing of what they
    // count: they get the smaller span, ticked at whole numbers (only 0),
    // right for a count and for a rate alike.
    let integer = all().all(|v| v.fract() == 0.0);
    let zeros = all().all(|v| v == 0.0);
    let (lo, hi) = y_axis(all(), integer && !zeros);
    let n = groups.len().max(1);
    let root = BitMapBackend::new(path, (WIDTH_PX, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let (plot, key) = root.split_horizontally(WIDTH_PX - KEY_PX);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, ticked(lo, hi, 10, integer))
        .map_err(&e)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .x_labels(0)
        .disable_x_mesh()
        .label_style(("sans-serif", 14))
        .bold_line_style(GRID)
        .light_line_style(WHITE);
    if integer {
        mesh.y_label_formatter(&int_label);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_axis_follows_the_data_with_a_floor() {
        // Growth in 0..0.16 msgs/s: the page's axis was fixed at 0..1.
        let (lo, hi) = y_axis([0.02, 0.16, 0.07].into_iter(), false);
        assert!(lo < 0.0 && lo > -0.02 && hi > 0.16 && hi < 0.2, "{lo} {hi}");
        // All zero: still an axis, 0..0.1 with its margins.
        let (lo, hi) = y_axis([0.0, 0.0].into_iter(), false);
        assert!(lo < 0.0 && (0.1..0.12).contains(&hi), "{lo} {hi}");
        let (lo, hi) = y_axis([0.0].into_iter(), true);
        assert!(lo < 0.0 && (1.0..1.2).contains(&hi), "{lo} {hi}");
        // Negative values (a tie's drift) stay in view; 0 always is.
        let (lo, hi) = y_axis([-3.0, 5.0].into_iter(), true);
        assert!(lo < -3.0 && hi > 5.0, "{lo} {hi}");
        let (lo, hi) = y_axis([40.0, 60.0].into_iter(), true);
        assert!(lo < 0.0 && hi > 60.0, "{lo} {hi}");
        assert!(ticks(lo, hi, 10, true).iter().all(|t| t.fract() == 0.0));
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
}
