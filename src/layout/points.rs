//! How scatter markers are drawn, decided without a GPU: their size (which
//! follows the cloud's density unless set), their opacity, and which plots
//! show a density image instead of markers.
//!
//! The size rule: markers spread evenly over the plot area would cover at
//! most half of it. A cloud of `n` points in a plot area of `A` pixels gets
//! markers of radius `sqrt(A / (2 pi n))`, kept between the style's radius
//! (2.5 px: small clouds look as they always did) and 0.4 of it (1 px), and
//! rounded down to a quarter pixel so that a growing cloud's markers shrink
//! in steps rather than every frame. A 560 x 340 plot keeps 2.5 px markers
//! up to about 4,800 points and reaches 1 px at about 30,000.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::grid::{Rect, Style};

/// The smallest marker the size rule picks, as a fraction of the style's
/// radius (2.5 px -> 1 px).
pub const MIN_RADIUS_FRACTION: f32 = 0.4;

/// The marker diameters `,` and `.` step through, in logical pixels.
pub const POINT_SIZES: [f32; 12] = [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0];

/// How scatter markers are drawn on a page: shared by the window,
/// `--screenshot` and `--record`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointOptions {
    /// Marker diameter in logical pixels (`--point-size`); `None`: the size
    /// follows the cloud's density (see [`marker_radius`]).
    pub size: Option<f32>,
    /// Marker opacity, above 0 up to 1 (`--opacity`).
    pub opacity: f32,
    /// Plots drawn as a density image: points per pixel, log-scaled through
    /// the palette (`--density`, `d` in the window).
    pub density: PlotSet,
}

impl Default for PointOptions {
    fn default() -> Self {
        Self {
            size: None,
            opacity: 1.0,
            density: PlotSet::default(),
        }
    }
}

/// A set of plots by name: every plot or none, each with exceptions (what
/// `--density all` then `d` on one plot gives).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlotSet {
    all: bool,
    /// The plots that differ from `all`.
    toggled: BTreeSet<String>,
}

impl PlotSet {
    /// From the command line's names; `all` stands for every plot.
    pub fn from_names(names: &[String]) -> PlotSet {
        if names.iter().any(|name| name == "all") {
            return PlotSet {
                all: true,
                toggled: BTreeSet::new(),
            };
        }
        PlotSet {
            all: false,
            toggled: names.iter().cloned().collect(),
        }
    }

    /// Whether no plot is in the set.
    pub fn is_empty(&self) -> bool {
        !self.all && self.toggled.is_empty()
    }

    /// Whether plot `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.all != self.toggled.contains(name)
    }

    /// Puts plot `name` in the set, or takes it out.
    pub fn toggle(&mut self, name: &str) {
        if !self.toggled.remove(name) {
            self.toggled.insert(name.to_owned());
        }
    }
}

/// The radius in pixels of the markers of a scatter of `points` points drawn
/// in `area`: `size` (a diameter in logical pixels) when set, else the size
/// rule of this module. Logical pixels are scaled as the style is (its
/// radius over the default 2.5 px).
pub fn marker_radius(style: &Style, size: Option<f32>, points: usize, area: &Rect) -> f32 {
    let largest = style.point_radius;
    if let Some(size) = size {
        return size / 2.0 * largest / Style::default().point_radius;
    }
    let pixels = area.width.max(0.0) * area.height.max(0.0);
    if points == 0 || pixels <= 0.0 {
        return largest;
    }
    let even = (pixels / (2.0 * std::f32::consts::PI * points as f32)).sqrt();
    let radius = even.clamp(largest * MIN_RADIUS_FRACTION, largest);
    // Quarter pixels, never below the smallest.
    ((radius * 4.0).floor() / 4.0).max(largest * MIN_RADIUS_FRACTION)
}

