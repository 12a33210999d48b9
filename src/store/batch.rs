//! A batch: one call's tensor, kept as the caller's bytes, plus the few
//! numbers that say where each point's x, y and colour are in it.
//!
//! Nothing here materialises points: [`PointLayout`] maps a point index to
//! offsets (the renderer's vertex shader does the same arithmetic), and the
//! bounds pass walks the tensor's contiguous runs once.

use wide::{f32x8, i32x8};

use crate::format::{DataCall, Tensor};

/// Axis-aligned bounds of the finite points seen so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min: [f32; 2],
    pub max: [f32; 2],
}

impl Bounds {
    /// Bounds of nothing: `min` above `max`.
    pub const EMPTY: Bounds = Bounds {
        min: [f32::INFINITY; 2],
        max: [f32::NEG_INFINITY; 2],
    };

    pub fn is_empty(&self) -> bool {
        !(self.min[0] <= self.max[0] && self.min[1] <= self.max[1])
    }

    pub fn union(&self, other: &Bounds) -> Bounds {
        Bounds {
            min: [self.min[0].min(other.min[0]), self.min[1].min(other.min[1])],
            max: [self.max[0].max(other.max[0]), self.max[1].max(other.max[1])],
        }
    }

    pub fn include(&mut self, x: f32, y: f32) {
        if x.is_finite() && y.is_finite() {
            *self = self.union(&Bounds {
                min: [x, y],
                max: [x, y],
            });
        }
    }

    fn shifted(&self, dx: f32, dy: f32) -> Bounds {
        if self.is_empty() {
            return *self;
        }
        Bounds {
            min: [self.min[0] + dx, self.min[1] + dy],
            max: [self.max[0] + dx, self.max[1] + dy],
        }
    }
}

/// What log axes need to know of finite points: the smallest positive x
/// and y (where a log axis's autoscale starts), and how many points a log
/// axis would leave out (at or below zero on it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogExtent {
    /// The smallest positive x and y; infinity when there is none.
    pub min_positive: [f32; 2],
    /// Points with x at or below zero, with y at or below zero, and with
    /// both (saturating).
    pub at_or_below_zero: [u32; 3],
}

impl LogExtent {
    pub const EMPTY: LogExtent = LogExtent {
        min_positive: [f32::INFINITY; 2],
        at_or_below_zero: [0; 3],
    };

    pub fn union(&self, other: &LogExtent) -> LogExtent {
        let [a, b] = [self.at_or_below_zero, other.at_or_below_zero];
        LogExtent {
            min_positive: [
                self.min_positive[0].min(other.min_positive[0]),
                self.min_positive[1].min(other.min_positive[1]),
            ],
            at_or_below_zero: std::array::from_fn(|i| a[i].saturating_add(b[i])),
        }
    }

    pub fn include(&mut self, x: f32, y: f32) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        let (x_out, y_out) = (x <= 0.0, y <= 0.0);
        if !x_out {
            self.min_positive[0] = self.min_positive[0].min(x);
        }
        if !y_out {
            self.min_positive[1] = self.min_positive[1].min(y);
        }
        for (count, out) in self.at_or_below_zero.iter_mut().zip([x_out, y_out, x_out && y_out]) {
            *count = count.saturating_add(u32::from(out));
        }
    }

    /// Points a plot with log axes `log` (x, y) leaves out.
    pub fn left_out(&self, log: [bool; 2]) -> u64 {
        let [x, y, both] = self.at_or_below_zero.map(u64::from);
        match log {
            [false, false] => 0,
            [true, false] => x,
            [false, true] => y,
            [true, true] => x + y - both,
        }
    }

    /// `bounds` as a plot with log axes `log` shows them: log10 of the
    /// positive range on a log axis (empty when nothing is positive).
    pub fn plot_bounds(&self, bounds: &Bounds, log: [bool; 2]) -> Bounds {
        let mut out = *bounds;
        for (i, _) in log.iter().enumerate().filter(|(_, log)| **log) {
            out.min[i] = self.min_positive[i].log10();
            out.max[i] = if bounds.max[i] > 0.0 {
                bounds.max[i].log10()
            } else {
                f32::NEG_INFINITY
            };
        }
        if out.is_empty() { Bounds::EMPTY } else { out }
    }
}

