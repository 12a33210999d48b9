//! Scatter points: instanced triangles for small clouds, a compute splat for
//! dense ones (shaders/points.wgsl, splat.wgsl, resolve.wgsl).
//!
//! A point is one triangle circumscribing its disc, whose edge the fragment
//! shader antialiases. Three vertices per point, not instanced: on software
//! rasterisers the vertex stage is the bottleneck, a triangle is half the
//! vertices of a quad, and tiny instances leave SIMD lanes idle.
//!
//! Scatters of [`DENSE_MIN_POINTS`] or more are splatted instead: one
//! compute thread per point marks the pixels of its disc with an atomic max
//! of (draw order, colour code) in a buffer of one u32 per pixel of the plot
//! area, and a full-screen resolve pass colours the marked pixels. The latest
//! point wins each pixel whatever order the threads run in, so the picture
//! is deterministic. On an H100, whose rasteriser is a small part of the
//! chip, that is 20 times faster than triangles. (Drawing dense clouds as 1
//! pixel `PointList` primitives was rejected: WebGPU has no point size, and
//! on lavapipe they were no faster than the splat at 1e7 points.)
//!
//! The marks buffer is one storage binding: a plot area whose marks would
//! exceed the device's binding limit is drawn as triangles instead.

use super::arena::{Chunk, ChunkLimits, DataBindings, PlotArena};
use super::capture::PAGE_FORMAT;
use super::gpu_types::{PlotUniforms, ResolveUniforms};
use super::pipeline::{PipelineOptions, buffer_entry, pipeline_layout, render_pipeline, shader_module, texture_entry};

const POINTS_SHADER: &str = include_str!("../../shaders/points.wgsl");
const SPLAT_SHADER: &str = include_str!("../../shaders/splat.wgsl");
const RESOLVE_SHADER: &str = include_str!("../../shaders/resolve.wgsl");

/// Scatters of at least this many points are drawn by the splat compute
/// pass: instanced triangles are bound by the rasteriser's vertex and setup
/// rate (on an H100 only a few units rasterise), while the splat pass runs
/// on every compute unit.
pub const DENSE_MIN_POINTS: usize = 50_000;

