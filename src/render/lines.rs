//! Lines: `multi_lines` batches and `tandem_lines` rows, with their
//! reduction to pixel columns (shaders/lines.wgsl).
//!
//! Each segment is one instanced quad (a 4-vertex strip) wide enough for the
//! line and an antialiased edge; the fragment shader keeps the pixels within
//! half the width of the segment, which gives round caps and so round
//! joints without any joint geometry. Segments of `multi_lines` data join the
//! last point of a batch to the first point of the same line in the next
//! batch; tandem rows `[x, y0, .., y(K-1)]` give K lines at once.
//!
//! Lines with more points than pixel columns are reduced on the CPU to each
//! column's first, lowest, highest and last point (M4), recomputed only when
//! the data or the view's x range change, so spikes survive and a frame of
//! 1e7 points draws a few thousand segments. Tandem lines sorted by x (a
//! loss over steps) are reduced from block extremes kept as rows arrive
//! ([`LinePyramid`]), so a new step or a zoom costs O(columns x log rows)
//! rather than a pass over the line. (Thick lines by geometry with
//! miter joins, as in rerun's lines renderer, were rejected: a joint needs
//! both neighbours of a point, which an appended batch does not have until
//! the next one arrives; round caps need neither.)

use super::arena::{Chunk, ChunkLimits, DataBindings, PlotArena};
use super::capture::PAGE_FORMAT;
use super::gpu_types::{BatchDesc, PlotUniforms};
use super::pipeline::{PipelineOptions, render_pipeline, shader_module};
use crate::layout::DataRect;
use crate::store::{ColorSource, LinePyramid, Plot, PlotKind, PointLayout, needs_reduction, reduce_lines};

const LINES_SHADER: &str = include_str!("../../shaders/lines.wgsl");

/// The lines shader as compiled (data.wgsl first).
pub fn shader_source(data: &str) -> (&'static str, String) {
    ("lines", format!("{data}\n{LINES_SHADER}"))
}

/// Long-lived: a pipeline for batches and one for tandem rows.
pub struct LinesRenderer {
    batches: wgpu::RenderPipeline,
    tandem: wgpu::RenderPipeline,
}

impl LinesRenderer {
    pub fn new(device: &wgpu::Device, bindings: &DataBindings, data_shader: &str) -> Self {
        let (_, source) = shader_source(data_shader);
        let module = shader_module(device, "LinesRenderer::shader", &source);
        let pipeline = |label, vs_entry| {
            render_pipeline(
                device,
                &PipelineOptions {
                    label,
                    bind_group_layouts: &[&bindings.layout],
                    module: &module,
                    vs_entry,
                    vertex_buffers: &[],
                    topology: wgpu::PrimitiveTopology::TriangleStrip,
                    format: PAGE_FORMAT,
                    blend: Some(wgpu::BlendState::ALPHA_BLENDING),
                },
            )
        };
        Self {
            batches: pipeline("LinesRenderer::batches", "vs_batches"),
            tandem: pipeline("LinesRenderer::tandem", "vs_tandem"),
        }
    }

    /// Draws a plot's lines: the reduction when it is active, else every
    /// chunk of the arena.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        bindings: &DataBindings,
        palette_view: &wgpu::TextureView,
        pass: &mut wgpu::RenderPass<'_>,
        arena: &mut PlotArena,
        reduced: Option<&mut ReducedLinesDrawData>,
        mut uniforms: PlotUniforms,
    ) {
        if let Some(reduced) = reduced.filter(|r| r.active) {
            pass.set_pipeline(&self.batches);
            for chunk in &mut reduced.chunks {
                if chunk.instances > 0 {
                    uniforms.batch_count = chunk.batch_count;
                    uniforms.drawn = chunk.drawn;
                    queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
                    pass.set_bind_group(0, chunk.bind_group(device, bindings, palette_view), &[]);
                    pass.draw(0..4, 0..chunk.instances);
                }
            }
            return;
        }
        let tandem = arena.kind == PlotKind::Tandem;
        pass.set_pipeline(if tandem { &self.tandem } else { &self.batches });
        for chunk in &mut arena.chunks {
            let instances = if tandem {
                uniforms.tandem_rows = chunk.drawn;
                chunk.drawn.saturating_sub(1) * arena.tandem_lines
            } else {
                chunk.drawn
            };
            if instances == 0 {
                continue;
            }
            uniforms.batch_count = chunk.batch_count;
            uniforms.drawn = chunk.drawn;
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
            pass.set_bind_group(0, chunk.bind_group(device, bindings, palette_view), &[]);
            pass.draw(0..4, 0..instances);
        }
    }
}

