//! Min/max per pixel column of long tandem lines without a pass over them.
//!
//! A growing loss curve is the common long line: its x (the step) only
//! grows. For such lines the rows in a pixel column are one index range,
//! found by binary search on x, and the column's M4 points (first, lowest,
//! highest, last) come from that range's ends and its min and max. A
//! [`LinePyramid`] keeps, per line, the min and max (with their rows) of
//! every aligned block of 16, 32, 64, ... rows, so any range's min and max
//! take O(log n) blocks plus at most two partial blocks of raw rows. Rows
//! are indexed as they are appended (O(1) amortised per row), and a frame
//! reduces in O(columns x lines x log n) whatever the line's length or the
//! view: a new step and a zoom cost the same few milliseconds at 1e7 rows as
//! at 1e4.
//!
//! The output is exactly [`super::reduce_lines`]'s. Lines it cannot serve
//! (x not sorted, a non-finite value, a point a log axis leaves out) say so,
//! and the caller reduces them with the full pass.

use super::{Plot, PlotKind, ReducedLines, TandemData, unit_index};

/// Rows per block of the finest level.
const BLOCK: usize = 16;

/// The min and max of a block of one line, with their rows (the first row
/// on ties, as the full pass keeps).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Extremes {
    min: f32,
    min_at: u32,
    max: f32,
    max_at: u32,
}

impl Extremes {
    fn point(y: f32, at: usize) -> Self {
        Self {
            min: y,
            min_at: at as u32,
            max: y,
            max_at: at as u32,
        }
    }

    /// `self` then `later`: ties keep `self`'s rows.
    fn then(self, later: Extremes) -> Extremes {
        let (min, min_at) = if later.min < self.min {
            (later.min, later.min_at)
        } else {
            (self.min, self.min_at)
        };
        let (max, max_at) = if later.max > self.max {
            (later.max, later.max_at)
        } else {
            (self.max, self.max_at)
        };
        Extremes {
            min,
            min_at,
            max,
            max_at,
        }
    }
}

/// Block extremes of one tandem plot's lines, extended as rows arrive.
#[derive(Debug, Default)]
pub struct LinePyramid {
    /// The plot generation indexed; another starts afresh.
    generation: Option<u64>,
    lines: usize,
    /// Rows indexed.
    rows: usize,
    /// Level k holds, for every complete block of `BLOCK << k` rows, its
    /// extremes per line (block-major: block b, line l at `b * lines + l`).
    levels: Vec<Vec<Extremes>>,
    /// Whether every row indexed has finite values and x no smaller than
    /// the row before; the smallest x and y seen (log axes need them
    /// positive).
    sorted_and_finite: bool,
    min_x: f32,
    min_y: f32,
}

impl LinePyramid {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes the rows of `plot` (a tandem plot) not indexed yet; starts
    /// afresh when the plot was replaced. Earlier states of the plot (a
    /// prefix of its rows) need no change.
    pub fn update(&mut self, plot: &Plot) {
        let data = &plot.tandem;
        if self.generation != Some(plot.generation) || self.lines != data.lines {
            *self = Self {
                generation: Some(plot.generation),
                lines: data.lines,
                sorted_and_finite: true,
                min_x: f32::INFINITY,
                min_y: f32::INFINITY,
                ..Self::default()
            };
        }
        while self.rows < data.len() {
            self.push_row(data, self.rows);
        }
    }

    fn push_row(&mut self, data: &TandemData, i: usize) {
        let row = &data.rows[i * (self.lines + 1)..(i + 1) * (self.lines + 1)];
        let x = row[0];
        let previous = (i > 0).then(|| data.rows[(i - 1) * (self.lines + 1)]);
        if !x.is_finite() || previous.is_some_and(|p| x < p) || !row[1..].iter().all(|y| y.is_finite()) {
            self.sorted_and_finite = false;
        }
        self.min_x = self.min_x.min(x);
        self.min_y = row[1..].iter().fold(self.min_y, |m, &y| m.min(y));
        self.rows = i + 1;
        if !self.rows.is_multiple_of(BLOCK) {
            return;
        }
        // A block completed: its extremes, then every coarser block it
        // completes.
        let start = self.rows - BLOCK;
        let block: Vec<Extremes> = (0..self.lines)
            .map(|l| {
                (start + 1..self.rows).fold(Extremes::point(data.point(l, start).1, start), |e, r| {
                    e.then(Extremes::point(data.point(l, r).1, r))
                })
            })
            .collect();
        self.push_block(0, block);
    }

