//! Smoothing of line plots: TensorBoard's exponential moving average with
//! its start-up bias corrected, along each line, computed once per point.
//!
//! [`Smoothed`] keeps a plot's smoothed lines and extends them as the plot
//! grows: a new point costs O(1). The average is causal, so an earlier
//! state of the plot (the timeline) is a prefix of the smoothed data too.

use super::batch::{Batch, Bounds, ColorSource, LogExtent, PointLayout, finite_extent, value_range};
use super::{Plot, PlotKind, TandemData};
use crate::format::Tensor;

/// The smoothing weights `[` and `]` step through in the window.
pub const SMOOTHING_STEPS: [f32; 8] = [0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99];

/// The next weight of [`SMOOTHING_STEPS`] up (or down) from `weight`.
pub fn smoothing_step(weight: f32, up: bool) -> f32 {
    if up {
        SMOOTHING_STEPS.into_iter().find(|&w| w > weight).unwrap_or(weight)
    } else {
        SMOOTHING_STEPS.into_iter().rev().find(|&w| w < weight).unwrap_or(0.0)
    }
}

/// The debiased exponential moving average of one line.
#[derive(Clone, Copy, Debug)]
pub struct Ema {
    weight: f64,
    last: f64,
    /// `weight` to the power of the points averaged so far.
    weight_pow: f64,
}

impl Ema {
    /// An average with `weight` in `0..1`: 0 is the raw line, 0.99 very
    /// smooth.
    pub fn new(weight: f32) -> Self {
        Self {
            weight: weight as f64,
            last: 0.0,
            weight_pow: 1.0,
        }
    }

    /// The smoothed value at the next point `y`. Non-finite values pass
    /// through and do not move the average.
    pub fn push(&mut self, y: f32) -> f32 {
        if !y.is_finite() {
            return y;
        }
        self.last = self.last * self.weight + (1.0 - self.weight) * y as f64;
        self.weight_pow *= self.weight;
        (self.last / (1.0 - self.weight_pow)) as f32
    }
}

/// A plot's smoothed lines, kept up to date as it grows.
#[derive(Debug)]
pub struct Smoothed {
    weight: f32,
    /// The raw plot's generation these lines follow.
    source: u64,
    /// Changes whenever the lines are recomputed from the start.
    generation: u64,
    kind: PlotKind,
    lines: usize,
    /// Raw items (batches, tandem rows) smoothed so far.
    done: usize,
    emas: Vec<Ema>,
    rows: Vec<f32>,
    batches: Vec<Batch>,
    /// Per item smoothed: the bounds and log extent of the items up to and
    /// including it, so a view of any prefix costs no pass over the lines.
    extents: Vec<(Bounds, LogExtent)>,
}

impl Smoothed {
    pub fn new() -> Self {
        Self {
            weight: f32::NAN,
            source: u64::MAX,
            generation: super::next_generation(),
            kind: PlotKind::Tandem,
            lines: 0,
            done: 0,
            emas: Vec::new(),
            rows: Vec::new(),
            batches: Vec::new(),
            extents: Vec::new(),
        }
    }

    /// Smooths the lines of `plot` with `weight`: extended by what `plot`
    /// added since the last call, recomputed when it was replaced or the
    /// weight changed. `plot` must be a line plot.
    pub fn update(&mut self, plot: &Plot, weight: f32) {
        if self.source != plot.generation || self.weight != weight || self.kind != plot.kind {
            *self = Self {
                weight,
                source: plot.generation,
                kind: plot.kind,
                ..Self::new()
            };
        }
        let items = match plot.kind {
            PlotKind::Tandem => plot.tandem.len(),
            _ => plot.batches.len(),
        };
        while self.done < items {
            match plot.kind {
                PlotKind::Tandem => self.push_row(&plot.tandem, self.done),
                _ => self.push_batch(&plot.batches[self.done]),
            }
            self.done += 1;
        }
    }

