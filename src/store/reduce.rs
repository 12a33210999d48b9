//! Lines with more points than pixels, reduced without losing what they
//! look like: per pixel column, each line keeps its first, lowest, highest and
//! last point (M4 reduction). Spikes survive, nothing is sampled away, and the
//! drawn line is the same as the full one at that width.
//!
//! The reduction depends on the view (which x range maps to which column), so
//! it is recomputed when the view or the data changes.

use super::{Plot, PlotKind, unit_index};

/// Reduced lines: `lines` lines of `points` points each, as `(x, y, colour)`
/// triples, line after line. Shorter lines are padded by repeating their last
/// point (a zero-length segment draws nothing).
#[derive(Clone, Debug, PartialEq)]
pub struct ReducedLines {
    pub lines: usize,
    pub points: usize,
    pub xyc: Vec<f32>,
    /// Points per line before the reduction (the longest line).
    pub source_points: usize,
}

/// A point with its position in the line.
#[derive(Clone, Copy)]
struct Pt {
    index: usize,
    x: f32,
    y: f32,
    c: f32,
}

/// Accumulates M4 buckets for one line.
struct M4 {
    out: Vec<[f32; 3]>,
    column: i64,
    first: Option<Pt>,
    low: Pt,
    high: Pt,
    last: Pt,
}

impl M4 {
    fn new() -> Self {
        let none = Pt {
            index: 0,
            x: 0.0,
            y: 0.0,
            c: 0.0,
        };
        Self {
            out: Vec::new(),
            column: i64::MIN,
            first: None,
            low: none,
            high: none,
            last: none,
        }
    }

    fn push(&mut self, column: i64, p: Pt) {
        if !(p.x.is_finite() && p.y.is_finite()) {
            // A gap in the data stays a gap.
            self.flush();
            self.out.push([f32::NAN, f32::NAN, p.c]);
            self.column = i64::MIN;
            return;
        }
        if column != self.column || self.first.is_none() {
            self.flush();
            self.column = column;
            self.first = Some(p);
            (self.low, self.high, self.last) = (p, p, p);
            return;
        }
        if p.y < self.low.y {
            self.low = p;
        }
        if p.y > self.high.y {
            self.high = p;
        }
        self.last = p;
    }

    fn flush(&mut self) {
        let Some(first) = self.first.take() else { return };
        // Extremes in the order they occurred, each point once.
        let mut picks = [first, self.low, self.high, self.last];
        picks.sort_by_key(|p| p.index);
        let mut previous = usize::MAX;
        for p in picks {
            if p.index != previous {
                self.out.push([p.x, p.y, p.c]);
                previous = p.index;
            }
        }
    }
}

/// Whether a line plot has more points per line than `columns` pixel
/// columns can show (by a factor of two).
pub fn needs_reduction(plot: &Plot, columns: u32) -> bool {
    let per_line = match plot.kind {
        PlotKind::Scatter => return false,
        PlotKind::Tandem => plot.tandem.len(),
        PlotKind::Lines => plot.batches.iter().map(|b| b.layout.lines_shape().1).sum(),
    };
    per_line > 2 * columns.max(1) as usize
}

