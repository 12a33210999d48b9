//! The live window: follows a source, draws through the same renderer as
//! `--screenshot` (into the offscreen page, then copied to the surface), and
//! lets the user zoom, pan and read values.
//!
//! A reader thread pulls records from the source and wakes the event loop;
//! the loop applies them, redraws once, and otherwise sleeps (no redraw
//! unless something changed). The strip along the bottom is the run's
//! timeline ([`timeline`]): the page shows the live end or any step.

mod feed;
mod gfx;
pub mod interaction;
mod overlay;
pub mod settings;
pub mod timeline;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, StartCause, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{Key, ModifiersState, NamedKey};
use winit::window::WindowId;

use self::feed::{AppEvent, Feed, spawn_reader};
use self::gfx::Gfx;
use self::interaction::{Hit, Views, nearest, plot_area_at};
use self::timeline::{StripGeometry, TimelineState};
use crate::layout::{LogAxes, PageData, PointOptions};
use crate::layout::{PageScene, Style};
use crate::render::Overlay;
use crate::source::Reader;
use crate::source::apply_to_runs;
use crate::store::{Runs, StepDetector, Store};
use crate::video::{Recorder, VideoOptions};
use std::collections::HashSet;

use self::settings::{SavedSettings, SettingsStore};

const HELP: &str = "Wheel: zoom at the cursor\n\
Drag: pan\n\
Right-drag or shift-drag: box zoom\n\
Double-click: reset the plot to its data\n\
r: reset the plot under the cursor (elsewhere: all)\n\
s: save a screenshot of the step shown\n\
Left / Right: one step back / on\n\
PageUp / PageDown: ten steps back / on\n\
Home / End: the first step / the live end\n\
Click or drag on the timeline: show that step\n\
p: play from the step shown; + / -: faster / slower\n\
Space: pause or resume (following, or playing)\n\
1-9 or a click on a legend's name: hide or show a run\n\
o: several runs' clouds overlaid, or a panel per run\n\
[ / ]: less / more smoothing of line plots\n\
l / L: log or linear y / x axis of the plot under the cursor\n\
(log axes, smoothing, zoom, markers and density are kept for the next start)\n\
, / .: smaller / larger scatter markers\n\
d: density image of the scatter under the cursor, or markers\n\
h or ?: show or hide this help\n\
q or Esc: quit";

/// How a window starts, besides what it reads.
#[derive(Clone, Debug, Default)]
pub struct WindowOptions {
    /// `--record`: a video of what the window receives.
    pub record: Option<VideoOptions>,
    pub gpu_memory_budget: Option<u64>,
    pub overlay_clouds: bool,
    /// `--smooth` and `--log-x`/`--log-y` when given: they win over the
    /// settings saved for the source.
    pub smoothing: Option<f32>,
    pub log_axes: Option<LogAxes>,
    /// The source's key in the saved settings (none: only the run name's).
    pub settings_key: Option<String>,
    /// `--point-size`, `--opacity`, `--density` when any is given: they win
    /// over the saved settings.
    pub points: Option<PointOptions>,
}

