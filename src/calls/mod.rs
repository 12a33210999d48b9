//! What a logger call means and when it is refused: palette names and the
//! checks shared by the loggers (which refuse a bad call before writing it)
//! and the store (which skips a bad record written by someone else).

mod palette;

pub use palette::{Palette, PaletteFamily};

use std::borrow::Cow;
use std::collections::HashMap;

use crate::format::{DataCall, GridCell, MAX_RANK, TensorData};

/// Why a call is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("plot {plot} not in layout (the layout has: {known}); call set_layout first")]
    NotInLayout { plot: String, known: String },

    #[error("data has {len} values but shape {shape:?} holds {expected}")]
    ShapeMismatch {
        shape: Vec<usize>,
        len: usize,
        expected: usize,
    },

    #[error("data must have at least one dimension")]
    ScalarData,

    #[error("data has {rank} dimensions; at most {max} are supported")]
    RankTooLarge { rank: usize, max: usize },

    #[error("{what} {value} is too large (at most {max})")]
    TooLarge {
        what: &'static str,
        value: usize,
        max: usize,
    },

    #[error("spatial_dim {spatial_dim} out of range for data of shape {shape:?}")]
    SpatialDimOutOfRange { spatial_dim: usize, shape: Vec<usize> },

    #[error("spatial dimension {spatial_dim} has size {size}, expected {expected} ({why})")]
    WrongSpatialSize {
        spatial_dim: usize,
        size: usize,
        expected: usize,
        why: &'static str,
    },

    #[error("color.dim == spatial_dim ({dim}): colour by a non-spatial dimension")]
    ColorDimIsSpatial { dim: usize },

    #[error("color.dim out of range ({dim} for data of shape {shape:?})")]
    ColorDimOutOfRange { dim: usize, shape: Vec<usize> },

    #[error("grid.dim == spatial_dim ({dim}): tile along a non-spatial dimension")]
    GridDimIsSpatial { dim: usize },

    #[error("grid.dim out of range ({dim} for data of shape {shape:?})")]
    GridDimOutOfRange { dim: usize, shape: Vec<usize> },

    #[error("grid.num_columns must be at least 1")]
    GridNoColumns,

    #[error("grid.padding_factor must be finite, got {0}")]
    GridBadPadding(f32),

    #[error("line_dims must name at least one dimension")]
    NoLineDims,

    #[error("scatter takes no line_dims")]
    LineDimsOnScatter,

    #[error(
        "line_dims entry {dim} is out of range or the spatial dim, for data of shape {shape:?} with spatial_dim {spatial_dim}"
    )]
    BadLineDim {
        dim: usize,
        spatial_dim: usize,
        shape: Vec<usize>,
    },

    #[error("line_dims names dimension {dim} twice")]
    RepeatedLineDim { dim: usize },

    #[error("unknown palette {name:?}; known: {}", Palette::known_names_summary())]
    UnknownPalette { name: String },

    #[error("layout cell for plot {plot} must have height and width of at least 1, got {cell:?}")]
    EmptyCell { plot: String, cell: GridCell },

    #[error("layout cell for plot {plot} lies outside the largest grid ({max} rows and columns), got {cell:?}")]
    CellOutsideGrid { plot: String, cell: GridCell, max: u32 },

    #[error("layout names plot {plot} twice")]
    RepeatedPlot { plot: String },

    #[error("plot names must not be empty")]
    EmptyPlotName,

    #[error("tandem_lines needs at least one y value")]
    NoYs,

    #[error("names gives {names} names for {lines} lines")]
    NamesCount { names: usize, lines: usize },
}

