//! Data on the GPU: scatter points and lines.
//!
//! Each plot's tensors are appended, byte for byte as they were logged, to a
//! growable storage buffer (the "arena"); a small table of [`BatchDesc`]s
//! says where each batch starts and how its points are laid out. The vertex
//! shaders find a point's batch by binary search and gather its x, y and
//! colour value with the batch's sizes and strides, so spatial dim, colour by
//! index and grid tiling cost the CPU nothing. A replaced plot rewrites its
//! arena; an appended batch writes only its own bytes.
//!
//! Points are instanced triangles (3 vertices per point: on software
//! rasterisers the vertex stage is the bottleneck, and a triangle is half
//! the vertices of a quad); lines are instanced quads per segment with round
//! caps. A storage binding is limited in size (128 MiB on lavapipe), so a
//! scatter's arena is split into chunks, each drawn on its own.

use std::collections::HashMap;

use super::buffer::GrowableBuffer;
use super::capture::PAGE_FORMAT;
use super::gpu_types::{BatchDesc, PlotUniforms, ResolveUniforms, linear_rgba};
use super::palette::palette_row;
use crate::layout::{DataRect, Rect};
use crate::spec::Palette;
use crate::store::{ColorSource, Plot, PlotKind, PointLayout, Store, needs_reduction, reduce_lines};

const DATA_SHADER: &str = include_str!("../../shaders/data.wgsl");
const POINTS_SHADER: &str = include_str!("../../shaders/points.wgsl");
const LINES_SHADER: &str = include_str!("../../shaders/lines.wgsl");
const SPLAT_SHADER: &str = include_str!("../../shaders/splat.wgsl");
const RESOLVE_SHADER: &str = include_str!("../../shaders/resolve.wgsl");

/// The shader sources as compiled: the shared data code, then the renderer's.
pub fn shader_sources() -> [(&'static str, String); 3] {
    [
        ("points", format!("{DATA_SHADER}\n{POINTS_SHADER}")),
        ("lines", format!("{DATA_SHADER}\n{LINES_SHADER}")),
        ("splat", format!("{DATA_SHADER}\n{SPLAT_SHADER}")),
    ]
}

/// Scatters of at least this many points are drawn by the splat compute
/// pass: instanced triangles are bound by the rasteriser's vertex and setup
/// rate (on an H100 only a few units rasterise), while the splat pass runs
/// on every compute unit.
pub const DENSE_MIN_POINTS: usize = 50_000;

/// Colour of uncoloured data: Bokeh's default blue.
pub const DEFAULT_COLOR: [u8; 3] = [0x1f, 0x77, 0xb4];
/// Colour of a NaN colour value: Bokeh's default grey.
pub const NAN_COLOR: [u8; 3] = [0x80, 0x80, 0x80];

/// Long-lived: pipelines and the bind group layout.
pub struct PlotPipelines {
    layout: wgpu::BindGroupLayout,
    points: wgpu::RenderPipeline,
    batch_lines: wgpu::RenderPipeline,
    tandem_lines: wgpu::RenderPipeline,
    /// Dense scatters: marks written by the splat pass, read by resolve.
    marks_layout: wgpu::BindGroupLayout,
    splat: wgpu::ComputePipeline,
    resolve_layout: wgpu::BindGroupLayout,
    resolve: wgpu::RenderPipeline,
}

impl PlotPipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        let storage = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: true },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PlotPipelines::bind_group_layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT | wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(1),
                storage(2),
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("PlotPipelines::pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let [(_, points_src), (_, lines_src), (_, splat_src)] = shader_sources();
        let points_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("PlotPipelines::points_shader"),
            source: wgpu::ShaderSource::Wgsl(points_src.into()),
        });
        let lines_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("PlotPipelines::lines_shader"),
            source: wgpu::ShaderSource::Wgsl(lines_src.into()),
        });
        let pipeline = |label, module: &wgpu::ShaderModule, vs, topology| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module,
                    entry_point: Some(vs),
                    compilation_options: Default::default(),
                    buffers: &[],
                },
                primitive: wgpu::PrimitiveState {
                    topology,
                    ..Default::default()
                },
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module,
                    entry_point: Some("fs_main"),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format: PAGE_FORMAT,
                        blend: Some(wgpu::BlendState::ALPHA_BLENDING),
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        use wgpu::PrimitiveTopology::{TriangleList, TriangleStrip};
        let points = pipeline("PlotPipelines::points", &points_module, "vs_main", TriangleList);
        let batch_lines = pipeline("PlotPipelines::batch_lines", &lines_module, "vs_batches", TriangleStrip);
        let tandem_lines = pipeline("PlotPipelines::tandem_lines", &lines_module, "vs_tandem", TriangleStrip);

        let marks_entry = |binding, visibility, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let marks_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PlotPipelines::marks_layout"),
            entries: &[marks_entry(0, wgpu::ShaderStages::COMPUTE, false)],
        });
        let splat_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("PlotPipelines::splat_shader"),
            source: wgpu::ShaderSource::Wgsl(splat_src.into()),
        });
        let splat_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("PlotPipelines::splat_layout"),
            bind_group_layouts: &[Some(&layout), Some(&marks_layout)],
            immediate_size: 0,
        });
        let splat = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("PlotPipelines::splat"),
            layout: Some(&splat_layout),
            module: &splat_module,
            entry_point: Some("cs_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let resolve_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("PlotPipelines::resolve_layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                marks_entry(1, wgpu::ShaderStages::FRAGMENT, true),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let resolve_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("PlotPipelines::resolve_shader"),
            source: wgpu::ShaderSource::Wgsl(RESOLVE_SHADER.into()),
        });
        let resolve_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("PlotPipelines::resolve_pipeline_layout"),
            bind_group_layouts: &[Some(&resolve_layout)],
            immediate_size: 0,
        });
        let resolve = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("PlotPipelines::resolve"),
            layout: Some(&resolve_pipeline_layout),
            vertex: wgpu::VertexState {
                module: &resolve_module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &resolve_module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: PAGE_FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self {
            points,
            batch_lines,
            tandem_lines,
            layout,
            marks_layout,
            splat,
            resolve_layout,
            resolve,
        }
    }
}

