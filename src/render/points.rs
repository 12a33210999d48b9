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
//!
//! Translucent markers (`--opacity`) blend in draw order as triangles. The
//! splat cannot blend in draw order (its threads run in any order), so it
//! also counts the markers covering each pixel (an atomic add, whose sum
//! does not depend on order) and the resolve pass draws the latest point's
//! colour with the opacity of that many markers stacked, `1 - (1 - a)^k`:
//! deterministic, and dense parts of a cloud read darker. Where markers of
//! different colours overlap this differs from blending them in order;
//! accumulating colour sums with fixed-point atomics was rejected, as it
//! needs four more atomics per pixel per point and still loses the order.
//!
//! A density image (`--density`, datashader's picture) is always splatted,
//! whatever the number of points: each point adds one to the count of the
//! pixel holding its centre, a pass over the counts finds the largest
//! (shaders/count_max.wgsl), and the resolve pass colours each pixel by
//! `log(1 + count) / log(1 + largest)` through the plot's palette (Viridis
//! when it has none). Counts are sums, so the picture is deterministic too.

use super::arena::{Chunk, ChunkLimits, DataBindings, PlotArena};
use super::capture::PAGE_FORMAT;
use super::gpu_types::{PlotUniforms, ResolveUniforms, SplatMode};
use super::pipeline::{PipelineOptions, buffer_entry, pipeline_layout, render_pipeline, shader_module, texture_entry};

