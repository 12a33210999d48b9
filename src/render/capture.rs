//! The one capture path: every frame is drawn into an offscreen texture,
//! which the window blits to its surface and which screenshots, video frames
//! and golden tests read back (padded rows stripped).

use std::path::Path;

use super::context::RenderError;

/// Format of the offscreen page: sRGB, so blending happens in linear light
/// and the bytes read back are ordinary sRGB pixels.
pub const PAGE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// An RGBA8 image, rows top to bottom, no padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    /// The top `height` rows.
    pub fn top(mut self, height: u32) -> RgbaImage {
        let height = height.min(self.height);
        self.pixels.truncate(self.width as usize * height as usize * 4);
        self.height = height;
        self
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        self.pixels[i..i + 4].try_into().expect("4 bytes")
    }

    /// Writes the image as a PNG file.
    pub fn save_png(&self, path: &Path) -> std::io::Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(&self.pixels).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    }

    /// Reads an RGBA or RGB PNG.
    pub fn load_png(path: &Path) -> std::io::Result<RgbaImage> {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
        let mut reader = decoder.read_info().map_err(std::io::Error::other)?;
        let mut buf = vec![
            0;
            reader
                .output_buffer_size()
                .ok_or_else(|| std::io::Error::other("image too large"))?
        ];
        let info = reader.next_frame(&mut buf).map_err(std::io::Error::other)?;
        let pixels = match info.color_type {
            png::ColorType::Rgba => buf[..info.buffer_size()].to_vec(),
            png::ColorType::Rgb => buf[..info.buffer_size()]
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect(),
            other => {
                return Err(std::io::Error::other(format!("unsupported PNG colour type {other:?}")));
            }
        };
        Ok(RgbaImage {
            width: info.width,
            height: info.height,
            pixels,
        })
    }
}

/// The offscreen texture a page is drawn into.
pub struct OffscreenTarget {
    pub texture: wgpu::Texture,
    /// The sRGB view the page is drawn through.
    pub view: wgpu::TextureView,
    /// The same texels read as plain UNORM: sRGB-encoded bytes, for copying
    /// onto a surface that is not sRGB.
    pub raw_view: wgpu::TextureView,
    pub width: u32,
    pub height: u32,
}

impl OffscreenTarget {
    /// Refuses a size the device cannot draw or read back, before any GPU
    /// call would fail validation.
    pub fn check_size(device: &wgpu::Device, width: u32, height: u32) -> Result<(), RenderError> {
        let limits = device.limits();
        let max_side = limits.max_texture_dimension_2d;
        if width > max_side || height > max_side {
            return Err(RenderError::TargetTooLarge {
                width,
                height,
                max_side,
            });
        }
        let len_bytes = padded_row_bytes(width) as u64 * height as u64;
        if len_bytes > limits.max_buffer_size {
            return Err(RenderError::ReadbackTooLarge {
                width,
                height,
                len_bytes,
                max_bytes: limits.max_buffer_size,
            });
        }
        Ok(())
    }

    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("OffscreenTarget::page"),
            size: wgpu::Extent3d {
                width: width.max(1),
                height: height.max(1),
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: PAGE_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[wgpu::TextureFormat::Rgba8Unorm],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let raw_view = texture.create_view(&wgpu::TextureViewDescriptor {
            format: Some(wgpu::TextureFormat::Rgba8Unorm),
            ..Default::default()
        });
        Self {
            texture,
            view,
            raw_view,
            width: width.max(1),
            height: height.max(1),
        }
    }

    /// Copies the texture to the CPU, waiting for the GPU.
    pub fn read(&self, device: &wgpu::Device, queue: &wgpu::Queue) -> Result<RgbaImage, RenderError> {
        let unpadded = self.width * 4;
        let padded = padded_row_bytes(self.width);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("OffscreenTarget::readback"),
            size: padded as u64 * self.height as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(self.height),
                },
            },
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
        );
        queue.submit([encoder.finish()]);
        let slice = buffer.slice(..);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        receiver
            .recv()
            .map_err(|e| RenderError::Readback(e.to_string()))?
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        let mapped = slice
            .get_mapped_range()
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        let mut pixels = Vec::with_capacity((unpadded * self.height) as usize);
        for row in mapped.chunks_exact(padded as usize) {
            pixels.extend_from_slice(&row[..unpadded as usize]);
        }
        drop(mapped);
        buffer.unmap();
        Ok(RgbaImage {
            width: self.width,
            height: self.height,
            pixels,
        })
    }
}

/// Bytes of one row of a `width`-pixel RGBA8 image in a readback buffer.
fn padded_row_bytes(width: u32) -> u32 {
    (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}
