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
//!
//! # History
//!
//! The store keeps every state the log went through, not only the last:
//! a replaced plot's earlier data stays (as the log's bytes do), each batch
//! and tandem row remembers which record brought it, and layouts, clears
//! and run names are kept with their record numbers. The state after the
//! first `n` records is then a [`Snapshot`]: per plot, the data it held
//! then is the epoch (one replace and the appends after it) in force and a
//! prefix of that epoch's batches, found by binary search. Building a
//! snapshot costs O(plots x log(records)) and copies no data; a renderer
//! that holds an epoch's first `k` batches draws fewer of them to go back
//! and uploads only the missing ones to go forward. The [`Timeline`] says
//! where each step ends.

mod batch;
mod export;
mod pyramid;
mod reduce;
mod runs;
mod smooth;
mod steps;

pub use batch::{Batch, Bounds, ColorSource, GridTiling, LogExtent, PointLayout, finite_bounds, unit_index};
pub use export::{ExportColumns, ExportPlot, export};
pub use pyramid::LinePyramid;
pub use reduce::{ReducedLines, needs_reduction, reduce_lines};
pub use runs::{Run, Runs};
pub use smooth::{Ema, SMOOTHING_STEPS, Smoothed, smoothing_step};
pub use steps::{Boundary, StepDetector, StepMark, StepRule, Timeline};

use crate::format::{DataCall, GridCell, Record, RecordBody, TandemCall, Tensor};
use std::collections::HashMap;
use std::sync::Arc;

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
#[derive(Clone, Copy, Debug, Default)]
pub struct TandemData<'a> {
    /// Number of lines.
    pub lines: usize,
    /// Rows of `1 + lines` floats.
    pub rows: &'a [f32],
}

impl TandemData<'_> {
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

/// One plot's data at one point of the log: borrowed from the store.
#[derive(Clone, Copy, Debug)]
pub struct Plot<'a> {
    pub name: &'a str,
    pub kind: PlotKind,
    /// The palette of the latest call, if it coloured its data.
    pub palette: Option<&'a str>,
    /// Line plots: the names of the lines, in line order, when the logger
    /// gave them.
    pub line_names: Option<&'a [String]>,
    /// Changes whenever the data is replaced rather than appended to.
    pub generation: u64,
    /// Scatter and lines data, in call order.
    pub batches: &'a [Batch],
    /// Tandem data.
    pub tandem: TandemData<'a>,
    /// Bounds of all finite points.
    pub bounds: Bounds,
    /// What log axes need of the finite points.
    pub log_extent: LogExtent,
    /// Colour by value: the range of the finite colour values.
    pub color_range: Option<(f32, f32)>,
}

impl Plot<'_> {
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
        self.palette.map(|_| unit_index(k, self.tandem.lines))
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

/// A plot's data from one replace (or its creation) on: the first record
/// and what each later append added.
#[derive(Debug)]
struct Epoch {
    /// Number of the record that started it.
    start: u64,
    kind: PlotKind,
    generation: u64,
    /// Scatter and lines: one batch per call.
    batches: Vec<Batch>,
    /// Tandem: lines per row, and the rows.
    tandem_lines: usize,
    tandem_rows: Vec<f32>,
    /// Per item (batch or tandem row): the number of its record, and the
    /// bounds of the items up to and including it.
    items: Vec<Item>,
    /// Palette changes from none: the first item of each, and the palette
    /// (empty for a plot never coloured).
    palettes: Vec<(usize, Option<Box<str>>)>,
    /// Line name changes: the first item of each, and the names (none for
    /// lines unnamed).
    names: Vec<(usize, Option<Names>)>,
}

/// A line plot's names for its lines, shared by the epochs that use them.
pub type Names = Arc<[String]>;

/// What the history keeps per batch or tandem row: 56 bytes.
#[derive(Clone, Copy, Debug)]
struct Item {
    record: u64,
    bounds: Bounds,
    log_extent: LogExtent,
    /// The range of colour values up to and including it (colour by
    /// value); empty (min above max) without any.
    colors: (f32, f32),
}

impl Epoch {
    fn new(start: u64, kind: PlotKind) -> Self {
        Self {
            start,
            kind,
            generation: next_generation(),
            // Most epochs are one replace: room for exactly one item (appends
            // grow the vectors as usual).
            batches: Vec::with_capacity(usize::from(kind != PlotKind::Tandem)),
            tandem_lines: 0,
            tandem_rows: Vec::new(),
            items: Vec::with_capacity(1),
            palettes: Vec::new(),
            names: Vec::new(),
        }
    }

    fn items(&self) -> usize {
        self.items.len()
    }

    fn last_bounds(&self) -> Bounds {
        self.items.last().map_or(Bounds::EMPTY, |item| item.bounds)
    }