    fn push_block(&mut self, level: usize, block: Vec<Extremes>) {
        if self.levels.len() == level {
            self.levels.push(Vec::new());
        }
        self.levels[level].extend_from_slice(&block);
        let blocks = self.levels[level].len() / self.lines.max(1);
        if blocks.is_multiple_of(2) {
            let at = (blocks - 2) * self.lines;
            let pair = &self.levels[level][at..at + 2 * self.lines];
            let merged = (0..self.lines).map(|l| pair[l].then(pair[self.lines + l])).collect();
            self.push_block(level + 1, merged);
        }
    }

    /// Whether [`LinePyramid::reduce`] serves `plot` on log axes `log`: the
    /// rows it shows are indexed, sorted by x and finite, and a log axis
    /// leaves none of them out.
    pub fn serves(&self, plot: &Plot, log: [bool; 2]) -> bool {
        plot.kind == PlotKind::Tandem
            && self.generation == Some(plot.generation)
            && plot.tandem.lines == self.lines
            && plot.tandem.len() <= self.rows
            && self.sorted_and_finite
            && !(log[0] && self.min_x <= 0.0)
            && !(log[1] && self.min_y <= 0.0)
    }

    /// The extremes of line `line` over rows `lo..hi` (not empty).
    fn extremes(&self, data: &TandemData, line: usize, lo: usize, hi: usize) -> Extremes {
        let raw = |from: usize, to: usize, acc: Option<Extremes>| {
            (from..to).fold(acc, |acc, r| {
                let e = Extremes::point(data.point(line, r).1, r);
                Some(acc.map_or(e, |acc| acc.then(e)))
            })
        };
        let first_block = lo.next_multiple_of(BLOCK);
        if first_block >= hi {
            return raw(lo, hi, None).expect("a row");
        }
        let mut acc = raw(lo, first_block, None);
        let mut at = first_block;
        while at + BLOCK <= hi && at + BLOCK <= self.rows {
            // The largest indexed block that starts here and fits.
            let mut level = 0;
            while level + 1 < self.levels.len() {
                let size = BLOCK << (level + 1);
                let index = at / size;
                if !at.is_multiple_of(size) || at + size > hi || (index + 1) * self.lines > self.levels[level + 1].len()
                {
                    break;
                }
                level += 1;
            }
            let size = BLOCK << level;
            let e = self.levels[level][(at / size) * self.lines + line];
            acc = Some(acc.map_or(e, |acc| acc.then(e)));
            at += size;
        }
        raw(at, hi, acc).expect("a row")
    }

    /// The plot's lines reduced to at most four points per pixel column
    /// for a view of x from `x_min` to `x_max` (log10 of x on a log x
    /// axis) over `columns` pixels: what [`super::reduce_lines`] gives, in
    /// O(columns x lines x log rows). Call only when
    /// [`LinePyramid::serves`] says so.
    pub fn reduce(&self, plot: &Plot, x_min: f64, x_max: f64, columns: u32, log: [bool; 2]) -> ReducedLines {
        let data = &plot.tandem;
        let n = data.len();
        let span = x_max - x_min;
        let scale = if span > 0.0 { columns as f64 / span } else { 0.0 };
        let column = |x: f32| {
            let x = if log[0] { (x as f64).log10() } else { x as f64 };
            (((x - x_min) * scale).floor() as i64).clamp(-1, columns as i64)
        };
        // Rows of column c are bounds[c + 1]..bounds[c + 2]; the buckets
        // left and right of the view are the first and last.
        let stride = data.lines + 1;
        let bounds: Vec<usize> = (-1..=columns as i64 + 1)
            .map(|c| partition_rows(n, |r| column(data.rows[r * stride]) < c))
            .collect();
        let mut per_line: Vec<Vec<[f32; 3]>> = vec![Vec::new(); data.lines];
        for (line, out) in per_line.iter_mut().enumerate() {
            let c = plot.palette.as_ref().map_or(0.0, |_| unit_index(line, data.lines));
            for range in bounds.windows(2) {
                let (lo, hi) = (range[0], range[1]);
                if lo == hi {
                    continue;
                }
                let e = self.extremes(data, line, lo, hi);
                let mut picks = [lo, e.min_at as usize, e.max_at as usize, hi - 1];
                picks.sort_unstable();
                let mut previous = usize::MAX;
                for r in picks {
                    if r != previous {
                        let (x, y) = data.point(line, r);
                        out.push([x, y, c]);
                        previous = r;
                    }
                }
            }
        }
        let points = per_line.iter().map(Vec::len).max().unwrap_or(0);
        let mut xyc = Vec::with_capacity(data.lines * points * 3);
        for out in &per_line {
            for p in out {
                xyc.extend_from_slice(p);
            }
            let pad = out.last().copied().unwrap_or([f32::NAN; 3]);
            for _ in out.len()..points {
                xyc.extend_from_slice(&pad);
            }
        }
        ReducedLines {
            lines: data.lines,
            points,
            xyc,
            source_points: n,
        }
    }
}