const POINTS_SHADER: &str = include_str!("../../shaders/points.wgsl");
const SPLAT_SHADER: &str = include_str!("../../shaders/splat.wgsl");
const RESOLVE_SHADER: &str = include_str!("../../shaders/resolve.wgsl");
const COUNT_MAX_SHADER: &str = include_str!("../../shaders/count_max.wgsl");

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
    /// Dense scatters: marks and counts written by the splat pass, read by
    /// resolve.
    marks_layout: wgpu::BindGroupLayout,
    splat: wgpu::ComputePipeline,
    /// Density images: the largest count, between splat and resolve.
    count_max_layout: wgpu::BindGroupLayout,
    count_max: wgpu::ComputePipeline,
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
            entries: &[
                buffer_entry(0, S::COMPUTE, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(1, S::COMPUTE, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
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
                buffer_entry(3, S::FRAGMENT, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(4, S::FRAGMENT, wgpu::BufferBindingType::Storage { read_only: true }),
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
                // Opaque pixels come out as they are; translucent ones blend.
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        let count_max_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PointsRenderer::count_max_layout"),
            entries: &[
                buffer_entry(0, S::COMPUTE, wgpu::BufferBindingType::Storage { read_only: true }),
                buffer_entry(1, S::COMPUTE, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
        });
        let count_max_module = shader_module(device, "PointsRenderer::count_max_shader", COUNT_MAX_SHADER);
        let count_max = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("PointsRenderer::count_max"),
            layout: Some(&pipeline_layout(
                device,
                "PointsRenderer::count_max_layout",
                &[&count_max_layout],
            )),
            module: &count_max_module,
            entry_point: Some("cs_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Self {
            triangles,
            marks_layout,
            splat,
            count_max_layout,
            count_max,
            resolve_layout,
            resolve,
        }
    }

    /// Splats a dense scatter (or any scatter shown as a density image)
    /// into its marks or counts, or returns false when the scatter is drawn
    /// as triangles (`splat` then goes inactive). `uniforms.splat_mode`
    /// says what to splat (see [`SplatMode`]).
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
        splatted_points: &mut u64,
    ) -> bool {
        let size = (uniforms.viewport_size[0] as u32, uniforms.viewport_size[1] as u32);
        let total = arena.drawn();
        let marks_bytes = size.0 as u64 * size.1 as u64 * 4;
        let density = uniforms.splat_mode == SplatMode::Density as u32;
        let dense = (density || total >= DENSE_MIN_POINTS as u64)
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
        splat.mode = uniforms.splat_mode;
        let resolve = ResolveUniforms {
            origin: [origin.0 as f32, origin.1 as f32],
            width: size.0,
            palette_row: uniforms.palette_row,
            default_color: uniforms.default_color,
            nan_color: uniforms.nan_color,
            palette_size: uniforms.palette_size,
            splat_mode: uniforms.splat_mode,
            opacity: uniforms.opacity,
            _pad: 0,
        };
        queue.write_buffer(&splat.resolve_uniforms, 0, bytemuck::bytes_of(&resolve));
        let uniforms = PlotUniforms {
            order_shift: order_shift(total),
            ..uniforms
        };
        // What the marks hold is kept while the view and the points splatted
        // stay: then only the points appended since are splatted.
        let key = SplatKey::new(&uniforms, arena);
        let drawn: Vec<u32> = arena.chunks.iter().map(|c| c.drawn).collect();
        let firsts = match &splat.splatted {
            Some(done) if done.key == key => done.firsts_after(&drawn),
            _ => None,
        };
        let firsts = firsts.unwrap_or_else(|| {
            // Only what this mode writes is cleared (and read).
            if !density {
                encoder.clear_buffer(&splat.marks, 0, None);
            }
            if uniforms.splat_mode != SplatMode::Opaque as u32 {
                encoder.clear_buffer(&splat.counts, 0, None);
            }
            vec![0; drawn.len()]
        });
        if density {
            encoder.clear_buffer(&splat.stats, 0, None);
        }
        splat.splatted = Some(Splatted {
            key,
            drawn: drawn.clone(),
        });
        let mut base = 0u32;
        let mut groups = Vec::new();
        for (chunk, &first) in arena.chunks.iter_mut().zip(&firsts) {
            let chunk_uniforms = PlotUniforms {
                batch_count: chunk.batch_count,
                instance_base: base,
                drawn: chunk.drawn,
                splat_first: first,
                ..uniforms
            };
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&chunk_uniforms));
            groups.push((
                chunk.bind_group(device, bindings, palette_view).clone(),
                chunk.drawn - first,
            ));
            base += chunk.drawn;
        }
        *splatted_points += groups.iter().map(|(_, n)| u64::from(*n)).sum::<u64>();
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("PointsRenderer::splat"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.splat);
        pass.set_bind_group(1, &splat.marks_group, &[]);
        let max_groups = device.limits().max_compute_workgroups_per_dimension.max(1);
        // Dispatches are 2D past the per-dimension limit (the shaders
        // rebuild the index from the grid's width).
        let grid = |threads: u32| {
            let workgroups = threads.div_ceil(256);
            (workgroups.min(max_groups), workgroups.div_ceil(max_groups))
        };
        for (group, instances) in &groups {
            if *instances == 0 {
                continue;
            }
            let (gx, gy) = grid(*instances);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        if density {
            pass.set_pipeline(&self.count_max);
            pass.set_bind_group(0, &splat.count_max_group, &[]);
            let (gx, gy) = grid(size.0 * size.1);
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

/// A dense scatter's marks and counts (one u32 each per pixel of the plot
/// area), written by the splat pass and read by the resolve pass.
pub struct SplatDrawData {
    marks: wgpu::Buffer,
    /// Markers covering each pixel (translucent), or points whose centre is
    /// in it (density image).
    counts: wgpu::Buffer,
    /// [0]: the largest count of a density image.
    stats: wgpu::Buffer,
    size: (u32, u32),
    marks_group: wgpu::BindGroup,
    count_max_group: wgpu::BindGroup,
    resolve_uniforms: wgpu::Buffer,
    resolve_group: wgpu::BindGroup,
    /// Whether the current frame draws the splat (not the triangles).
    pub active: bool,
    /// The current frame's [`SplatMode`], as a u32.
    mode: u32,
    /// What the marks (and counts) hold.
    splatted: Option<Splatted>,
}

/// Everything the marks of a splat depend on but the points splatted: the
/// plot's uniforms less the per-chunk fields, and which data the arena
/// holds (replaced data, or points dropped for the memory budget, change
/// it).
#[derive(Clone, Debug, PartialEq)]
struct SplatKey {
    uniforms: Vec<u8>,
    generation: u64,
    dropped_points: u64,
}

impl SplatKey {
    fn new(uniforms: &PlotUniforms, arena: &PlotArena) -> Self {
        let view = PlotUniforms {
            batch_count: 0,
            instance_base: 0,
            drawn: 0,
            splat_first: 0,
            tandem_rows: 0,
            ..*uniforms
        };
        Self {
            uniforms: bytemuck::bytes_of(&view).to_vec(),
            generation: arena.generation,
            dropped_points: arena.dropped_points,
        }
    }
}

/// The points a splat's marks hold: per chunk, its first `drawn`.
#[derive(Clone, Debug)]
struct Splatted {
    key: SplatKey,
    drawn: Vec<u32>,
}

impl Splatted {
    /// Per chunk of `drawn` points, the first not splatted yet, when the
    /// marks hold a prefix of those points in the same order: every chunk
    /// splatted but the last as it was, the last grown or as it was, new
    /// chunks after. `None` when the marks must be redrawn.
    fn firsts_after(&self, drawn: &[u32]) -> Option<Vec<u32>> {
        let done = &self.drawn;
        if done.len() > drawn.len() {
            return None;
        }
        let last = done.len().checked_sub(1);
        for (i, (&was, &now)) in done.iter().zip(drawn).enumerate() {
            if now < was || (now != was && Some(i) != last) {
                return None;
            }
        }
        Some((0..drawn.len()).map(|i| done.get(i).copied().unwrap_or(0)).collect())
    }
}

/// The shift that fits the index of every one of `total` points into the
/// 23 bits of a mark's draw order.
fn order_shift(total: u64) -> u32 {
    let bits = u64::BITS - total.saturating_sub(1).leading_zeros();
    bits.saturating_sub(23)
}

impl SplatDrawData {
    /// The marks buffer and bind groups of a dense scatter drawn at `size`.
    fn new(
        device: &wgpu::Device,
        renderer: &PointsRenderer,
        palette_view: &wgpu::TextureView,
        size: (u32, u32),
    ) -> Self {
        let per_pixel = |label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (size.0 as u64 * size.1 as u64 * 4).max(4),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let marks = per_pixel("SplatDrawData::marks");
        let counts = per_pixel("SplatDrawData::counts");
        let stats = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("SplatDrawData::stats"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
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
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: marks.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: counts.as_entire_binding(),
                },
            ],
        });
        let count_max_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("SplatDrawData::count_max_group"),
            layout: &renderer.count_max_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: counts.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: stats.as_entire_binding(),
                },
            ],
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
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: counts.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: stats.as_entire_binding(),
                },
            ],
        });
        Self {
            marks,
            counts,
            stats,
            size,
            marks_group,
            count_max_group,
            resolve_uniforms,
            resolve_group,
            active: false,
            splatted: None,
            mode: SplatMode::Opaque as u32,
        }
    }

    /// Bytes of GPU buffers held.
    pub fn bytes(&self) -> u64 {
        self.marks.size() + self.counts.size() + self.stats.size()
    }

    /// Whether the current frame draws a density image.
    pub fn is_density(&self) -> bool {
        self.active && self.mode == SplatMode::Density as u32
    }

    /// The buffer whose first u32 is the largest count of the density
    /// image, once the frame's splat has run.
    pub fn stats(&self) -> &wgpu::Buffer {
        &self.stats
    }
}
