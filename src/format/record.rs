//! Records as values: what one logger call becomes.

use std::borrow::Cow;

use bytes::Bytes;

/// What a frame holds; the u16 in the frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum RecordKind {
    Layout = 1,
    Clear = 2,
    Scatter = 3,
    MultiLines = 4,
    TandemLines = 5,
    Step = 6,
    Fragment = 7,
    /// Since format 1.1.
    LineNames = 8,
}

impl RecordKind {
    pub fn from_u16(kind: u16) -> Option<Self> {
        Some(match kind {
            1 => Self::Layout,
            2 => Self::Clear,
            3 => Self::Scatter,
            4 => Self::MultiLines,
            5 => Self::TandemLines,
            6 => Self::Step,
            7 => Self::Fragment,
            8 => Self::LineNames,
            _ => return None,
        })
    }
}

/// Fields every record carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// Random per logger instance.
    pub session_id: u64,
    /// 0, 1, 2, ... within a session.
    pub seq: u64,
    /// Nanoseconds since the Unix epoch when the call was made.
    pub wall_time_ns: i64,
    pub run_name: String,
}

/// A grid_map cell: `(top, left, height, width)` in grid units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "reader", derive(serde::Serialize, serde::Deserialize))]
pub struct GridCell {
    pub top: u32,
    pub left: u32,
    pub height: u32,
    pub width: u32,
}

impl GridCell {
    pub fn new(top: u32, left: u32, height: u32, width: u32) -> Self {
        Self {
            top,
            left,
            height,
            width,
        }
    }
}

/// How points are coloured: by their index along a dimension, or by a third
/// spatial component.
#[derive(Clone, Debug, PartialEq)]
pub struct ColorSpec {
    /// A palette name as Bokeh spells it, e.g. `Viridis256`.
    pub palette: String,
    /// `Some(d)`: the colour of a point is its index along `d`, scaled to
    /// 0..1. `None`: the spatial dimension has a third entry, the colour value.
    pub dim: Option<usize>,
}

impl ColorSpec {
    /// Colour by value: the spatial dimension holds x, y and the colour value.
    pub fn by_value(palette: impl Into<String>) -> Self {
        Self {
            palette: palette.into(),
            dim: None,
        }
    }

    /// Colour by the index along `dim`.
    pub fn by_dim(palette: impl Into<String>, dim: usize) -> Self {
        Self {
            palette: palette.into(),
            dim: Some(dim),
        }
    }
}

/// Tiles the slices along one dimension into a grid of small plots.
#[derive(Clone, Debug, PartialEq)]
pub struct GridSpec {
    pub dim: usize,
    pub num_columns: usize,
    /// Distance between tiles as a multiple of the data's range.
    pub padding_factor: f32,
}

impl GridSpec {
    /// The original's default padding factor.
    pub const DEFAULT_PADDING_FACTOR: f32 = 1.2;

    pub fn new(dim: usize, num_columns: usize) -> Self {
        Self {
            dim,
            num_columns,
            padding_factor: Self::DEFAULT_PADDING_FACTOR,
        }
    }

    pub fn with_padding_factor(mut self, padding_factor: f32) -> Self {
        self.padding_factor = padding_factor;
        self
    }
}

/// Shape and bytes of a float32 tensor; implemented by the borrowed view a
/// logger encodes and by the decoded [`Tensor`].
pub trait TensorData {
    fn shape(&self) -> &[usize];
    /// Little-endian f32 values, row-major.
    fn bytes(&self) -> &[u8];
}

/// A borrowed float32 tensor: what a caller hands the logger.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub shape: &'a [usize],
    pub values: &'a [f32],
}

impl TensorData for TensorView<'_> {
    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self.values)
    }
}

/// A decoded float32 tensor whose bytes are shared with the stream they came
/// from (a memory map or a message): cloning it copies no data.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub bytes: Bytes,
}