    /// The smoothed lines of `plot`, after [`Smoothed::update`] with it or a
    /// later state of it: earlier states are prefixes, since the average
    /// only looks back.
    pub fn view<'a>(&'a self, plot: &Plot<'a>) -> Plot<'a> {
        let items = match plot.kind {
            PlotKind::Tandem => plot.tandem.len(),
            _ => plot.batches.len(),
        }
        .min(self.done);
        let (batches, rows) = match plot.kind {
            PlotKind::Tandem => (&self.batches[..0], &self.rows[..items * (self.lines + 1)]),
            _ => (&self.batches[..items], &self.rows[..0]),
        };
        let (bounds, log_extent) = items
            .checked_sub(1)
            .map_or((Bounds::EMPTY, LogExtent::EMPTY), |i| self.extents[i]);
        Plot {
            name: plot.name,
            kind: plot.kind,
            palette: plot.palette,
            line_names: plot.line_names,
            generation: self.generation,
            batches,
            tandem: TandemData {
                lines: self.lines,
                rows,
            },
            bounds,
            log_extent,
            color_range: plot.color_range,
        }
    }

    fn push_row(&mut self, tandem: &TandemData, i: usize) {
        if self.lines != tandem.lines {
            self.lines = tandem.lines;
            self.emas = vec![Ema::new(self.weight); tandem.lines];
        }
        let row = &tandem.rows[i * (tandem.lines + 1)..(i + 1) * (tandem.lines + 1)];
        self.rows.push(row[0]);
        let (mut bounds, mut log_extent) = (Bounds::EMPTY, LogExtent::EMPTY);
        for (ema, &y) in self.emas.iter_mut().zip(&row[1..]) {
            let y = ema.push(y);
            self.rows.push(y);
            bounds.include(row[0], y);
            log_extent.include(row[0], y);
        }
        self.push_extent(bounds, log_extent);
    }

    fn push_extent(&mut self, bounds: Bounds, log_extent: LogExtent) {
        let cumulative = self
            .extents
            .last()
            .map_or((bounds, log_extent), |(b, e)| (b.union(&bounds), e.union(&log_extent)));
        self.extents.push(cumulative);
    }

    /// A batch of the same lines, smoothed: shape `[lines, points, 2]` (3
    /// with a colour value), tiling resolved.
    fn push_batch(&mut self, batch: &Batch) {
        let (lines, per_line) = batch.layout.lines_shape();
        if self.emas.len() != lines {
            self.emas = vec![Ema::new(self.weight); lines];
        }
        self.lines = lines;
        let colored = batch.layout.color != ColorSource::None;
        let stride = if colored { 3 } else { 2 };
        let source = batch.tensor.values();
        let mut values = Vec::with_capacity(lines * per_line * stride);
        let (mut xs, mut ys) = (
            Vec::with_capacity(lines * per_line),
            Vec::with_capacity(lines * per_line),
        );
        for (line, ema) in self.emas.iter_mut().enumerate() {
            for j in 0..per_line {
                let (x, y, c) = batch.layout.point(&source, line * per_line + j);
                let y = ema.push(y);
                values.extend_from_slice(&[x, y]);
                if colored {
                    values.push(c.unwrap_or(f32::NAN));
                }
                xs.push(x);
                ys.push(y);
            }
        }
        let layout = PointLayout {
            sizes: vec![lines, per_line],
            strides: vec![per_line * stride, stride],
            spatial_stride: 1,
            color: if colored { ColorSource::Value } else { ColorSource::None },
            grid: None,
            line_axes: 1,
        };
        let shape = vec![lines, per_line, stride];
        let color_range = if colored { value_range(&values, &shape, 2) } else { None };
        let (bounds, log_extent) = finite_extent(&xs, &ys);
        self.push_extent(bounds, log_extent);
        self.batches.push(Batch {
            tensor: Tensor::from_values(shape, &values),
            layout,
            bounds,
            log_extent,
            color_range,
        });
    }
}

impl Default for Smoothed {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TensorBoard's formula, written out for the whole line at once.
    fn direct(ys: &[f32], w: f64) -> Vec<f32> {
        (0..ys.len())
            .map(|i| {
                let num: f64 = (0..=i).map(|j| (1.0 - w) * w.powi((i - j) as i32) * ys[j] as f64).sum();
                (num / (1.0 - w.powi(i as i32 + 1))) as f32
            })
            .collect()
    }

    fn record(body: crate::format::RecordBody) -> crate::format::Record {
        crate::format::Record::for_test(body)
    }

