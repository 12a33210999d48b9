//! What a frame shows, decided without a GPU: every plot's frame, view and
//! ticks.

use std::collections::HashMap;

use super::grid::{PageLayout, PlotFrame, Rect, Style};
use super::page_data::AsPageData;
use super::ticks::{Tick, log_ticks, nice_ticks};
use super::transform::{DataRect, ScreenFromData, autoscale};
use crate::store::{Bounds, ColorSource, Plot, PlotKind};

/// One plot in a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotScene {
    pub frame: PlotFrame,
    /// The title: the plot's name, and the run's label on a run's panel.
    pub title: String,
    /// The runs (indices into the page data's runs) drawn here.
    pub runs: Vec<usize>,
    /// With several runs in one plot: each run's label and colour, and
    /// whether it is drawn (hidden runs are listed too, to be shown again).
    pub legend: Vec<LegendEntry>,
    /// Whether each run is drawn in its colour (several runs in one plot)
    /// rather than in the plot's own colours.
    pub by_run: bool,
    /// How the plot's own colours read (a colour bar, or a legend of
    /// lines), when it has a palette and shows one run.
    pub color_key: Option<ColorKey>,
    /// Whether x and y are on log scales.
    pub log: [bool; 2],
    /// Points not drawn because they are at or below zero on a log axis.
    pub left_out: u64,
    /// The rectangle of plot space shown in the plot area: data
    /// coordinates, or their log10 on a log axis.
    pub view: DataRect,
    /// Whether the view was set by the user (zoom, pan) rather than autoscale.
    pub zoomed: bool,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
}

impl PlotScene {
    /// Plot space (see [`PlotScene::view`]) to screen and back.
    pub fn transform(&self) -> ScreenFromData {
        ScreenFromData::new(self.view, self.frame.plot_area)
    }

    /// Where a data point is in plot space; `None` when a log axis leaves
    /// it out.
    pub fn plot_from_data(&self, p: [f64; 2]) -> Option<[f64; 2]> {
        let mut out = p;
        for axis in 0..2 {
            if self.log[axis] {
                if p[axis].is_nan() || p[axis] <= 0.0 {
                    return None;
                }
                out[axis] = p[axis].log10();
            }
        }
        Some(out)
    }

    /// The data point at a point of plot space.
    pub fn data_from_plot(&self, p: [f64; 2]) -> [f64; 2] {
        std::array::from_fn(|axis| if self.log[axis] { 10f64.powf(p[axis]) } else { p[axis] })
    }
}

/// Everything a frame shows.
#[derive(Clone, Debug, PartialEq)]
pub struct PageScene {
    pub width: u32,
    pub height: u32,
    pub style: Style,
    pub plots: Vec<PlotScene>,
}

