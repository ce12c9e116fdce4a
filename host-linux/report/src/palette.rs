//! The report's colours, in one place for the PNGs (plotters) and the pages
//! (the page gets them as JSON, `report.html`'s `palette` element, and
//! `html/common.js` reads them there), so the two cannot drift apart.
//!
//! A machine has one colour everywhere: its lines and bars in every PNG, its
//! lane label, lines and bars on the page. The machines' colours are kept
//! apart from the event markers' (send blue, receive vermillion, internal
//! grey, from the Okabe-Ito palette): a machine drawn in the receive marker's
//! orange read as "receives". The machines' are Paul Tol's green, purple and
//! indigo: saturated, dark enough for thin lines on white, and far in hue
//! from the markers; machine 2, drawn on top where lines coincide, gets the
//! darkest. Machines 3 to 15 (runs of up to sixteen) have colours picked for
//! the same rules, each far from the first three and the markers; past the
//! first [`SOLID`] the hues come close, so the page draws those machines'
//! lines dashed.

use serde::Serialize;

/// An sRGB colour.
pub type Rgb = (u8, u8, u8);

/// Each machine's colour, by id: green, purple, indigo (three machines'
/// colours), then thirteen more for runs of up to sixteen.
pub const MACHINES: [Rgb; 16] = [
    (34, 136, 51),
    (170, 51, 119),
    (51, 34, 136),
    (102, 136, 238),
    (238, 17, 238),
    (85, 17, 17),
    (119, 34, 238),
    (238, 102, 187),
    (238, 17, 34),
    (136, 153, 17),
    (17, 17, 238),
    (119, 85, 51),
    (238, 17, 136),
    (170, 85, 238),
    (17, 68, 85),
    (17, 85, 17),
];

/// The machines whose colours alone tell them apart on a chart of
/// overlaid lines: the page draws machines from this id on dashed.
pub const SOLID: usize = 8;

/// Each event kind's marker colour on the space-time diagram, in the order
/// send, receive, internal.
pub const KINDS: [Rgb; 3] = [(0, 114, 178), (213, 94, 0), (140, 140, 140)];

/// Each configuration's colour in a study's effect-size views, in the set's
/// order (Okabe-Ito's darkest hues and a grey): none is a machine's, so a
/// configuration never reads as a machine.
pub const CONFIGURATIONS: [Rgb; 5] = [
    (68, 1, 84),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 86, 86),
];

/// Configuration `k`'s colour; past the palette it repeats.
pub fn configuration(k: usize) -> Rgb {
    CONFIGURATIONS[k % CONFIGURATIONS.len()]
}

/// `#rrggbb` for `c`, as CSS and the page's scripts take it.
pub fn hex(c: Rgb) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Machine `id`'s colour; ids past the palette reuse it from the start.
pub fn machine(id: usize) -> Rgb {
    MACHINES[id % MACHINES.len()]
}

/// What a page gets: every colour as `#rrggbb`.
#[derive(Debug, Serialize)]
pub struct PagePalette {
    /// [`MACHINES`].
    pub machines: Vec<String>,
    /// [`KINDS`].
    pub kinds: Vec<String>,
    /// [`CONFIGURATIONS`].
    pub configurations: Vec<String>,
    /// [`SOLID`].
    pub solid: usize,
}

impl PagePalette {
    /// The palette as the page gets it.
    pub fn new() -> Self {
        Self {
            machines: MACHINES.iter().copied().map(hex).collect(),
            kinds: KINDS.iter().copied().map(hex).collect(),
            configurations: CONFIGURATIONS.iter().copied().map(hex).collect(),
            solid: SOLID,
        }
    }
}

impl Default for PagePalette {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Squared distance in a rough perceptual weighting of sRGB ("redmean").
    fn distance2(a: Rgb, b: Rgb) -> f64 {
        let (r, g, bl) = (
            f64::from(a.0) - f64::from(b.0),
            f64::from(a.1) - f64::from(b.1),
            f64::from(a.2) - f64::from(b.2),
        );
        let mean = (f64::from(a.0) + f64::from(b.0)) / 2.0;
        (2.0 + mean / 256.0) * r * r + 4.0 * g * g + (2.0 + (255.0 - mean) / 256.0) * bl * bl
    }

    #[test]
    fn machines_are_told_apart_from_each_other_and_from_the_markers() {
        // The old page's machine 2 (#E69F00) against the receive marker:
        // the pair this rule exists for.
        let too_close = distance2((230, 159, 0), KINDS[1]);
        for (i, &m) in MACHINES.iter().enumerate() {
            for &k in &KINDS {
                let d = distance2(m, k);
                assert!(
                    d > 1.5 * too_close,
                    "machine {i} {} vs marker {}: {d}",
                    hex(m),
                    hex(k)
                );
            }
            // The solid ones apart by colour alone; the dashed ones by
            // colour and dash.
            for (j, &other) in MACHINES.iter().enumerate().skip(i + 1) {
                let apart = if j < SOLID { 1.5 } else { 0.75 };
                let d = distance2(m, other);
                assert!(d > apart * too_close, "machines {i} and {j}: {d}");
            }
            // Lines on white: none lighter than a mid grey.
            let luma = 0.2126 * f64::from(m.0) + 0.7152 * f64::from(m.1) + 0.0722 * f64::from(m.2);
            assert!(luma < 160.0, "machine {i} is too light on white: {luma}");
        }
    }

    #[test]
    fn the_page_gets_the_same_colours_as_hex() {
        let p = PagePalette::new();
        assert_eq!(p.machines[..3], ["#228833", "#AA3377", "#332288"]);
        assert_eq!(p.machines.len(), 16);
        assert_eq!(p.kinds, ["#0072B2", "#D55E00", "#8C8C8C"]);
        assert_eq!(machine(17), MACHINES[1]);
    }
}