/// A part of a plot's data small enough for one storage binding.
struct Chunk {
    arena: GrowableBuffer,
    descs: GrowableBuffer,
    uniforms: wgpu::Buffer,
    batch_count: u32,
    /// Points (scatter) or segment starts (lines) in this chunk.
    instances: u32,
    /// The bind group and the buffer versions it was made for.
    bind_group: Option<(u64, u64, wgpu::BindGroup)>,
}

impl PlotGpu {
    fn bytes(&self) -> u64 {
        let reduced = self.reduced.as_ref().map_or(0, |r| r.chunk.bytes());
        let dense = self.dense.as_ref().map_or(0, |d| d.marks.size());
        self.chunks.iter().map(Chunk::bytes).sum::<u64>() + reduced + dense
    }
}

impl Chunk {
    fn bytes(&self) -> u64 {
        self.arena.capacity() + self.descs.capacity()
    }

    fn new(device: &wgpu::Device) -> Self {
        let storage = wgpu::BufferUsages::STORAGE;
        Self {
            arena: GrowableBuffer::new(device, "PlotGpu::arena", storage),
            descs: GrowableBuffer::new(device, "PlotGpu::batch_descs", storage),
            uniforms: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("PlotGpu::uniforms"),
                size: std::mem::size_of::<PlotUniforms>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            batch_count: 0,
            instances: 0,
            bind_group: None,
        }
    }

    fn bind_group(
        &mut self,
        device: &wgpu::Device,
        pipelines: &PlotPipelines,
        palette: &wgpu::TextureView,
    ) -> &wgpu::BindGroup {
        let versions = (self.arena.version(), self.descs.version());
        if self.bind_group.as_ref().is_none_or(|(a, d, _)| (*a, *d) != versions) {
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("PlotGpu::bind_group"),
                layout: &pipelines.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.uniforms.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: self.descs.buffer().as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: self.arena.buffer().as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::TextureView(palette),
                    },
                ],
            });
            self.bind_group = Some((versions.0, versions.1, group));
        }
        &self.bind_group.as_ref().expect("just made").2
    }
}

/// One plot's data on the GPU, and how much of the store it holds.
struct PlotGpu {
    kind: PlotKind,
    generation: u64,
    /// Batches uploaded (scatter, lines) or floats of tandem rows uploaded.
    uploaded: usize,
    chunks: Vec<Chunk>,
    tandem_lines: u32,
    /// Points not drawn: too large for a storage binding, or evicted to stay
    /// within the GPU memory budget.
    dropped_points: u64,
    /// Lines reduced to the pixel columns of the current view, when they
    /// have more points than columns.
    reduced: Option<Reduced>,
    /// Dense scatters drawn by the splat pass.
    dense: Option<Dense>,
}

