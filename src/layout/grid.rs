//! grid_map cells to pixel rectangles.

use crate::format::GridCell;

/// A rectangle in screen pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn new(x: f32, y: f32, width: f32, height: f32) -> Self {
        Self {
            x,
            y,
            width: width.max(0.0),
            height: height.max(0.0),
        }
    }

    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    pub fn contains(&self, point: [f32; 2]) -> bool {
        point[0] >= self.x && point[0] < self.right() && point[1] >= self.y && point[1] < self.bottom()
    }

    /// The rectangle with `left`, `top`, `right`, `bottom` taken off; never
    /// outside `self` (an inset larger than the rectangle leaves it empty).
    pub fn inset(&self, left: f32, top: f32, right: f32, bottom: f32) -> Rect {
        Rect::new(
            self.x + left.min(self.width),
            self.y + top.min(self.height),
            self.width - left - right,
            self.height - top - bottom,
        )
    }

    /// Rounded to whole pixels and clamped to a `width` x `height` target, as
    /// `(x, y, w, h)` for a viewport or scissor rectangle.
    pub fn to_pixels(&self, width: u32, height: u32) -> (u32, u32, u32, u32) {
        let x0 = self.x.round().clamp(0.0, width as f32) as u32;
        let y0 = self.y.round().clamp(0.0, height as f32) as u32;
        let x1 = self.right().round().clamp(0.0, width as f32) as u32;
        let y1 = self.bottom().round().clamp(0.0, height as f32) as u32;
        (x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }
}

/// Sizes of the page's furniture, in logical pixels (multiplied by the
/// scale factor for HiDPI).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// Space around each cell.
    pub cell_margin: f32,
    /// Height of the title row.
    pub title_height: f32,
    /// Width left of the plot area for y tick labels.
    pub y_axis_width: f32,
    /// Height under the plot area for x tick labels.
    pub x_axis_height: f32,
    /// Space right of the plot area, so the last x label fits.
    pub right_pad: f32,
    pub font_size: f32,
    pub title_font_size: f32,
    /// Radius of scatter points.
    pub point_radius: f32,
    /// Width of lines.
    pub line_width: f32,
    /// Length of tick marks.
    pub tick_length: f32,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            cell_margin: 6.0,
            title_height: 22.0,
            y_axis_width: 52.0,
            x_axis_height: 22.0,
            right_pad: 14.0,
            font_size: 11.0,
            title_font_size: 13.0,
            point_radius: 2.5,
            line_width: 2.0,
            tick_length: 4.0,
        }
    }
}

impl Style {
    /// The style scaled for a display's scale factor.
    pub fn scaled(&self, factor: f32) -> Style {
        Style {
            cell_margin: self.cell_margin * factor,
            title_height: self.title_height * factor,
            y_axis_width: self.y_axis_width * factor,
            x_axis_height: self.x_axis_height * factor,
            right_pad: self.right_pad * factor,
            font_size: self.font_size * factor,
            title_font_size: self.title_font_size * factor,
            point_radius: self.point_radius * factor,
            line_width: self.line_width * factor,
            tick_length: self.tick_length * factor,
        }
    }
}

/// Where one plot goes on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotFrame {
    pub name: String,
    /// The whole cell: nothing of this plot is drawn outside it.
    pub cell: Rect,
    /// The title row.
    pub title: Rect,
    /// The area data is drawn in, inside the axes.
    pub plot_area: Rect,
}

impl PlotFrame {
    /// A plot filling `cell`: title row on top, axes left and below.
    pub fn in_cell(name: &str, cell: Rect, style: &Style) -> PlotFrame {
        let title = Rect::new(cell.x, cell.y, cell.width, style.title_height.min(cell.height));
        let plot_area = cell
            .inset(
                style.y_axis_width,
                style.title_height,
                style.right_pad,
                style.x_axis_height,
            )
            .snapped();
        PlotFrame {
            name: name.to_owned(),
            cell,
            title,
            plot_area,
        }
    }

    /// `n` plots sharing this frame's cell, in a grid of about equal rows
    /// and columns, left to right, top to bottom.
    pub fn panels(&self, n: usize, style: &Style) -> Vec<PlotFrame> {
        let n = n.max(1);
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let (w, h) = (self.cell.width / cols as f32, self.cell.height / rows as f32);
        (0..n)
            .map(|i| {
                let (x0, y0) = (
                    (self.cell.x + (i % cols) as f32 * w).round(),
                    (self.cell.y + (i / cols) as f32 * h).round(),
                );
                let (x1, y1) = (
                    (self.cell.x + (i % cols + 1) as f32 * w).round(),
                    (self.cell.y + (i / cols + 1) as f32 * h).round(),
                );
                PlotFrame::in_cell(&self.name, Rect::new(x0, y0, x1 - x0, y1 - y0), style)
            })
            .collect()
    }
}

/// The page: one frame per grid_map cell.
#[derive(Clone, Debug, PartialEq)]
pub struct PageLayout {
    pub frames: Vec<PlotFrame>,
}

impl PageLayout {
    /// Lays out `cells` on a `width` x `height` page. The grid has as many
    /// rows and columns as the cells reach; a cell spans `height` rows and
    /// `width` columns from `(top, left)`.
    pub fn new(cells: &[(String, GridCell)], width: f32, height: f32, style: &Style) -> PageLayout {
        let rows = cells
            .iter()
            .map(|(_, c)| c.top.saturating_add(c.height))
            .max()
            .unwrap_or(1)
            .max(1);
        let cols = cells
            .iter()
            .map(|(_, c)| c.left.saturating_add(c.width))
            .max()
            .unwrap_or(1)
            .max(1);
        let (row_px, col_px) = (height / rows as f32, width / cols as f32);
        let frames = cells
            .iter()
            .map(|(name, c)| {
                // Whole-pixel edges, so that neighbouring cells share none.
                let x0 = (c.left as f32 * col_px).round();
                let y0 = (c.top as f32 * row_px).round();
                let x1 = (c.left.saturating_add(c.width) as f32 * col_px).round();
                let y1 = (c.top.saturating_add(c.height) as f32 * row_px).round();
                let m = style.cell_margin;
                let cell = Rect::new(x0, y0, x1 - x0, y1 - y0).inset(m, m, m, m);
                PlotFrame::in_cell(name, cell, style)
            })
            .collect();
        PageLayout { frames }
    }

    /// The frame under a screen point.
    pub fn frame_at(&self, point: [f32; 2]) -> Option<&PlotFrame> {
        self.frames.iter().find(|f| f.cell.contains(point))
    }

    pub fn frame(&self, name: &str) -> Option<&PlotFrame> {
        self.frames.iter().find(|f| f.name == name)
    }
}

impl Rect {
    /// Edges moved to whole pixels.
    fn snapped(&self) -> Rect {
        let (x0, y0) = (self.x.round(), self.y.round());
        Rect::new(x0, y0, self.right().round() - x0, self.bottom().round() - y0)
    }
}