/// Reduces every line of `plot` to at most four points per pixel column,
/// for a view showing x from `x_min` to `x_max` over `columns` pixels. With
/// log axes (`log`: x, y), the view's x range is in log10 of x, and points
/// at or below zero on a log axis are gaps, as the shaders draw them.
pub fn reduce_lines(plot: &Plot, x_min: f64, x_max: f64, columns: u32, log: [bool; 2]) -> ReducedLines {
    let span = x_max - x_min;
    let scale = if span > 0.0 { columns as f64 / span } else { 0.0 };
    // Points left of the view share column -1, right of it `columns`: the
    // line still enters and leaves the view at the right height.
    let column = |x: f32| {
        let x = if log[0] { (x as f64).log10() } else { x as f64 };
        (((x - x_min) * scale).floor() as i64).clamp(-1, columns as i64)
    };
    // A gap where a log axis cannot place the point (min/max of y are the
    // same on either scale).
    let placed = |x: f32, y: f32| {
        let outside = |v: f32| v.is_nan() || v <= 0.0;
        if (log[0] && outside(x)) || (log[1] && outside(y)) {
            (f32::NAN, f32::NAN)
        } else {
            (x, y)
        }
    };
    let lines = plot.line_count();
    let mut reduced: Vec<M4> = (0..lines).map(|_| M4::new()).collect();
    let mut source_points = 0;
    match plot.kind {
        PlotKind::Scatter => {}
        PlotKind::Tandem => {
            let data = &plot.tandem;
            source_points = data.len();
            for (k, m4) in reduced.iter_mut().enumerate() {
                let c = plot.palette.as_ref().map_or(0.0, |_| unit_index(k, data.lines));
                for i in 0..data.len() {
                    let (x, y) = data.point(k, i);
                    let (x, y) = placed(x, y);
                    m4.push(column(x), Pt { index: i, x, y, c });
                }
            }
        }
        PlotKind::Lines => {
            let mut offset = 0;
            for batch in plot.batches {
                let values = batch.tensor.values();
                let (batch_lines, per_line) = batch.layout.lines_shape();
                for (line, m4) in reduced.iter_mut().enumerate().take(batch_lines) {
                    for j in 0..per_line {
                        let (x, y, c) = batch.layout.point(&values, line * per_line + j);
                        let (x, y) = placed(x, y);
                        m4.push(
                            column(x),
                            Pt {
                                index: offset + j,
                                x,
                                y,
                                c: c.unwrap_or(0.0),
                            },
                        );
                    }
                }
                offset += per_line;
            }
            source_points = offset;
        }
    }
    for m4 in &mut reduced {
        m4.flush();
    }
    let points = reduced.iter().map(|m| m.out.len()).max().unwrap_or(0);
    let mut xyc = Vec::with_capacity(lines * points * 3);
    for m4 in &reduced {
        for p in &m4.out {
            xyc.extend_from_slice(p);
        }
        let pad = m4.out.last().copied().unwrap_or([f32::NAN; 3]);
        for _ in m4.out.len()..points {
            xyc.extend_from_slice(&pad);
        }
    }
    ReducedLines {
        lines,
        points,
        xyc,
        source_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{GridCell, Record, RecordBody, TandemCall, Tensor};
    use crate::store::Store;

    fn tandem_store(ys: impl Fn(usize) -> Vec<f32>, steps: usize) -> Store {
        let mut store = Store::new();
        let layout = RecordBody::Layout(vec![("l".into(), GridCell::new(0, 0, 1, 1))]);
        store.apply(&Record::for_test(layout)).unwrap();
        for i in 0..steps {
            let v = ys(i);
            let call = TandemCall {
                plot: "l".into(),
                palette: Some("Viridis256".into()),
                x: i as f64,
                ys: Tensor::from_values(vec![v.len()], &v),
            };
            store.apply(&Record::for_test(RecordBody::TandemLines(call))).unwrap();
        }
        store
    }

    #[test]
    fn spikes_survive_and_the_size_is_bounded_by_the_width() {
        // 100,000 points of a slow wave with one spike up and one down.
        let store = tandem_store(
            |i| {
                let y = (i as f32 / 5000.0).sin()
                    + if i == 31_337 {
                        50.0
                    } else if i == 77_777 {
                        -40.0
                    } else {
                        0.0
                    };
                vec![y, -y]
            },
            100_000,
        );
        let plot = store.plot("l").unwrap();
        assert!(needs_reduction(&plot, 200));
        let r = reduce_lines(&plot, 0.0, 100_000.0, 200, [false; 2]);
        assert_eq!((r.lines, r.source_points), (2, 100_000));
        assert!(r.points <= 4 * 202, "{} points per line", r.points);
        let line0: Vec<[f32; 3]> = r.xyc[..r.points * 3].chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
        let max = line0.iter().map(|p| p[1]).fold(f32::MIN, f32::max);
        let min = line0.iter().map(|p| p[1]).fold(f32::MAX, f32::min);
        assert!(max > 49.0 && min < -39.0, "the spikes are kept: {min}..{max}");
        assert!(line0.iter().any(|p| p[0] == 31_337.0 && p[1] > 49.0));
        // Order along x is kept.
        assert!(line0.windows(2).all(|w| w[0][0] <= w[1][0]));
        // Line 1 is coloured 1.0 (last of two through the palette).
        assert_eq!(r.xyc[r.points * 3 + 2], 1.0);
    }

    #[test]
    fn zooming_in_keeps_every_point_in_view() {
        let store = tandem_store(|i| vec![(i % 7) as f32], 10_000);
        let plot = store.plot("l").unwrap();
        // 100 points in a 1000-pixel view: one per column, all kept.
        let r = reduce_lines(&plot, 5000.0, 5099.0, 1000, [false; 2]);
        let inside = r.xyc.chunks(3).filter(|p| (5000.0..=5099.0).contains(&p[0])).count();
        assert_eq!(inside, 100);
    }

    #[test]
    fn gaps_stay_gaps() {
        let store = tandem_store(|i| vec![if (400..410).contains(&i) { f32::NAN } else { 1.0 }], 1000);
        let r = reduce_lines(&store.plot("l").unwrap(), 0.0, 1000.0, 50, [false; 2]);
        assert!(r.xyc.chunks(3).any(|p| p[0].is_nan()));
    }

    #[test]
    fn log_axes_reduce_by_log_x_and_leave_out_what_they_cannot_place() {
        // y = x + 1, but below zero every 1000 steps.
        let store = tandem_store(
            |i| vec![if i % 1000 == 500 { -(i as f32) } else { i as f32 + 1.0 }],
            100_000,
        );
        let plot = store.plot("l").unwrap();
        // x is the row index: x = 0 is left out on a log x axis.
        let r = reduce_lines(&plot, 0.0, 5.0, 100, [true, true]);
        let points: Vec<&[f32]> = r.xyc.chunks(3).collect();
        // Placed points are positive in x and y; the others are gaps.
        assert!(points.iter().all(|p| p[0].is_nan() || (p[0] > 0.0 && p[1] > 0.0)));
        let gaps = points.iter().filter(|p| p[0].is_nan()).count();
        // x = 0, and the 100 dips below zero.
        assert_eq!(gaps, 101);
        // Columns are decades / 20: x from 1 to 10 (the first 20 columns)
        // keeps each of the first 9 points, which a linear reduction of
        // 100_000 points over 100 columns would merge into one column.
        let small: Vec<f32> = points
            .iter()
            .map(|p| p[0])
            .filter(|x| (1.0..10.0).contains(x))
            .collect();
        assert_eq!(small, (1..10).map(|x| x as f32).collect::<Vec<_>>());
        let linear = reduce_lines(&plot, 0.0, 100_000.0, 100, [false; 2]);
        let merged = linear.xyc.chunks(3).filter(|p| (1.0..10.0).contains(&p[0])).count();
        assert!(merged < 9, "{merged} points from 1 to 10 on a linear axis");
    }
}