/// A dense scatter's marks (one u32 per pixel of the plot area), written by
/// the splat pass and read by the resolve pass.
struct Dense {
    marks: wgpu::Buffer,
    size: (u32, u32),
    marks_group: wgpu::BindGroup,
    resolve_uniforms: wgpu::Buffer,
    resolve_group: wgpu::BindGroup,
    /// Whether the current frame draws the splat (not the triangles).
    active: bool,
}

/// A min/max-per-column reduction of a plot's lines, and what it was
/// computed for.
struct Reduced {
    chunk: Chunk,
    /// Generation, data length, view x range (bits) and width in pixels.
    key: (u64, usize, u64, u64, u32),
    /// Whether the current frame draws the reduction.
    active: bool,
    source_points: usize,
    points: usize,
}

/// Per-frame numbers from a sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Bytes written to GPU buffers.
    pub uploaded_bytes: u64,
    /// Points not drawn (too large for a binding, or over the memory budget).
    pub dropped_points: u64,
    /// Bytes held in GPU buffers after the sync.
    pub gpu_bytes: u64,
}

/// The largest scatter chunk, unless a single batch is larger.
const MAX_CHUNK_BYTES: u64 = 64 << 20;

/// Sizes that split data into chunks.
#[derive(Clone, Copy)]
struct ChunkLimits {
    /// The device's largest storage binding.
    binding: u64,
    /// Where a scatter starts a new chunk.
    chunk: u64,
}

/// GPU memory in use against an optional limit.
struct Budget {
    limit: Option<u64>,
    used: u64,
}

impl Budget {
    fn allows(&self, extra: u64) -> bool {
        self.limit.is_none_or(|limit| self.used + extra <= limit)
    }
}

/// One plot as it is drawn this frame: its data, the part of data space in
/// view, and where on the page.
#[derive(Clone, Copy)]
pub struct PlotView<'a> {
    pub plot: &'a Plot,
    pub view: &'a DataRect,
    pub area: &'a Rect,
    /// The page's size in pixels.
    pub target_size: [u32; 2],
    pub style: &'a crate::layout::Style,
}

/// Every plot's GPU data.
pub struct PlotData {
    plots: HashMap<String, PlotGpu>,
    /// Reduce lines with more points than pixel columns (on by default).
    pub reduce_lines: bool,
    /// Most bytes of GPU buffers to hold; past it, the oldest appended
    /// scatter data is dropped from view.
    pub memory_budget: Option<u64>,
    /// Draw scatters of [`DENSE_MIN_POINTS`] or more by the splat pass (on
    /// by default).
    pub splat_dense: bool,
}

impl PlotData {
    pub fn new() -> Self {
        Self {
            plots: HashMap::new(),
            reduce_lines: true,
            memory_budget: None,
            splat_dense: true,
        }
    }

    /// Bytes held in GPU buffers (arenas and descriptor tables).
    pub fn gpu_bytes(&self) -> u64 {
        self.plots.values().map(PlotGpu::bytes).sum()
    }

