//! What a logger call means and when it is refused: palette names and the
//! checks shared by the loggers (which refuse a bad call before writing it)
//! and the store (which skips a bad record written by someone else).

mod palette;

pub use palette::{Palette, PaletteFamily};

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

    #[error("layout names plot {plot} twice")]
    RepeatedPlot { plot: String },

    #[error("plot names must not be empty")]
    EmptyPlotName,

    #[error("tandem_lines needs at least one y value")]
    NoYs,
}

/// Which data call is being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataCallKind {
    Scatter,
    MultiLines,
}

/// Checks a `scatter` or `multi_lines` call's spec against its data (not
/// against the layout: see [`check_in_layout`]).
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

/// Checks a layout before it replaces the current one.
pub fn check_layout(cells: &[(String, GridCell)]) -> Result<(), CallError> {
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
        if cells[..i].iter().any(|(p, _)| p == plot) {
            return Err(CallError::RepeatedPlot { plot: plot.clone() });
        }
    }
    Ok(())
}

/// Checks that `plot` is one of the layout's plots.
pub fn check_in_layout<'a>(
    plot: &str,
    mut layout_plots: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), CallError> {
    if layout_plots.clone().any(|p| p == plot) {
        return Ok(());
    }
    let known: Vec<&str> = layout_plots.by_ref().collect();
    let known = if known.is_empty() {
        "no plots".to_owned()
    } else {
        known.join(", ")
    };
    Err(CallError::NotInLayout {
        plot: plot.to_owned(),
        known,
    })
}

#[cfg(test)]
mod tests;
