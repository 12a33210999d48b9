//! Plot geometry without a GPU: grid_map cells to pixel rectangles, the
//! data <-> screen transform of each plot, autoscale, zoom and ticks.
//!
//! Screen coordinates are physical pixels with the origin at the top left and
//! y pointing down; data coordinates have y pointing up.

mod grid;
mod page_data;
mod points;
mod scene;
mod ticks;
mod transform;

pub use grid::{PageLayout, PlotFrame, Rect, Style};
pub use page_data::{AsPageData, LogAxes, PageData, RUN_COLORS, ShownRun};
pub use points::{POINT_SIZES, PlotSet, PointOptions, marker_radius, point_size_step};
pub use scene::{ColorKey, ColorScale, LegendEntry, PageScene, PlotScene};
pub use ticks::{Tick, format_count, format_value, log_ticks, nice_ticks};
pub use transform::{DataRect, ScreenFromData, autoscale};

#[cfg(test)]
mod tests;