    /// Brings the GPU up to date with the store: replaced plots are
    /// rewritten, appended batches and rows are added, removed plots freed.
    pub fn sync(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        store: &Store,
    ) -> SyncStats {
        let mut stats = SyncStats::default();
        self.plots.retain(|name, _| store.plot(name).is_some());
        let mut budget = Budget {
            limit: self.memory_budget,
            used: self.gpu_bytes(),
        };
        let max_binding = device
            .limits()
            .max_storage_buffer_binding_size
            .min(device.limits().max_buffer_size);
        // Scatter chunks stay small enough that growing one copies little and
        // that a memory budget can drop old data a chunk at a time.
        let chunk_limit = self
            .memory_budget
            .map_or(MAX_CHUNK_BYTES, |b| (b / 4).clamp(1 << 20, MAX_CHUNK_BYTES));
        let limits = ChunkLimits {
            binding: max_binding,
            chunk: chunk_limit.min(max_binding),
        };
        for plot in store.plots() {
            let gpu = self.plots.entry(plot.name.clone()).or_insert_with(|| PlotGpu {
                kind: plot.kind,
                generation: u64::MAX,
                uploaded: 0,
                chunks: Vec::new(),
                tandem_lines: 0,
                dropped_points: 0,
                reduced: None,
                dense: None,
            });
            if gpu.generation != plot.generation || gpu.kind != plot.kind {
                gpu.kind = plot.kind;
                gpu.generation = plot.generation;
                gpu.uploaded = 0;
                gpu.dropped_points = 0;
                // Keep the first chunk's buffers for reuse: a plot replaced
                // every step then writes into the same allocation.
                gpu.chunks.truncate(1);
                for chunk in &mut gpu.chunks {
                    chunk.arena.clear();
                    chunk.descs.clear();
                    chunk.batch_count = 0;
                    chunk.instances = 0;
                }
            }
            match plot.kind {
                PlotKind::Tandem => sync_tandem(device, queue, encoder, plot, gpu, &mut budget, &mut stats),
                PlotKind::Scatter | PlotKind::Lines => {
                    sync_batches(device, queue, encoder, plot, gpu, limits, &mut budget, &mut stats)
                }
            }
        }
        stats.gpu_bytes = self.gpu_bytes();
        stats
    }

