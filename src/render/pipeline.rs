//! The one way a render pipeline is built here: every renderer (points,
//! lines, the splat resolve, solid rectangles, the window's blit) describes
//! what differs between them (shader, entry point, topology, blending,
//! target format, vertex buffers) and gets the rest the same way.

/// What differs between our render pipelines.
pub struct PipelineOptions<'a> {
    /// Debug label, `"XxxRenderer::pipeline"`.
    pub label: &'a str,
    pub bind_group_layouts: &'a [&'a wgpu::BindGroupLayout],
    pub module: &'a wgpu::ShaderModule,
    /// Vertex entry point (the fragment one is always `fs_main`).
    pub vs_entry: &'a str,
    pub vertex_buffers: &'a [Option<wgpu::VertexBufferLayout<'a>>],
    pub topology: wgpu::PrimitiveTopology,
    pub format: wgpu::TextureFormat,
    /// `None` overwrites the target (blit).
    pub blend: Option<wgpu::BlendState>,
}

/// A WGSL shader module.
pub fn shader_module(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// A pipeline layout of these bind group layouts, no immediates.
pub fn pipeline_layout(
    device: &wgpu::Device,
    label: &str,
    bind_group_layouts: &[&wgpu::BindGroupLayout],
) -> wgpu::PipelineLayout {
    let layouts: Vec<Option<&wgpu::BindGroupLayout>> = bind_group_layouts.iter().copied().map(Some).collect();
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &layouts,
        immediate_size: 0,
    })
}

/// A render pipeline: no depth, no multisampling, all colour channels written.
pub fn render_pipeline(device: &wgpu::Device, options: &PipelineOptions) -> wgpu::RenderPipeline {
    let layout = pipeline_layout(device, options.label, options.bind_group_layouts);
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(options.label),
        layout: Some(&layout),
        vertex: wgpu::VertexState {
            module: options.module,
            entry_point: Some(options.vs_entry),
            compilation_options: Default::default(),
            buffers: options.vertex_buffers,
        },
        primitive: wgpu::PrimitiveState {
            topology: options.topology,
            ..Default::default()
        },
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: options.module,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: options.format,
                blend: options.blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// A bind group layout entry for a buffer.
pub fn buffer_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BufferBindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A bind group layout entry for an unfiltered 2D float texture.
pub fn texture_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}