    /// Names the lines of the items pushed from now on (`None`: unnamed).
    fn name_lines(&mut self, names: Option<&Names>) {
        let current = self.names.last().and_then(|(_, n)| n.as_ref());
        if current != names {
            self.names.push((self.items(), names.cloned()));
        }
    }

    /// Records an item added by record `record`.
    fn push_item(
        &mut self,
        record: u64,
        (bounds, log_extent): (Bounds, LogExtent),
        colors: Option<(f32, f32)>,
        palette: Option<&str>,
    ) {
        let current = self.palettes.last().and_then(|(_, p)| p.as_deref());
        if current != palette {
            self.palettes.push((self.items(), palette.map(Into::into)));
        }
        let bounds = self.last_bounds().union(&bounds);
        let log_extent = self
            .items
            .last()
            .map_or(log_extent, |item| item.log_extent.union(&log_extent));
        let last = self
            .items
            .last()
            .map_or((f32::INFINITY, f32::NEG_INFINITY), |item| item.colors);
        let colors = colors.map_or(last, |(lo, hi)| (last.0.min(lo), last.1.max(hi)));
        self.items.push(Item {
            record,
            bounds,
            log_extent,
            colors,
        });
    }

    /// The plot as it was with the first `items` items.
    fn view<'a>(&'a self, name: &'a str, items: usize) -> Plot<'a> {
        let palette_at = self.palettes.partition_point(|(first, _)| *first < items);
        let palette = palette_at.checked_sub(1).and_then(|i| self.palettes[i].1.as_deref());
        let names_at = self.names.partition_point(|(first, _)| *first < items);
        let line_names = names_at.checked_sub(1).and_then(|i| self.names[i].1.as_deref());
        let (batches, rows) = match self.kind {
            PlotKind::Tandem => (&self.batches[..0], &self.tandem_rows[..items * (self.tandem_lines + 1)]),
            _ => (&self.batches[..items], &self.tandem_rows[..0]),
        };
        Plot {
            name,
            kind: self.kind,
            palette,
            line_names,
            generation: self.generation,
            batches,
            tandem: TandemData {
                lines: self.tandem_lines,
                rows,
            },
            bounds: items.checked_sub(1).map_or(Bounds::EMPTY, |i| self.items[i].bounds),
            log_extent: items
                .checked_sub(1)
                .map_or(LogExtent::EMPTY, |i| self.items[i].log_extent),
            color_range: items
                .checked_sub(1)
                .map(|i| self.items[i].colors)
                .filter(|(lo, hi)| lo <= hi),
        }
    }
}

/// Every epoch of one plot name, oldest first.
#[derive(Debug)]
struct PlotHistory {
    name: String,
    epochs: Vec<Epoch>,
}

/// Every plot, layout and step the log went through.
#[derive(Debug)]
pub struct Store {
    /// Layouts with the number of the record that set them (a clear sets
    /// the empty layout).
    layouts: Vec<(u64, Layout)>,
    no_layout: Layout,
    /// Numbers of the `clear` records.
    clears: Vec<u64>,
    /// The names the log gave each line plot's lines, for its next lines
    /// calls.
    line_names: HashMap<String, Names>,
    /// Plot names in order of their first data ever.
    plots: Vec<PlotHistory>,
    /// Index into `plots` by name.
    plot_index: HashMap<String, usize>,
    /// Run names with the number of the record that first carried each.
    run_names: Vec<(u64, String)>,
    /// Records applied (or refused) so far.
    records: u64,
    /// Incremented on every applied record and on reset; lets a viewer skip
    /// redraws.
    revision: u64,
    timeline: Timeline,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store that finds steps by markers if the log has any, else by plot
    /// repeats.
    pub fn new() -> Self {
        Self::with_step_rule(None)
    }

    /// A store that finds steps by `rule`.
    pub fn with_step_rule(rule: Option<StepRule>) -> Self {
        Self {
            layouts: Vec::new(),
            no_layout: Layout::default(),
            clears: Vec::new(),
            line_names: HashMap::new(),
            plots: Vec::new(),
            plot_index: HashMap::new(),
            run_names: Vec::new(),
            records: 0,
            revision: 0,
            timeline: Timeline::new(rule),
        }
    }

