//! Axis-aligned rectangles: frames, grid lines, tick marks, backgrounds.
//!
//! Everything on the page that is not data or text is a rectangle in whole
//! pixels, so a 1-pixel line is exactly one pixel wide on every adapter.
//! (Drawing axes through the line renderer was rejected: antialiased lines
//! blur 1-pixel rules across two pixels.)

use wgpu::util::DeviceExt;

use super::capture::PAGE_FORMAT;
use super::gpu_types::SolidRect;
use super::pipeline::{PipelineOptions, buffer_entry, render_pipeline, shader_module};

const SHADER: &str = include_str!("../../shaders/solid.wgsl");

/// The pipeline and this frame's rectangles.
pub struct SolidRenderer {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    target_size: wgpu::Buffer,
    rects: Option<wgpu::Buffer>,
}

impl SolidRenderer {
    pub fn new(device: &wgpu::Device) -> Self {
        let shader = shader_module(device, "SolidRenderer::shader", SHADER);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("SolidRenderer::bind_group_layout"),
            entries: &[buffer_entry(
                0,
                wgpu::ShaderStages::VERTEX,
                wgpu::BufferBindingType::Uniform,
            )],
        });
        let target_size = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("SolidRenderer::target_size"),
            contents: bytemuck::cast_slice(&[1.0f32; 4]),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("SolidRenderer::bind_group"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: target_size.as_entire_binding(),
            }],
        });
        let pipeline = render_pipeline(
            device,
            &PipelineOptions {
                label: "SolidRenderer::pipeline",
                bind_group_layouts: &[&layout],
                module: &shader,
                vs_entry: "vs_main",
                vertex_buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<SolidRect>() as u64,
                    step_mode: wgpu::VertexStepMode::Instance,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x2, 2 => Float32x4],
                })],
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                format: PAGE_FORMAT,
                blend: Some(wgpu::BlendState::ALPHA_BLENDING),
            },
        );
        Self {
            pipeline,
            bind_group,
            target_size,
            rects: None,
        }
    }

    /// Uploads this frame's rectangles.
    pub fn prepare(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, target_size: [u32; 2], rects: &[SolidRect]) {
        queue.write_buffer(
            &self.target_size,
            0,
            bytemuck::cast_slice(&[target_size[0] as f32, target_size[1] as f32, 0.0, 0.0]),
        );
        self.rects = (!rects.is_empty()).then(|| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("SolidRenderer::rects"),
                contents: bytemuck::cast_slice(rects),
                usage: wgpu::BufferUsages::VERTEX,
            })
        });
    }

    /// Draws rectangles `range` of those prepared.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, range: std::ops::Range<u32>) {
        let Some(rects) = &self.rects else { return };
        if range.is_empty() {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_vertex_buffer(0, rects.slice(..));
        pass.draw(0..4, range);
    }
}
