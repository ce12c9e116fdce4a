//! The effect-size views of a study: every trial a point against what
//! drives its figure — the rate ratio for jumps and drift, the load for
//! inbox growth — the simulator's trials small and faint, the set's own
//! trials large and outlined, each configuration in its own colour.

use plotters::coord::ranged1d::{KeyPointHint, Ranged, ValueFormatter};

use super::across::jitter;
use super::*;
use crate::evidence::Point;

/// Configuration `k`'s colour (the page's too: `palette.rs`).
fn config_colour(k: usize) -> RGBColor {
    let (r, g, b) = crate::palette::configuration(k);
    RGBColor(r, g, b)
}

/// A configuration's points: its name, its simulated trials at scale and its own trials.
pub struct Config<'a> {
    /// Its name.
    pub name: &'a str,
    /// The simulator's trials at scale.
    pub scale: Vec<&'a Point>,
    /// The set's own trials.
    pub trials: Vec<&'a Point>,
}

/// What one view draws: file, title, the axes' descriptions, how to read
/// x and y from a point, whether y is on a log scale, and whether the
/// queueing prediction and its critical region are drawn.
pub struct View {
    /// The picture's file name.
    pub file: &'static str,
    /// Its title.
    pub title: &'static str,
    /// The x axis.
    pub x_desc: &'static str,
    /// The y axis.
    pub y_desc: &'static str,
    /// x of a point.
    pub x: fn(&Point) -> f64,
    /// y of a point.
    pub y: fn(&Point) -> f64,
    /// y on a log scale (of 1 + y): one outlier would flatten the rest.
    pub log_y: bool,
    /// Draws the prediction `y = max(0, x - 1)` and the critical region.
    pub queueing: bool,
}

/// The slowest machine's inbox growth per tick of its own.
fn growth_per_tick(p: &Point) -> f64 {
    p.slowest_growth / f64::from(p.rates.iter().copied().min().unwrap_or(1).max(1))
}

/// The study's three views.
pub const VIEWS: [View; 3] = [
    View {
        file: "jumps-vs-ratio.png",
        title: "The slowest machine's largest clock jump against the rate ratio",
        x_desc: "slowest rate ÷ fastest rate",
        y_desc: "largest jump (clock units, log scale)",
        x: |p| p.ratio,
        y: |p| p.slowest_jump as f64,
        log_y: true,
        queueing: false,
    },
    View {
        file: "drift-vs-ratio.png",
        title: "The largest drift behind the fastest machine against the rate ratio",
        x_desc: "slowest rate ÷ fastest rate",
        y_desc: "largest drift (clock units, log scale)",
        x: |p| p.ratio,
        y: |p| p.largest_drift as f64,
        log_y: true,
        queueing: false,
    },
    View {
        file: "growth-vs-load.png",
        title: "The slowest inbox's growth against its load (line: the queueing prediction)",
        x_desc: "load: expected arrivals ÷ rate",
        y_desc: "inbox growth (msgs per tick of its own)",
        x: |p| p.slowest_load,
        y: growth_per_tick,
        log_y: false,
        queueing: true,
    },
];

/// An f64 axis that puts its labels at `keys` (the log axis's 1, 2, 5, 10, …).
#[derive(Clone)]
struct Keyed {
    range: std::ops::Range<f64>,
    keys: Vec<f64>,
}

impl Ranged for Keyed {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.range.start, self.range.end);
        let f = (v - lo) / (hi - lo).max(1e-12);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }
    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        self.keys.clone()
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Keyed {
    fn format(v: &f64) -> String {
        num_label(v)
    }
}

/// `log10(1 + y)`: 0 stays 0 and every count keeps its place.
fn log1p10(y: f64) -> f64 {
    (1.0 + y.max(0.0)).log10()
}

/// The labels of a log axis up to `hi` (in log1p10 units): 0, 1, 2, 5, 10, 20, 50, …
fn log_keys(hi: f64) -> Vec<f64> {
    let mut keys = vec![0.0];
    let mut decade = 1.0;
    while log1p10(decade) <= hi {
        for m in [1.0, 2.0, 5.0] {
            if log1p10(m * decade) <= hi {
                keys.push(m * decade);
            }
        }
        decade *= 10.0;
    }
    keys
}