    /// Prepares a plot for drawing its view: dense scatters are splatted,
    /// lines with more points than pixel columns are reduced to min/max per
    /// column (recomputed when the view or data change). Returns a note to
    /// show while points are reduced or dropped.
    pub fn prepare_view(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        pipelines: &PlotPipelines,
        palette_view: &wgpu::TextureView,
        at: &PlotView,
    ) -> Option<String> {
        self.splat(device, queue, encoder, pipelines, palette_view, at);
        let PlotView { plot, view, area, .. } = *at;
        let gpu = self.plots.get_mut(&plot.name)?;
        let dropped = (gpu.dropped_points > 0).then(|| {
            format!(
                "{} points not shown (GPU memory)",
                crate::layout::format_count(gpu.dropped_points as usize)
            )
        });
        let reduced = self.reduce(device, queue, encoder, plot, view, area);
        match (reduced, dropped) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        }
    }

    /// Runs the splat pass of a dense scatter (see shaders/splat.wgsl).
    fn splat(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        pipelines: &PlotPipelines,
        palette_view: &wgpu::TextureView,
        at: &PlotView,
    ) {
        let PlotView {
            plot,
            view,
            area,
            target_size,
            style,
        } = *at;
        let Some(gpu) = self.plots.get_mut(&plot.name) else {
            return;
        };
        let (x, y, w, h) = area.to_pixels(target_size[0], target_size[1]);
        let total: u64 = gpu.chunks.iter().map(|c| c.instances as u64).sum();
        let dense = self.splat_dense
            && gpu.kind == PlotKind::Scatter
            && total >= DENSE_MIN_POINTS as u64
            && total < u32::MAX as u64
            && w > 0
            && h > 0;
        if !dense {
            if let Some(d) = &mut gpu.dense {
                d.active = false;
            }
            return;
        }
        if gpu.dense.as_ref().is_none_or(|d| d.size != (w, h)) {
            gpu.dense = Some(new_dense(device, pipelines, palette_view, (w, h)));
        }
        let uniforms_base = plot_uniforms(plot, gpu, view, (w, h), style);
        let dense = gpu.dense.as_mut().expect("just made");
        dense.active = true;
        let palette = uniforms_base.palette_row;
        let resolve = ResolveUniforms {
            origin: [x as f32, y as f32],
            width: w,
            palette_row: palette,
            default_color: uniforms_base.default_color,
            nan_color: uniforms_base.nan_color,
        };
        queue.write_buffer(&dense.resolve_uniforms, 0, bytemuck::bytes_of(&resolve));
        encoder.clear_buffer(&dense.marks, 0, None);
        let mut base = 0u32;
        let mut groups = Vec::new();
        for chunk in &mut gpu.chunks {
            let uniforms = PlotUniforms {
                batch_count: chunk.batch_count,
                instance_base: base,
                instance_total: total as u32,
                ..uniforms_base
            };
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
            groups.push((
                chunk.bind_group(device, pipelines, palette_view).clone(),
                chunk.instances,
            ));
            base += chunk.instances;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("PlotData::splat"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipelines.splat);
        pass.set_bind_group(1, &dense.marks_group, &[]);
        for (group, instances) in &groups {
            if *instances == 0 {
                continue;
            }
            let workgroups = instances.div_ceil(256);
            let (gx, gy) = (workgroups.min(65_535), workgroups.div_ceil(65_535));
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
    }

    /// Reduces lines to the view's pixel columns when they need it.
    fn reduce(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        plot: &Plot,
        view: &DataRect,
        area: &Rect,
    ) -> Option<String> {
        let gpu = self.plots.get_mut(&plot.name)?;
        let columns = area.width.round().max(1.0) as u32;
        if !self.reduce_lines || !needs_reduction(plot, columns) {
            if let Some(reduced) = &mut gpu.reduced {
                reduced.active = false;
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
        );
        if gpu.reduced.as_ref().is_none_or(|r| r.key != key) {
            let lines = reduce_lines(plot, view.min[0], view.max[0], columns);
            let layout = PointLayout {
                sizes: vec![lines.lines, lines.points],
                strides: vec![lines.points * 3, 3],
                spatial_stride: 1,
                color: if plot.palette.is_some() {
                    ColorSource::Value
                } else {
                    ColorSource::None
                },
                grid: None,
                line_axes: 1,
            };
            let reduced = gpu.reduced.get_or_insert_with(|| Reduced {
                chunk: Chunk::new(device),
                key,
                active: true,
                source_points: 0,
                points: 0,
            });
            let chunk = &mut reduced.chunk;
            chunk
                .arena
                .replace(device, queue, encoder, bytemuck::cast_slice(&lines.xyc));
            let desc = BatchDesc::from_layout(&layout, 0, 0);
            let desc = desc.unwrap_or_else(|| {
                BatchDesc::from_layout(
                    &PointLayout {
                        sizes: vec![0, 0],
                        ..layout
                    },
                    0,
                    0,
                )
                .expect("empty")
            });
            chunk.descs.replace(device, queue, encoder, bytemuck::bytes_of(&desc));
            chunk.batch_count = 1;
            chunk.instances = desc.instance_count;
            reduced.key = key;
            reduced.source_points = lines.source_points;
            reduced.points = lines.points;
        }
        let reduced = gpu.reduced.as_mut().expect("just made");
        reduced.active = true;
        Some(format!(
            "min/max per pixel: {} of {} points per line",
            crate::layout::format_count(reduced.points),
            crate::layout::format_count(reduced.source_points)
        ))
    }

    /// Draws one plot's data into `area`, showing the data rectangle `view`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pipelines: &PlotPipelines,
        palette_view: &wgpu::TextureView,
        pass: &mut wgpu::RenderPass<'_>,
        plot: &Plot,
        view: &DataRect,
        area: &Rect,
        target_size: [u32; 2],
        style: &crate::layout::Style,
    ) {
        let Some(gpu) = self.plots.get_mut(&plot.name) else {
            return;
        };
        let (x, y, w, h) = area.to_pixels(target_size[0], target_size[1]);
        if w == 0 || h == 0 {
            return;
        }
        pass.set_viewport(x as f32, y as f32, w as f32, h as f32, 0.0, 1.0);
        pass.set_scissor_rect(x, y, w, h);
        if let Some(dense) = gpu.dense.as_ref().filter(|d| d.active) {
            pass.set_pipeline(&pipelines.resolve);
            pass.set_bind_group(0, &dense.resolve_group, &[]);
            pass.draw(0..3, 0..1);
            return;
        }
        let mut uniforms = plot_uniforms(plot, gpu, view, (w, h), style);
        if let Some(reduced) = gpu.reduced.as_mut().filter(|r| r.active) {
            let chunk = &mut reduced.chunk;
            if chunk.instances > 0 {
                uniforms.batch_count = 1;
                queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
                pass.set_pipeline(&pipelines.batch_lines);
                pass.set_bind_group(0, chunk.bind_group(device, pipelines, palette_view), &[]);
                pass.draw(0..4, 0..chunk.instances);
            }
            return;
        }
        let (pipeline, vertices) = match gpu.kind {
            PlotKind::Scatter => (&pipelines.points, 3),
            PlotKind::Lines => (&pipelines.batch_lines, 4),
            PlotKind::Tandem => (&pipelines.tandem_lines, 4),
        };
        pass.set_pipeline(pipeline);
        for chunk in &mut gpu.chunks {
            let instances = match gpu.kind {
                PlotKind::Tandem => {
                    let rows = (chunk.arena.len() / 4) as u32 / (gpu.tandem_lines + 1).max(1);
                    uniforms.tandem_rows = rows;
                    rows.saturating_sub(1) * gpu.tandem_lines
                }
                _ => chunk.instances,
            };
            if instances == 0 {
                continue;
            }
            uniforms.batch_count = chunk.batch_count;
            queue.write_buffer(&chunk.uniforms, 0, bytemuck::bytes_of(&uniforms));
            let group = chunk.bind_group(device, pipelines, palette_view);
            pass.set_bind_group(0, group, &[]);
            if gpu.kind == PlotKind::Scatter {
                pass.draw(0..instances * vertices, 0..1);
            } else {
                pass.draw(0..vertices, 0..instances);
            }
        }
    }
}

impl Default for PlotData {
    fn default() -> Self {
        Self::new()
    }
}

/// A plot's uniforms for drawing `view` into a `w` x `h` plot area.
fn plot_uniforms(
    plot: &Plot,
    gpu: &PlotGpu,
    view: &DataRect,
    (w, h): (u32, u32),
    style: &crate::layout::Style,
) -> PlotUniforms {
    let palette = plot.palette.as_deref().and_then(|name| Palette::parse(name).ok());
    let center = view.center();
    PlotUniforms {
        center: [center[0] as f32, center[1] as f32],
        scale: [(2.0 / view.width()) as f32, (2.0 / view.height()) as f32],
        viewport_size: [w as f32, h as f32],
        point_radius: style.point_radius,
        line_width: style.line_width,
        default_color: linear_rgba(DEFAULT_COLOR, 1.0),
        nan_color: linear_rgba(NAN_COLOR, 1.0),
        palette_row: palette.as_ref().map_or(0, palette_row),
        palette_size: palette.map_or(0, |p| p.size as u32),
        tandem_lines: gpu.tandem_lines,
        tandem_rows: 0,
        batch_count: 0,
        instance_base: 0,
        instance_total: 0,
        _pad: 0,
    }
}

/// The marks buffer and bind groups of a dense scatter drawn at `size`.
fn new_dense(
    device: &wgpu::Device,
    pipelines: &PlotPipelines,
    palette_view: &wgpu::TextureView,
    size: (u32, u32),
) -> Dense {
    let marks = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("PlotGpu::marks"),
        size: (size.0 as u64 * size.1 as u64 * 4).max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let resolve_uniforms = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("PlotGpu::resolve_uniforms"),
        size: std::mem::size_of::<ResolveUniforms>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let marks_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("PlotGpu::marks_group"),
        layout: &pipelines.marks_layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: marks.as_entire_binding(),
        }],
    });
    let resolve_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("PlotGpu::resolve_group"),
        layout: &pipelines.resolve_layout,
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
    Dense {
        marks,
        size,
        marks_group,
        resolve_uniforms,
        resolve_group,
        active: false,
    }
}