    /// The state after every record so far.
    pub fn live(&self) -> Snapshot<'_> {
        self.at_record(self.records)
    }

    /// The state after the first `records` records.
    pub fn at_record(&self, records: u64) -> Snapshot<'_> {
        let records = records.min(self.records);
        let plots = (0..self.plots.len()).filter_map(|i| self.plot_at(i, records)).collect();
        let layout = match self.layouts.partition_point(|(at, _)| *at < records) {
            0 => &self.no_layout,
            i => &self.layouts[i - 1].1,
        };
        let run_name = self
            .run_names
            .partition_point(|(at, _)| *at < records)
            .checked_sub(1)
            .map(|i| self.run_names[i].1.as_str());
        Snapshot {
            store: self,
            records,
            layout,
            plots,
            run_name,
        }
    }

    /// The state right after step `k` (counted from 0), if the log has it.
    pub fn at_step(&self, k: u64) -> Option<Snapshot<'_>> {
        self.timeline.step(k, self.records).map(|mark| self.at_record(mark.end))
    }

    /// The steps found so far.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Step `k` of the timeline.
    pub fn step(&self, k: u64) -> Option<StepMark> {
        self.timeline.step(k, self.records)
    }

    /// Number of records applied (or refused) so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Plot `index` of `self.plots` after the first `records` records, if it
    /// held data then.
    fn plot_at(&self, index: usize, records: u64) -> Option<Plot<'_>> {
        let history = &self.plots[index];
        let e = history.epochs.partition_point(|e| e.start < records).checked_sub(1)?;
        let epoch = &history.epochs[e];
        let cleared = self.clears.partition_point(|&c| c < records);
        if cleared > 0 && self.clears[cleared - 1] > epoch.start {
            return None;
        }
        let items = epoch.items.partition_point(|item| item.record < records);
        Some(epoch.view(&history.name, items))
    }

    /// The layout as last set, in the caller's order.
    pub fn layout(&self) -> &[(String, GridCell)] {
        self.layouts.last().map_or(&[], |(_, l)| l.cells())
    }

    /// Every plot holding data now.
    pub fn plots(&self) -> Vec<Plot<'_>> {
        self.live().plots
    }

    /// Plot `name` as it is now.
    pub fn plot(&self, name: &str) -> Option<Plot<'_>> {
        self.plot_at(*self.plot_index.get(name)?, self.records)
    }

    /// The layout cell of a plot.
    pub fn cell(&self, name: &str) -> Option<GridCell> {
        self.layouts.last()?.1.cell(name)
    }

    /// Changes with every applied record.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The run name of the latest record.
    pub fn run_name(&self) -> Option<&str> {
        self.run_names.last().map(|(_, name)| name.as_str())
    }

    /// Steps so far (see [`Timeline::len`]).
    pub fn steps(&self) -> u64 {
        self.timeline.len()
    }

    /// Forgets everything, as a new store; used when the source restarts.
    pub fn reset(&mut self) {
        let revision = self.revision + 1;
        let rule = self.timeline.fixed_rule();
        *self = Store::with_step_rule(rule);
        self.revision = revision;
    }

    /// Bytes of memory held by the history's bookkeeping (not the tensors,
    /// which the log's map holds): per item a record number and bounds.
    pub fn history_bytes(&self) -> usize {
        let epochs: usize = self
            .plots
            .iter()
            .flat_map(|h| &h.epochs)
            .map(|e| {
                std::mem::size_of::<Epoch>()
                    + e.items.capacity() * std::mem::size_of::<Item>()
                    + e.palettes.capacity() * std::mem::size_of::<(usize, Option<Box<str>>)>()
                    + e.names.capacity() * std::mem::size_of::<(usize, Option<Names>)>()
                    + e.batches.capacity() * std::mem::size_of::<Batch>()
            })
            .sum();
        epochs + self.timeline.memory_bytes()
    }

    /// Applies one record. A record that a logger would have refused (written
    /// by another tool, or for a plot outside the layout) is not applied.
    pub fn apply(&mut self, record: &Record) -> Result<(), ApplyError> {
        let index = self.records;
        self.timeline.observe(index, record);
        self.records += 1;
        if self.run_name() != Some(record.meta.run_name.as_str()) {
            self.run_names.push((index, record.meta.run_name.clone()));
        }
        match &record.body {
            RecordBody::Layout(cells) => {
                let layout = Layout::new(cells.clone())?;
                self.layouts.push((index, layout));
            }
            RecordBody::Clear => {
                self.clears.push(index);
                self.layouts.push((index, Layout::default()));
                self.line_names.clear();
            }
            RecordBody::LineNames(names) => {
                self.check_in_layout(&names.plot)?;
                self.line_names.insert(names.plot.clone(), names.names.clone().into());
            }
            RecordBody::Scatter(call) => self.apply_data(index, DataCallKind::Scatter, call)?,
            RecordBody::MultiLines(call) => self.apply_data(index, DataCallKind::MultiLines, call)?,
            RecordBody::TandemLines(call) => self.apply_tandem(index, call)?,
            RecordBody::Step(_) => {}
            // Joined into their frame by the Pub/Sub source; nothing to show.
            RecordBody::Fragment(_) => return Ok(()),
        }
        self.revision += 1;
        Ok(())
    }

    fn check_in_layout(&self, plot: &str) -> Result<(), CallError> {
        match self.layouts.last() {
            Some((_, layout)) => layout.check_contains(plot),
            None => self.no_layout.check_contains(plot),
        }
    }

    /// The names of plot `name`'s `lines` lines, if the log gave as many.
    fn names_for(&self, name: &str, kind: PlotKind, lines: usize) -> Option<Names> {
        let names = self.line_names.get(name).filter(|_| kind != PlotKind::Scatter)?;
        if names.len() != lines {
            log::warn!(
                "plot {}: {} line names for {lines} lines; drawing them unnamed",
                calls::printable(name),
                names.len()
            );
            return None;
        }
        Some(names.clone())
    }

    /// The epoch that record `index` for plot `name` adds to: a new one when
    /// the plot holds no data now, is of another kind, or `fresh` is set.
    fn epoch_for(&mut self, index: u64, name: &str, kind: PlotKind, fresh: bool) -> &mut Epoch {
        let current = self.plot(name).map(|p| p.kind);
        let h = match self.plot_index.get(name) {
            Some(&h) => h,
            None => {
                self.plots.push(PlotHistory {
                    name: name.to_owned(),
                    epochs: Vec::new(),
                });
                self.plot_index.insert(name.to_owned(), self.plots.len() - 1);
                self.plots.len() - 1
            }
        };
        let epochs = &mut self.plots[h].epochs;
        if fresh || current != Some(kind) {
            epochs.push(Epoch::new(index, kind));
        }
        epochs.last_mut().expect("an epoch")
    }

    fn apply_data(&mut self, index: u64, kind: DataCallKind, call: &DataCall<Tensor>) -> Result<(), ApplyError> {
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
        let names = self.names_for(&call.plot, plot_kind, batch.layout.lines_shape().0);
        let epoch = self.epoch_for(index, &call.plot, plot_kind, fresh);
        if plot_kind == PlotKind::Lines {
            epoch.name_lines(names.as_ref());
        }
        epoch.push_item(
            index,
            (batch.bounds, batch.log_extent),
            batch.color_range,
            call.color.as_ref().map(|c| c.palette.as_str()),
        );
        epoch.batches.push(batch);
        Ok(())
    }

    fn apply_tandem(&mut self, index: u64, call: &TandemCall<Tensor>) -> Result<(), ApplyError> {
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
        let names = self.names_for(&call.plot, PlotKind::Tandem, lines);
        let epoch = self.epoch_for(index, &call.plot, PlotKind::Tandem, restart);
        epoch.name_lines(names.as_ref());
        epoch.tandem_lines = lines;
        let x = call.x as f32;
        epoch.tandem_rows.push(x);
        epoch.tandem_rows.extend_from_slice(&ys);
        let (mut bounds, mut log_extent) = (Bounds::EMPTY, LogExtent::EMPTY);
        for &y in ys.iter() {
            bounds.include(x, y);
            log_extent.include(x, y);
        }
        epoch.push_item(index, (bounds, log_extent), None, call.palette.as_deref());
        Ok(())
    }
}