/// Draws `view` of `configs` into `path`.
pub fn effect(path: &Path, view: &View, configs: &[Config]) -> Result<()> {
    font();
    let e = err(path);
    let ty = |y: f64| if view.log_y { log1p10(y) } else { y };
    let all = || {
        configs
            .iter()
            .flat_map(|c| c.scale.iter().chain(&c.trials))
            .map(|p| ((view.x)(p), ty((view.y)(p))))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut xlo, mut xhi, mut ylo, mut yhi) = all().fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), (x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if !xlo.is_finite() {
        (xlo, xhi, ylo, yhi) = (0.0, 1.0, 0.0, 1.0);
    }
    if view.queueing {
        // The prediction's bend at 1 and the critical region always show.
        xlo = xlo.min(0.8);
        xhi = xhi.max(1.2);
    } else {
        xlo = 0.0;
        xhi = xhi.max(1.0);
    }
    let (ylo, yhi) = padded(ylo.min(0.0), yhi, if view.log_y { 1.0 } else { 0.1 });
    let (xlo, xhi) = padded(xlo, xhi, 0.1);
    let keys = if view.log_y {
        log_keys(yhi).into_iter().map(log1p10).collect()
    } else {
        let step = nice_step((yhi - ylo) / 8.0);
        let first = (ylo / step).ceil() as i64;
        let last = (yhi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    };
    let y_axis = Keyed {
        range: ylo..yhi,
        keys,
    };
    let root = BitMapBackend::new(path, (WIDTH_PX, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let (plot, key) = root.split_horizontally(WIDTH_PX - KEY_PX);
    let mut chart = ChartBuilder::on(&plot)
        .caption(view.title, ("sans-serif", 19))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(xlo..xhi, y_axis)
        .map_err(&e)?;
    let log = view.log_y;
    let y_label = move |v: &f64| {
        if log {
            num_label(&(10f64.powf(*v) - 1.0).round())
        } else {
            num_label(v)
        }
    };
    chart
        .configure_mesh()
        .x_desc(view.x_desc)
        .y_desc(view.y_desc)
        .label_style(("sans-serif", 14))
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .x_label_formatter(&num_label)
        .y_label_formatter(&y_label)
        .draw()
        .map_err(&e)?;
    if view.queueing {
        let shade = RGBAColor(255, 200, 0, 0.18);
        chart
            .draw_series([Rectangle::new([(0.9, ylo), (1.1, yhi)], shade.filled())])
            .map_err(&e)?;
        let curve: Vec<(f64, f64)> = [xlo, 1.0, xhi]
            .iter()
            .map(|&x| (x, (x - 1.0).max(0.0)))
            .collect();
        chart
            .draw_series([PathElement::new(curve, BLACK.stroke_width(2))])
            .map_err(&e)?;
    }
    let spread = if view.queueing { 0.0 } else { 0.012 };
    for (i, c) in configs.iter().enumerate() {
        let colour = config_colour(i);
        let faint = colour.mix(0.25);
        let at = |k: usize, p: &Point| ((view.x)(p) + spread * jitter(k), ty((view.y)(p)));
        chart
            .draw_series(
                c.scale
                    .iter()
                    .enumerate()
                    .map(|(k, p)| Circle::new(at(k + i * 7919, p), 2, faint.filled())),
            )
            .map_err(&e)?;
    }
    for (i, c) in configs.iter().enumerate() {
        let colour = config_colour(i);
        let at = |p: &Point| ((view.x)(p), ty((view.y)(p)));
        chart
            .draw_series(c.trials.iter().flat_map(|p| {
                [
                    Circle::new(at(p), 6, colour.filled()),
                    Circle::new(at(p), 6, BLACK.stroke_width(1)),
                ]
            }))
            .map_err(&e)?;
    }
    // The key: a swatch per configuration, then what the marks mean.
    let mut y = 40;
    let text = ("sans-serif", 14).into_font().color(&BLACK);
    for (i, c) in configs.iter().enumerate() {
        let colour = config_colour(i);
        key.draw(&Circle::new((16, y + 7), 6, colour.filled()))
            .map_err(&e)?;
        key.draw(&Text::new(c.name.to_owned(), (30, y), text.clone()))
            .map_err(&e)?;
        y += 24;
    }
    y += 12;
    for line in [
        "small, faint: simulated",
        "large, outlined: the trials",
        "x jittered a little where",
        "values coincide",
    ] {
        key.draw(&Text::new(line, (8, y), text.clone()))
            .map_err(&e)?;
        y += 20;
    }
    if view.queueing {
        y += 12;
        for line in [
            "line: predicted growth,",
            "max(0, load − 1)",
            "shaded: critical region,",
            "load 0.9–1.1",
        ] {
            key.draw(&Text::new(line, (8, y), text.clone()))
                .map_err(&e)?;
            y += 20;
        }
    }
    root.present().map_err(&e)
}

/// A round step near `raw`: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * decade)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_labels_are_round_counts() {
        assert_eq!(
            log_keys(log1p10(120.0)),
            [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(log1p10(0.0), 0.0);
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }
}
