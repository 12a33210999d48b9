//! Plot data on the GPU: the arenas every data renderer reads, their upload
//! and the GPU memory budget.
//!
//! Each plot's tensors are appended, byte for byte as they were logged, to a
//! growable storage buffer (the "arena"); a small table of [`BatchDesc`]s
//! says where each run of batches starts and how its points are laid out.
//! The shaders (shaders/data.wgsl) find a point's descriptor by binary
//! search and gather its x, y and colour value with the descriptor's sizes
//! and strides, so spatial dim, colour by index and grid tiling cost the CPU
//! nothing. A replaced plot rewrites its arena; an appended batch writes
//! only its own bytes.
//!
//! Consecutive appended batches with the same layout share one descriptor:
//! a batch whose tensor is contiguous along its outermost point axis and
//! lands right after the previous one extends that descriptor (its size
//! along that axis grows) instead of adding 192 bytes of its own. A training
//! loop appending one point per step then costs the GPU its 8 bytes, not
//! 200. (Packing small batches into a shared side table was rejected: it
//! needs a second lookup per vertex, while merging leaves the shader as it
//! was.) The bytes of one sync go to the queue in one write per buffer, not
//! one per batch: each `write_buffer` stages a copy with bookkeeping of its
//! own, which for a million one-point batches was gigabytes.
//!
//! A storage binding is limited in size (128 MiB on lavapipe), so a plot's
//! data is split into [`Chunk`]s, each bound and drawn on its own. A scatter
//! starts a new chunk when the arena or the descriptor table of the last one
//! is full; lines start the next chunk with a "bridge" batch holding the
//! last point of every line, so the segment joining the chunks is drawn;
//! tandem lines repeat the last row of a chunk as the first of the next.

use super::gpu_types::{BatchDesc, PlotUniforms};
use super::pipeline::{buffer_entry, texture_entry};

pub use super::chunk::Chunk;
use super::chunk::Part;
use crate::store::{Batch, ColorSource, Plot, PlotKind, PointLayout};

/// The largest scatter chunk, unless a single batch is larger.
pub const MAX_CHUNK_BYTES: u64 = 64 << 20;

pub(super) const DESC_BYTES: u64 = std::mem::size_of::<BatchDesc>() as u64;

/// Why a batch (or tandem row) was not uploaded; logged, and the plot says
/// how many points it does not show.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{len_bytes} bytes exceed the GPU's storage binding of {max_bytes} bytes")]
    BatchTooLarge { len_bytes: u64, max_bytes: u64 },

    #[error("over the GPU memory budget of {budget_bytes} bytes")]
    OverBudget { budget_bytes: u64 },

    #[error("{axes} dimensions are beyond the GPU layout of {max_axes}")]
    TooManyAxes { axes: usize, max_axes: usize },

    #[error("{count} points or segments exceed the GPU's 32-bit instance index")]
    TooManyInstances { count: u64 },
}

/// The bind group layout of a chunk: uniforms, descriptors, arena, palette.
/// Made once; the points and lines pipelines are built on it.
pub struct DataBindings {
    pub layout: wgpu::BindGroupLayout,
}

impl DataBindings {
    pub fn new(device: &wgpu::Device) -> Self {
        use wgpu::ShaderStages as S;
        let storage = wgpu::BufferBindingType::Storage { read_only: true };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("DataBindings::layout"),
            entries: &[
                buffer_entry(0, S::VERTEX_FRAGMENT | S::COMPUTE, wgpu::BufferBindingType::Uniform),
                buffer_entry(1, S::VERTEX | S::COMPUTE, storage),
                buffer_entry(2, S::VERTEX | S::COMPUTE, storage),
                texture_entry(3, S::VERTEX | S::COMPUTE),
            ],
        });
        Self { layout }
    }
}

/// Sizes that split data into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// The device's largest storage binding.
    pub binding: u64,
    /// Where a scatter or tandem plot starts a new chunk.
    pub chunk: u64,
}

impl ChunkLimits {
    /// The limits of `device`, optionally lowered (tests), with chunks kept
    /// small enough that growing one copies little and that a memory budget
    /// can drop old data a chunk at a time.
    pub fn new(device: &wgpu::Device, max_binding: Option<u64>, budget: Option<u64>) -> Self {
        let limits = device.limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(max_binding.unwrap_or(u64::MAX))
            / 4
            * 4;
        let chunk = budget.map_or(MAX_CHUNK_BYTES, |b| (b / 4).clamp(1 << 20, MAX_CHUNK_BYTES));
        Self {
            binding,
            chunk: chunk.min(binding),
        }
    }
}