/// Where a point's colour value comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorSource {
    /// Uncoloured: drawn in the default colour.
    None,
    /// The point's index along enumeration axis `axis`, scaled to 0..1.
    Index { axis: usize },
    /// The third entry along the spatial dim.
    Value,
}

/// GridSpec tiling resolved for one call: slice `k` along enumeration axis
/// `axis` moves by `(k % num_columns * step[0], -(k / num_columns) * step[1])`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridTiling {
    pub axis: usize,
    pub num_columns: usize,
    /// Range of x and y over the call's finite data, times the padding factor.
    pub step: [f32; 2],
}

impl GridTiling {
    pub fn offset(&self, k: usize) -> [f32; 2] {
        let column = (k % self.num_columns) as f32;
        let row = (k / self.num_columns) as f32;
        [column * self.step[0], -row * self.step[1]]
    }
}

/// How to find point `p`'s values in a tensor, for any shape and spatial dim.
///
/// Points enumerate the non-spatial dims in `sizes` order (row-major over
/// them): for a scatter that is the tensor's order; for lines, the line dims
/// come first, then the point dims.
#[derive(Clone, Debug, PartialEq)]
pub struct PointLayout {
    /// Sizes of the enumerated (non-spatial) dims, in enumeration order.
    pub sizes: Vec<usize>,
    /// Element strides of those dims in the tensor.
    pub strides: Vec<usize>,
    /// Element stride of the spatial dim: y is one stride after x.
    pub spatial_stride: usize,
    pub color: ColorSource,
    pub grid: Option<GridTiling>,
    /// Lines only: the first `line_axes` enumeration axes enumerate lines.
    pub line_axes: usize,
}

impl PointLayout {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.sizes.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines only: the number of lines and of points in each.
    pub fn lines_shape(&self) -> (usize, usize) {
        let lines = self.sizes[..self.line_axes].iter().product();
        let points = self.sizes[self.line_axes..].iter().product();
        (lines, points)
    }

    /// Element offset of point `p`'s x value, and its index along each axis.
    fn locate(&self, mut p: usize, index: &mut [usize]) -> usize {
        let mut offset = 0;
        for axis in (0..self.sizes.len()).rev() {
            let i = p % self.sizes[axis];
            p /= self.sizes[axis];
            index[axis] = i;
            offset += i * self.strides[axis];
        }
        offset
    }

    /// Point `p`'s x, y (tiling applied) and colour value.
    pub fn point(&self, values: &[f32], p: usize) -> (f32, f32, Option<f32>) {
        let mut index = [0usize; crate::format::MAX_RANK];
        let offset = self.locate(p, &mut index);
        let mut x = values[offset];
        let mut y = values[offset + self.spatial_stride];
        if let Some(grid) = &self.grid {
            let [dx, dy] = grid.offset(index[grid.axis]);
            x += dx;
            y += dy;
        }
        let color = match self.color {
            ColorSource::None => None,
            ColorSource::Value => Some(values[offset + 2 * self.spatial_stride]),
            ColorSource::Index { axis } => Some(unit_index(index[axis], self.sizes[axis])),
        };
        (x, y, color)
    }
}

/// `linspace(0, 1, size)[i]`.
pub fn unit_index(i: usize, size: usize) -> f32 {
    if size <= 1 { 0.0 } else { i as f32 / (size - 1) as f32 }
}

/// One call's data.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The caller's bytes, shared with the log's memory map or message.
    pub tensor: Tensor,
    pub layout: PointLayout,
    /// Bounds of this batch's finite points, tiling applied.
    pub bounds: Bounds,
    /// What log axes need of this batch's finite points, tiling applied.
    pub log_extent: LogExtent,
    /// Colour by value: the range of the finite colour values.
    pub color_range: Option<(f32, f32)>,
}

