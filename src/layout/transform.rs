//! The data <-> screen transform of one plot, autoscale and zoom.

use super::grid::Rect;
use crate::store::Bounds;

/// A rectangle of data space: x from `min[0]` to `max[0]`, y likewise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataRect {
    pub min: [f64; 2],
    pub max: [f64; 2],
}

impl DataRect {
    pub fn width(&self) -> f64 {
        self.max[0] - self.min[0]
    }

    pub fn height(&self) -> f64 {
        self.max[1] - self.min[1]
    }

    pub fn center(&self) -> [f64; 2] {
        [(self.min[0] + self.max[0]) / 2.0, (self.min[1] + self.max[1]) / 2.0]
    }

    /// Scaled by `factor` (< 1 zooms in) about `anchor`, which stays put.
    pub fn zoomed(&self, anchor: [f64; 2], factor: [f64; 2]) -> DataRect {
        let mut out = *self;
        for i in 0..2 {
            out.min[i] = anchor[i] + (self.min[i] - anchor[i]) * factor[i];
            out.max[i] = anchor[i] + (self.max[i] - anchor[i]) * factor[i];
        }
        out.guarded()
    }

    /// Moved by `delta` data units.
    pub fn translated(&self, delta: [f64; 2]) -> DataRect {
        DataRect {
            min: [self.min[0] + delta[0], self.min[1] + delta[1]],
            max: [self.max[0] + delta[0], self.max[1] + delta[1]],
        }
    }

    /// The rectangle spanned by two corners, in any order.
    pub fn from_corners(a: [f64; 2], b: [f64; 2]) -> DataRect {
        DataRect {
            min: [a[0].min(b[0]), a[1].min(b[1])],
            max: [a[0].max(b[0]), a[1].max(b[1])],
        }
        .guarded()
    }

    /// Keeps ranges non-empty and within what f32 rendering resolves.
    fn guarded(mut self) -> DataRect {
        for i in 0..2 {
            let center = (self.min[i] + self.max[i]) / 2.0;
            let min_span = center.abs().max(1e-30) * 1e-6;
            let span = self.max[i] - self.min[i];
            if span.is_nan() || span < min_span {
                self.min[i] = center - min_span / 2.0;
                self.max[i] = center + min_span / 2.0;
            }
        }
        self
    }
}

/// The view that shows `bounds` with a margin (5% of the span on each side,
/// like Bokeh's default range padding), or a unit view around a lone value.
pub fn autoscale(bounds: &Bounds) -> DataRect {
    if bounds.is_empty() {
        return DataRect {
            min: [-1.0, -1.0],
            max: [1.0, 1.0],
        };
    }
    let mut rect = DataRect {
        min: [0.0; 2],
        max: [0.0; 2],
    };
    for i in 0..2 {
        let (lo, hi) = (bounds.min[i] as f64, bounds.max[i] as f64);
        let span = hi - lo;
        let pad = if span > 0.0 {
            span * 0.05
        } else {
            lo.abs().max(1.0) * 0.5
        };
        rect.min[i] = lo - pad;
        rect.max[i] = hi + pad;
    }
    rect
}

/// Maps data coordinates into a screen rectangle (y flipped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScreenFromData {
    pub data: DataRect,
    pub screen: Rect,
}

impl ScreenFromData {
    pub fn new(data: DataRect, screen: Rect) -> Self {
        Self { data, screen }
    }

    /// Screen pixels per data unit along x and y (both positive).
    pub fn scale(&self) -> [f64; 2] {
        [
            self.screen.width as f64 / self.data.width(),
            self.screen.height as f64 / self.data.height(),
        ]
    }

    pub fn screen_from_data(&self, p: [f64; 2]) -> [f32; 2] {
        let s = self.scale();
        [
            (self.screen.x as f64 + (p[0] - self.data.min[0]) * s[0]) as f32,
            (self.screen.bottom() as f64 - (p[1] - self.data.min[1]) * s[1]) as f32,
        ]
    }

    pub fn data_from_screen(&self, p: [f32; 2]) -> [f64; 2] {
        let s = self.scale();
        [
            self.data.min[0] + (p[0] as f64 - self.screen.x as f64) / s[0],
            self.data.min[1] + (self.screen.bottom() as f64 - p[1] as f64) / s[1],
        ]
    }
}
