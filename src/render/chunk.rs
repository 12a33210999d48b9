//! A chunk: the part of a plot's data one storage binding holds (arena
//! bytes and descriptor table), what it stages before a sync writes it, and
//! the merging of appended descriptors (see [`super::arena`]).

use bytes::Bytes;

use super::arena::{DESC_BYTES, DataBindings};
use super::buffer::GrowableBuffer;
use super::gpu_types::{BatchDesc, PlotUniforms};

/// A part of a plot's data small enough for one storage binding.
pub struct Chunk {
    pub arena: GrowableBuffer,
    pub descs: GrowableBuffer,
    pub uniforms: wgpu::Buffer,
    /// Descriptors in the table (runs of batches sharing one).
    pub batch_count: u32,
    /// Points (scatter) or segment starts (lines) in this chunk.
    pub instances: u32,
    /// Where the chunk starts in its plot's data: the plot's instance (points,
    /// segments) or, for tandem lines, row number of its first.
    pub base: u64,
    /// Instances (tandem: rows) drawn this frame: all of them, or fewer when
    /// the view shows an earlier state of the plot.
    pub drawn: u32,
    /// The last descriptor and the axis it may grow along, for merging.
    pub(super) last: Option<(BatchDesc, usize)>,
    /// Bytes of this sync not yet written: one write per buffer per sync.
    pub(super) staged_arena: Staged,
    pub(super) staged_descs: Vec<u8>,
    /// Where `staged_descs` goes in the table (before its end when the
    /// last descriptor is rewritten).
    pub(super) staged_descs_at: u64,
    /// The bind group and the buffer versions it was made for.
    bind_group: Option<(u64, u64, wgpu::BindGroup)>,
}

impl Chunk {
    pub fn new(device: &wgpu::Device) -> Self {
        let storage = wgpu::BufferUsages::STORAGE;
        Self {
            arena: GrowableBuffer::new(device, "Chunk::arena", storage),
            descs: GrowableBuffer::new(device, "Chunk::batch_descs", storage),
            uniforms: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("Chunk::uniforms"),
                size: std::mem::size_of::<PlotUniforms>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            batch_count: 0,
            instances: 0,
            base: 0,
            drawn: 0,
            last: None,
            staged_arena: Staged::default(),
            staged_descs: Vec::new(),
            staged_descs_at: 0,
            bind_group: None,
        }
    }

    /// Bytes of GPU buffers held.
    pub fn bytes(&self) -> u64 {
        self.arena.capacity() + self.descs.capacity()
    }

    /// Forgets the contents, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.descs.clear();
        self.batch_count = 0;
        self.instances = 0;
        self.base = 0;
        self.drawn = 0;
        self.last = None;
        self.staged_arena.clear();
        self.staged_descs.clear();
        self.staged_descs_at = 0;
    }

    /// Arena bytes including those staged.
    pub fn arena_len(&self) -> u64 {
        self.arena.len() + self.staged_arena.len()
    }

    pub(super) fn descs_len(&self) -> u64 {
        if self.staged_descs.is_empty() {
            self.descs.len()
        } else {
            self.staged_descs_at + self.staged_descs.len() as u64
        }
    }

    /// How many bytes the buffers grow by when `arena` bytes and `descs`
    /// descriptors are added to what is staged.
    pub(super) fn growth(&self, device: &wgpu::Device, arena: u64, descs: u64) -> u64 {
        let (a, d) = (self.arena_len(), self.descs_len());
        self.arena.capacity_for(device, a + arena) + self.descs.capacity_for(device, d + descs * DESC_BYTES)
            - self.arena.capacity_for(device, a)
            - self.descs.capacity_for(device, d)
    }

    /// Stages raw arena bytes (tandem rows), with no descriptor.
    pub fn stage_bytes(&mut self, bytes: &[u8]) {
        self.staged_arena.push(Part::Copied(bytes));
    }

    /// Stages a batch's bytes and its descriptor (positions filled in here),
    /// merging the descriptor into the previous one when `merge_axis` allows.
    /// Returns the descriptor bytes written (for upload statistics).
    pub(super) fn stage_batch(&mut self, bytes: Part<'_>, desc: BatchDesc, merge_axis: Option<usize>) -> u64 {
        let desc = BatchDesc {
            data_offset: (self.arena_len() / 4) as u32,
            first_instance: self.instances,
            ..desc
        };
        let floats = bytes.len() / 4;
        let contiguous = merge_axis
            .filter(|&m| m < desc.axis_count as usize && desc.sizes[m] as u64 * desc.strides[m] as u64 == floats);
        let merged = match (&self.last, contiguous) {
            (Some((last, m)), Some(axis)) if *m == axis => merge(last, &desc, axis),
            _ => None,
        };
        self.staged_arena.push(bytes);
        self.instances += desc.instance_count;
        if self.staged_descs.is_empty() {
            self.staged_descs_at = self.descs.len();
        }
        let (written, axis) = match merged {
            Some(merged) => {
                if self.staged_descs.is_empty() {
                    // Rewrite the last descriptor already on the GPU.
                    self.staged_descs_at -= DESC_BYTES;
                } else {
                    self.staged_descs
                        .truncate(self.staged_descs.len() - DESC_BYTES as usize);
                }
                (merged, contiguous)
            }
            None => {
                self.batch_count += 1;
                (desc, contiguous)
            }
        };
        self.staged_descs.extend_from_slice(bytemuck::bytes_of(&written));
        self.last = axis.map(|a| (written, a));
        DESC_BYTES
    }

    /// Writes what was staged: one queue write per buffer.
    pub fn flush(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, encoder: &mut wgpu::CommandEncoder) {
        if !self.staged_arena.is_empty() {
            let staged = std::mem::take(&mut self.staged_arena);
            self.arena
                .append_with(device, queue, encoder, staged.len(), |out| staged.copy_into(out));
        }
        if !self.staged_descs.is_empty() {
            self.descs.truncate(self.staged_descs_at);
            self.descs.append(device, queue, encoder, &self.staged_descs);
        }
        // Free the staging memory: most syncs stage nothing.
        self.staged_arena = Staged::default();
        self.staged_descs = Vec::new();
    }

    /// Replaces the contents with one batch of `bytes` laid out by `desc`.
    pub fn replace(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        bytes: &[u8],
        desc: BatchDesc,
    ) {
        self.clear();
        self.arena.replace(device, queue, encoder, bytes);
        self.descs.replace(device, queue, encoder, bytemuck::bytes_of(&desc));
        self.batch_count = 1;
        self.instances = desc.instance_count;
        self.drawn = desc.instance_count;
    }

    /// The bind group of this chunk (remade when a buffer was replaced).
    pub fn bind_group(
        &mut self,
        device: &wgpu::Device,
        bindings: &DataBindings,
        palette: &wgpu::TextureView,
    ) -> &wgpu::BindGroup {
        let versions = (self.arena.version(), self.descs.version());
        let stale = self.bind_group.as_ref().is_none_or(|(a, d, _)| (*a, *d) != versions);
        let group = match self.bind_group.take() {
            Some((_, _, group)) if !stale => group,
            _ => device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("Chunk::bind_group"),
                layout: &bindings.layout,
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
            }),
        };
        &self.bind_group.insert((versions.0, versions.1, group)).2
    }
}