/// GPU memory in use against an optional limit.
pub struct Budget {
    pub limit: Option<u64>,
    pub used: u64,
}

impl Budget {
    pub fn allows(&self, extra: u64) -> bool {
        self.limit.is_none_or(|limit| self.used + extra <= limit)
    }
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
    /// Descriptors in the tables of every plot after the sync: how many runs
    /// of batches the shaders search.
    pub descriptors: u64,
    /// Chunks (bind groups and draws per plot) after the sync.
    pub chunks: u64,
    /// Points the splat pass drew for the frame: a dense scatter whose view
    /// did not change splats only the points appended since the last frame.
    pub splatted_points: u64,
}

/// The axis along which a batch of this kind may merge with the previous
/// one: a scatter's outermost point axis; a single line's first point axis
/// (several lines interleave, so they do not merge).
fn merge_axis(kind: PlotKind, desc: &BatchDesc) -> Option<usize> {
    match kind {
        PlotKind::Scatter => Some(0),
        PlotKind::Lines if desc.line_count == 1 => Some(desc.line_axes as usize),
        _ => None,
    }
}

/// One plot's arena chunks, and how much of the store they hold.
///
/// The arena holds a prefix of one epoch of the plot (see
/// [`crate::store`]): the batches or rows uploaded so far. A view of an
/// earlier state of the same epoch draws a prefix of that (each chunk draws
/// its first [`Chunk::drawn`] instances); a later state uploads only what
/// is missing. Instances are numbered in upload order across chunks, so
/// the first `k` batches are exactly the instances before `batch_ends[k-1]`.
pub struct PlotArena {
    pub kind: PlotKind,
    pub generation: u64,
    /// Batches uploaded (scatter, lines) or floats of tandem rows uploaded.
    pub uploaded: usize,
    /// Per uploaded batch: the plot's instance count after it.
    batch_ends: Vec<u64>,
    /// Instances (tandem: rows) staged so far, dropped chunks included.
    next_base: u64,
    /// Whether old chunks were dropped for the memory budget: an earlier
    /// state then has to be uploaded again.
    evicted: bool,
    pub chunks: Vec<Chunk>,
    pub tandem_lines: u32,
    /// Points not drawn: too large for a storage binding, or evicted to stay
    /// within the GPU memory budget.
    pub dropped_points: u64,
    /// Lines: the last batch uploaded, whose last points bridge to the next
    /// chunk.
    last_lines_batch: Option<usize>,
}

impl PlotArena {
    pub fn new(kind: PlotKind) -> Self {
        Self {
            kind,
            generation: u64::MAX,
            uploaded: 0,
            batch_ends: Vec::new(),
            next_base: 0,
            evicted: false,
            chunks: Vec::new(),
            tandem_lines: 0,
            dropped_points: 0,
            last_lines_batch: None,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(Chunk::bytes).sum()
    }

    /// Brings the chunks up to date with `plot`: rewritten when replaced,
    /// appended to otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        plot: &Plot,
        limits: ChunkLimits,
        budget: &mut Budget,
        stats: &mut SyncStats,
    ) {
        let shown = match plot.kind {
            PlotKind::Tandem => plot.tandem.rows.len(),
            _ => plot.batches.len(),
        };
        let other = self.generation != plot.generation || self.kind != plot.kind;
        if other || (shown < self.uploaded && self.evicted) {
            self.kind = plot.kind;
            self.generation = plot.generation;
            self.uploaded = 0;
            self.batch_ends.clear();
            self.next_base = 0;
            self.evicted = false;
            self.dropped_points = 0;
            self.last_lines_batch = None;
            // Keep the first chunk's buffers for reuse: a plot replaced
            // every step then writes into the same allocation.
            self.chunks.truncate(1);
            for chunk in &mut self.chunks {
                chunk.clear();
            }
        }
        let limit = match plot.kind {
            PlotKind::Tandem => {
                self.sync_tandem(device, plot, limits, budget, stats);
                (shown / (plot.tandem.lines + 1)) as u64
            }
            PlotKind::Scatter | PlotKind::Lines => {
                self.sync_batches(device, queue, encoder, plot, limits, budget, stats);
                shown.checked_sub(1).map_or(0, |last| self.batch_ends[last])
            }
        };
        for chunk in &mut self.chunks {
            chunk.flush(device, queue, encoder);
            let count = match plot.kind {
                PlotKind::Tandem => chunk.arena_len() / (4 * (self.tandem_lines as u64 + 1)),
                _ => chunk.instances as u64,
            };
            chunk.drawn = limit.saturating_sub(chunk.base).min(count) as u32;
        }
    }

