//! Shows the offscreen page in the window: a full-screen triangle copying
//! texels to the surface, whatever its format. (A texture-to-texture copy
//! was rejected: surfaces are usually BGRA while the page is RGBA.)

use super::pipeline::{PipelineOptions, render_pipeline, shader_module, texture_entry};

const SHADER: &str = include_str!("../../shaders/blit.wgsl");

/// The window's copy of the page onto its surface.
pub struct Blit {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    bind_group: Option<wgpu::BindGroup>,
}

impl Blit {
    pub fn new(device: &wgpu::Device, surface_format: wgpu::TextureFormat) -> Self {
        let shader = shader_module(device, "Blit::shader", SHADER);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("Blit::bind_group_layout"),
            entries: &[texture_entry(0, wgpu::ShaderStages::FRAGMENT)],
        });
        let pipeline = render_pipeline(
            device,
            &PipelineOptions {
                label: "Blit::pipeline",
                bind_group_layouts: &[&layout],
                module: &shader,
                vs_entry: "vs_main",
                vertex_buffers: &[],
                topology: wgpu::PrimitiveTopology::TriangleList,
                format: surface_format,
                blend: None,
            },
        );
        Self {
            pipeline,
            layout,
            bind_group: None,
        }
    }

    /// Points the blit at a (new) page texture view.
    pub fn set_source(&mut self, device: &wgpu::Device, view: &wgpu::TextureView) {
        self.bind_group = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("Blit::bind_group"),
            layout: &self.layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(view),
            }],
        }));
    }

    pub fn draw(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView) {
        let Some(bind_group) = &self.bind_group else { return };
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("Blit::pass"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::WHITE),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