/// The state of every plot after some number of records: what a log cut
/// there shows. Borrowed from the [`Store`]; cheap to make.
#[derive(Clone, Debug)]
pub struct Snapshot<'a> {
    store: &'a Store,
    records: u64,
    layout: &'a Layout,
    plots: Vec<Plot<'a>>,
    run_name: Option<&'a str>,
}

impl<'a> Snapshot<'a> {
    /// The layout in force, in the caller's order.
    pub fn layout(&self) -> &'a [(String, GridCell)] {
        self.layout.cells()
    }

    /// The plots holding data.
    pub fn plots(&self) -> &[Plot<'a>] {
        &self.plots
    }

    pub fn plot(&self, name: &str) -> Option<Plot<'a>> {
        self.store.plot_at(*self.store.plot_index.get(name)?, self.records)
    }

    /// The layout cell of a plot.
    pub fn cell(&self, name: &str) -> Option<GridCell> {
        self.layout.cell(name)
    }

    /// Whether plot `name` holds data at any point of the store's history.
    pub fn has_history(&self, name: &str) -> bool {
        self.store.plot_index.contains_key(name)
    }

    /// The run name of the latest record shown.
    pub fn run_name(&self) -> Option<&'a str> {
        self.run_name
    }

    /// Records the state holds.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether this is the store's latest state.
    pub fn is_live(&self) -> bool {
        self.records == self.store.records
    }
}

/// Anything that shows as a [`Snapshot`]: a store (its live state) or a
/// snapshot.
pub trait AsSnapshot {
    fn as_snapshot(&self) -> Snapshot<'_>;
}

impl AsSnapshot for Store {
    fn as_snapshot(&self) -> Snapshot<'_> {
        self.live()
    }
}

impl AsSnapshot for Snapshot<'_> {
    fn as_snapshot(&self) -> Snapshot<'_> {
        self.clone()
    }
}

#[cfg(test)]
mod tests;
