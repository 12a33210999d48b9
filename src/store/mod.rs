//! The plot store: applies records in order and keeps each plot's data on the
//! CPU side, with the original streamvis's semantics (see
//! `tests/data/parity/README.md`).
//!
//! * `set_layout` replaces the layout; `clear` drops layout, plots and data.
//! * `scatter` / `multi_lines` with `append = false` replace the plot's data
//!   with the call's; with `append = true` they add a [`Batch`] (scatter: more
//!   points; lines: every line grows). Appending costs O(new points): a batch
//!   keeps the record's tensor (shared with the log's memory map) and its
//!   bounds, computed in one pass.
//! * `tandem_lines` adds one point to each of its lines.
//!
//! For the renderer, each plot carries a `generation` that changes whenever
//! its data is replaced; between changes, batches and tandem rows are only
//! appended, so uploading `batches[uploaded..]` is enough.

mod batch;
mod export;
mod reduce;

pub use batch::{Batch, Bounds, ColorSource, GridTiling, PointLayout, finite_bounds, unit_index};
pub use export::{ExportColumns, ExportPlot, export};
pub use reduce::{ReducedLines, needs_reduction, reduce_lines};

use crate::format::{DataCall, GridCell, Record, RecordBody, TandemCall, Tensor};
use std::collections::HashMap;

use crate::calls::{self, CallError, DataCallKind, Layout};

/// What kind of plot a name holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotKind {
    Scatter,
    /// `multi_lines` data.
    Lines,
    /// `tandem_lines` data.
    Tandem,
}

/// Lines built by `tandem_lines`: row `i` is `[x_i, y_i0, .., y_i(K-1)]`.
#[derive(Clone, Debug, Default)]
pub struct TandemData {
    /// Number of lines.
    pub lines: usize,
    /// Rows of `1 + lines` floats.
    pub rows: Vec<f32>,
}

impl TandemData {
    pub fn len(&self) -> usize {
        self.rows.len() / (self.lines + 1)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Point `i` of line `k`.
    pub fn point(&self, k: usize, i: usize) -> (f32, f32) {
        let row = &self.rows[i * (self.lines + 1)..(i + 1) * (self.lines + 1)];
        (row[0], row[1 + k])
    }
}

/// One plot's data.
#[derive(Clone, Debug)]
pub struct Plot {
    pub name: String,
    pub kind: PlotKind,
    /// The palette of the latest call, if it coloured its data.
    pub palette: Option<String>,
    /// Changes whenever the data is replaced rather than appended to.
    pub generation: u64,
    /// Scatter and lines data, in call order.
    pub batches: Vec<Batch>,
    /// Tandem data.
    pub tandem: TandemData,
    /// Bounds of all finite points.
    pub bounds: Bounds,
}

impl Plot {
    /// Number of points (scatter), or of points summed over lines.
    pub fn point_count(&self) -> usize {
        match self.kind {
            PlotKind::Tandem => self.tandem.len() * self.tandem.lines,
            _ => self.batches.iter().map(Batch::len).sum(),
        }
    }

    /// Lines: the number of lines.
    pub fn line_count(&self) -> usize {
        match self.kind {
            PlotKind::Scatter => 0,
            PlotKind::Tandem => self.tandem.lines,
            PlotKind::Lines => self.batches.first().map_or(0, |b| b.layout.lines_shape().0),
        }
    }

    /// Lines: the colour value of line `k` when it is constant along the
    /// line (tandem lines with a palette).
    pub fn tandem_color(&self, k: usize) -> Option<f32> {
        self.palette.as_ref().map(|_| unit_index(k, self.tandem.lines))
    }
}

/// A generation number unique in the process, so that a renderer that has
/// seen one store never mistakes another store's plot for data it holds.
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Why a record was not applied; the reader warns and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Call(#[from] CallError),
}

impl ApplyError {
    /// The kind of refusal, for counting repeats.
    pub fn kind(&self) -> &'static str {
        match self {
            ApplyError::Call(err) => err.kind(),
        }
    }
}

/// Every plot, the layout, and what changed.
#[derive(Debug, Default)]
pub struct Store {
    layout: Layout,
    /// Plots in order of first data.
    plots: Vec<Plot>,
    /// Index into `plots` by name.
    plot_index: HashMap<String, usize>,
    /// Incremented on every applied record; lets a viewer skip redraws.
    revision: u64,
    run_name: Option<String>,
    steps: u64,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// The layout as last set, in the caller's order.
    pub fn layout(&self) -> &[(String, GridCell)] {
        self.layout.cells()
    }

    pub fn plots(&self) -> &[Plot] {
        &self.plots
    }

    pub fn plot(&self, name: &str) -> Option<&Plot> {
        self.plot_index.get(name).map(|&i| &self.plots[i])
    }

    /// The layout cell of a plot.
    pub fn cell(&self, name: &str) -> Option<GridCell> {
        self.layout.cell(name)
    }

