//! A whole page: grid lines, data, frames, ticks and text, in that order,
//! into the offscreen target.

use std::collections::HashMap;

use super::capture::PAGE_FORMAT;
use super::capture::{OffscreenTarget, RgbaImage};
use super::context::{GpuContext, RenderError};
use super::gpu_types::{SolidRect, linear_rgba};
use super::palette::create_palette_texture;
use super::plots::{DENSITY_PALETTE, PlotData, PlotRenderers, PlotView, RAW_UNDER_SMOOTHED, SMOOTHED, SyncStats};
use super::solid::SolidRenderer;
use super::text::{Anchor, Label, TextLayer};
use crate::layout::{AsPageData, ColorKey, PageData, PointOptions, ShownRun, marker_radius};
use crate::layout::{ColorScale, DataRect, PageScene, PlotScene, Style, Tick};
use crate::store::{Plot, PlotKind, Smoothed};

/// Page colours (sRGB).
pub(super) const BACKGROUND: [u8; 3] = [255, 255, 255];
const GRID: [u8; 3] = [0xe6, 0xe6, 0xe6];
pub(super) const FRAME: [u8; 3] = [0x9a, 0x9a, 0x9a];
const TICK: [u8; 3] = [0x66, 0x66, 0x66];
const TITLE: [u8; 3] = [0x22, 0x22, 0x22];
pub(super) const LABEL: [u8; 3] = [0x44, 0x44, 0x44];
const NOTE: [u8; 3] = [0x88, 0x66, 0x22];
pub(super) const HIDDEN: [u8; 3] = [0xaa, 0xaa, 0xaa];

/// Extra things the window draws over the page: hover read-outs, help.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    pub rects: Vec<SolidRect>,
    pub labels: Vec<Label>,
}

/// Options for a rendering.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub style: Style,
}

/// Long-lived renderer state: pipelines, palette texture, text, and every
/// plot's data on the GPU.
pub struct PageRenderer {
    renderers: PlotRenderers,
    plot_data: PlotData,
    /// Smoothed line plots, per run (with [`SMOOTHED`]) and plot name.
    smoothed: HashMap<(String, String), Smoothed>,
    solid: SolidRenderer,
    text: TextLayer,
}

impl PageRenderer {
    pub fn new(ctx: &GpuContext) -> Self {
        Self {
            renderers: PlotRenderers::new(&ctx.device, create_palette_texture(&ctx.device, &ctx.queue)),
            plot_data: PlotData::new(),
            smoothed: HashMap::new(),
            solid: SolidRenderer::new(&ctx.device),
            text: TextLayer::new(&ctx.device, &ctx.queue, PAGE_FORMAT),
        }
    }

    /// Whether lines with more points than pixel columns are drawn reduced
    /// to min/max per column (the default) or in full.
    pub fn set_line_reduction(&mut self, on: bool) {
        self.plot_data.reduce_lines = on;
    }

    /// Whether scatters of many points are drawn by the splat compute pass
    /// (the default) or as triangles.
    pub fn set_splat(&mut self, on: bool) {
        self.plot_data.splat_dense = on;
    }

    /// Limits the bytes of GPU buffers the plots may hold; past the limit,
    /// the oldest appended scatter data is dropped from view (and said so).
    pub fn set_memory_budget(&mut self, bytes: Option<u64>) {
        self.plot_data.memory_budget = bytes;
    }

    /// Treats storage bindings as at most `bytes` large (`None`: the
    /// device's limit), so tests reach the chunking paths with little data.
    pub fn set_max_binding_bytes(&mut self, bytes: Option<u64>) {
        self.plot_data.max_binding_bytes = bytes;
    }

    /// Bytes the plots hold in GPU buffers.
    pub fn gpu_bytes(&self) -> u64 {
        self.plot_data.gpu_bytes()
    }

