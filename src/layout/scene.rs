//! What a frame shows, decided without a GPU: every plot's frame, view and
//! ticks.

use std::collections::HashMap;

use super::grid::{PageLayout, PlotFrame, Style};
use super::ticks::{Tick, nice_ticks};
use super::transform::{DataRect, ScreenFromData, autoscale};
use crate::store::AsSnapshot;

/// One plot in a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotScene {
    pub frame: PlotFrame,
    /// The data rectangle shown in the plot area.
    pub view: DataRect,
    /// Whether the view was set by the user (zoom, pan) rather than autoscale.
    pub zoomed: bool,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
}

impl PlotScene {
    pub fn transform(&self) -> ScreenFromData {
        ScreenFromData::new(self.view, self.frame.plot_area)
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
    /// Lays out the store's plots on a `width` x `height` page. Plots in
    /// `views` show that data rectangle; the others fit their data.
    pub fn build(
        store: &dyn AsSnapshot,
        views: &HashMap<String, DataRect>,
        width: u32,
        height: u32,
        style: &Style,
    ) -> PageScene {
        let store = store.as_snapshot();
        let page = PageLayout::new(store.layout(), width as f32, height as f32, style);
        let plots = page
            .frames
            .into_iter()
            .map(|frame| {
                let (view, zoomed) = match views.get(&frame.name) {
                    Some(view) => (*view, true),
                    None => (
                        store
                            .plot(&frame.name)
                            .map_or_else(|| autoscale(&crate::store::Bounds::EMPTY), |p| autoscale(&p.bounds)),
                        false,
                    ),
                };
                let area = frame.plot_area;
                // About one label per 90 px across and 45 px up.
                let x_target = (area.width / (90.0 * style.font_size / 11.0)).round().max(2.0) as usize;
                let y_target = (area.height / (45.0 * style.font_size / 11.0)).round().max(2.0) as usize;
                PlotScene {
                    x_ticks: nice_ticks(view.min[0], view.max[0], x_target),
                    y_ticks: nice_ticks(view.min[1], view.max[1], y_target),
                    frame,
                    view,
                    zoomed,
                }
            })
            .collect();
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
}