/// The points shader and the splat shader as compiled (data.wgsl first).
pub fn shader_sources(data: &str) -> [(&'static str, String); 2] {
    [
        ("points", format!("{data}\n{POINTS_SHADER}")),
        ("splat", format!("{data}\n{SPLAT_SHADER}")),
    ]
}

/// Long-lived: the triangle pipeline, the splat and resolve passes.
pub struct PointsRenderer {
    triangles: wgpu::RenderPipeline,
    /// Dense scatters: marks written by the splat pass, read by resolve.
    marks_layout: wgpu::BindGroupLayout,
    splat: wgpu::ComputePipeline,
    resolve_layout: wgpu::BindGroupLayout,
    resolve: wgpu::RenderPipeline,
}

impl PointsRenderer {
    pub fn new(device: &wgpu::Device, bindings: &DataBindings, data_shader: &str) -> Self {
        let [(_, points_src), (_, splat_src)] = shader_sources(data_shader);
        let points_module = shader_module(device, "PointsRenderer::shader", &points_src);
        let triangles = render_pipeline(
            device,
            &PipelineOptions {
                label: "PointsRenderer::pipeline",
                bind_group_layouts: &[&bindings.layout],
                module: &points_module,
                vs_entry: "vs_main",
                vertex_buffers: &[],
                topology: wgpu::PrimitiveTopology::TriangleList,
                format: PAGE_FORMAT,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        use wgpu::ShaderStages as S;
        let marks_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PointsRenderer::marks_layout"),
            entries: &[buffer_entry(
                0,
                S::COMPUTE,
                wgpu::BufferBindingType::Storage { read_only: false },
            )],
        });
        let splat_module = shader_module(device, "PointsRenderer::splat_shader", &splat_src);
        let splat = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("PointsRenderer::splat"),
            layout: Some(&pipeline_layout(
                device,
                "PointsRenderer::splat_layout",
                &[&bindings.layout, &marks_layout],
            )),
            module: &splat_module,
            entry_point: Some("cs_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let resolve_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PointsRenderer::resolve_layout"),
            entries: &[
                buffer_entry(0, S::FRAGMENT, wgpu::BufferBindingType::Uniform),
                buffer_entry(1, S::FRAGMENT, wgpu::BufferBindingType::Storage { read_only: true }),
                texture_entry(2, S::FRAGMENT),
            ],
        });
        let resolve_module = shader_module(device, "PointsRenderer::resolve_shader", RESOLVE_SHADER);
        let resolve = render_pipeline(
            device,
            &PipelineOptions {
                label: "PointsRenderer::resolve",
                bind_group_layouts: &[&resolve_layout],
                module: &resolve_module,
                vs_entry: "vs_main",
                vertex_buffers: &[],
                topology: wgpu::PrimitiveTopology::TriangleList,
                format: PAGE_FORMAT,
                blend: None,
            },
        );
        Self {
            triangles,
            marks_layout,
            splat,
            resolve_layout,
            resolve,
        }
    }

    /// Splats a dense scatter into its marks, or returns false when the
    /// scatter is drawn as triangles (`splat` then goes inactive).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare_splat(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        bindings: &DataBindings,
        palette_view: &wgpu::TextureView,
        limits: ChunkLimits,
        arena: &mut PlotArena,
        splat: &mut Option<SplatDrawData>,
        uniforms: PlotUniforms,
        origin: (u32, u32),
    ) -> bool {
        let size = (uniforms.viewport_size[0] as u32, uniforms.viewport_size[1] as u32);
        let total = arena.drawn();
        let marks_bytes = size.0 as u64 * size.1 as u64 * 4;
        let dense = total >= DENSE_MIN_POINTS as u64
            && total < u32::MAX as u64
            && size.0 > 0
            && size.1 > 0
            && marks_bytes <= limits.binding;
        if !dense {
            if let Some(s) = splat {
                s.active = false;
            }
            return false;
        }
        if splat.as_ref().is_none_or(|s| s.size != size) {
            *splat = Some(SplatDrawData::new(device, self, palette_view, size));
        }
        let splat = splat.as_mut().expect("just made");
        splat.active = true;
        let resolve = ResolveUniforms {
            origin: [origin.0 as f32, origin.1 as f32],
            width: size.0,
            palette_row: uniforms.palette_row,
            default_color: uniforms.default_color,
            nan_color: uniforms.nan_color,
        };
        queue.write_buffer(&splat.resolve_uniforms, 0, bytemuck::bytes_of(&resolve));
        encoder.clear_buffer(&splat.marks, 0, None);
        let mut base = 0u32;
        let mut groups = Vec::new();
        for chunk in &mut arena.chunks {
            let chunk_uniforms = PlotUniforms {
                batch_count: chunk.batch_count,
                instance_base: base,
                instance_total: total as u32,
                drawn: chunk.drawn,
                ..uniforms
            };
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&chunk_uniforms));
            groups.push((chunk.bind_group(device, bindings, palette_view).clone(), chunk.drawn));
            base += chunk.drawn;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("PointsRenderer::splat"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.splat);
        pass.set_bind_group(1, &splat.marks_group, &[]);
        let max_groups = device.limits().max_compute_workgroups_per_dimension.max(1);
        for (group, instances) in &groups {
            if *instances == 0 {
                continue;
            }
            // Dispatches are 2D past the per-dimension limit (splat.wgsl
            // rebuilds the index from the grid's width).
            let workgroups = instances.div_ceil(256);
            let (gx, gy) = (workgroups.min(max_groups), workgroups.div_ceil(max_groups));
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        true
    }

    /// Colours the plot area from a splat's marks.
    pub fn draw_splat(&self, pass: &mut wgpu::RenderPass<'_>, splat: &SplatDrawData) {
        pass.set_pipeline(&self.resolve);
        pass.set_bind_group(0, &splat.resolve_group, &[]);
        pass.draw(0..3, 0..1);
    }

    /// Draws every chunk's points as triangles.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_triangles(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        bindings: &DataBindings,
        palette_view: &wgpu::TextureView,
        pass: &mut wgpu::RenderPass<'_>,
        chunks: &mut [Chunk],
        uniforms: PlotUniforms,
    ) {
        pass.set_pipeline(&self.triangles);
        for chunk in chunks {
            if chunk.drawn == 0 {
                continue;
            }
            let uniforms = PlotUniforms {
                batch_count: chunk.batch_count,
                drawn: chunk.drawn,
                ..uniforms
            };
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
            pass.set_bind_group(0, chunk.bind_group(device, bindings, palette_view), &[]);
            pass.draw(0..chunk.drawn * 3, 0..1);
        }
    }
}

/// A dense scatter's marks (one u32 per pixel of the plot area), written by
/// the splat pass and read by the resolve pass.
pub struct SplatDrawData {
    marks: wgpu::Buffer,
    size: (u32, u32),
    marks_group: wgpu::BindGroup,
    resolve_uniforms: wgpu::Buffer,
    resolve_group: wgpu::BindGroup,
    /// Whether the current frame draws the splat (not the triangles).
    pub active: bool,
}

impl SplatDrawData {
    /// The marks buffer and bind groups of a dense scatter drawn at `size`.
    fn new(
        device: &wgpu::Device,
        renderer: &PointsRenderer,
        palette_view: &wgpu::TextureView,
        size: (u32, u32),
    ) -> Self {
        let marks = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("SplatDrawData::marks"),
            size: (size.0 as u64 * size.1 as u64 * 4).max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let resolve_uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("SplatDrawData::resolve_uniforms"),
            size: std::mem::size_of::<ResolveUniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let marks_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("SplatDrawData::marks_group"),
            layout: &renderer.marks_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: marks.as_entire_binding(),
            }],
        });
        let resolve_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("SplatDrawData::resolve_group"),
            layout: &renderer.resolve_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: resolve_uniforms.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: marks.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(palette_view),
                },
            ],
        });
        Self {
            marks,
            size,
            marks_group,
            resolve_uniforms,
            resolve_group,
            active: false,
        }
    }

    /// Bytes of GPU buffers held.
    pub fn bytes(&self) -> u64 {
        self.marks.size()
    }
}