    /// Uploads what changed in `store`, without drawing.
    pub fn sync(&mut self, ctx: &GpuContext, store: &dyn AsPageData) -> Result<SyncStats, RenderError> {
        let store = store.as_page_data();
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("PageRenderer::sync"),
        });
        let stats = self.plot_data.sync(&ctx.device, &ctx.queue, &mut encoder, &store);
        ctx.queue.submit([encoder.finish()]);
        ctx.take_error()?;
        Ok(stats)
    }

    /// Uploads what changed in `store` and draws `scene` into `target`.
    pub fn render(
        &mut self,
        ctx: &GpuContext,
        store: &dyn AsPageData,
        scene: &PageScene,
        overlay: &Overlay,
        target: &OffscreenTarget,
    ) -> Result<SyncStats, RenderError> {
        let store = store.as_page_data();
        let (device, queue) = (&ctx.device, &ctx.queue);
        let size = [target.width, target.height];
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("PageRenderer::frame"),
        });
        let mut stats = self.plot_data.sync(device, queue, &mut encoder, &store);
        let smoothing = store.smoothing;
        self.smoothed.retain(|(run, _), _| {
            smoothing > 0.0
                && store
                    .runs
                    .iter()
                    .any(|shown| run.strip_suffix(SMOOTHED) == Some(&shown.key))
        });

        let (mut rects, mut labels) = (Vec::new(), Vec::new());
        for plot in &scene.plots {
            under_data(plot, &mut rects);
            let area = &plot.frame.plot_area;
            let mut notes = Vec::new();
            for &r in &plot.runs {
                let Some(run) = store.runs.get(r) else { continue };
                let Some(data) = run.snapshot.plot(&plot.frame.name) else {
                    continue;
                };
                let smooth = smoothing > 0.0 && data.kind != PlotKind::Scatter;
                let at = raw_view(plot, run, &data, smooth, size, &scene.style, &store.points);
                let note = self
                    .plot_data
                    .prepare_view(device, queue, &mut encoder, &self.renderers, &at);
                if smooth {
                    // The smoothed lines: extended by what was appended,
                    // uploaded and prepared like any plot, drawn over the
                    // raw ones.
                    let key = format!("{}{SMOOTHED}", run.key);
                    let cache = self.smoothed.entry((key.clone(), data.name.to_owned())).or_default();
                    cache.update(&data, smoothing);
                    let smoothed = cache.view(&data);
                    self.plot_data
                        .sync_derived(device, queue, &mut encoder, &key, &smoothed, &mut stats);
                    let at = PlotView {
                        plot: &smoothed,
                        run: &key,
                        opacity: 1.0,
                        ..at
                    };
                    // Its note would repeat the raw lines' note.
                    let _ = self
                        .plot_data
                        .prepare_view(device, queue, &mut encoder, &self.renderers, &at);
                }
                if let Some(note) = note
                    && !notes.contains(&note)
                {
                    notes.push(note);
                }
            }
            // Several runs: the first run's note stands for the others.
            let runs_note = match notes.len() {
                0 => None,
                1 => Some(notes.remove(0)),
                n => Some(format!("{} (and {} more runs)", notes[0], n - 1)),
            };
            let log_note = (plot.left_out > 0).then(|| {
                format!(
                    "{} points at or below zero not drawn (log axis)",
                    crate::layout::format_count(plot.left_out as usize)
                )
            });
            let note = match (log_note, runs_note) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
            if let Some(note) = note {
                let style = &scene.style;
                let y = plot.frame.cell.y + (style.title_height - style.font_size * 1.25).max(0.0) / 2.0;
                labels.push(Label {
                    text: note,
                    size: style.font_size,
                    anchor: [area.right(), y + style.font_size * 0.625],
                    placement: Anchor::RightMiddle,
                    color: NOTE,
                    clip: plot.frame.cell,
                });
            }
        }
        stats.splatted_points = self.plot_data.take_splatted();
        // Density images: their largest counts label their colour bars.
        let density_keys = self.density_keys(ctx, &mut encoder, &store, scene)?;
        let under = rects.len() as u32;
        for (i, plot) in scene.plots.iter().enumerate() {
            match density_keys.get(&i) {
                Some(key) => {
                    let plot = PlotScene {
                        color_key: Some(key.clone()),
                        ..plot.clone()
                    };
                    over_data(&plot, &scene.style, &mut rects, &mut labels);
                }
                None => over_data(plot, &scene.style, &mut rects, &mut labels),
            }
        }
        rects.extend_from_slice(&overlay.rects);
        labels.extend(overlay.labels.iter().cloned());
        self.solid.prepare(device, queue, size, &rects);
        self.text
            .prepare(device, queue, size, &labels)
            .map_err(|e| RenderError::Gpu(format!("preparing text: {e}")))?;

        {
            let [r, g, b, a] = linear_rgba(BACKGROUND, 1.0);
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("PageRenderer::pass"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target.view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: r as f64,
                            g: g as f64,
                            b: b as f64,
                            a: a as f64,
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            self.solid.draw(&mut pass, 0..under);
            for plot in &scene.plots {
                for &r in &plot.runs {
                    let Some(run) = store.runs.get(r) else { continue };
                    if let Some(data) = run.snapshot.plot(&plot.frame.name) {
                        let smooth = smoothing > 0.0 && data.kind != PlotKind::Scatter;
                        let at = raw_view(plot, run, &data, smooth, size, &scene.style, &store.points);
                        self.plot_data.draw(device, queue, &self.renderers, &mut pass, &at);
                        let key = format!("{}{SMOOTHED}", run.key);
                        if smooth && let Some(cache) = self.smoothed.get(&(key.clone(), data.name.to_owned())) {
                            let smoothed = cache.view(&data);
                            let at = PlotView {
                                plot: &smoothed,
                                run: &key,
                                opacity: 1.0,
                                ..at
                            };
                            self.plot_data.draw(device, queue, &self.renderers, &mut pass, &at);
                        }
                    }
                }
            }
            pass.set_viewport(0.0, 0.0, size[0] as f32, size[1] as f32, 0.0, 1.0);
            pass.set_scissor_rect(0, 0, size[0], size[1]);
            self.solid.draw(&mut pass, under..rects.len() as u32);
            self.text
                .render(&mut pass)
                .map_err(|e| RenderError::Gpu(format!("drawing text: {e}")))?;
        }
        queue.submit([encoder.finish()]);
        self.text.trim();
        ctx.take_error()?;
        Ok(stats)
    }
}