/// Opens the window on what `reader` reads, and runs until it is closed.
pub fn run_window(reader: Reader<'static>, options: WindowOptions) -> anyhow::Result<()> {
    check_display()?;
    let event_loop = EventLoop::<AppEvent>::with_user_event()
        .build()
        .map_err(|e| anyhow!(no_display(&e.to_string())))?;
    event_loop.set_control_flow(ControlFlow::Wait);
    let source_name = reader.describe().to_owned();
    let (sender, receiver) = channel();
    let quit = Arc::new(AtomicBool::new(false));
    let reader = spawn_reader(reader, sender, event_loop.create_proxy(), quit.clone())?;
    let recorder = match options.record {
        Some(options) => {
            let detector = match &options.rule {
                Some(rule) => StepDetector::new(rule.clone()),
                None => StepDetector::adaptive(),
            };
            Some(Recorder::new(options, detector, crate::video::progress_bar(None))?)
        }
        None => None,
    };
    let mut app = App::new(source_name, receiver, recorder);
    app.gpu_memory_budget = options.gpu_memory_budget;
    app.overlay_clouds = options.overlay_clouds;
    app.smoothing = options.smoothing.unwrap_or(0.0);
    app.log_axes = options.log_axes.clone().unwrap_or_default();
    app.saved = SavedSettings {
        store: SettingsStore::for_user(),
        source_key: options.settings_key.clone(),
        keep_smoothing: options.smoothing.is_some(),
        keep_log_axes: options.log_axes.is_some(),
        keep_points: options.points.is_some(),
        restored: false,
    };
    app.points = options.points.clone().unwrap_or_default();
    if let Some(key) = options.settings_key.as_deref() {
        app.restore_settings(key);
    }
    let result = event_loop.run_app(&mut app);
    app.save_settings();
    if let Some(gfx) = &app.gfx {
        log::info!("GPU memory for plot data at exit: {} MiB", gfx.page.gpu_bytes() >> 20);
    }
    quit.store(true, Ordering::Relaxed);
    let _ = reader.join();
    result.context("running the window")?;
    if let Some(recorder) = app.recorder.take() {
        let summary = recorder.finish(&app.record_store)?;
        log::info!("recorded {} frames for {} steps", summary.frames, summary.steps);
    }
    match app.error.take() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Fails with a clear message when there is no display to open a window on.
pub fn check_display() -> anyhow::Result<()> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!(no_display("neither DISPLAY nor WAYLAND_DISPLAY is set"));
    }
    Ok(())
}

fn no_display(detail: &str) -> String {
    format!(
        "no display is available ({detail}); render without a window with --screenshot OUT.png, \
         --record OUT.mp4 or --export OUT.json"
    )
}

/// The window's state.
struct App {
    source_name: String,
    receiver: Receiver<Feed>,
    /// Every run read, each with its history.
    runs: Runs,
    /// Names of the source's parts, for labelling runs.
    part_names: Vec<String>,
    /// Runs hidden by the user (labels).
    hidden: HashSet<String>,
    /// Several runs' clouds in one plot rather than a panel each (`o`).
    overlay_clouds: bool,
    /// Line plots smoothed with this weight (`[` and `]`).
    smoothing: f32,
    /// Plots with log axes (`l` and `L`).
    log_axes: LogAxes,
    /// Scatter markers: size (`,` and `.`), opacity, density images (`d`).
    points: PointOptions,
    /// Where the window's settings are kept between starts.
    saved: SavedSettings,
    /// A store without steps: the timeline's clock before any run.
    no_steps: Store,
    /// With --record: the video's store (every record, as one run).
    record_store: Store,
    recorder: Option<Recorder>,
    views: Views,
    gfx: Option<Gfx>,
    /// The scene last drawn: what the user sees and points at.
    scene: Option<PageScene>,
    cursor: Option<[f32; 2]>,
    modifiers: ModifiersState,
    last_click: Option<(Instant, [f32; 2])>,
    hover: Option<Hit>,
    paused: bool,
    /// The step shown, playing, the strip being dragged.
    timeline: TimelineState,
    /// When a playing timeline shows its next step.
    next_tick: Option<Instant>,
    show_help: bool,
    source_done: bool,
    /// A short message shown for a few seconds ("saved ...").
    status: Option<(String, Instant)>,
    error: Option<anyhow::Error>,
    gpu_memory_budget: Option<u64>,
}