impl CallError {
    /// The variant's name: what kind of refusal this is.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::NotInLayout { .. } => "NotInLayout",
            CallError::ShapeMismatch { .. } => "ShapeMismatch",
            CallError::ScalarData => "ScalarData",
            CallError::RankTooLarge { .. } => "RankTooLarge",
            CallError::TooLarge { .. } => "TooLarge",
            CallError::SpatialDimOutOfRange { .. } => "SpatialDimOutOfRange",
            CallError::WrongSpatialSize { .. } => "WrongSpatialSize",
            CallError::ColorDimIsSpatial { .. } => "ColorDimIsSpatial",
            CallError::ColorDimOutOfRange { .. } => "ColorDimOutOfRange",
            CallError::GridDimIsSpatial { .. } => "GridDimIsSpatial",
            CallError::GridDimOutOfRange { .. } => "GridDimOutOfRange",
            CallError::GridNoColumns => "GridNoColumns",
            CallError::GridBadPadding(_) => "GridBadPadding",
            CallError::NoLineDims => "NoLineDims",
            CallError::LineDimsOnScatter => "LineDimsOnScatter",
            CallError::BadLineDim { .. } => "BadLineDim",
            CallError::RepeatedLineDim { .. } => "RepeatedLineDim",
            CallError::UnknownPalette { .. } => "UnknownPalette",
            CallError::EmptyCell { .. } => "EmptyCell",
            CallError::CellOutsideGrid { .. } => "CellOutsideGrid",
            CallError::RepeatedPlot { .. } => "RepeatedPlot",
            CallError::EmptyPlotName => "EmptyPlotName",
            CallError::NoYs => "NoYs",
            CallError::NamesCount { .. } => "NamesCount",
        }
    }
}

/// Which data call is being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataCallKind {
    Scatter,
    MultiLines,
}

/// Checks a `scatter` or `multi_lines` call's spec against its data (not
/// against the layout: see [`Layout::check_contains`]).
pub fn check_data_call<T: TensorData>(kind: DataCallKind, call: &DataCall<T>) -> Result<(), CallError> {
    let shape = call.data.shape();
    check_tensor_len(shape, call.data.bytes().len() / 4)?;
    if shape.is_empty() {
        return Err(CallError::ScalarData);
    }
    let rank = shape.len();
    if rank > MAX_RANK {
        return Err(CallError::RankTooLarge { rank, max: MAX_RANK });
    }
    let d = call.spatial_dim;
    if d >= rank {
        return Err(CallError::SpatialDimOutOfRange {
            spatial_dim: d,
            shape: shape.to_vec(),
        });
    }
    let (expected, why) = match &call.color {
        Some(color) if color.dim.is_none() => (3, "x, y and colour value, for colour by value"),
        _ => (2, "x and y"),
    };
    if shape[d] != expected {
        return Err(CallError::WrongSpatialSize {
            spatial_dim: d,
            size: shape[d],
            expected,
            why,
        });
    }
    if let Some(color) = &call.color {
        Palette::parse(&color.palette)?;
        if let Some(dim) = color.dim {
            if dim == d {
                return Err(CallError::ColorDimIsSpatial { dim });
            }
            if dim >= rank {
                return Err(CallError::ColorDimOutOfRange {
                    dim,
                    shape: shape.to_vec(),
                });
            }
        }
    }
    if let Some(grid) = &call.grid {
        if grid.dim == d {
            return Err(CallError::GridDimIsSpatial { dim: grid.dim });
        }
        if grid.dim >= rank {
            return Err(CallError::GridDimOutOfRange {
                dim: grid.dim,
                shape: shape.to_vec(),
            });
        }
        if grid.num_columns == 0 {
            return Err(CallError::GridNoColumns);
        }
        if grid.num_columns > u32::MAX as usize {
            return Err(CallError::TooLarge {
                what: "grid.num_columns",
                value: grid.num_columns,
                max: u32::MAX as usize,
            });
        }
        if !grid.padding_factor.is_finite() {
            return Err(CallError::GridBadPadding(grid.padding_factor));
        }
    }
    if kind == DataCallKind::Scatter && !call.line_dims.is_empty() {
        // No logger writes this; a record from elsewhere could.
        return Err(CallError::LineDimsOnScatter);
    }
    if kind == DataCallKind::MultiLines {
        if call.line_dims.is_empty() {
            return Err(CallError::NoLineDims);
        }
        for (i, &dim) in call.line_dims.iter().enumerate() {
            if dim >= rank || dim == d {
                return Err(CallError::BadLineDim {
                    dim,
                    spatial_dim: d,
                    shape: shape.to_vec(),
                });
            }
            if call.line_dims[..i].contains(&dim) {
                return Err(CallError::RepeatedLineDim { dim });
            }
        }
    }
    Ok(())
}