    /// Changes with every applied record.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The run name of the latest record.
    pub fn run_name(&self) -> Option<&str> {
        self.run_name.as_deref()
    }

    /// Step markers applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Forgets everything, as after `clear()`; used when the source restarts.
    pub fn reset(&mut self) {
        self.clear();
        self.revision += 1;
    }

    fn clear(&mut self) {
        self.layout = Layout::default();
        self.plots.clear();
        self.plot_index.clear();
    }

    /// Applies one record. A record that a logger would have refused (written
    /// by another tool, or for a plot outside the layout) is not applied.
    pub fn apply(&mut self, record: &Record) -> Result<(), ApplyError> {
        if self.run_name.as_deref() != Some(record.meta.run_name.as_str()) {
            self.run_name = Some(record.meta.run_name.clone());
        }
        match &record.body {
            RecordBody::Layout(cells) => self.layout = Layout::new(cells.clone())?,
            RecordBody::Clear => self.clear(),
            RecordBody::Scatter(call) => self.apply_data(DataCallKind::Scatter, call)?,
            RecordBody::MultiLines(call) => self.apply_data(DataCallKind::MultiLines, call)?,
            RecordBody::TandemLines(call) => self.apply_tandem(call)?,
            RecordBody::Step(_) => self.steps += 1,
            // Joined into their frame by the Pub/Sub source; nothing to show.
            RecordBody::Fragment(_) => return Ok(()),
        }
        self.revision += 1;
        Ok(())
    }

    fn check_in_layout(&self, plot: &str) -> Result<(), CallError> {
        self.layout.check_contains(plot)
    }

    /// The plot named `name`, made fresh (new generation, no data) when it is
    /// missing, of another kind, or `fresh` is set.
    fn plot_for(&mut self, name: &str, kind: PlotKind, fresh: bool) -> &mut Plot {
        let generation = next_generation();
        let index = match self.plot_index.get(name).copied() {
            Some(i) if fresh || self.plots[i].kind != kind => {
                let plot = &mut self.plots[i];
                plot.kind = kind;
                plot.generation = generation;
                plot.batches.clear();
                plot.tandem = TandemData::default();
                plot.bounds = Bounds::EMPTY;
                i
            }
            Some(i) => return &mut self.plots[i],
            None => {
                self.plots.push(Plot {
                    name: name.to_owned(),
                    kind,
                    palette: None,
                    generation,
                    batches: Vec::new(),
                    tandem: TandemData::default(),
                    bounds: Bounds::EMPTY,
                });
                self.plot_index.insert(name.to_owned(), self.plots.len() - 1);
                self.plots.len() - 1
            }
        };
        &mut self.plots[index]
    }

    fn apply_data(&mut self, kind: DataCallKind, call: &DataCall<Tensor>) -> Result<(), ApplyError> {
        self.check_in_layout(&call.plot)?;
        calls::check_data_call(kind, call)?;
        let batch = Batch::new(call);
        let plot_kind = match kind {
            DataCallKind::Scatter => PlotKind::Scatter,
            DataCallKind::MultiLines => PlotKind::Lines,
        };
        let mut fresh = !call.append;
        if let Some(plot) = self.plot(&call.plot) {
            // Lines grow only if the new batch has the same lines.
            if call.append && plot.kind == PlotKind::Lines && plot_kind == PlotKind::Lines {
                let lines = plot.batches.first().map(|b| b.layout.lines_shape().0);
                if lines.is_some_and(|n| n != batch.layout.lines_shape().0) {
                    log::warn!(
                        "plot {}: appending {} lines to {} lines; replacing instead",
                        calls::printable(&call.plot),
                        batch.layout.lines_shape().0,
                        lines.unwrap_or(0)
                    );
                    fresh = true;
                }
            }
        }
        let plot = self.plot_for(&call.plot, plot_kind, fresh);
        plot.palette = call.color.as_ref().map(|c| c.palette.clone());
        plot.bounds = plot.bounds.union(&batch.bounds);
        plot.batches.push(batch);
        Ok(())
    }

    fn apply_tandem(&mut self, call: &TandemCall<Tensor>) -> Result<(), ApplyError> {
        self.check_in_layout(&call.plot)?;
        calls::check_tandem_call(call.palette.as_deref(), call.ys.len())?;
        let ys = call.ys.values();
        let lines = ys.len();
        let restart = self
            .plot(&call.plot)
            .is_some_and(|p| p.kind == PlotKind::Tandem && p.tandem.lines != lines);
        if restart {
            log::warn!(
                "plot {}: tandem_lines with {lines} values after a different count; restarting its lines",
                calls::printable(&call.plot)
            );
        }
        let plot = self.plot_for(&call.plot, PlotKind::Tandem, restart);
        plot.palette = call.palette.clone();
        plot.tandem.lines = lines;
        let x = call.x as f32;
        plot.tandem.rows.push(x);
        plot.tandem.rows.extend_from_slice(&ys);
        for &y in ys.iter() {
            plot.bounds.include(x, y);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