    /// Instances drawn this frame.
    pub fn drawn(&self) -> u64 {
        self.chunks.iter().map(|c| c.drawn as u64).sum()
    }

    fn drop_points(&mut self, plot: &Plot, stats: &mut SyncStats, points: u64, why: UploadError) {
        self.dropped_points += points;
        stats.dropped_points += points;
        log::warn!("plot {}: {points} points not drawn: {why}", plot.name);
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_batches(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        plot: &Plot,
        limits: ChunkLimits,
        budget: &mut Budget,
        stats: &mut SyncStats,
    ) {
        let max_binding = limits.binding;
        while self.uploaded < plot.batches.len() {
            let index = self.uploaded;
            let batch = &plot.batches[index];
            self.uploaded += 1;
            // Nothing drawn for a batch that is skipped.
            self.batch_ends.push(self.next_base);
            if batch.is_empty() {
                continue;
            }
            let bytes: &[u8] = &batch.tensor.bytes;
            let len = bytes.len() as u64;
            let points = batch.len() as u64;
            if len > max_binding {
                let why = UploadError::BatchTooLarge {
                    len_bytes: len,
                    max_bytes: max_binding,
                };
                self.drop_points(plot, stats, points, why);
                continue;
            }
            let Some(desc) = BatchDesc::new(batch, 0, 0) else {
                let why = match u32::try_from(points) {
                    Ok(_) => UploadError::TooManyAxes {
                        axes: batch.layout.sizes.len(),
                        max_axes: super::gpu_types::MAX_AXES,
                    },
                    Err(_) => UploadError::TooManyInstances { count: points },
                };
                self.drop_points(plot, stats, points, why);
                continue;
            };
            // Lines join each batch to the next; a new chunk starts with a
            // bridge holding the previous batch's last points.
            let bridge = match (self.kind, self.last_lines_batch) {
                (PlotKind::Lines, Some(previous)) => Some(&plot.batches[previous]),
                _ => None,
            };
            // A scatter starts a new chunk when the last one is full (a batch
            // larger than the chunk size gets a chunk of its own); lines
            // only when they must.
            let chunk_limit = match self.kind {
                PlotKind::Lines => max_binding,
                _ => limits.chunk,
            };
            let full = |c: &Chunk| {
                c.batch_count > 0
                    && (c.arena_len() + len > chunk_limit
                        || c.descs_len() + DESC_BYTES > max_binding
                        || c.instances as u64 + points > u32::MAX as u64)
            };
            let new_chunk = self.chunks.last().is_none_or(full);
            let bridge = bridge.filter(|_| new_chunk).map(bridge_points);
            let bridge_bytes = bridge.as_ref().map_or(0, |(b, _)| b.len() as u64 * 4);
            if new_chunk && bridge_bytes + len > max_binding {
                let why = UploadError::BatchTooLarge {
                    len_bytes: bridge_bytes + len,
                    max_bytes: max_binding,
                };
                self.drop_points(plot, stats, points, why);
                continue;
            }
            let growth = |arena: &PlotArena| match (new_chunk, arena.chunks.last()) {
                (false, Some(c)) => c.growth(device, len, 1),
                _ => {
                    (bridge_bytes + len).next_power_of_two().max(4096)
                        + 4096
                        + std::mem::size_of::<PlotUniforms>() as u64
                }
            };
            if new_chunk && let Some(last) = self.chunks.last_mut() {
                last.flush(device, queue, encoder);
            }
            // Over budget: a scatter lets its oldest chunks go.
            while !budget.allows(growth(self))
                && self.kind == PlotKind::Scatter
                && self.chunks.len() > usize::from(!new_chunk)
            {
                let old = self.chunks.remove(0);
                budget.used -= old.bytes();
                self.dropped_points += old.instances as u64;
                stats.dropped_points += old.instances as u64;
                self.evicted = true;
                log::warn!(
                    "plot {}: {} oldest points dropped from view to stay within the GPU memory budget",
                    plot.name,
                    old.instances
                );
            }
            if !budget.allows(growth(self)) {
                let why = UploadError::OverBudget {
                    budget_bytes: budget.limit.unwrap_or(0),
                };
                self.drop_points(plot, stats, points, why);
                continue;
            }
            budget.used += growth(self);
            if new_chunk {
                let mut chunk = Chunk::new(device);
                chunk.base = self.next_base;
                self.chunks.push(chunk);
            }
            let chunk = self.chunks.last_mut().expect("a chunk");
            let before = chunk.instances;
            if let Some((values, layout)) = &bridge
                && let Some(desc) = BatchDesc::from_layout(layout, 0, 0)
            {
                // One segment per line: from its last point so far to its
                // first point in this batch.
                let values = Part::Copied(bytemuck::cast_slice(values));
                stats.uploaded_bytes += bridge_bytes + chunk.stage_batch(values, desc, None);
            }
            let axis = merge_axis(self.kind, &desc);
            stats.uploaded_bytes += len + chunk.stage_batch(Part::Shared(&batch.tensor.bytes), desc, axis);
            self.next_base += (chunk.instances - before) as u64;
            *self.batch_ends.last_mut().expect("pushed above") = self.next_base;
            if self.kind == PlotKind::Lines {
                self.last_lines_batch = Some(index);
            }
        }
    }

    fn sync_tandem(
        &mut self,
        device: &wgpu::Device,
        plot: &Plot,
        limits: ChunkLimits,
        budget: &mut Budget,
        stats: &mut SyncStats,
    ) {
        let lines = plot.tandem.lines;
        let row_floats = lines + 1;
        let row_bytes = row_floats as u64 * 4;
        self.tandem_lines = lines as u32;
        let rows = &plot.tandem.rows;
        // Rows per chunk: within the chunk size (two at least: a segment),
        // and segments countable in 32 bits.
        let max_rows = (limits.chunk.max(2 * row_bytes) / row_bytes)
            .min(u32::MAX as u64 / lines.max(1) as u64 + 1)
            .max(2);
        if 2 * row_bytes > limits.binding {
            if rows.len() > self.uploaded {
                let points = ((rows.len() - self.uploaded) / row_floats * lines) as u64;
                let why = UploadError::BatchTooLarge {
                    len_bytes: 2 * row_bytes,
                    max_bytes: limits.binding,
                };
                self.drop_points(plot, stats, points, why);
                self.uploaded = rows.len();
            }
            return;
        }
        while self.uploaded + row_floats <= rows.len() {
            let chunk_rows = self.chunks.last().map_or(u64::MAX, |c| c.arena_len() / row_bytes);
            let new_chunk = chunk_rows >= max_rows;
            // A new chunk repeats the previous chunk's last row, so the
            // segment between them is drawn.
            let start = if new_chunk && self.uploaded > 0 {
                self.uploaded - row_floats
            } else {
                self.uploaded
            };
            let take = (if new_chunk { max_rows } else { max_rows - chunk_rows }) as usize * row_floats;
            let end = (start + take).min(rows.len() / row_floats * row_floats);
            let new: &[u8] = bytemuck::cast_slice(&rows[start..end]);
            let growth = match (new_chunk, self.chunks.last()) {
                (false, Some(c)) => c.growth(device, new.len() as u64, 0),
                _ => (new.len() as u64).next_power_of_two().max(4096) + 4096,
            };
            if !budget.allows(growth) {
                // Lines cannot lose their start: the newest rows wait instead.
                let waiting = (rows.len() - self.uploaded) / row_floats * lines;
                stats.dropped_points += waiting as u64;
                self.dropped_points = waiting as u64;
                return;
            }
            budget.used += growth;
            if new_chunk {
                let mut chunk = Chunk::new(device);
                chunk.base = (start / row_floats) as u64;
                self.chunks.push(chunk);
            }
            let chunk = self.chunks.last_mut().expect("a chunk");
            if chunk.descs_len() == 0 {
                // The shader layout needs a descriptor table, even if unused.
                chunk.staged_descs_at = 0;
                chunk.staged_descs = vec![0; DESC_BYTES as usize];
                chunk.batch_count = 1;
            }
            chunk.stage_bytes(new);
            stats.uploaded_bytes += new.len() as u64;
            self.uploaded = end;
        }
        self.dropped_points = 0;
    }
}

/// The last point of every line of a lines batch, as a batch of one point
/// per line (x, y, colour value; tiling and colour by index resolved).
fn bridge_points(batch: &Batch) -> (Vec<f32>, PointLayout) {
    let (lines, per_line) = batch.layout.lines_shape();
    let values = batch.tensor.values();
    let mut xyc = Vec::with_capacity(lines * 3);
    let mut colored = false;
    for line in 0..lines {
        let (x, y, c) = batch
            .layout
            .point(&values, line * per_line + per_line.saturating_sub(1));
        colored |= c.is_some();
        xyc.extend_from_slice(&[x, y, c.unwrap_or(0.0)]);
    }
    let layout = PointLayout {
        sizes: vec![lines, 1],
        strides: vec![3, 3],
        spatial_stride: 1,
        color: if colored { ColorSource::Value } else { ColorSource::None },
        grid: None,
        line_axes: 1,
    };
    (xyc, layout)
}