/// The first row of `0..n` for which `before` is false (`before` holds for
/// a prefix).
fn partition_rows(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{GridCell, Record, RecordBody, TandemCall, Tensor};
    use crate::store::{Store, reduce_lines};

    fn store(rows: usize, x: impl Fn(usize) -> f64, ys: impl Fn(usize) -> Vec<f32>) -> Store {
        let mut store = Store::new();
        let layout = RecordBody::Layout(vec![("l".into(), GridCell::new(0, 0, 1, 1))]);
        store.apply(&Record::for_test(layout)).unwrap();
        for i in 0..rows {
            let v = ys(i);
            let call = TandemCall {
                plot: "l".into(),
                palette: Some("Viridis256".into()),
                x: x(i),
                ys: Tensor::from_values(vec![v.len()], &v),
            };
            store.apply(&Record::for_test(RecordBody::TandemLines(call))).unwrap();
        }
        store
    }

    #[test]
    fn the_pyramid_reduces_as_the_full_pass_does() {
        let mut rng = fastrand::Rng::with_seed(5);
        // Noise with repeated values (ties), spikes, and x repeating now
        // and then (still sorted).
        let noise: Vec<f32> = (0..20_000).map(|_| (rng.u32(0..50) as f32) / 7.0).collect();
        let store = store(
            20_000,
            |i| (i - i % 3) as f64 * 0.5,
            |i| vec![noise[i], if i % 997 == 0 { 1e3 } else { -noise[i] }],
        );
        let mut pyramid = LinePyramid::new();
        // Indexed as the plot grows, checked at several lengths, views and
        // widths (zoomed in, out, off the data).
        for rows in [1, 63, 64, 65, 1000, 4097, 20_000] {
            let plot = store.at_record(1 + rows as u64).plot("l").unwrap();
            pyramid.update(&plot);
            assert!(pyramid.serves(&plot, [false; 2]));
            for (x_min, x_max, columns) in [
                (0.0, 10_000.0, 200u32),
                (-50.0, 5_000.0, 1000),
                (1234.5, 1300.25, 37),
                (-10.0, 10.0, 5),
                (20_000.0, 30_000.0, 100),
            ] {
                let full = reduce_lines(&plot, x_min, x_max, columns, [false; 2]);
                let fast = pyramid.reduce(&plot, x_min, x_max, columns, [false; 2]);
                assert_eq!(fast, full, "{rows} rows, view {x_min}..{x_max} over {columns}");
            }
        }
        // An earlier state is served by the longer index.
        let earlier = store.at_record(500).plot("l").unwrap();
        pyramid.update(&earlier);
        assert!(pyramid.serves(&earlier, [false; 2]));
        assert_eq!(
            pyramid.reduce(&earlier, 0.0, 300.0, 50, [false; 2]),
            reduce_lines(&earlier, 0.0, 300.0, 50, [false; 2])
        );
    }

    #[test]
    fn log_axes_are_served_while_every_value_is_positive() {
        let store = store(
            5000,
            |i| (i + 1) as f64,
            |i| vec![1.0 + (i % 17) as f32, 1e-3 * (1 + i % 5) as f32],
        );
        let plot = store.plot("l").unwrap();
        let mut pyramid = LinePyramid::new();
        pyramid.update(&plot);
        for log in [[true, false], [false, true], [true, true]] {
            assert!(pyramid.serves(&plot, log));
            let (lo, hi) = (0.0, 5000f64.log10());
            let (lo, hi) = if log[0] { (lo, hi) } else { (0.0, 5000.0) };
            assert_eq!(
                pyramid.reduce(&plot, lo, hi, 300, log),
                reduce_lines(&plot, lo, hi, 300, log)
            );
        }
    }

    #[test]
    fn lines_it_cannot_serve_say_so() {
        let unsorted = store(300, |i| ((i * 7) % 300) as f64, |_| vec![1.0]);
        let with_nan = store(300, |i| i as f64, |i| vec![if i == 150 { f32::NAN } else { 1.0 }]);
        let through_zero = store(300, |i| i as f64, |i| vec![i as f32 - 10.0]);
        for (store, log) in [
            (&unsorted, [false; 2]),
            (&with_nan, [false; 2]),
            (&through_zero, [false, true]),
        ] {
            let plot = store.plot("l").unwrap();
            let mut pyramid = LinePyramid::new();
            pyramid.update(&plot);
            assert!(!pyramid.serves(&plot, log));
        }
        // A replaced plot is indexed afresh.
        let plot = through_zero.plot("l").unwrap();
        let mut pyramid = LinePyramid::new();
        pyramid.update(&plot);
        assert!(pyramid.serves(&plot, [false; 2]));
        let other = with_nan.plot("l").unwrap();
        pyramid.update(&other);
        assert!(!pyramid.serves(&other, [false; 2]));
    }
}
