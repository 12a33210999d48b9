//! What a page shows: the state of one run, or of several runs at once.
//!
//! With one run, plots look as they always did (their own palettes and
//! colours). With several, each run gets a colour of its own (Category10,
//! by the run's place among all runs, so hiding one does not recolour the
//! others): line plots draw every run in the same axes in its colour, with
//! a legend; scatter plots get one panel per run in the plot's cell, sharing
//! one data range (see [`super::PageScene`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::points::PlotSet;

use super::points::PointOptions;
use crate::format::GridCell;
use crate::store::{AsSnapshot, Run, Runs, Snapshot, Store};

/// d3's Category10, the colours of runs in order.
pub const RUN_COLORS: [[u8; 3]; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

/// One run as a page shows it.
#[derive(Clone, Debug)]
pub struct ShownRun<'a> {
    /// Tells the run's GPU data apart from other runs' ("" for a single run).
    pub key: String,
    pub label: String,
    /// The run's colour, when several runs share the page.
    pub color: Option<[u8; 3]>,
    /// Hidden runs are listed in legends, not drawn.
    pub visible: bool,
    pub snapshot: Snapshot<'a>,
}

/// The runs a page shows and the layout they share.
#[derive(Clone, Debug)]
pub struct PageData<'a> {
    /// The union of the runs' grid maps: a plot name is one plot in every run
    /// (the first run's cell wins).
    pub layout: Vec<(String, GridCell)>,
    pub runs: Vec<ShownRun<'a>>,
    /// Several runs' clouds in one plot, coloured by run, rather than a
    /// panel per run.
    pub overlay_clouds: bool,
    /// Line plots smoothed with this weight (0: raw), the raw lines faint
    /// under the smoothed ones.
    pub smoothing: f32,
    /// Which plots have a log x or y axis.
    pub log_axes: LogAxes,
    /// How scatter markers are drawn: size, opacity, density images.
    pub points: PointOptions,
}

/// Which plots show x or y on a log scale: per axis, every plot or none,
/// each with exceptions by name (what `--log-y all` then `l` on one plot
/// gives).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogAxes {
    /// x, then y.
    axes: [PlotSet; 2],
}

impl LogAxes {
    /// From the command line's names per axis (x, y); `all` stands for
    /// every plot.
    pub fn from_names(x: &[String], y: &[String]) -> LogAxes {
        LogAxes {
            axes: [PlotSet::from_names(x), PlotSet::from_names(y)],
        }
    }

    /// Whether plot `name` has a log x and a log y axis.
    pub fn of(&self, name: &str) -> [bool; 2] {
        std::array::from_fn(|axis| self.axes[axis].contains(name))
    }

    /// Switches plot `name`'s `axis` (0: x, 1: y) between linear and log.
    pub fn toggle(&mut self, name: &str, axis: usize) {
        self.axes[axis].toggle(name);
    }

    /// Whether no plot has a log axis.
    pub fn is_none(&self) -> bool {
        self.axes.iter().all(PlotSet::is_empty)
    }
}

impl<'a> PageData<'a> {
    /// One run, drawn as it always was.
    pub fn single(snapshot: Snapshot<'a>) -> Self {
        Self {
            layout: snapshot.layout().to_vec(),
            runs: vec![ShownRun {
                key: String::new(),
                label: snapshot.run_name().unwrap_or_default().to_owned(),
                color: None,
                visible: true,
                snapshot,
            }],
            overlay_clouds: false,
            smoothing: 0.0,
            log_axes: LogAxes::default(),
            points: PointOptions::default(),
        }
    }

    /// The same, with the plots `axes` names on log scales.
    pub fn with_log_axes(mut self, axes: &LogAxes) -> Self {
        self.log_axes = axes.clone();
        self
    }

    /// The same, with scatter markers drawn as `points` says.
    pub fn with_points(mut self, points: &PointOptions) -> Self {
        self.points = points.clone();
        self
    }

    /// The same, with line plots smoothed by `weight` (see
    /// [`crate::store::Ema`]; 0 draws raw lines).
    pub fn with_smoothing(mut self, weight: f32) -> Self {
        self.smoothing = weight;
        self
    }

    /// The same, with several runs' clouds overlaid in one plot (coloured
    /// by run) when `overlay`.
    pub fn with_overlay_clouds(mut self, overlay: bool) -> Self {
        self.overlay_clouds = overlay;
        self
    }

    /// The runs of `runs`, each in the state `state` picks (runs without
    /// one are left out); those in `hidden` (by label, as shown: see
    /// [`crate::calls::printable`]) are only listed in legends. A single run is drawn as [`PageData::single`] draws it.
    pub fn of_runs(runs: &'a Runs, hidden: &HashSet<String>, state: impl Fn(&'a Run) -> Option<Snapshot<'a>>) -> Self {
        let several = runs.len() > 1;
        let mut shown = Vec::new();
        for (i, run) in runs.runs().iter().enumerate() {
            // Shown on the page: control characters escaped.
            let label = crate::calls::printable(&runs.label(i)).into_owned();
            let Some(snapshot) = state(run) else { continue };
            shown.push(ShownRun {
                key: if several { format!("{i}:{label}") } else { String::new() },
                color: several.then(|| RUN_COLORS[i % RUN_COLORS.len()]),
                visible: !hidden.contains(&label),
                label,
                snapshot,
            });
        }
        let mut layout: Vec<(String, GridCell)> = Vec::new();
        let mut names = HashSet::new();
        for run in shown.iter().filter(|run| run.visible) {
            for (name, cell) in run.snapshot.layout() {
                if names.insert(name.clone()) {
                    layout.push((name.clone(), *cell));
                }
            }
        }
        Self {
            layout,
            runs: shown,
            overlay_clouds: false,
            smoothing: 0.0,
            log_axes: LogAxes::default(),
            points: PointOptions::default(),
        }
    }

    /// Whether several runs share the page (colours, legends, panels).
    pub fn is_several(&self) -> bool {
        self.runs.iter().any(|run| run.color.is_some())
    }
}

/// Anything a page can show: a store (its live end), a snapshot, or page
/// data of several runs.
pub trait AsPageData {
    fn as_page_data(&self) -> PageData<'_>;
}

impl AsPageData for Store {
    fn as_page_data(&self) -> PageData<'_> {
        PageData::single(self.live())
    }
}

impl AsPageData for Snapshot<'_> {
    fn as_page_data(&self) -> PageData<'_> {
        PageData::single(self.as_snapshot())
    }
}

impl AsPageData for PageData<'_> {
    fn as_page_data(&self) -> PageData<'_> {
        self.clone()
    }
}