impl Batch {
    /// Builds a batch from a checked call (see [`crate::calls::check_data_call`]).
    pub fn new(call: &DataCall<Tensor>) -> Batch {
        let shape = &call.data.shape;
        let rank = shape.len();
        let d = call.spatial_dim;
        let mut strides = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1];
        }
        // Enumeration order: line dims first (lines only), then the other
        // non-spatial dims in tensor order.
        let mut axes: Vec<usize> = call.line_dims.clone();
        axes.extend((0..rank).filter(|&i| i != d && !call.line_dims.contains(&i)));
        let axis_of = |dim: usize| axes.iter().position(|&a| a == dim).expect("checked dim");

        let color = match &call.color {
            None => ColorSource::None,
            Some(c) => c
                .dim
                .map_or(ColorSource::Value, |dim| ColorSource::Index { axis: axis_of(dim) }),
        };
        let values = call.data.values();
        let extents = slice_extents(&values, shape, d, call.grid.as_ref().map(|g| g.dim));
        let raw = extents.iter().fold(Bounds::EMPTY, |acc, (b, _)| acc.union(b));
        let grid = call.grid.as_ref().map(|g| {
            let range = |i: usize| {
                if raw.is_empty() { 0.0 } else { raw.max[i] - raw.min[i] }
            };
            GridTiling {
                axis: axis_of(g.dim),
                num_columns: g.num_columns,
                step: [range(0) * g.padding_factor, range(1) * g.padding_factor],
            }
        });
        let bounds = match &grid {
            None => raw,
            Some(grid) => extents.iter().enumerate().fold(Bounds::EMPTY, |acc, (k, (b, _))| {
                let [dx, dy] = grid.offset(k);
                acc.union(&b.shifted(dx, dy))
            }),
        };
        let layout = PointLayout {
            sizes: axes.iter().map(|&a| shape[a]).collect(),
            strides: axes.iter().map(|&a| strides[a]).collect(),
            spatial_stride: strides[d],
            color,
            grid,
            line_axes: call.line_dims.len(),
        };
        let log_extent = match &grid {
            None => extents.iter().fold(LogExtent::EMPTY, |acc, (_, e)| acc.union(e)),
            // Tiling moves points across zero: a pass over the tiled points
            // (grids are small tiles of samples).
            Some(_) => (0..layout.len()).fold(LogExtent::EMPTY, |mut acc, p| {
                let (x, y, _) = layout.point(&values, p);
                acc.include(x, y);
                acc
            }),
        };
        let color_range = match color {
            ColorSource::Value => value_range(&values, shape, d),
            _ => None,
        };
        Batch {
            tensor: call.data.clone(),
            layout,
            bounds,
            log_extent,
            color_range,
        }
    }

    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }
}