fn sync_tandem(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    encoder: &mut wgpu::CommandEncoder,
    plot: &Plot,
    gpu: &mut PlotGpu,
    budget: &mut Budget,
    stats: &mut SyncStats,
) {
    let desc_bytes = [0u8; std::mem::size_of::<BatchDesc>()];
    if gpu.chunks.is_empty() {
        let mut chunk = Chunk::new(device);
        // The shader layout needs a descriptor table, even if unused.
        chunk.descs.append(device, queue, encoder, &desc_bytes);
        budget.used += chunk.bytes();
        gpu.chunks.push(chunk);
    }
    let chunk = &mut gpu.chunks[0];
    if chunk.descs.is_empty() {
        chunk.descs.append(device, queue, encoder, &desc_bytes);
    }
    gpu.tandem_lines = plot.tandem.lines as u32;
    chunk.batch_count = 1;
    let rows = &plot.tandem.rows;
    if rows.len() <= gpu.uploaded {
        return;
    }
    let new: &[u8] = bytemuck::cast_slice(&rows[gpu.uploaded..]);
    let growth = chunk.arena.capacity_after(device, new.len() as u64) - chunk.arena.capacity();
    if !budget.allows(growth) {
        // Lines cannot lose their start: the newest rows wait instead.
        let points = (rows.len() - gpu.uploaded) / (plot.tandem.lines + 1) * plot.tandem.lines;
        stats.dropped_points += points as u64;
        gpu.dropped_points = (rows.len() / (plot.tandem.lines + 1) * plot.tandem.lines) as u64
            - (gpu.uploaded / (plot.tandem.lines + 1) * plot.tandem.lines) as u64;
        return;
    }
    chunk.arena.append(device, queue, encoder, new);
    budget.used += growth;
    stats.uploaded_bytes += new.len() as u64;
    gpu.uploaded = rows.len();
}

