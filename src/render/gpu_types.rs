//! Structs shared with the shaders. Each is `#[repr(C)]` + `Pod` with
//! explicit padding and a size check; its WGSL twin says "keep in sync".

use bytemuck::{Pod, Zeroable};

use crate::store::{Batch, ColorSource, PointLayout};

/// Most enumeration axes a batch may have on the GPU.
pub const MAX_AXES: usize = 16;

/// Marks "no grid tiling" in [`BatchDesc::grid_axis`].
pub const NO_AXIS: u32 = u32::MAX;

/// Per-plot uniforms. Keep in sync with `PlotUniforms` in shaders/data.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct PlotUniforms {
    pub center: [f32; 2],
    pub scale: [f32; 2],
    pub viewport_size: [f32; 2],
    pub point_radius: f32,
    pub line_width: f32,
    pub default_color: [f32; 4],
    pub nan_color: [f32; 4],
    pub palette_row: u32,
    pub palette_size: u32,
    pub tandem_lines: u32,
    pub tandem_rows: u32,
    pub batch_count: u32,
    pub instance_base: u32,
    /// Dense scatters: a point's draw order is its index in the plot
    /// shifted right by this many bits (to fit 23 bits), so that it does
    /// not change as points are appended.
    pub order_shift: u32,
    /// Instances of the chunk drawn: fewer than it holds when the view
    /// shows an earlier state of the plot.
    pub drawn: u32,
    /// Lines of one run among several: each line a shade lighter than the
    /// last (1), or as coloured (0).
    pub line_shade: u32,
    /// Multiplies the alpha of lines and of scatter markers.
    pub opacity: f32,
    /// Log axes: bit 0 x, bit 1 y. Positions are log10 of the data there,
    /// and points at or below zero are not drawn.
    pub log_axes: u32,
    /// Dense scatters: what the splat pass writes (a `SplatMode`: 0 opaque,
    /// 1 translucent, 2 density image).
    pub splat_mode: u32,
    /// Dense scatters: the chunk's first instance splatted (those before it
    /// are in the marks already).
    pub splat_first: u32,
    pub _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<PlotUniforms>() == 128);

/// Uniforms of the dense-scatter resolve pass. Keep in sync with
/// `ResolveUniforms` in shaders/resolve.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ResolveUniforms {
    /// Top-left pixel of the plot area in the target.
    pub origin: [f32; 2],
    /// Width of the plot area in pixels (the id buffer's row length).
    pub width: u32,
    pub palette_row: u32,
    pub default_color: [f32; 4],
    pub nan_color: [f32; 4],
    /// Entries of the palette row (density images).
    pub palette_size: u32,
    /// The splat's [`SplatMode`].
    pub splat_mode: u32,
    /// Marker opacity (translucent splats).
    pub opacity: f32,
    pub _pad: u32,
}
const _: () = assert!(std::mem::size_of::<ResolveUniforms>() == 64);

/// What the splat pass of a dense scatter writes, and what its resolve pass
/// draws. Keep in sync with the `SPLAT_*` constants in shaders/splat.wgsl
/// and shaders/resolve.wgsl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SplatMode {
    /// Opaque markers: the latest point wins each pixel.
    Opaque = 0,
    /// Translucent markers: the latest point's colour, as opaque as that
    /// many markers covering the pixel make it.
    Translucent = 1,
    /// A density image: points per pixel, log-scaled through the palette.
    Density = 2,
}

/// Where a batch's points are in the data buffer. Keep in sync with
/// `BatchDesc` in shaders/data.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct BatchDesc {
    pub data_offset: u32,
    pub first_instance: u32,
    pub instance_count: u32,
    pub axis_count: u32,
    pub spatial_stride: u32,
    pub color_mode: u32,
    pub color_axis: u32,
    pub grid_axis: u32,
    pub grid_columns: u32,
    pub line_axes: u32,
    pub points_per_line: u32,
    pub line_count: u32,
    pub grid_step: [f32; 2],
    pub _pad: [u32; 2],
    pub sizes: [u32; MAX_AXES],
    pub strides: [u32; MAX_AXES],
}
const _: () = assert!(std::mem::size_of::<BatchDesc>() == 192);

impl BatchDesc {
    /// The descriptor of a batch whose tensor starts at `data_offset` floats
    /// into the data buffer; `None` if it does not fit the GPU layout.
    pub fn new(batch: &Batch, data_offset: u32, first_instance: u32) -> Option<BatchDesc> {
        Self::from_layout(&batch.layout, data_offset, first_instance)
    }

    /// The descriptor of points laid out by `layout`.
    pub fn from_layout(layout: &PointLayout, data_offset: u32, first_instance: u32) -> Option<BatchDesc> {
        if layout.sizes.len() > MAX_AXES {
            return None;
        }
        let mut sizes = [1u32; MAX_AXES];
        let mut strides = [0u32; MAX_AXES];
        for (i, (&size, &stride)) in layout.sizes.iter().zip(&layout.strides).enumerate() {
            sizes[i] = u32::try_from(size).ok()?;
            strides[i] = u32::try_from(stride).ok()?;
        }
        let (color_mode, color_axis) = match layout.color {
            ColorSource::None => (0, NO_AXIS),
            ColorSource::Index { axis } => (1, axis as u32),
            ColorSource::Value => (2, NO_AXIS),
        };
        let (line_count, points_per_line) = layout.lines_shape();
        let grid = layout.grid.as_ref();
        Some(BatchDesc {
            data_offset,
            first_instance,
            instance_count: u32::try_from(layout.len()).ok()?,
            axis_count: layout.sizes.len() as u32,
            spatial_stride: u32::try_from(layout.spatial_stride).ok()?,
            color_mode,
            color_axis,
            grid_axis: grid.map_or(NO_AXIS, |g| g.axis as u32),
            grid_columns: grid.map_or(1, |g| g.num_columns.max(1) as u32),
            line_axes: layout.line_axes as u32,
            points_per_line: u32::try_from(points_per_line).ok()?,
            line_count: u32::try_from(line_count).ok()?,
            grid_step: grid.map_or([0.0; 2], |g| g.step),
            _pad: [0; 2],
            sizes,
            strides,
        })
    }
}

/// A rectangle for the solid renderer. Keep in sync with `RectIn` in
/// shaders/solid.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct SolidRect {
    pub min: [f32; 2],
    pub max: [f32; 2],
    /// Linear RGBA, premultiplied by nothing (straight alpha).
    pub color: [f32; 4],
}
const _: () = assert!(std::mem::size_of::<SolidRect>() == 32);

/// An sRGB colour as linear RGBA for the shaders.
pub fn linear_rgba(srgb: [u8; 3], alpha: f32) -> [f32; 4] {
    let lin = |c: u8| {
        let c = c as f32 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    [lin(srgb[0]), lin(srgb[1]), lin(srgb[2]), alpha]
}