/// The range of the finite colour values (the third entry along the
/// spatial dim, of size 3), in one pass: viewing the shape as `[outer, 3,
/// inner]`, an outer index's colour values are one contiguous run.
pub fn value_range(values: &[f32], shape: &[usize], spatial_dim: usize) -> Option<(f32, f32)> {
    let outer: usize = shape[..spatial_dim].iter().product();
    let inner: usize = shape[spatial_dim + 1..].iter().product();
    let run = shape[spatial_dim] * inner;
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for o in 0..outer {
        for &v in &values[o * run + 2 * inner..o * run + 3 * inner] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Bounds and log extents of the finite (x, y) pairs, one per slice along
/// `grid_dim` (a single entry without one), in one pass over contiguous runs.
///
/// Viewing the shape as `[outer, spatial, inner]`, x values of one outer index
/// are the contiguous run `inner` long, and y values the run after it.
fn slice_extents(values: &[f32], shape: &[usize], spatial_dim: usize, grid_dim: Option<usize>) -> Vec<Extent> {
    let outer: usize = shape[..spatial_dim].iter().product();
    let inner: usize = shape[spatial_dim + 1..].iter().product();
    let run = shape[spatial_dim] * inner;
    let slices = grid_dim.map_or(1, |g| shape[g]);
    let mut extents = vec![(Bounds::EMPTY, LogExtent::EMPTY); slices];
    if inner == 0 || outer == 0 {
        return extents;
    }
    // Elements of one grid slice form blocks of `block` within a run (grid
    // dim after the spatial dim), or whole runs (grid dim before it).
    let (block, per_outer) = match grid_dim {
        Some(g) if g > spatial_dim => (shape[g + 1..].iter().product::<usize>(), None),
        Some(g) => (inner, Some(shape[g + 1..spatial_dim].iter().product::<usize>())),
        None => (inner, None),
    };
    if inner == 1 {
        // Spatial dim last ([.., 2] or [.., 3]): x and y interleaved. Walk
        // whole groups of points that share a grid slice at once.
        let group = per_outer.unwrap_or(outer);
        for (i, start) in (0..outer).step_by(group).enumerate() {
            let count = group.min(outer - start);
            let e = strided_extent(&values[start * run..], run, count);
            let k = match (grid_dim, per_outer) {
                (Some(g), Some(_)) => i % shape[g],
                _ => 0,
            };
            extents[k] = union(&extents[k], &e);
        }
        return extents;
    }
    for o in 0..outer {
        let xs = &values[o * run..o * run + inner];
        let ys = &values[o * run + inner..o * run + 2 * inner];
        for (b, (xb, yb)) in xs.chunks(block).zip(ys.chunks(block)).enumerate() {
            let k = match (grid_dim, per_outer) {
                (None, _) => 0,
                (Some(g), Some(between)) => (o / between) % shape[g],
                (Some(g), None) => b % shape[g],
            };
            let e = finite_extent(xb, yb);
            extents[k] = union(&extents[k], &e);
        }
    }
    extents
}

/// Bounds and log extent of some points.
type Extent = (Bounds, LogExtent);

fn union(a: &Extent, b: &Extent) -> Extent {
    (a.0.union(&b.0), a.1.union(&b.1))
}

fn include(e: &mut Extent, x: f32, y: f32) {
    e.0.include(x, y);
    e.1.include(x, y);
}

/// Extent of the finite pairs `(values[i * stride], values[i * stride + 1])`
/// for `i` below `count`.
fn strided_extent(values: &[f32], stride: usize, count: usize) -> Extent {
    let values = &values[..(count * stride).min(values.len())];
    match stride {
        // [N, 2] and [N, 3] tensors: fixed strides let the loop vectorise.
        2 => interleaved_extent::<2>(values),
        3 => interleaved_extent::<3>(values),
        _ => lane_extent(count, |i| values[i * stride], |i| values[i * stride + 1]),
    }
}

/// Extent of interleaved points of `S` floats, x and y first.
fn interleaved_extent<const S: usize>(values: &[f32]) -> Extent {
    let block = LANES * S;
    let whole = values.len() / block * block;
    let mut acc = LaneBounds::new();
    for chunk in values[..whole].chunks_exact(block) {
        let x: [f32; LANES] = std::array::from_fn(|lane| chunk[lane * S]);
        let y: [f32; LANES] = std::array::from_fn(|lane| chunk[lane * S + 1]);
        acc.add(f32x8::from(x), f32x8::from(y));
    }
    let mut extent = acc.finish();
    for point in values[whole..].chunks_exact(S) {
        include(&mut extent, point[0], point[1]);
    }
    extent
}

/// Eight lanes of running bounds and log extents, in SIMD registers: the
/// compiler does not vectorise float min/max on its own (it must keep NaN
/// semantics), so the lanes are explicit and non-finite points are masked
/// out first.
struct LaneBounds {
    lo: [f32x8; 2],
    hi: [f32x8; 2],
    /// Smallest positive x and y.
    positive: [f32x8; 2],
    /// Minus the count of points at or below zero in x, y and both (a true
    /// mask lane is -1).
    at_or_below_zero: [i32x8; 3],
}

const LANES: usize = 8;

impl LaneBounds {
    fn new() -> Self {
        Self {
            lo: [f32x8::splat(f32::INFINITY); 2],
            hi: [f32x8::splat(f32::NEG_INFINITY); 2],
            positive: [f32x8::splat(f32::INFINITY); 2],
            at_or_below_zero: [i32x8::splat(0); 3],
        }
    }

    #[inline(always)]
    fn add(&mut self, x: f32x8, y: f32x8) {
        let ok = x.is_finite() & y.is_finite();
        let (inf, neg_inf) = (f32x8::splat(f32::INFINITY), f32x8::splat(f32::NEG_INFINITY));
        self.lo[0] = self.lo[0].fast_min(ok.bitselect(x, inf));
        self.hi[0] = self.hi[0].fast_max(ok.bitselect(x, neg_inf));
        self.lo[1] = self.lo[1].fast_min(ok.bitselect(y, inf));
        self.hi[1] = self.hi[1].fast_max(ok.bitselect(y, neg_inf));
        let zero = f32x8::splat(0.0);
        let (x_out, y_out) = (ok & x.simd_le(zero), ok & y.simd_le(zero));
        self.positive[0] = self.positive[0].fast_min((ok & !x_out).bitselect(x, inf));
        self.positive[1] = self.positive[1].fast_min((ok & !y_out).bitselect(y, inf));
        for (count, out) in self.at_or_below_zero.iter_mut().zip([x_out, y_out, x_out & y_out]) {
            *count += bytemuck::cast::<f32x8, i32x8>(out);
        }
    }

    fn finish(&self) -> Extent {
        let positive = self
            .positive
            .map(|p| p.to_array().into_iter().fold(f32::INFINITY, f32::min));
        let counts = self.at_or_below_zero.map(|c| {
            c.to_array()
                .iter()
                .map(|&n| n.unsigned_abs())
                .fold(0u32, u32::saturating_add)
        });
        (
            self.finish_bounds(),
            LogExtent {
                min_positive: positive,
                at_or_below_zero: counts,
            },
        )
    }

    fn finish_bounds(&self) -> Bounds {
        let lo: [[f32; LANES]; 2] = [self.lo[0].to_array(), self.lo[1].to_array()];
        let hi: [[f32; LANES]; 2] = [self.hi[0].to_array(), self.hi[1].to_array()];
        Bounds {
            min: [
                lo[0].iter().copied().fold(f32::INFINITY, f32::min),
                lo[1].iter().copied().fold(f32::INFINITY, f32::min),
            ],
            max: [
                hi[0].iter().copied().fold(f32::NEG_INFINITY, f32::max),
                hi[1].iter().copied().fold(f32::NEG_INFINITY, f32::max),
            ],
        }
    }
}

/// Bounds of the pairs `(xs[i], ys[i])` where both are finite.
pub fn finite_bounds(xs: &[f32], ys: &[f32]) -> Bounds {
    finite_extent(xs, ys).0
}

/// Bounds and log extent of the pairs `(xs[i], ys[i])` where both are finite.
pub fn finite_extent(xs: &[f32], ys: &[f32]) -> (Bounds, LogExtent) {
    let n = xs.len().min(ys.len());
    let whole = n / LANES * LANES;
    let mut acc = LaneBounds::new();
    for (x, y) in xs[..whole].chunks_exact(LANES).zip(ys[..whole].chunks_exact(LANES)) {
        let (x, y): ([f32; LANES], [f32; LANES]) = (x.try_into().expect("8 lanes"), y.try_into().expect("8 lanes"));
        acc.add(f32x8::from(x), f32x8::from(y));
    }
    let mut extent = acc.finish();
    for i in whole..n {
        include(&mut extent, xs[i], ys[i]);
    }
    extent
}

/// Extent of `n` pairs read through `x` and `y`.
fn lane_extent(n: usize, x: impl Fn(usize) -> f32, y: impl Fn(usize) -> f32) -> Extent {
    let whole = n / LANES * LANES;
    let mut acc = LaneBounds::new();
    for base in (0..whole).step_by(LANES) {
        let xs: [f32; LANES] = std::array::from_fn(|lane| x(base + lane));
        let ys: [f32; LANES] = std::array::from_fn(|lane| y(base + lane));
        acc.add(f32x8::from(xs), f32x8::from(ys));
    }
    let mut extent = acc.finish();
    for i in whole..n {
        include(&mut extent, x(i), y(i));
    }
    extent
}
