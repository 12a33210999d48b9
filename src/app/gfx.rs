//! The window's GPU side: surface, offscreen page and the blit between them.

use std::sync::Arc;

use anyhow::{Context, bail};
use winit::event_loop::ActiveEventLoop;
use winit::window::Window;

use crate::layout::{AsPageData, PageScene};
use crate::render::{Blit, GpuContext, OffscreenTarget, Overlay, PageRenderer};

/// The GPU side of the window.
pub(super) struct Gfx {
    pub(super) window: Arc<Window>,
    pub(super) ctx: GpuContext,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    pub(super) page: PageRenderer,
    pub(super) target: OffscreenTarget,
    blit: Blit,
    /// Frames shown so far; logged with each one so that a test driving the
    /// window can wait until its input has been drawn.
    pub(super) frames_presented: u64,
}

impl Gfx {
    pub(super) fn new(event_loop: &ActiveEventLoop) -> anyhow::Result<Gfx> {
        let attributes = Window::default_attributes()
            .with_title("streamvis-gpu")
            .with_inner_size(winit::dpi::LogicalSize::new(1280.0, 800.0));
        let window = Arc::new(event_loop.create_window(attributes).context("creating the window")?);
        let display = Box::new(event_loop.owned_display_handle());
        let instance = wgpu::Instance::new(GpuContext::instance_descriptor(Some(display)));
        let surface = instance
            .create_surface(window.clone())
            .context("creating the window's surface")?;
        let ctx = GpuContext::with_instance(instance, Some(&surface))?;
        let caps = surface.get_capabilities(&ctx.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb())
            .or(caps.formats.first().copied())
            .context("the surface supports no format")?;
        let present_mode = if caps.present_modes.contains(&wgpu::PresentMode::Fifo) {
            wgpu::PresentMode::Fifo
        } else {
            wgpu::PresentMode::AutoVsync
        };
        let size = window.inner_size();
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            desired_maximum_frame_latency: 2,
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&ctx.device, &config);
        let page = PageRenderer::new(&ctx);
        let target = OffscreenTarget::new(&ctx.device, config.width, config.height);
        let mut blit = Blit::new(&ctx.device, format);
        blit.set_source(
            &ctx.device,
            if format.is_srgb() {
                &target.view
            } else {
                &target.raw_view
            },
        );
        log::info!("window on {}, surface {format:?}", ctx.adapter_summary());
        Ok(Gfx {
            window,
            ctx,
            surface,
            config,
            page,
            target,
            blit,
            frames_presented: 0,
        })
    }

    pub(super) fn resize(&mut self, width: u32, height: u32) {
        if width == 0 || height == 0 {
            return;
        }
        self.config.width = width;
        self.config.height = height;
        self.surface.configure(&self.ctx.device, &self.config);
        self.target = OffscreenTarget::new(&self.ctx.device, width, height);
        let view = if self.config.format.is_srgb() {
            &self.target.view
        } else {
            &self.target.raw_view
        };
        self.blit.set_source(&self.ctx.device, view);
    }

    /// Draws the page and shows it; returns whether it was shown.
    pub(super) fn present(
        &mut self,
        store: &dyn AsPageData,
        scene: &PageScene,
        overlay: &Overlay,
    ) -> anyhow::Result<bool> {
        self.page.render(&self.ctx, store, scene, overlay, &self.target)?;
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame) | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            wgpu::CurrentSurfaceTexture::Occluded => return Ok(false),
            // A busy machine can miss the timeout: try again rather than
            // leave an old frame up until the next event.
            wgpu::CurrentSurfaceTexture::Timeout => {
                self.window.request_redraw();
                return Ok(false);
            }
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(&self.ctx.device, &self.config);
                self.window.request_redraw();
                return Ok(false);
            }
            wgpu::CurrentSurfaceTexture::Validation => bail!("the surface reported a validation error"),
        };
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("Gfx::present"),
        });
        self.blit.draw(&mut encoder, &view);
        self.ctx.queue.submit([encoder.finish()]);
        self.window.pre_present_notify();
        self.ctx.queue.present(frame);
        self.frames_presented += 1;
        Ok(true)
    }
}