impl Tensor {
    /// Makes an owned tensor from values, e.g. for tests.
    pub fn from_values(shape: Vec<usize>, values: &[f32]) -> Self {
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Self {
            shape,
            bytes: Bytes::from(bytes),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The values, borrowed straight from the stream when it is 4-aligned
    /// (always, for a memory-mapped log on a little-endian machine), copied
    /// otherwise.
    pub fn values(&self) -> Cow<'_, [f32]> {
        if cfg!(target_endian = "little")
            && let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(&self.bytes)
        {
            return Cow::Borrowed(values);
        }
        Cow::Owned(
            self.bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }
}

impl TensorData for Tensor {
    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A `scatter` or `multi_lines` call.
#[derive(Clone, Debug, PartialEq)]
pub struct DataCall<T> {
    pub plot: String,
    /// The dimension holding x, y (and the colour value, with colour by value).
    pub spatial_dim: usize,
    /// Concatenate to the plot's data instead of replacing it.
    pub append: bool,
    pub color: Option<ColorSpec>,
    pub grid: Option<GridSpec>,
    /// `multi_lines` only: the dimensions that enumerate lines; the remaining
    /// non-spatial dimensions enumerate each line's points.
    pub line_dims: Vec<usize>,
    pub data: T,
}

/// A `tandem_lines` call: every line gains the point `(x, ys[k])`.
#[derive(Clone, Debug, PartialEq)]
pub struct TandemCall<T> {
    pub plot: String,
    pub palette: Option<String>,
    pub x: f64,
    pub ys: T,
}

/// The kind-specific part of a record.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordBody<T = Tensor> {
    /// Replaces the page layout: plot name -> cell, in the caller's order.
    Layout(Vec<(String, GridCell)>),
    /// Drops all plots, the layout and the data.
    Clear,
    Scatter(DataCall<T>),
    MultiLines(DataCall<T>),
    TandemLines(TandemCall<T>),
    /// Marks the end of a training step.
    Step(u64),
    /// A piece of a frame too large for one Pub/Sub message.
    Fragment(Fragment),
    /// Names the lines of a line plot, from its next lines call on.
    LineNames(LineNames),
}

/// Names for a line plot's lines, in line order (tandem: the order of `ys`;
/// multi lines: row-major over the line dims).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineNames {
    pub plot: String,
    pub names: Vec<String>,
}

impl<T> RecordBody<T> {
    pub fn kind(&self) -> RecordKind {
        match self {
            Self::Layout(_) => RecordKind::Layout,
            Self::Clear => RecordKind::Clear,
            Self::Scatter(_) => RecordKind::Scatter,
            Self::MultiLines(_) => RecordKind::MultiLines,
            Self::TandemLines(_) => RecordKind::TandemLines,
            Self::Step(_) => RecordKind::Step,
            Self::Fragment(_) => RecordKind::Fragment,
            Self::LineNames(_) => RecordKind::LineNames,
        }
    }

    /// The plot a data record is for.
    pub fn plot_name(&self) -> Option<&str> {
        match self {
            Self::Scatter(call) | Self::MultiLines(call) => Some(&call.plot),
            Self::TandemLines(call) => Some(&call.plot),
            Self::LineNames(names) => Some(&names.plot),
            _ => None,
        }
    }
}

/// Bytes `offset..offset + bytes.len()` of an encoded frame of `total_len`
/// bytes, the `index`-th of `count` pieces. Only Pub/Sub messages carry
/// fragments; the receiver joins them back into the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Fragment {
    pub index: u32,
    pub count: u32,
    pub total_len: u64,
    pub offset: u64,
    pub bytes: Bytes,
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub meta: RecordMeta,
    pub body: RecordBody<Tensor>,
}

// Used by the reader's tests (store, steps, reader).
#[cfg(all(test, feature = "reader"))]
impl Record {
    /// A record of run "r", session 0, sequence number 0, for tests that
    /// only care about the body.
    pub(crate) fn for_test(body: RecordBody<Tensor>) -> Self {
        Self {
            meta: RecordMeta {
                session_id: 0,
                seq: 0,
                wall_time_ns: 0,
                run_name: "r".into(),
            },
            body,
        }
    }
}
