//! Every plot's data on the GPU, and which renderer draws it.
//!
//! [`PlotData`] keeps, per plot, the arena chunks its data was uploaded to
//! (see [`super::arena`]) and the per-view draw data of its renderer: a
//! splat for dense scatters ([`super::points`]), a reduction for long lines
//! ([`super::lines`]). A frame syncs the store, prepares each plot's view
//! (compute passes, reductions) before the render pass, then draws each plot
//! clipped to its plot area.

use std::collections::HashMap;

use super::arena::{Budget, ChunkLimits, DataBindings, PlotArena};
use super::gpu_types::{PlotUniforms, SplatMode, linear_rgba};
use super::lines::{LinesRenderer, ReducedLinesDrawData};
use super::palette::palette_row;
use super::points::{PointsRenderer, SplatDrawData};
use crate::calls::Palette;
use crate::layout::PageData;
use crate::layout::{DataRect, Rect};
use crate::store::{Plot, PlotKind};

pub use super::arena::SyncStats;
pub use super::points::DENSE_MIN_POINTS;

const DATA_SHADER: &str = include_str!("../../shaders/data.wgsl");

/// The shader sources as compiled: the shared data code, then the renderer's.
pub fn shader_sources() -> [(&'static str, String); 3] {
    let [points, splat] = super::points::shader_sources(DATA_SHADER);
    [points, super::lines::shader_source(DATA_SHADER), splat]
}

/// The suffix of a run's key for its smoothed lines' GPU data.
pub const SMOOTHED: &str = "\u{1}smoothed";

/// How opaque raw lines are under their smoothed ones.
pub const RAW_UNDER_SMOOTHED: f32 = 0.25;

/// Colour of uncoloured data: Bokeh's default blue.
pub const DEFAULT_COLOR: [u8; 3] = [0x1f, 0x77, 0xb4];
/// The palette of density images of plots without one.
pub const DENSITY_PALETTE: &str = "Viridis256";
/// Colour of a NaN colour value: Bokeh's default grey.
pub const NAN_COLOR: [u8; 3] = [0x80, 0x80, 0x80];

/// Long-lived: the data renderers, their shared bind group layout and the
/// palette texture.
pub struct PlotRenderers {
    bindings: DataBindings,
    points: PointsRenderer,
    lines: LinesRenderer,
    palette_view: wgpu::TextureView,
}

impl PlotRenderers {
    pub fn new(device: &wgpu::Device, palette_view: wgpu::TextureView) -> Self {
        let bindings = DataBindings::new(device);
        Self {
            points: PointsRenderer::new(device, &bindings, DATA_SHADER),
            lines: LinesRenderer::new(device, &bindings, DATA_SHADER),
            bindings,
            palette_view,
        }
    }
}

/// One plot's data on the GPU and its renderer's draw data.
struct PlotGpu {
    arena: PlotArena,
    /// Lines reduced to the pixel columns of the current view, when they
    /// have more points than columns.
    reduced: Option<ReducedLinesDrawData>,
    /// Dense scatters drawn by the splat pass.
    splat: Option<SplatDrawData>,
}

impl PlotGpu {
    fn bytes(&self) -> u64 {
        let reduced = self.reduced.as_ref().map_or(0, ReducedLinesDrawData::bytes);
        let splat = self.splat.as_ref().map_or(0, SplatDrawData::bytes);
        self.arena.bytes() + reduced + splat
    }
}

/// One plot as it is drawn this frame: its data, the part of data space in
/// view, and where on the page.
#[derive(Clone, Copy)]
pub struct PlotView<'a> {
    pub plot: &'a Plot<'a>,
    /// Which run's data this is ("" for a page of one run).
    pub run: &'a str,
    /// The run's colour, when several runs share the page: it replaces the
    /// plot's own colours, lines shaded lighter within the run.
    pub run_color: Option<[u8; 3]>,
    /// Lines and markers drawn this opaque (raw lines under their smoothed
    /// ones are faint; `--opacity` for markers).
    pub opacity: f32,
    /// Scatter markers' radius in pixels (see [`crate::layout::marker_radius`]).
    pub marker_radius: f32,
    /// A scatter drawn as a density image (points per pixel) rather than
    /// markers.
    pub density: bool,
    /// The rectangle of plot space shown (see [`crate::layout::PlotScene`]).
    pub view: &'a DataRect,
    /// Whether x and y are on log scales.
    pub log: [bool; 2],
    pub area: &'a Rect,
    /// The page's size in pixels.
    pub target_size: [u32; 2],
    pub style: &'a crate::layout::Style,
}