impl PageRenderer {
    /// The colour keys of the plots (by index in `scene`) that show one
    /// run's scatter as a density image: counts from 1 to the largest. The
    /// largest is found on the GPU, so the work encoded so far is submitted
    /// and waited for, and `encoder` starts afresh; without density images
    /// nothing is.
    fn density_keys(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        store: &PageData,
        scene: &PageScene,
    ) -> Result<HashMap<usize, ColorKey>, RenderError> {
        let mut found = Vec::new();
        for (i, plot) in scene.plots.iter().enumerate() {
            let [r] = plot.runs[..] else { continue };
            let Some(run) = store.runs.get(r) else { continue };
            let Some(stats) = self.plot_data.density_stats(&run.key, &plot.frame.name) else {
                continue;
            };
            let palette = run
                .snapshot
                .plot(&plot.frame.name)
                .and_then(|data| data.palette)
                .filter(|name| crate::calls::Palette::parse(name).is_ok())
                .unwrap_or(DENSITY_PALETTE);
            found.push((i, stats, palette.to_owned()));
        }
        if found.is_empty() {
            return Ok(HashMap::new());
        }
        let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("PageRenderer::density_counts"),
            size: 4 * found.len() as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        for (k, (_, stats, _)) in found.iter().enumerate() {
            encoder.copy_buffer_to_buffer(stats, 0, &readback, 4 * k as u64, 4);
        }
        let fresh = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("PageRenderer::frame"),
        });
        ctx.queue.submit([std::mem::replace(encoder, fresh).finish()]);
        let slice = readback.slice(..);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Gpu(format!("reading back density counts: {e}")))?;
        receiver
            .recv()
            .map_err(|e| RenderError::Gpu(format!("reading back density counts: {e}")))?
            .map_err(|e| RenderError::Gpu(format!("reading back density counts: {e}")))?;
        let mapped = slice
            .get_mapped_range()
            .map_err(|e| RenderError::Gpu(format!("reading back density counts: {e}")))?;
        let largest: Vec<u32> = bytemuck::cast_slice(&mapped).to_vec();
        drop(mapped);
        readback.unmap();
        Ok(found
            .into_iter()
            .zip(largest)
            .map(|((i, _, palette), max)| {
                let key = ColorKey {
                    palette,
                    scale: ColorScale::Counts { max },
                    line_names: None,
                };
                (i, key)
            })
            .collect())
    }
}