impl App {
    fn new(source_name: String, receiver: Receiver<Feed>, recorder: Option<Recorder>) -> Self {
        Self {
            source_name,
            receiver,
            runs: Runs::new(None),
            part_names: Vec::new(),
            hidden: HashSet::new(),
            overlay_clouds: false,
            smoothing: 0.0,
            log_axes: LogAxes::default(),
            points: PointOptions::default(),
            saved: SavedSettings::default(),
            no_steps: Store::new(),
            record_store: Store::new(),
            recorder,
            views: Views::default(),
            gfx: None,
            scene: None,
            cursor: None,
            modifiers: ModifiersState::empty(),
            last_click: None,
            hover: None,
            paused: false,
            timeline: TimelineState::default(),
            next_tick: None,
            show_help: false,
            source_done: false,
            status: None,
            error: None,
            gpu_memory_budget: None,
        }
    }

    fn redraw(&self) {
        if let Some(gfx) = &self.gfx {
            gfx.window.request_redraw();
        }
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, err: anyhow::Error) {
        self.error.get_or_insert(err);
        event_loop.exit();
    }

    /// Applies the updates waiting in the channel (unless paused).
    fn apply_pending(&mut self) -> anyhow::Result<bool> {
        if self.paused {
            return Ok(false);
        }
        let mut changed = false;
        while let Ok(feed) = self.receiver.try_recv() {
            match feed {
                Feed::Part(part, name) => {
                    self.part_names
                        .resize(self.part_names.len().max(part + 1), String::new());
                    self.part_names[part] = name;
                }
                Feed::Update(part, update) => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.apply(&mut self.record_store, &update, &self.source_name)?;
                    }
                    let name = self
                        .part_names
                        .get(part)
                        .map_or(self.source_name.as_str(), String::as_str);
                    apply_to_runs(&mut self.runs, part, name, &update);
                    changed = true;
                    if !self.saved.restored
                        && let Some(run) = self.runs.runs().first()
                    {
                        let key = settings::run_key(&run.name);
                        self.restore_settings(&key);
                        // Only the first run's name is looked up.
                        self.saved.restored = true;
                    }
                }
            }
        }
        Ok(changed)
    }

    fn title(&self) -> String {
        let run = match self.runs.runs() {
            [] => "waiting for data".to_owned(),
            [run] => crate::calls::printable(&run.name).into_owned(),
            runs => format!("{} runs", runs.len()),
        };
        let mut title = format!("streamvis-gpu: {run} ({})", self.source_name);
        if self.paused {
            title.push_str(" [paused]");
        }
        if let Some(k) = self.timeline.shown {
            title.push_str(&format!(" [step {k}]"));
        }
        title.push_str(" - h for help");
        title
    }

    fn style(&self) -> Style {
        let scale = self.gfx.as_ref().map_or(1.0, |g| g.window.scale_factor() as f32);
        Style::default().scaled(scale)
    }

    /// Where the timeline strip is in the window.
    fn strip(&self) -> Option<StripGeometry> {
        let gfx = self.gfx.as_ref()?;
        let size = gfx.window.inner_size();
        Some(StripGeometry::new(size.width as f32, size.height as f32, &self.style()))
    }

    fn draw(&mut self) -> anyhow::Result<()> {
        let Some(gfx) = &self.gfx else { return Ok(()) };
        let size = gfx.window.inner_size();
        if size.width == 0 || size.height == 0 {
            return Ok(()); // minimised
        }
        let style = self.style();
        let clock = self.runs.clock().unwrap_or(&self.no_steps);
        self.next_tick = self.timeline.advance(clock, Instant::now());
        let strip = StripGeometry::new(size.width as f32, size.height as f32, &style);
        let page_height = (size.height as f32 - strip.strip.height).max(1.0) as u32;
        let shown = shown_of(&self.runs, &self.timeline, &self.hidden)
            .with_overlay_clouds(self.overlay_clouds)
            .with_smoothing(self.smoothing)
            .with_log_axes(&self.log_axes)
            .with_points(&self.points);
        let scene = PageScene::build(&shown, &self.views.fixed, size.width, page_height, &style);
        // The hover read-out follows the data under a still cursor.
        self.hover = self.cursor.and_then(|c| {
            let plot = plot_area_at(&scene, c)?;
            let radius = 12.0 * style.font_size / 11.0;
            plot.runs
                .iter()
                .filter_map(|&r| {
                    let run = &shown.runs[r];
                    let mut hit = nearest(&run.snapshot.plot(&plot.frame.name)?, plot, c, radius)?;
                    hit.run = shown.is_several().then(|| run.label.clone());
                    Some(hit)
                })
                .min_by(|a, b| {
                    let d = |h: &Hit| (h.screen[0] - c[0]).powi(2) + (h.screen[1] - c[1]).powi(2);
                    d(a).total_cmp(&d(b))
                })
        });
        let mut overlay = self.overlay(&scene, &style);
        let clock = self.runs.clock().unwrap_or(&self.no_steps);
        let smoothing = if self.smoothing > 0.0 {
            format!("smoothing {} ([ ])", self.smoothing)
        } else {
            "[ ] smooth lines".to_owned()
        };
        self.timeline
            .overlay(clock, &strip, &style, self.paused, &smoothing, &mut overlay);
        let title = self.title();
        let step = self.timeline.shown.map_or_else(|| "live".to_owned(), |k| k.to_string());
        let gfx = self.gfx.as_mut().expect("checked");
        gfx.window.set_title(&title);
        if gfx.present(&shown, &scene, &overlay)? && log::log_enabled!(log::Level::Debug) {
            // What this frame shows, for tests to wait on (tests/window.rs
            // parses this line): the page's size (the window less the
            // timeline strip), the step shown, and a fingerprint of the
            // views that changes with every zoom, pan, box, reset, log axis
            // switched and smoothing changed.
            let cursor = self
                .cursor
                .map_or_else(|| "none".to_owned(), |c| format!("{:.0},{:.0}", c[0], c[1]));
            log::debug!(
                "frame {} presented: {}x{}, store revision {}, step {step} of {}, runs {} of {}, cursor {cursor}, views {:016x}",
                gfx.frames_presented,
                size.width,
                page_height,
                self.runs.revision(),
                clock.steps(),
                self.runs.len()
                    - (0..self.runs.len())
                        .filter(|&i| self
                            .hidden
                            .contains(crate::calls::printable(&self.runs.label(i)).as_ref()))
                        .count(),
                self.runs.len(),
                views_fingerprint(&self.views, &self.log_axes, self.smoothing) ^ points_fingerprint(&self.points),
            );
        }
        self.scene = Some(scene);
        Ok(())
    }

    /// Saves the page as a PNG through the same capture path as
    /// `--screenshot`: the plots as shown, without the window's transient
    /// overlays (help, read-outs, messages).
    fn screenshot(&mut self) -> anyhow::Result<PathBuf> {
        let scene = self.scene.clone().context("nothing drawn yet")?;
        let shown = shown_of(&self.runs, &self.timeline, &self.hidden)
            .with_overlay_clouds(self.overlay_clouds)
            .with_smoothing(self.smoothing)
            .with_log_axes(&self.log_axes)
            .with_points(&self.points);
        let gfx = self.gfx.as_mut().context("no window")?;
        gfx.page
            .render(&gfx.ctx, &shown, &scene, &Overlay::default(), &gfx.target)?;
        // The page, without the timeline strip under it.
        let image = gfx.target.read(&gfx.ctx.device, &gfx.ctx.queue)?.top(scene.height);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut path = PathBuf::from(format!("streamvis-{stamp}.png"));
        let mut n = 1;
        while path.exists() {
            path = PathBuf::from(format!("streamvis-{stamp}-{n}.png"));
            n += 1;
        }
        // Written aside and renamed, so the PNG appears whole or not at all.
        let partial = path.with_extension("png.partial");
        image
            .save_png(&partial)
            .with_context(|| format!("writing {partial:?}"))?;
        std::fs::rename(&partial, &path).with_context(|| format!("renaming {partial:?} to {path:?}"))?;
        Ok(path)
    }

    /// Hides a shown run, or shows a hidden one.
    fn toggle_run(&mut self, label: String) {
        if !self.hidden.remove(&label) {
            log::info!("hiding run {label}");
            self.hidden.insert(label);
        } else {
            log::info!("showing run {label}");
        }
    }

    fn key(&mut self, event_loop: &ActiveEventLoop, key: &Key) {
        let now = Instant::now();
        let clock = self.runs.clock().unwrap_or(&self.no_steps);
        match key.as_ref() {
            Key::Named(NamedKey::Escape) | Key::Character("q") => event_loop.exit(),
            Key::Named(NamedKey::ArrowLeft) => self.timeline.move_by(clock, -1),
            Key::Named(NamedKey::ArrowRight) => self.timeline.move_by(clock, 1),
            Key::Named(NamedKey::PageUp) => self.timeline.move_by(clock, -10),
            Key::Named(NamedKey::PageDown) => self.timeline.move_by(clock, 10),
            Key::Named(NamedKey::Home) => self.timeline.first(clock),
            Key::Named(NamedKey::End) => self.timeline.live(),
            Key::Character("p") => self.timeline.toggle_play(clock, now),
            Key::Character("+" | "=") => self.timeline.change_speed(clock, true, now),
            Key::Character("-" | "_") => self.timeline.change_speed(clock, false, now),
            Key::Named(NamedKey::Space) if self.timeline.is_playing() => {
                self.timeline.toggle_play(clock, now);
            }
            Key::Character(digit @ ("1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9")) => {
                let i = digit.parse::<usize>().unwrap_or(1) - 1;
                if self.runs.len() > 1 && i < self.runs.len() {
                    self.toggle_run(crate::calls::printable(&self.runs.label(i)).into_owned());
                }
            }
            Key::Named(NamedKey::Space) => {
                self.paused = !self.paused;
                if !self.paused
                    && let Err(err) = self.apply_pending()
                {
                    self.fail(event_loop, err);
                }
            }
            Key::Character("h" | "?") => self.show_help = !self.show_help,
            Key::Character("o") => self.overlay_clouds = !self.overlay_clouds,
            Key::Character("[") => self.smoothing = crate::store::smoothing_step(self.smoothing, false),
            Key::Character("]") => self.smoothing = crate::store::smoothing_step(self.smoothing, true),
            Key::Character(key @ ("l" | "L")) => {
                let axis = usize::from(key == "l");
                let plot = self.cursor.zip(self.scene.as_ref()).and_then(|(c, s)| s.plot_at(c));
                if let Some(name) = plot.map(|p| p.frame.name.clone()) {
                    self.log_axes.toggle(&name, axis);
                    let log = self.log_axes.of(&name)[axis];
                    self.views.rescale_axis(&name, axis, log);
                }
            }
            Key::Character(key @ ("," | ".")) => self.step_point_size(key == "."),
            Key::Character("d") => {
                let plot = self.cursor.zip(self.scene.as_ref()).and_then(|(c, s)| s.plot_at(c));
                if let Some(name) = plot.map(|p| p.frame.name.clone()) {
                    self.points.density.toggle(&name);
                }
            }
            Key::Character("r") => {
                if let Some(scene) = &self.scene {
                    self.views.reset(scene, self.cursor);
                }
            }
            Key::Character("s") => match self.screenshot() {
                Ok(path) => {
                    // tests/window.rs waits for this line.
                    log::info!(
                        "saved a screenshot to {path:?} (store revision {}, step {})",
                        self.runs.revision(),
                        self.timeline.shown.map_or_else(|| "live".to_owned(), |k| k.to_string())
                    );
                    self.status = Some((format!("saved {}", path.display()), Instant::now()));
                }
                Err(err) => log::error!("screenshot failed: {err:#}"),
            },
            _ => return,
        }
        self.redraw();
    }

    /// Makes scatter markers a size larger or smaller (see
    /// [`crate::layout::POINT_SIZES`]), from the size they have: set, or
    /// following the density of the scatter under the cursor (else of the
    /// first scatter shown).
    fn step_point_size(&mut self, larger: bool) {
        let style = self.style();
        let diameter = self.points.size.unwrap_or_else(|| {
            let shown = shown_of(&self.runs, &self.timeline, &self.hidden);
            // The plot's points, when it is a scatter.
            let scatter = |plot: &crate::layout::PlotScene| {
                let data = plot
                    .runs
                    .first()
                    .and_then(|&r| shown.runs.get(r)?.snapshot.plot(&plot.frame.name))?;
                (data.kind == crate::store::PlotKind::Scatter).then_some(data.point_count())
            };
            let plots = self.scene.as_ref().map_or(&[][..], |s| &s.plots[..]);
            let under = self
                .cursor
                .and_then(|c| plots.iter().find(|p| p.frame.cell.contains(c)));
            let found = under
                .and_then(|p| Some((p, scatter(p)?)))
                .or_else(|| plots.iter().find_map(|p| Some((p, scatter(p)?))));
            // In logical pixels, as --point-size.
            let radius = found.map_or(style.point_radius, |(plot, points)| {
                crate::layout::marker_radius(&style, None, points, &plot.frame.plot_area)
            });
            2.0 * radius * Style::default().point_radius / style.point_radius
        });
        self.points.size = Some(crate::layout::point_size_step(diameter, larger));
    }

    /// A press on the timeline strip: the live button returns to live data,
    /// the track shows the step under the cursor (and drags from there).
    /// Returns whether the strip took the press.
    fn strip_press(&mut self, cursor: [f32; 2]) -> bool {
        let Some(strip) = self.strip() else { return false };
        if !strip.strip.contains(cursor) {
            return false;
        }
        if strip.live.contains(cursor) {
            self.timeline.live();
        } else if let Some(k) = strip.step_at(cursor[0], self.runs.clock().map_or(0, Store::steps)) {
            self.timeline.show(Some(k));
            self.timeline.dragging = true;
        }
        true
    }

    fn mouse(&mut self, state: ElementState, button: MouseButton) {
        let Some(cursor) = self.cursor else { return };
        if button == MouseButton::Left {
            // A run's name in a legend hides or shows the run.
            if state == ElementState::Pressed
                && let Some(label) = self.scene.as_ref().and_then(|s| s.legend_at(cursor)).map(str::to_owned)
            {
                self.toggle_run(label);
                self.redraw();
                return;
            }
            if state == ElementState::Pressed && self.strip_press(cursor) {
                self.redraw();
                return;
            }
            if state == ElementState::Released && self.timeline.dragging {
                self.timeline.dragging = false;
                return;
            }
        }
        let Some(scene) = &self.scene else { return };
        match (state, button) {
            (ElementState::Pressed, MouseButton::Left) => {
                let double = self.last_click.is_some_and(|(at, p)| {
                    at.elapsed() < Duration::from_millis(400)
                        && (p[0] - cursor[0]).abs() < 5.0
                        && (p[1] - cursor[1]).abs() < 5.0
                });
                if double {
                    self.views.reset(scene, Some(cursor));
                    self.last_click = None;
                } else {
                    self.last_click = Some((Instant::now(), cursor));
                    self.views.press(scene, cursor, self.modifiers.shift_key());
                }
            }
            (ElementState::Pressed, MouseButton::Right) => {
                self.views.press(scene, cursor, true);
            }
            (ElementState::Released, MouseButton::Left | MouseButton::Right) => {
                self.views.release(scene);
            }
            _ => return,
        }
        self.redraw();
    }
}