    /// Smoothing step by step as records arrive equals smoothing the whole
    /// plot at once, and an earlier state is a prefix: for tandem lines and
    /// for appended multi-lines (two lines, three points per batch).
    #[test]
    fn extending_equals_a_full_pass() {
        use crate::format::{DataCall, GridCell, RecordBody, TandemCall};
        let mut store = super::super::Store::new();
        let layout = vec![
            ("t".to_owned(), GridCell::new(0, 0, 1, 1)),
            ("m".to_owned(), GridCell::new(0, 1, 1, 1)),
        ];
        store.apply(&record(RecordBody::Layout(layout))).unwrap();
        let (mut t_live, mut m_live) = (Smoothed::new(), Smoothed::new());
        let mut rng = fastrand::Rng::with_seed(3);
        for step in 0..40 {
            let ys = [rng.f32(), rng.f32() * 10.0];
            let tandem = TandemCall {
                plot: "t".into(),
                palette: None,
                x: step as f64,
                ys: Tensor::from_values(vec![2], &ys),
            };
            store.apply(&record(RecordBody::TandemLines(tandem))).unwrap();
            // [2 lines, 2 (x, y), 3 points]
            let values: Vec<f32> = (0..2)
                .flat_map(|line| {
                    let xs = (0..3).map(|i| (step * 3 + i) as f32);
                    let ys: Vec<f32> = (0..3).map(|_| rng.f32() + line as f32).collect();
                    xs.chain(ys).collect::<Vec<_>>()
                })
                .collect();
            let call = DataCall {
                plot: "m".into(),
                spatial_dim: 1,
                append: true,
                color: None,
                grid: None,
                line_dims: vec![0],
                data: Tensor::from_values(vec![2, 2, 3], &values),
            };
            store.apply(&record(RecordBody::MultiLines(call))).unwrap();
            t_live.update(&store.plot("t").unwrap(), 0.9);
            m_live.update(&store.plot("m").unwrap(), 0.9);
        }
        let (t, m) = (store.plot("t").unwrap(), store.plot("m").unwrap());
        let (mut t_once, mut m_once) = (Smoothed::new(), Smoothed::new());
        t_once.update(&t, 0.9);
        m_once.update(&m, 0.9);
        assert_eq!(t_live.view(&t).tandem.rows, t_once.view(&t).tandem.rows);
        let points = |s: &Smoothed| -> Vec<(f32, f32)> {
            s.view(&m)
                .batches
                .iter()
                .flat_map(|b| {
                    let v = b.tensor.values().into_owned();
                    (0..b.len()).map(move |p| {
                        let (x, y, _) = b.layout.point(&v, p);
                        (x, y)
                    })
                })
                .collect()
        };
        assert_eq!(points(&m_live), points(&m_once));
        // Line 1 of the multi-lines, smoothed directly.
        let line_1 = |plot: &Plot| -> Vec<f32> {
            plot.batches
                .iter()
                .flat_map(|b| {
                    let v = b.tensor.values().into_owned();
                    (3..6).map(move |p| b.layout.point(&v, p).1)
                })
                .collect()
        };
        let (raw, smoothed) = (line_1(&m), line_1(&m_once.view(&m)));
        for (a, b) in smoothed.iter().zip(direct(&raw, 0.9)) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // An earlier state: a prefix.
        let early = store.at_step(9).unwrap().plot("t").unwrap();
        let prefix = t_live.view(&early);
        assert_eq!(
            prefix.tandem.rows,
            &t_once.view(&t).tandem.rows[..prefix.tandem.rows.len()]
        );
        assert!(prefix.tandem.len() < t.tandem.len());
    }

    #[test]
    fn the_average_is_debiased_and_matches_a_direct_computation() {
        let ys: Vec<f32> = (0..200).map(|i| ((i as f32) * 0.3).sin() + i as f32 * 0.01).collect();
        for w in [0.0f32, 0.6, 0.95, 0.99] {
            let mut ema = Ema::new(w);
            let got: Vec<f32> = ys.iter().map(|&y| ema.push(y)).collect();
            for (a, b) in got.iter().zip(direct(&ys, w as f64)) {
                assert!((a - b).abs() < 1e-4, "w {w}: {a} vs {b}");
            }
        }
        // Debiased: a constant line stays constant from the first point.
        let mut ema = Ema::new(0.9);
        assert!((ema.push(5.0) - 5.0).abs() < 1e-6);
        assert!(ema.push(f32::NAN).is_nan());
        assert!((ema.push(5.0) - 5.0).abs() < 1e-6, "NaN does not move the average");
    }
}