/// Run `run`'s data `data` as `plot` draws it: in the run's colour when
/// the plot colours by run, faint under its smoothed lines when `smooth`,
/// scatter markers as `points` says.
fn raw_view<'a>(
    plot: &'a PlotScene,
    run: &'a ShownRun,
    data: &'a Plot<'a>,
    smooth: bool,
    target_size: [u32; 2],
    style: &'a Style,
    points: &PointOptions,
) -> PlotView<'a> {
    let scatter = data.kind == PlotKind::Scatter;
    PlotView {
        plot: data,
        run: &run.key,
        run_color: run.color.filter(|_| plot.by_run),
        opacity: match (smooth, scatter) {
            (true, _) => RAW_UNDER_SMOOTHED,
            (false, true) => points.opacity,
            (false, false) => 1.0,
        },
        marker_radius: marker_radius(style, points.size, data.point_count(), &plot.frame.plot_area),
        density: scatter && points.density.contains(&plot.frame.name),
        view: &plot.view,
        log: plot.log,
        area: &plot.frame.plot_area,
        target_size,
        style,
    }
}

/// A rectangle from pixel edges.
pub(super) fn rect(x0: f32, y0: f32, x1: f32, y1: f32, color: [u8; 3]) -> SolidRect {
    SolidRect {
        min: [x0, y0],
        max: [x1, y1],
        color: linear_rgba(color, 1.0),
    }
}

/// Grid lines at the ticks, under the data.
fn under_data(plot: &PlotScene, rects: &mut Vec<SolidRect>) {
    let area = plot.frame.plot_area;
    let t = plot.transform();
    for tick in plot.x_ticks.iter().filter(|t| !t.minor) {
        let x = t.screen_from_data([tick.value, 0.0])[0].floor();
        if x >= area.x && x < area.right() {
            rects.push(rect(x, area.y, x + 1.0, area.bottom(), GRID));
        }
    }
    for tick in plot.y_ticks.iter().filter(|t| !t.minor) {
        let y = t.screen_from_data([0.0, tick.value])[1].floor();
        if y >= area.y && y < area.bottom() {
            rects.push(rect(area.x, y, area.right(), y + 1.0, GRID));
        }
    }
}