#[allow(clippy::too_many_arguments)]
fn sync_batches(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    encoder: &mut wgpu::CommandEncoder,
    plot: &Plot,
    gpu: &mut PlotGpu,
    limits: ChunkLimits,
    budget: &mut Budget,
    stats: &mut SyncStats,
) {
    let max_binding = limits.binding;
    let desc_size = std::mem::size_of::<BatchDesc>() as u64;
    for batch in &plot.batches[gpu.uploaded.min(plot.batches.len())..] {
        gpu.uploaded += 1;
        if batch.is_empty() {
            continue;
        }
        let bytes: &[u8] = &batch.tensor.bytes;
        let len = bytes.len() as u64;
        let points = batch.len() as u64;
        let drop = |gpu: &mut PlotGpu, stats: &mut SyncStats, why: String| {
            gpu.dropped_points += points;
            stats.dropped_points += points;
            log::warn!("plot {}: {} points not drawn: {why}", plot.name, points);
        };
        if len > max_binding {
            let why = format!(
                "{} MiB exceed the GPU's {} MiB storage binding",
                len >> 20,
                max_binding >> 20
            );
            drop(gpu, stats, why);
            continue;
        }
        // Lines join each batch to the next, so they stay in one chunk.
        if gpu.kind == PlotKind::Lines && gpu.chunks.last().is_some_and(|c| c.arena.len() + len > max_binding) {
            drop(
                gpu,
                stats,
                format!("the lines outgrew the GPU's {} MiB storage binding", max_binding >> 20),
            );
            continue;
        }
        // A scatter starts a new chunk when the last one is full (a batch
        // larger than the chunk size gets a chunk of its own).
        let new_chunk = gpu
            .chunks
            .last()
            .is_none_or(|c| gpu.kind == PlotKind::Scatter && c.batch_count > 0 && c.arena.len() + len > limits.chunk);
        let growth = |gpu: &PlotGpu| match (new_chunk, gpu.chunks.last()) {
            (false, Some(c)) => {
                c.arena.capacity_after(device, len) - c.arena.capacity() + c.descs.capacity_after(device, desc_size)
                    - c.descs.capacity()
            }
            _ => len.next_power_of_two().max(4096) + 4096 + std::mem::size_of::<PlotUniforms>() as u64,
        };
        // Over budget: a scatter lets its oldest chunks go.
        while !budget.allows(growth(gpu)) && gpu.kind == PlotKind::Scatter && gpu.chunks.len() > usize::from(!new_chunk)
        {
            let old = gpu.chunks.remove(0);
            budget.used -= old.bytes();
            gpu.dropped_points += old.instances as u64;
            stats.dropped_points += old.instances as u64;
            log::warn!(
                "plot {}: {} oldest points dropped from view to stay within the GPU memory budget",
                plot.name,
                old.instances
            );
        }
        if !budget.allows(growth(gpu)) {
            drop(
                gpu,
                stats,
                format!("over the GPU memory budget of {} MiB", budget.limit.unwrap_or(0) >> 20),
            );
            continue;
        }
        let Some(desc) = BatchDesc::new(batch, 0, 0) else {
            drop(
                gpu,
                stats,
                format!("{} dimensions are beyond the GPU layout", batch.layout.sizes.len()),
            );
            continue;
        };
        budget.used += growth(gpu);
        if new_chunk {
            gpu.chunks.push(Chunk::new(device));
        }
        let chunk = gpu.chunks.last_mut().expect("a chunk");
        let desc = BatchDesc {
            data_offset: (chunk.arena.len() / 4) as u32,
            first_instance: chunk.instances,
            ..desc
        };
        chunk.arena.append(device, queue, encoder, bytes);
        chunk.descs.append(device, queue, encoder, bytemuck::bytes_of(&desc));
        chunk.batch_count += 1;
        chunk.instances += desc.instance_count;
        stats.uploaded_bytes += len + desc_size;
    }
}