/// Checks that a tensor's byte length matches its shape.
pub fn check_tensor_len(shape: &[usize], len: usize) -> Result<(), CallError> {
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(len) {
        return Err(CallError::ShapeMismatch {
            shape: shape.to_vec(),
            len,
            expected: expected.unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// Checks a `tandem_lines` call.
pub fn check_tandem_call(palette: Option<&str>, ys_len: usize) -> Result<(), CallError> {
    if ys_len == 0 {
        return Err(CallError::NoYs);
    }
    if let Some(palette) = palette {
        Palette::parse(palette)?;
    }
    Ok(())
}

/// Checks line names given with a lines call of `lines` lines: one per line.
pub fn check_line_names(names: &[&str], lines: usize) -> Result<(), CallError> {
    if names.len() != lines {
        return Err(CallError::NamesCount {
            names: names.len(),
            lines,
        });
    }
    Ok(())
}

/// The most plots a layout may hold: a page of more cells than this has no
/// pixels to show them.
pub const MAX_LAYOUT_PLOTS: usize = 10_000;

/// The largest grid a layout may span: `top + height` and `left + width` of
/// every cell are at most this.
pub const MAX_GRID_SPAN: u32 = 10_000;

/// A checked layout: cells in the caller's order, and an index by plot name
/// so that every data call's check is O(1), whatever the layout's size.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    cells: Vec<(String, GridCell)>,
    index: HashMap<String, usize>,
}

impl Layout {
    /// Checks `cells` (in one pass) and indexes them.
    pub fn new(cells: Vec<(String, GridCell)>) -> Result<Layout, CallError> {
        if cells.len() > MAX_LAYOUT_PLOTS {
            return Err(CallError::TooLarge {
                what: "number of plots in the layout",
                value: cells.len(),
                max: MAX_LAYOUT_PLOTS,
            });
        }
        let mut index = HashMap::with_capacity(cells.len());
        for (i, (plot, cell)) in cells.iter().enumerate() {
            if plot.is_empty() {
                return Err(CallError::EmptyPlotName);
            }
            if cell.height == 0 || cell.width == 0 {
                return Err(CallError::EmptyCell {
                    plot: plot.clone(),
                    cell: *cell,
                });
            }
            let fits = |start: u32, len: u32| start.checked_add(len).is_some_and(|end| end <= MAX_GRID_SPAN);
            if !fits(cell.top, cell.height) || !fits(cell.left, cell.width) {
                return Err(CallError::CellOutsideGrid {
                    plot: plot.clone(),
                    cell: *cell,
                    max: MAX_GRID_SPAN,
                });
            }
            if index.insert(plot.clone(), i).is_some() {
                return Err(CallError::RepeatedPlot { plot: plot.clone() });
            }
        }
        Ok(Layout { cells, index })
    }

    /// The cells in the caller's order.
    pub fn cells(&self) -> &[(String, GridCell)] {
        &self.cells
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The cell of `plot`.
    pub fn cell(&self, plot: &str) -> Option<GridCell> {
        self.index.get(plot).map(|&i| self.cells[i].1)
    }

    /// Checks that `plot` is one of the layout's plots.
    pub fn check_contains(&self, plot: &str) -> Result<(), CallError> {
        if self.index.contains_key(plot) {
            return Ok(());
        }
        const SHOWN: usize = 20;
        let mut known = self
            .cells
            .iter()
            .take(SHOWN)
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if self.cells.is_empty() {
            known = "no plots".to_owned();
        } else if self.cells.len() > SHOWN {
            known.push_str(&format!(" and {} more", self.cells.len() - SHOWN));
        }
        Err(CallError::NotInLayout {
            plot: plot.to_owned(),
            known,
        })
    }
}

/// `text` with control characters escaped, for messages: a name from a log
/// may hold anything.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