/// Frame, tick marks and text, over the data.
fn over_data(plot: &PlotScene, style: &Style, rects: &mut Vec<SolidRect>, labels: &mut Vec<Label>) {
    let area = plot.frame.plot_area;
    let cell = plot.frame.cell;
    let t = plot.transform();
    // The frame sits just outside the plot area, so data never covers it.
    let (x0, y0, x1, y1) = (area.x - 1.0, area.y - 1.0, area.right() + 1.0, area.bottom() + 1.0);
    rects.push(rect(x0, y0, x1, area.y, FRAME));
    rects.push(rect(x0, area.bottom(), x1, y1, FRAME));
    rects.push(rect(x0, area.y, area.x, area.bottom(), FRAME));
    rects.push(rect(area.right(), area.y, x1, area.bottom(), FRAME));
    let label = |text: &str, size, anchor, placement, color| Label {
        text: text.to_owned(),
        size,
        anchor,
        placement,
        color,
        clip: cell,
    };
    // Minor ticks (log axes): half as long, unlabelled.
    let length = |tick: &Tick| {
        if tick.minor {
            (style.tick_length / 2.0).round()
        } else {
            style.tick_length
        }
    };
    for tick in &plot.x_ticks {
        let x = t.screen_from_data([tick.value, 0.0])[0].floor();
        if x >= area.x && x < area.right() {
            rects.push(rect(x, y1, x + 1.0, y1 + length(tick), TICK));
            if tick.label.is_empty() {
                continue;
            }
            labels.push(label(
                &tick.label,
                style.font_size,
                [x + 0.5, y1 + style.tick_length + 2.0],
                Anchor::TopCenter,
                LABEL,
            ));
        }
    }
    for tick in &plot.y_ticks {
        let y = t.screen_from_data([0.0, tick.value])[1].floor();
        if y >= area.y && y < area.bottom() {
            rects.push(rect(x0 - length(tick), y, x0, y + 1.0, TICK));
            if tick.label.is_empty() {
                continue;
            }
            labels.push(label(
                &tick.label,
                style.font_size,
                [x0 - style.tick_length - 3.0, y + 0.5],
                Anchor::RightMiddle,
                LABEL,
            ));
        }
    }
    let title_y = cell.y + (style.title_height - style.title_font_size * 1.25).max(0.0) / 2.0;
    labels.push(label(
        &plot.title,
        style.title_font_size,
        [area.x, title_y],
        Anchor::TopLeft,
        TITLE,
    ));
    super::keys::legend(plot, style, rects, labels);
    super::keys::color_key(plot, style, rects, labels);
}

/// Renders pages offscreen: `--screenshot`, video frames, golden tests.
pub struct HeadlessRenderer {
    pub ctx: GpuContext,
    page: PageRenderer,
    target: Option<OffscreenTarget>,
    last_sync: SyncStats,
}

impl HeadlessRenderer {
    pub fn new() -> Result<Self, RenderError> {
        let ctx = GpuContext::headless()?;
        let page = PageRenderer::new(&ctx);
        Ok(Self {
            ctx,
            page,
            target: None,
            last_sync: SyncStats::default(),
        })
    }

    pub fn page(&self) -> &PageRenderer {
        &self.page
    }

    pub fn page_mut(&mut self) -> &mut PageRenderer {
        &mut self.page
    }

    /// What the last render uploaded.
    pub fn last_sync(&self) -> SyncStats {
        self.last_sync
    }

    /// Draws the store at `width` x `height` and reads the pixels back.
    pub fn render(
        &mut self,
        store: &dyn AsPageData,
        views: &HashMap<String, DataRect>,
        width: u32,
        height: u32,
        options: &RenderOptions,
    ) -> Result<RgbaImage, RenderError> {
        self.draw(store, views, width, height, options)?;
        let target = self.target.as_ref().expect("drawn");
        target.read(&self.ctx.device, &self.ctx.queue)
    }

    /// Draws the store at `width` x `height` and waits for the GPU to finish,
    /// without reading the pixels back.
    pub fn draw(
        &mut self,
        store: &dyn AsPageData,
        views: &HashMap<String, DataRect>,
        width: u32,
        height: u32,
        options: &RenderOptions,
    ) -> Result<SyncStats, RenderError> {
        OffscreenTarget::check_size(&self.ctx.device, width, height)?;
        let scene = PageScene::build(store, views, width, height, &options.style);
        if self
            .target
            .as_ref()
            .is_none_or(|t| (t.width, t.height) != (width, height))
        {
            self.target = Some(OffscreenTarget::new(&self.ctx.device, width, height));
        }
        let target = self.target.as_ref().expect("just made");
        self.last_sync = self
            .page
            .render(&self.ctx, store, &scene, &Overlay::default(), target)?;
        self.wait()?;
        Ok(self.last_sync)
    }

    /// Uploads what changed in `store` and waits for it, without drawing.
    pub fn sync(&mut self, store: &dyn AsPageData) -> Result<SyncStats, RenderError> {
        self.last_sync = self.page.sync(&self.ctx, store)?;
        self.wait()?;
        Ok(self.last_sync)
    }

    /// Waits until the GPU has finished all submitted work.
    pub fn wait(&self) -> Result<(), RenderError> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        Ok(())
    }
}