impl PageScene {
    /// Lays out the plots of `data` (one run, or several) on a `width` x
    /// `height` page. Plots in `views` show that data rectangle; the others
    /// fit their data (over every run). With several runs, a scatter plot
    /// that more than one run holds gets a panel per run, all showing the
    /// same data rectangle; line plots draw every run in one plot.
    pub fn build(
        data: &dyn AsPageData,
        views: &HashMap<String, DataRect>,
        width: u32,
        height: u32,
        style: &Style,
    ) -> PageScene {
        let data = data.as_page_data();
        let page = PageLayout::new(&data.layout, width as f32, height as f32, style);
        let mut plots = Vec::new();
        for frame in page.frames {
            let listed: Vec<(usize, Plot)> = data
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, run)| Some((i, run.snapshot.plot(&frame.name)?)))
                .collect();
            let holders: Vec<&(usize, Plot)> = listed.iter().filter(|(i, _)| data.runs[*i].visible).collect();
            let log = data.log_axes.of(&frame.name);
            let bounds = holders.iter().fold(Bounds::EMPTY, |acc, (_, plot)| {
                acc.union(&plot.log_extent.plot_bounds(&plot.bounds, log))
            });
            let left_out = holders.iter().map(|(_, plot)| plot.log_extent.left_out(log)).sum();
            let axes = Axes { log, left_out };
            let (view, zoomed) = match views.get(&frame.name) {
                Some(view) => (*view, true),
                None => (autoscale(&bounds), false),
            };
            let scatter = holders.first().is_some_and(|(_, p)| p.kind == PlotKind::Scatter);
            let runs: Vec<usize> = holders.iter().map(|(i, _)| *i).collect();
            let mut by_run = data.is_several() && !scatter;
            if data.is_several() && scatter && runs.len() > 1 {
                let panels = frame.panels(runs.len(), style);
                // Too many runs for panels with room for data: overlaid.
                let roomy = panels
                    .iter()
                    .all(|p| p.plot_area.width >= 4.0 * style.font_size && p.plot_area.height >= 3.0 * style.font_size);
                if roomy && !data.overlay_clouds {
                    for (panel, run) in panels.into_iter().zip(&runs) {
                        let title = format!("{}: {}", frame.name, data.runs[*run].label);
                        let color_key = holders
                            .iter()
                            .find(|(i, _)| i == run)
                            .and_then(|(_, p)| ColorKey::of(p));
                        let left_out = holders
                            .iter()
                            .find(|(i, _)| i == run)
                            .map_or(0, |(_, p)| p.log_extent.left_out(log));
                        plots.push(PlotScene {
                            runs: vec![*run],
                            color_key,
                            ..PlotScene::new(panel, title, view, zoomed, Axes { log, left_out }, style)
                        });
                    }
                    continue;
                }
                by_run = true;
            }
            // Several runs in one plot: each in its colour, with a legend.
            let legend = if by_run {
                listed
                    .iter()
                    .filter_map(|(i, _)| {
                        let run = &data.runs[*i];
                        Some(LegendEntry {
                            label: run.label.clone(),
                            color: run.color?,
                            visible: run.visible,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let title = frame.name.clone();
            let color_key = match holders.as_slice() {
                [(_, plot)] if !by_run => ColorKey::of(plot),
                _ => None,
            };
            plots.push(PlotScene {
                runs,
                legend,
                by_run,
                color_key,
                ..PlotScene::new(frame, title, view, zoomed, axes, style)
            });
        }
        PageScene {
            width,
            height,
            style: *style,
            plots,
        }
    }

    /// The plot whose cell holds a screen point.
    pub fn plot_at(&self, point: [f32; 2]) -> Option<&PlotScene> {
        self.plots.iter().find(|p| p.frame.cell.contains(point))
    }

    /// The legend entry under a screen point: its run's label.
    pub fn legend_at(&self, point: [f32; 2]) -> Option<&str> {
        self.plots.iter().find_map(|plot| {
            let (_, rows, _) = plot.legend_layout(&self.style)?;
            rows.iter()
                .position(|row| row.contains(point))
                .map(|i| plot.legend[i].label.as_str())
        })
    }
}

/// How a plot's colours read.
#[derive(Clone, Debug, PartialEq)]
pub struct ColorKey {
    /// The palette's name, as logged.
    pub palette: String,
    pub scale: ColorScale,
    /// A legend of lines: the lines' names, when the logger gave them.
    pub line_names: Option<Vec<String>>,
}

/// What the colours of a plot stand for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorScale {
    /// Colour by value, from `min` to `max`: a colour bar.
    Values { min: f32, max: f32 },
    /// Colour by index along a dimension of `count`: a colour bar from 0
    /// to `count - 1`, or a swatch per index for a categorical palette.
    Index { count: usize },
    /// Up to ten lines, each its colour: a legend of lines.
    Lines { count: usize },
    /// A density image: points per pixel from 1 to `max`, on a log scale
    /// (`log(1 + count) / log(1 + max)` through the palette).
    Counts { max: u32 },
}

/// Lines beyond this many get a colour bar of their index, not a legend.
const MAX_LINE_LEGEND: usize = 10;

impl ColorKey {
    /// The key of a plot with a palette; `None` without one.
    pub fn of(plot: &Plot) -> Option<ColorKey> {
        let palette = plot.palette?.to_owned();
        let lines = |count: usize| {
            if count <= MAX_LINE_LEGEND {
                ColorScale::Lines { count }
            } else {
                ColorScale::Index { count }
            }
        };
        let scale = match plot.kind {
            PlotKind::Tandem => lines(plot.tandem.lines),
            PlotKind::Scatter | PlotKind::Lines => {
                let last = plot.batches.last()?;
                match last.layout.color {
                    ColorSource::None => return None,
                    ColorSource::Value => {
                        let (min, max) = plot.color_range?;
                        ColorScale::Values { min, max }
                    }
                    ColorSource::Index { axis } if plot.kind == PlotKind::Lines && axis < last.layout.line_axes => {
                        lines(plot.line_count())
                    }
                    ColorSource::Index { axis } => ColorScale::Index {
                        count: last.layout.sizes[axis],
                    },
                }
            }
        };
        let line_names = match scale {
            ColorScale::Lines { .. } => plot.line_names.map(<[String]>::to_vec),
            _ => None,
        };
        Some(ColorKey {
            palette,
            scale,
            line_names,
        })
    }
}

/// One run in a plot's legend.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub color: [u8; 3],
    pub visible: bool,
}

impl PlotScene {
    /// Where the legend goes, top right in the plot area: its panel, a row
    /// per entry listed, and how many entries did not fit (the legend takes
    /// at most half the plot's height; a last line counts the others). Text
    /// is not measured: a generous estimate of its width.
    pub fn legend_layout(&self, style: &Style) -> Option<(Rect, Vec<Rect>, usize)> {
        if self.legend.is_empty() {
            return None;
        }
        let area = self.frame.plot_area;
        let row_h = (style.font_size * 1.35).round();
        let swatch = (style.font_size * 1.6).round();
        let fit = (((area.height * 0.5 - 6.0) / row_h).floor() as usize).max(1);
        let (listed, more) = if self.legend.len() > fit {
            (fit.saturating_sub(1), self.legend.len() - fit.saturating_sub(1))
        } else {
            (self.legend.len(), 0)
        };
        let longest = self.legend[..listed]
            .iter()
            .map(|e| e.label.chars().count())
            .max()
            .unwrap_or(0)
            .max(if more > 0 { 22 } else { 0 }) as f32;
        let width = (longest * style.font_size * 0.62 + swatch + 16.0).min(area.width);
        let lines = listed + usize::from(more > 0);
        let height = (lines as f32 * row_h + 6.0).min(area.height);
        let (x0, y0) = ((area.right() - width - 4.0).round(), (area.y + 4.0).round());
        let rows = (0..listed)
            .map(|i| Rect::new(x0, y0 + 3.0 + i as f32 * row_h, width, row_h))
            .collect();
        Some((Rect::new(x0, y0, width, height), rows, more))
    }
}

/// A plot's axes: which are on log scales, and how many points that
/// leaves out.
#[derive(Clone, Copy)]
struct Axes {
    log: [bool; 2],
    left_out: u64,
}

impl PlotScene {
    fn new(frame: PlotFrame, title: String, view: DataRect, zoomed: bool, axes: Axes, style: &Style) -> PlotScene {
        let area = frame.plot_area;
        // About one label per 90 px across and 45 px up.
        let x_target = (area.width / (90.0 * style.font_size / 11.0)).round().max(2.0) as usize;
        let y_target = (area.height / (45.0 * style.font_size / 11.0)).round().max(2.0) as usize;
        let ticks = |axis: usize, target| {
            let (min, max) = (view.min[axis], view.max[axis]);
            if axes.log[axis] {
                log_ticks(min, max, target)
            } else {
                nice_ticks(min, max, target)
            }
        };
        PlotScene {
            x_ticks: ticks(0, x_target),
            y_ticks: ticks(1, y_target),
            log: axes.log,
            left_out: axes.left_out,
            frame,
            title,
            runs: Vec::new(),
            legend: Vec::new(),
            by_run: false,
            color_key: None,
            view,
            zoomed,
        }
    }
}