/// The next marker diameter of [`POINT_SIZES`] above (`larger`) or below
/// `diameter`, staying at the ends.
pub fn point_size_step(diameter: f32, larger: bool) -> f32 {
    let next = if larger {
        POINT_SIZES.iter().copied().find(|&s| s > diameter + 1e-3)
    } else {
        POINT_SIZES.iter().rev().copied().find(|&s| s < diameter - 1e-3)
    };
    next.unwrap_or(if larger {
        POINT_SIZES[POINT_SIZES.len() - 1]
    } else {
        POINT_SIZES[0]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 560 x 340 plot area, about that of a plot alone on a 640 x 400 page.
    const AREA: Rect = Rect {
        x: 52.0,
        y: 22.0,
        width: 560.0,
        height: 340.0,
    };

    #[test]
    fn small_clouds_keep_the_style_radius() {
        let style = Style::default();
        for points in [0, 1, 400, 4_800] {
            assert_eq!(marker_radius(&style, None, points, &AREA), 2.5, "{points} points");
        }
    }

    #[test]
    fn markers_shrink_as_points_per_pixel_grow() {
        let style = Style::default();
        // sqrt(190400 / (2 pi 16000)) = 1.376: rounded down to 1.25.
        assert_eq!(marker_radius(&style, None, 16_000, &AREA), 1.25);
        // sqrt(190400 / (2 pi 8000)) = 1.946: 1.75.
        assert_eq!(marker_radius(&style, None, 8_000, &AREA), 1.75);
        // Dense clouds bottom out at 1 px.
        assert_eq!(marker_radius(&style, None, 31_000, &AREA), 1.0);
        assert_eq!(marker_radius(&style, None, 10_000_000, &AREA), 1.0);
        // Never larger for more points; larger for a larger area.
        let mut last = f32::INFINITY;
        for points in (0..200).map(|k| k * 250) {
            let r = marker_radius(&style, None, points, &AREA);
            assert!(r <= last && (1.0..=2.5).contains(&r), "{points} points: {r}");
            assert_eq!(r * 4.0, (r * 4.0).floor(), "quarter pixels: {r}");
            last = r;
        }
        let half = Rect { width: 280.0, ..AREA };
        assert!(marker_radius(&style, None, 8_000, &half) < marker_radius(&style, None, 8_000, &AREA));
    }

    #[test]
    fn a_set_size_wins_and_scales_with_the_style() {
        let style = Style::default();
        assert_eq!(marker_radius(&style, Some(3.0), 10_000_000, &AREA), 1.5);
        assert_eq!(marker_radius(&style, Some(8.0), 1, &AREA), 4.0);
        // HiDPI: logical pixels.
        let doubled = style.scaled(2.0);
        assert_eq!(marker_radius(&doubled, Some(3.0), 1, &AREA), 3.0);
        assert_eq!(marker_radius(&doubled, None, 1, &AREA), 5.0);
        assert_eq!(marker_radius(&doubled, None, 10_000_000, &AREA), 2.0);
    }

    #[test]
    fn point_sizes_step_along_the_ladder() {
        assert_eq!(point_size_step(5.0, true), 6.0);
        assert_eq!(point_size_step(5.0, false), 4.0);
        // From a size between steps: the next one either way.
        assert_eq!(point_size_step(2.5, true), 3.0);
        assert_eq!(point_size_step(2.5, false), 2.0);
        // The ends hold.
        assert_eq!(point_size_step(1.0, false), 1.0);
        assert_eq!(point_size_step(20.0, true), 20.0);
        assert_eq!(point_size_step(64.0, false), 20.0);
    }

    #[test]
    fn plot_sets_take_all_names_and_toggles() {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let mut set = PlotSet::from_names(&names(&["cloud"]));
        assert!(set.contains("cloud") && !set.contains("other"));
        set.toggle("cloud");
        set.toggle("other");
        assert!(!set.contains("cloud") && set.contains("other"));
        let mut all = PlotSet::from_names(&names(&["cloud", "all"]));
        assert!(all.contains("cloud") && all.contains("anything"));
        all.toggle("cloud");
        assert!(!all.contains("cloud") && all.contains("anything"));
        assert_eq!(PlotSet::from_names(&[]), PlotSet::default());
    }
}
