//! A GPU buffer that grows: appends write only the new tail; when full, the
//! capacity doubles and the old contents are copied on the GPU.

/// A growable GPU buffer.
pub struct GrowableBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: wgpu::Buffer,
    /// Bytes in use.
    len: u64,
    /// Changes whenever `buffer` is replaced (bind groups must be remade).
    version: u64,
}

/// Smallest allocation: avoids many tiny regrowths.
const MIN_CAPACITY: u64 = 4096;

impl GrowableBuffer {
    pub fn new(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages) -> Self {
        let usage = usage | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let buffer = create(device, label, usage, MIN_CAPACITY);
        Self {
            label,
            usage,
            buffer,
            len: 0,
            version: 0,
        }
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Bytes in use.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> u64 {
        self.buffer.size()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Forgets the contents (keeps the allocation).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Forgets the contents past `len` bytes (keeps the allocation).
    pub fn truncate(&mut self, len: u64) {
        self.len = self.len.min(len);
    }

    /// The capacity after appending `extra` bytes (what [`Self::append`]
    /// would grow to), for memory budgets.
    pub fn capacity_after(&self, device: &wgpu::Device, extra: u64) -> u64 {
        self.capacity_for(device, self.len + extra)
    }

    /// The capacity once `needed` bytes are in use.
    pub fn capacity_for(&self, device: &wgpu::Device, needed: u64) -> u64 {
        if needed <= self.capacity() {
            return self.capacity();
        }
        let capacity = needed.next_power_of_two().max(self.capacity() * 2);
        capacity
            .min(device.limits().max_buffer_size)
            .max(needed)
            .max(MIN_CAPACITY)
            .div_ceil(4)
            * 4
    }

    /// Appends `data` (a multiple of 4 bytes) and returns the offset it was
    /// written at. Only `data` crosses the bus, plus, when the buffer must
    /// grow, one GPU-side copy of the old contents.
    pub fn append(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        data: &[u8],
    ) -> u64 {
        debug_assert_eq!(data.len() % 4, 0);
        let offset = self.len;
        let needed = offset + data.len() as u64;
        self.reserve(device, encoder, needed);
        if !data.is_empty() {
            // Staged by the queue and copied before this frame's commands;
            // it touches only bytes past `offset`, which the copy above
            // does not.
            queue.write_buffer(&self.buffer, offset, data);
        }
        self.len = needed;
        offset
    }

    /// Appends `len` bytes (a multiple of 4) that `fill` writes straight
    /// into the queue's staging memory, and returns the offset they were
    /// written at: the data is copied once, by `fill`.
    pub fn append_with(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        len: u64,
        fill: impl FnOnce(&mut wgpu::QueueWriteBufferView),
    ) -> u64 {
        debug_assert_eq!(len % 4, 0);
        let offset = self.len;
        self.reserve(device, encoder, offset + len);
        if let Some(size) = wgpu::BufferSize::new(len) {
            // Like `write_buffer`: copied before this frame's commands, past
            // `offset`, which the growth copy does not touch.
            match queue.write_buffer_with(&self.buffer, offset, size) {
                Some(mut view) => fill(&mut view),
                None => log::error!("{}: no staging memory for {len} bytes", self.label),
            }
        }
        self.len = offset + len;
        offset
    }

    /// Grows the buffer to hold `needed` bytes, copying what it holds on
    /// the GPU.
    fn reserve(&mut self, device: &wgpu::Device, encoder: &mut wgpu::CommandEncoder, needed: u64) {
        if needed > self.capacity() {
            let capacity = needed.next_power_of_two().max(self.capacity() * 2);
            let capacity = capacity.min(device.limits().max_buffer_size).max(needed);
            let grown = create(device, self.label, self.usage, capacity);
            if self.len > 0 {
                encoder.copy_buffer_to_buffer(&self.buffer, 0, &grown, 0, self.len);
            }
            self.buffer = grown;
            self.version += 1;
        }
    }

    /// Replaces the contents with `data`.
    pub fn replace(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        data: &[u8],
    ) {
        self.len = 0;
        if data.len() as u64 > self.capacity() {
            // No need to copy contents that are being replaced.
            let capacity = (data.len() as u64)
                .next_power_of_two()
                .min(device.limits().max_buffer_size)
                .max(data.len() as u64);
            self.buffer = create(device, self.label, self.usage, capacity);
            self.version += 1;
        }
        self.append(device, queue, encoder, data);
    }

    /// Overwrites bytes in place (within the used length).
    pub fn write_at(&self, queue: &wgpu::Queue, offset: u64, data: &[u8]) {
        debug_assert!(offset + data.len() as u64 <= self.len);
        queue.write_buffer(&self.buffer, offset, data);
    }
}

fn create(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages, size: u64) -> wgpu::Buffer {
    // Sizes stay multiples of 4 (copy alignment), and storage bindings of
    // an empty buffer are not allowed.
    let size = size.max(MIN_CAPACITY).div_ceil(4) * 4;
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    })
}