/// A min/max-per-column reduction of a plot's lines, and what it was
/// computed for. Lines are independent, so a reduction too large for one
/// storage binding is split into groups of whole lines, one chunk each.
pub struct ReducedLinesDrawData {
    chunks: Vec<Chunk>,
    /// Generation, data length, view x range (bits), width in pixels and
    /// log axes.
    key: (u64, usize, u64, u64, u32, [bool; 2]),
    /// Whether the current frame draws the reduction.
    pub active: bool,
    /// Block extremes of tandem lines sorted by x: a reduction without a
    /// pass over the lines.
    pyramid: LinePyramid,
    source_points: usize,
    points: usize,
}

impl ReducedLinesDrawData {
    /// Bytes of GPU buffers held.
    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(Chunk::bytes).sum()
    }

    /// Reduces `plot`'s lines to the pixel columns of `view` when they have
    /// more points than columns; returns the note saying so, or `None` (and
    /// goes inactive) when the full lines are drawn.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        reduced: &mut Option<Self>,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        limits: ChunkLimits,
        plot: &Plot<'_>,
        (view, log): (&DataRect, [bool; 2]),
        columns: u32,
    ) -> Option<String> {
        if !needs_reduction(plot, columns) {
            if let Some(r) = reduced {
                r.active = false;
            }
            return None;
        }
        let length = match plot.kind {
            PlotKind::Tandem => plot.tandem.rows.len(),
            _ => plot.batches.len(),
        };
        let key = (
            plot.generation,
            length,
            view.min[0].to_bits(),
            view.max[0].to_bits(),
            columns,
            log,
        );
        let this = reduced.get_or_insert_with(|| ReducedLinesDrawData {
            chunks: Vec::new(),
            key,
            active: true,
            pyramid: LinePyramid::new(),
            source_points: 0,
            points: 0,
        });
        if this.chunks.is_empty() || this.key != key {
            if plot.kind == PlotKind::Tandem {
                this.pyramid.update(plot);
            }
            let lines = if this.pyramid.serves(plot, log) {
                this.pyramid.reduce(plot, view.min[0], view.max[0], columns, log)
            } else {
                reduce_lines(plot, view.min[0], view.max[0], columns, log)
            };
            let color = if plot.palette.is_some() {
                ColorSource::Value
            } else {
                ColorSource::None
            };
            // Whole lines per chunk, at least one.
            let line_bytes = (lines.points * 3 * 4).max(1) as u64;
            let per_chunk = ((limits.binding / line_bytes) as usize).max(1);
            let groups = lines.lines.div_ceil(per_chunk).max(1);
            this.chunks.truncate(groups);
            while this.chunks.len() < groups {
                this.chunks.push(Chunk::new(device));
            }
            for (group, chunk) in this.chunks.iter_mut().enumerate() {
                let first = group * per_chunk;
                let count = per_chunk.min(lines.lines - first.min(lines.lines));
                let floats = lines.points * 3;
                let layout = PointLayout {
                    sizes: vec![count, lines.points],
                    strides: vec![floats, 3],
                    spatial_stride: 1,
                    color,
                    grid: None,
                    line_axes: 1,
                };
                let empty = PointLayout {
                    sizes: vec![0, 0],
                    ..layout.clone()
                };
                let desc = BatchDesc::from_layout(&layout, 0, 0)
                    .or_else(|| BatchDesc::from_layout(&empty, 0, 0))
                    .unwrap_or_else(bytemuck::Zeroable::zeroed);
                let bytes = &lines.xyc[first * floats..(first + count) * floats];
                chunk.replace(device, queue, encoder, bytemuck::cast_slice(bytes), desc);
            }
            this.key = key;
            this.source_points = lines.source_points;
            this.points = lines.points;
        }
        this.active = true;
        Some(format!(
            "min/max per pixel: {} of {} points per line",
            crate::layout::format_count(this.points),
            crate::layout::format_count(this.source_points)
        ))
    }
}