/// `last` extended by `next` along `axis`, when `next` continues it: the
/// same layout but for its size along `axis` (axes before it have size 1),
/// and its data right after `last`'s. Colour by index and grid tiling along
/// `axis` depend on the size, so they do not merge.
fn merge(last: &BatchDesc, next: &BatchDesc, axis: usize) -> Option<BatchDesc> {
    let axis_count = last.axis_count as usize;
    let end = last.data_offset as u64 + last.sizes[axis] as u64 * last.strides[axis] as u64;
    if axis >= axis_count
        || next.data_offset as u64 != end
        || last.sizes[..axis].iter().any(|&s| s != 1)
        || (last.color_mode == 1 && last.color_axis as usize == axis)
        || last.grid_axis as usize == axis
    {
        return None;
    }
    let mut probe = BatchDesc {
        data_offset: last.data_offset,
        first_instance: last.first_instance,
        instance_count: last.instance_count,
        points_per_line: last.points_per_line,
        ..*next
    };
    probe.sizes[axis] = last.sizes[axis];
    probe.strides[..axis].copy_from_slice(&last.strides[..axis]);
    if bytemuck::bytes_of(&probe) != bytemuck::bytes_of(last) {
        return None;
    }
    let mut merged = *last;
    merged.instance_count = last.instance_count.checked_add(next.instance_count)?;
    merged.points_per_line = last.points_per_line.checked_add(next.points_per_line)?;
    merged.sizes[axis] = last.sizes[axis].checked_add(next.sizes[axis])?;
    Some(merged)
}

/// Arena bytes staged for one sync: the logged tensors themselves (shared
/// with the log's memory map or the message, not copied), and small copies
/// (bridges, tandem rows). The sync writes them straight into the queue's
/// staging memory: one copy from the log to the upload.
#[derive(Default)]
pub(super) struct Staged {
    parts: Vec<Bytes>,
    /// Copies, gathered into one part.
    copied: Vec<u8>,
    /// Where each copied run goes among the parts: (index in `parts` it
    /// comes before, its range in `copied`).
    copied_at: Vec<(usize, std::ops::Range<usize>)>,
    len: u64,
}

/// Bytes to stage.
pub(super) enum Part<'a> {
    /// A tensor as logged.
    Shared(&'a Bytes),
    /// Bytes made for the upload.
    Copied(&'a [u8]),
}

impl Part<'_> {
    fn len(&self) -> u64 {
        match self {
            Part::Shared(bytes) => bytes.len() as u64,
            Part::Copied(bytes) => bytes.len() as u64,
        }
    }
}

impl Staged {
    fn push(&mut self, part: Part<'_>) {
        self.len += part.len();
        match part {
            Part::Shared(bytes) => self.parts.push(bytes.clone()),
            Part::Copied(bytes) => {
                let start = self.copied.len();
                self.copied.extend_from_slice(bytes);
                match self.copied_at.last_mut() {
                    // Runs between the same two shared parts join.
                    Some((at, range)) if *at == self.parts.len() && range.end == start => range.end += bytes.len(),
                    _ => self.copied_at.push((self.parts.len(), start..start + bytes.len())),
                }
            }
        }
    }

    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn clear(&mut self) {
        *self = Staged::default();
    }

    /// Writes every part, in order, into `out` (exactly `len` bytes).
    fn copy_into(&self, out: &mut wgpu::QueueWriteBufferView) {
        let mut at = 0;
        let mut copied = self.copied_at.iter().peekable();
        for index in 0..=self.parts.len() {
            while let Some((_, range)) = copied.next_if(|(before, _)| *before == index) {
                out.slice(at..at + range.len())
                    .copy_from_slice(&self.copied[range.clone()]);
                at += range.len();
            }
            if let Some(part) = self.parts.get(index) {
                out.slice(at..at + part.len()).copy_from_slice(part);
                at += part.len();
            }
        }
        debug_assert_eq!(at, out.len());
    }
}