/// What the page shows: the live end, or the state right after the step
/// the timeline is at.
fn shown_of<'a>(runs: &'a Runs, timeline: &TimelineState, hidden: &HashSet<String>) -> PageData<'a> {
    PageData::of_runs(runs, hidden, |run| match timeline.shown {
        None => Some(run.store.live()),
        Some(k) => runs.state_at(run, k).or_else(|| Some(run.store.live())),
    })
}

/// A hash of the views, log axes and smoothing, the same for the same views
/// whatever the order of their map.
fn views_fingerprint(views: &Views, log_axes: &LogAxes, smoothing: f32) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut fixed: Vec<String> = views.fixed.iter().map(|entry| format!("{entry:?}")).collect();
    fixed.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    fixed.hash(&mut hasher);
    format!("{:?}", views.drag).hash(&mut hasher);
    format!("{log_axes:?}").hash(&mut hasher);
    smoothing.to_bits().hash(&mut hasher);
    hasher.finish()
}

/// A hash of the scatter marker options: tests wait for it to change.
fn points_fingerprint(points: &PointOptions) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    format!("{points:?}").hash(&mut hasher);
    hasher.finish()
}

impl ApplicationHandler<AppEvent> for App {
    fn new_events(&mut self, _event_loop: &ActiveEventLoop, cause: StartCause) {
        if matches!(cause, StartCause::ResumeTimeReached { .. }) {
            self.redraw();
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        // A playing timeline wakes for its next step.
        event_loop.set_control_flow(match self.next_tick {
            Some(at) if self.timeline.is_playing() => ControlFlow::WaitUntil(at),
            _ => ControlFlow::Wait,
        });
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        match Gfx::new(event_loop) {
            Ok(mut gfx) => {
                gfx.page.set_memory_budget(self.gpu_memory_budget);
                self.gfx = Some(gfx);
                self.redraw();
            }
            Err(err) => self.fail(event_loop, err),
        }
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: AppEvent) {
        match event {
            AppEvent::Data => match self.apply_pending() {
                Ok(true) => self.redraw(),
                Ok(false) => {}
                Err(err) => self.fail(event_loop, err),
            },
            AppEvent::SourceDone => {
                self.source_done = true;
                log::info!("read {} to its end", self.source_name);
            }
            AppEvent::SourceError(err) => self.fail(event_loop, anyhow!(err)),
            AppEvent::Quit => event_loop.exit(),
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _window: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                if let Some(gfx) = &mut self.gfx {
                    gfx.resize(size.width, size.height);
                }
                self.redraw();
            }
            WindowEvent::ScaleFactorChanged { .. } => self.redraw(),
            WindowEvent::RedrawRequested => {
                if let Err(err) = self.draw() {
                    self.fail(event_loop, err);
                }
            }
            WindowEvent::ModifiersChanged(modifiers) => self.modifiers = modifiers.state(),
            WindowEvent::CursorMoved { position, .. } => {
                let cursor = [position.x as f32, position.y as f32];
                self.cursor = Some(cursor);
                if self.timeline.dragging {
                    if let Some(strip) = self.strip()
                        && let Some(k) = strip.step_at(cursor[0], self.runs.clock().map_or(0, Store::steps))
                    {
                        self.timeline.show(Some(k));
                    }
                } else if let Some(scene) = &self.scene {
                    self.views.motion(scene, cursor);
                }
                self.redraw();
            }
            WindowEvent::CursorLeft { .. } => {
                self.cursor = None;
                self.redraw();
            }
            WindowEvent::MouseInput { state, button, .. } => self.mouse(state, button),
            WindowEvent::MouseWheel { delta, .. } => {
                let notches = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y as f64,
                    MouseScrollDelta::PixelDelta(p) => p.y / 50.0,
                };
                if let (Some(scene), Some(cursor)) = (&self.scene, self.cursor)
                    && self.views.zoom(scene, cursor, notches)
                {
                    self.redraw();
                }
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                self.key(event_loop, &event.logical_key);
            }
            _ => {}
        }
    }
}