/// Every plot's GPU data, per run and plot name.
pub struct PlotData {
    plots: HashMap<(String, String), PlotGpu>,
    /// Reduce lines with more points than pixel columns (on by default).
    pub reduce_lines: bool,
    /// Most bytes of GPU buffers to hold; past it, the oldest appended
    /// scatter data is dropped from view.
    pub memory_budget: Option<u64>,
    /// Draw scatters of [`DENSE_MIN_POINTS`] or more by the splat pass (on
    /// by default).
    pub splat_dense: bool,
    /// Treat storage bindings as at most this large (tests reach the
    /// chunking paths with little data); the device's limit otherwise.
    pub max_binding_bytes: Option<u64>,
    /// The limits the plots were uploaded with: new ones upload afresh.
    uploaded_with: Option<ChunkLimits>,
    /// Points the splat pass drew since [`PlotData::take_splatted`].
    splatted: u64,
}

impl PlotData {
    pub fn new() -> Self {
        Self {
            plots: HashMap::new(),
            reduce_lines: true,
            memory_budget: None,
            splat_dense: true,
            max_binding_bytes: None,
            uploaded_with: None,
            splatted: 0,
        }
    }

    /// Points the splat pass drew since the last call: all of a dense
    /// scatter's when its marks were redrawn, only those appended when they
    /// were kept.
    pub fn take_splatted(&mut self) -> u64 {
        std::mem::take(&mut self.splatted)
    }

    /// Bytes held in GPU buffers (arenas and descriptor tables).
    pub fn gpu_bytes(&self) -> u64 {
        self.plots.values().map(PlotGpu::bytes).sum()
    }

    fn limits(&self, device: &wgpu::Device) -> ChunkLimits {
        ChunkLimits::new(device, self.max_binding_bytes, self.memory_budget)
    }

    /// Brings the GPU up to date with the store: replaced plots are
    /// rewritten, appended batches and rows are added, removed plots freed.
    pub fn sync(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        page: &PageData,
    ) -> SyncStats {
        let mut stats = SyncStats::default();
        let limits = self.limits(device);
        if self.uploaded_with != Some(limits) {
            self.plots.clear();
            self.uploaded_with = Some(limits);
        }
        // A plot not shown in this state (cleared, or not yet made) keeps
        // its data while the store has it: moving on the timeline brings it
        // back without an upload. A store that restarted frees them.
        // Smoothed lines (see [`SMOOTHED`]) go with their run, while
        // smoothing is on.
        self.plots.retain(|(run, name), _| {
            let (run, smoothed) = match run.strip_suffix(SMOOTHED) {
                Some(run) => (run, true),
                None => (run.as_str(), false),
            };
            (!smoothed || page.smoothing > 0.0)
                && page
                    .runs
                    .iter()
                    .any(|shown| shown.key == run && shown.snapshot.has_history(name))
        });
        let mut budget = Budget {
            limit: self.memory_budget,
            used: self.gpu_bytes(),
        };
        for run in &page.runs {
            for plot in run.snapshot.plots() {
                let gpu = self.gpu_for(&run.key, plot);
                gpu.arena
                    .sync(device, queue, encoder, plot, limits, &mut budget, &mut stats);
            }
        }
        for gpu in self.plots.values() {
            stats.chunks += gpu.arena.chunks.len() as u64;
            stats.descriptors += gpu.arena.chunks.iter().map(|c| c.batch_count as u64).sum::<u64>();
        }
        stats.gpu_bytes = self.gpu_bytes();
        stats
    }

    /// The GPU data of run `run`'s `plot`, made empty on first use.
    fn gpu_for(&mut self, run: &str, plot: &Plot) -> &mut PlotGpu {
        self.plots
            .entry((run.to_owned(), plot.name.to_owned()))
            .or_insert_with(|| PlotGpu {
                arena: PlotArena::new(plot.kind),
                reduced: None,
                splat: None,
            })
    }

    /// Brings the GPU up to date with one plot that is not in the page's
    /// data: `plot`, derived from it (smoothed lines), under run key `run`.
    pub fn sync_derived(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        run: &str,
        plot: &Plot,
        stats: &mut SyncStats,
    ) {
        let limits = self.limits(device);
        let mut budget = Budget {
            limit: self.memory_budget,
            used: self.gpu_bytes(),
        };
        let gpu = self.gpu_for(run, plot);
        gpu.arena.sync(device, queue, encoder, plot, limits, &mut budget, stats);
        stats.gpu_bytes = self.gpu_bytes();
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
        renderers: &PlotRenderers,
        at: &PlotView,
    ) -> Option<String> {
        let limits = self.limits(device);
        let (splat_dense, reduce) = (self.splat_dense, self.reduce_lines);
        let PlotView {
            plot,
            view,
            area,
            target_size,
            ..
        } = *at;
        let gpu = self.plots.get_mut(&(at.run.to_owned(), plot.name.to_owned()))?;
        let (x, y, w, h) = area.to_pixels(target_size[0], target_size[1]);
        let uniforms = plot_uniforms(at, gpu.arena.tandem_lines, (w, h));
        // A density image is always splatted (when the plot area fits).
        let splatted = (splat_dense || at.density)
            && gpu.arena.kind == PlotKind::Scatter
            && renderers.points.prepare_splat(
                device,
                queue,
                encoder,
                &renderers.bindings,
                &renderers.palette_view,
                limits,
                &mut gpu.arena,
                &mut gpu.splat,
                uniforms,
                (x, y),
                &mut self.splatted,
            );
        if !splatted && let Some(s) = &mut gpu.splat {
            s.active = false;
        }
        let dropped = (gpu.arena.dropped_points > 0).then(|| {
            format!(
                "{} points not shown (GPU memory)",
                crate::layout::format_count(gpu.arena.dropped_points as usize)
            )
        });
        let columns = area.width.round().max(1.0) as u32;
        let reduced = if reduce {
            ReducedLinesDrawData::prepare(
                &mut gpu.reduced,
                device,
                queue,
                encoder,
                limits,
                plot,
                (view, at.log),
                columns,
            )
        } else {
            if let Some(r) = &mut gpu.reduced {
                r.active = false;
            }
            None
        };
        match (reduced, dropped) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        }
    }

    /// Draws one plot's data into its plot area, as prepared.
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        renderers: &PlotRenderers,
        pass: &mut wgpu::RenderPass<'_>,
        at: &PlotView,
    ) {
        let Some(gpu) = self.plots.get_mut(&(at.run.to_owned(), at.plot.name.to_owned())) else {
            return;
        };
        let (x, y, w, h) = at.area.to_pixels(at.target_size[0], at.target_size[1]);
        if w == 0 || h == 0 {
            return;
        }
        pass.set_viewport(x as f32, y as f32, w as f32, h as f32, 0.0, 1.0);
        pass.set_scissor_rect(x, y, w, h);
        if let Some(splat) = gpu.splat.as_ref().filter(|s| s.active) {
            renderers.points.draw_splat(pass, splat);
            return;
        }
        let uniforms = plot_uniforms(at, gpu.arena.tandem_lines, (w, h));
        let (bindings, palette) = (&renderers.bindings, &renderers.palette_view);
        match gpu.arena.kind {
            PlotKind::Scatter => {
                renderers
                    .points
                    .draw_triangles(device, queue, bindings, palette, pass, &mut gpu.arena.chunks, uniforms)
            }
            PlotKind::Lines | PlotKind::Tandem => renderers.lines.draw(
                device,
                queue,
                bindings,
                palette,
                pass,
                &mut gpu.arena,
                gpu.reduced.as_mut(),
                uniforms,
            ),
        }
    }
}

impl PlotData {
    /// The buffer holding, first, the largest count of run `run`'s plot
    /// `name`, when this frame draws it as a density image.
    pub fn density_stats(&self, run: &str, name: &str) -> Option<&wgpu::Buffer> {
        let splat = self.plots.get(&(run.to_owned(), name.to_owned()))?.splat.as_ref()?;
        splat.is_density().then(|| splat.stats())
    }
}

impl Default for PlotData {
    fn default() -> Self {
        Self::new()
    }
}

/// A plot's uniforms for drawing its view into a `w` x `h` plot area.
fn plot_uniforms(at: &PlotView, tandem_lines: u32, (w, h): (u32, u32)) -> PlotUniforms {
    // A run among several: its colour, every line a shade of it.
    let palette = match at.run_color {
        Some(_) => None,
        None => at.plot.palette.and_then(|name| Palette::parse(name).ok()),
    };
    let scatter = at.plot.kind == PlotKind::Scatter;
    let splat_mode = match (scatter, at.density, at.opacity < 1.0) {
        (true, true, _) => SplatMode::Density,
        (true, false, true) => SplatMode::Translucent,
        _ => SplatMode::Opaque,
    };
    // A density image maps counts through the plot's palette, or Viridis.
    let palette = match splat_mode {
        SplatMode::Density => palette.or_else(|| Palette::parse(DENSITY_PALETTE).ok()),
        _ => palette,
    };
    let default_color = at.run_color.unwrap_or(DEFAULT_COLOR);
    let center = at.view.center();
    PlotUniforms {
        center: [center[0] as f32, center[1] as f32],
        scale: [(2.0 / at.view.width()) as f32, (2.0 / at.view.height()) as f32],
        viewport_size: [w as f32, h as f32],
        point_radius: at.marker_radius,
        line_width: at.style.line_width,
        default_color: linear_rgba(default_color, 1.0),
        nan_color: linear_rgba(NAN_COLOR, 1.0),
        palette_row: palette.as_ref().map_or(0, palette_row),
        palette_size: palette.map_or(0, |p| p.size as u32),
        tandem_lines,
        tandem_rows: 0,
        batch_count: 0,
        instance_base: 0,
        order_shift: 0,
        drawn: 0,
        line_shade: u32::from(at.run_color.is_some()),
        opacity: at.opacity,
        log_axes: u32::from(at.log[0]) | u32::from(at.log[1]) << 1,
        splat_mode: splat_mode as u32,
        splat_first: 0,
        _pad: [0; 3],
    }
}
