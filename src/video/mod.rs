//! Training videos: a log replayed into one frame per training step, drawn
//! by the same renderer as the window and `--screenshot`.
//!
//! Frame `k` shows the plots after step `k` (steps count from 0), exactly
//! what `--screenshot` shows of the log cut after that step. Replays run as
//! fast as the renderer allows; with a speed, frames are repeated so that
//! the video follows the log's wall-clock time, sped up.

mod sink;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};

pub use sink::{FrameSink, VideoTarget, format_frame, open_sink};

use crate::layout::{AsPageData, LogAxes, PageData, PointOptions};
use crate::render::{HeadlessRenderer, RgbaImage};
use crate::source::{POLL_INTERVAL, Poll, Reader, Update, apply_to_runs, apply_update, scan_steps};
use crate::store::{Runs, StepDetector, StepRule, Store};

/// Pacing by wall time holds one frame for at most this many seconds of
/// video, however far the log's clock jumps between two steps.
const MAX_HOLD_SECS: u64 = 60;

/// How to make a video.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoOptions {
    pub target: VideoTarget,
    pub size: (u32, u32),
    pub fps: u32,
    /// `None`: markers if the log has any, else plot repeats.
    pub rule: Option<StepRule>,
    /// Only steps in this range get frames (the others are still applied).
    pub steps: Option<(u64, u64)>,
    /// Pace by the log's wall-clock time, this many times faster.
    pub speed: Option<f64>,
    /// Bytes of GPU memory the plots may hold.
    pub gpu_memory_budget: Option<u64>,
    /// With several runs: clouds in one plot, coloured by run.
    pub overlay_clouds: bool,
    /// Line plots smoothed with this weight (0: raw).
    pub smoothing: f32,
    /// Plots with log axes.
    pub log_axes: LogAxes,
    /// How scatter markers are drawn.
    pub points: PointOptions,
}

/// What a recording produced.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VideoSummary {
    /// Steps seen.
    pub steps: u64,
    /// Frames written (more than steps when pacing by wall time).
    pub frames: u64,
    pub seconds: f64,
}

/// Takes frames at step boundaries as records are applied.
pub struct Recorder {
    renderer: HeadlessRenderer,
    sink: Option<Box<dyn FrameSink>>,
    detector: StepDetector,
    options: VideoOptions,
    /// Index of the step the next frame belongs to.
    step: u64,
    frames: u64,
    /// Pacing: wall time of the first frame, and the last frame written.
    first_wall_ns: Option<i64>,
    last_frame: Option<RgbaImage>,
    /// Wall time of the latest record.
    wall_ns: i64,
    /// Pacing: frames left out where the log's clock jumped too far.
    skipped_frames: u64,
    started: std::time::Instant,
    progress: indicatif::ProgressBar,
}

impl Recorder {
    /// Starts a recording; `detector` decides where steps end.
    pub fn new(
        options: VideoOptions,
        detector: StepDetector,
        progress: indicatif::ProgressBar,
    ) -> anyhow::Result<Self> {
        let mut renderer = HeadlessRenderer::new().context("starting the renderer")?;
        renderer.page_mut().set_memory_budget(options.gpu_memory_budget);
        log::info!(
            "recording {:?} at {}x{} on {}",
            options.target,
            options.size.0,
            options.size.1,
            renderer.ctx.adapter_summary()
        );
        let sink = open_sink(&options.target, options.size, options.fps)?;
        Ok(Self {
            renderer,
            sink: Some(sink),
            detector,
            options,
            step: 0,
            frames: 0,
            first_wall_ns: None,
            last_frame: None,
            wall_ns: 0,
            skipped_frames: 0,
            started: std::time::Instant::now(),
            progress,
        })
    }

    /// Applies `update` to `store`, taking a frame where a step ends.
    /// `source_name` names the source in warnings.
    pub fn apply(&mut self, store: &mut Store, update: &Update, source_name: &str) -> anyhow::Result<()> {
        match update {
            Update::Record { record, .. } => {
                let boundary = self.detector.observe(record);
                if boundary.before {
                    self.end_step(store)?;
                }
                self.wall_ns = record.meta.wall_time_ns;
                apply_update(store, update, source_name);
                if boundary.after {
                    self.end_step(store)?;
                }
            }
            Update::Restarted => {
                // The unfinished step of what was read gets its frame, as at
                // the end of a log; the new data's steps count from 0, as
                // `--at-step` and `--steps` count them.
                if self.detector.finish() {
                    self.end_step(store)?;
                }
                self.step = 0;
                apply_update(store, update, source_name);
            }
        }
        Ok(())
    }

    /// Steps ended so far (since the source last started over).
    pub fn steps(&self) -> u64 {
        self.step
    }

    fn end_step(&mut self, store: &Store) -> anyhow::Result<()> {
        let page = PageData::single(store.live())
            .with_smoothing(self.options.smoothing)
            .with_log_axes(&self.options.log_axes)
            .with_points(&self.options.points);
        self.frame(&page, self.wall_ns)
    }

    /// Takes the frame of the step that just ended, showing `page`; with
    /// --speed, paced by the step's wall time `wall_ns`.
    pub fn frame(&mut self, page: &dyn AsPageData, wall_ns: i64) -> anyhow::Result<()> {
        let step = self.step;
        self.step += 1;
        self.progress.inc(1);
        if self
            .options
            .steps
            .is_some_and(|(first, last)| step < first || step > last)
        {
            return Ok(());
        }
        let (w, h) = self.options.size;
        let image = self.renderer.render(page, &HashMap::new(), w, h, &Default::default())?;
        let sink = self.sink.as_mut().context("recording finished")?;
        match self.options.speed {
            None => {
                sink.write(&image)?;
                self.frames += 1;
            }
            Some(speed) => {
                // Hold the previous frame until this step's time comes.
                let first = *self.first_wall_ns.get_or_insert(wall_ns);
                let seconds = wall_ns.saturating_sub(first).max(0) as f64 / 1e9 / speed;
                // Saturating: a clock that jumps far is bounded below.
                let due = ((seconds * self.options.fps as f64).floor() as u64).saturating_sub(self.skipped_frames);
                let most = self.frames + MAX_HOLD_SECS * self.options.fps as u64;
                if due > most {
                    log::warn!(
                        "step {step}: the log's clock jumps {:.0} s of video ahead; holding the frame for {MAX_HOLD_SECS} s",
                        (due - self.frames) as f64 / self.options.fps as f64
                    );
                    self.skipped_frames += due - most;
                }
                if let Some(previous) = &self.last_frame {
                    while self.frames < due.min(most) {
                        sink.write(previous)?;
                        self.frames += 1;
                    }
                }
                sink.write(&image)?;
                self.frames += 1;
                self.last_frame = Some(image);
            }
        }
        Ok(())
    }

    /// Takes a frame of an unfinished last step, and closes the output.
    pub fn finish(mut self, store: &Store) -> anyhow::Result<VideoSummary> {
        if self.detector.finish() {
            self.end_step(store)?;
        }
        self.close()
    }

    /// Closes the output.
    pub fn close(mut self) -> anyhow::Result<VideoSummary> {
        if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        self.progress.finish_and_clear();
        Ok(VideoSummary {
            steps: self.step,
            frames: self.frames,
            seconds: self.started.elapsed().as_secs_f64(),
        })
    }
}

/// A progress bar on stderr for a replay of `steps` steps (hidden when
/// stderr is not a terminal).
pub fn progress_bar(steps: Option<u64>) -> indicatif::ProgressBar {
    let bar = match steps {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let template = if steps.is_some() {
        "{elapsed_precise} [{bar:40}] {pos}/{len} steps, {per_sec}, ETA {eta}"
    } else {
        "{elapsed_precise} {pos} steps recorded, {per_sec}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Records while following a source: a frame per step as steps arrive,
/// until the reader finishes (the end without following, Ctrl-C, or
/// idleness).
pub fn record_live(reader: Reader, options: VideoOptions) -> anyhow::Result<VideoSummary> {
    let detector = match &options.rule {
        Some(rule) => StepDetector::new(rule.clone()),
        None => StepDetector::adaptive(),
    };
    let recorder = Recorder::new(options, detector, progress_bar(None))?;
    record(reader, recorder)
}

/// Replays the whole log at `path`, read by `reader`, into a video.
pub fn replay(path: &Path, reader: Reader, options: VideoOptions) -> anyhow::Result<VideoSummary> {
    let (rule, steps) = scan_steps(path, options.rule.clone()).with_context(|| format!("cannot read {path:?}"))?;
    let total = match options.steps {
        Some((first, last)) => (last.min(steps.saturating_sub(1)) + 1).saturating_sub(first),
        None => steps,
    };
    log::info!("{steps} steps ({rule:?}); recording {total}");
    let recorder = Recorder::new(options, StepDetector::new(rule), progress_bar(Some(steps)))?;
    record(reader, recorder)
}

/// Replays several logs (read by `reader`) into a video: every run read
/// first, with its history, then a frame per step of the run with the most
/// steps, every run at its own step of the same number (see
/// [`Runs::state_at`]), as `--at-step` shows them.
pub fn replay_runs(mut reader: Reader, options: VideoOptions) -> anyhow::Result<VideoSummary> {
    let mut runs = Runs::new(options.rule.clone());
    reader.read_into_runs(&mut runs)?;
    let Some(clock) = runs.clock() else {
        bail!("{} holds no runs", reader.describe());
    };
    let steps = clock.steps();
    log::info!("{} runs, {steps} steps of the longest", runs.len());
    let (overlay, smoothing, log_axes) = (options.overlay_clouds, options.smoothing, options.log_axes.clone());
    let points = options.points.clone();
    let mut recorder = Recorder::new(options, StepDetector::new(StepRule::Markers), progress_bar(Some(steps)))?;
    let hidden = HashSet::new();
    for k in 0..steps {
        let page = PageData::of_runs(&runs, &hidden, |run| runs.state_at(run, k))
            .with_overlay_clouds(overlay)
            .with_smoothing(smoothing)
            .with_log_axes(&log_axes)
            .with_points(&points);
        let wall_ns = clock.step(k).map_or(0, |mark| mark.wall_time_ns);
        recorder.frame(&page, wall_ns)?;
    }
    recorder.close()
}

/// Records several logs as they grow: whenever the reader has caught up
/// with every log, a frame for each step the run with the most steps has
/// ended since, every run at its own step of that number (see
/// [`Runs::state_at`]), taken from the runs' history; until the reader
/// finishes. Frames are taken only when caught up, so logs read one after
/// the other show each other's data as a replay does.
pub fn record_live_runs(mut reader: Reader, options: VideoOptions) -> anyhow::Result<VideoSummary> {
    let (overlay, smoothing, log_axes) = (options.overlay_clouds, options.smoothing, options.log_axes.clone());
    let points = options.points.clone();
    let mut runs = Runs::new(options.rule.clone());
    let mut recorder = Recorder::new(options, StepDetector::new(StepRule::Markers), progress_bar(None))?;
    let hidden = HashSet::new();
    let mut names: Vec<String> = Vec::new();
    let mut framed = 0;
    let mut frames_until = |runs: &Runs, recorder: &mut Recorder, end: u64| -> anyhow::Result<()> {
        while framed < end {
            let page = PageData::of_runs(runs, &hidden, |run| runs.state_at(run, framed))
                .with_overlay_clouds(overlay)
                .with_smoothing(smoothing)
                .with_log_axes(&log_axes)
                .with_points(&points);
            let wall_ns = runs.clock().and_then(|c| c.step(framed)).map_or(0, |m| m.wall_time_ns);
            recorder.frame(&page, wall_ns)?;
            framed += 1;
        }
        Ok(())
    };
    loop {
        match reader.poll()? {
            Poll::Update(update) => {
                let part = reader.part();
                while names.len() <= part {
                    names.push(reader.part_name(names.len()));
                }
                apply_to_runs(&mut runs, part, &names[part], &update);
            }
            Poll::Waiting => {
                let ended = runs.clock().map_or(0, |clock| clock.timeline().ended());
                frames_until(&runs, &mut recorder, ended)?;
                std::thread::sleep(POLL_INTERVAL);
            }
            Poll::Finished => break,
        }
    }
    // The unfinished last step (plot repeats) ends with the logs.
    let steps = runs.clock().map_or(0, Store::steps);
    frames_until(&runs, &mut recorder, steps)?;
    recorder.close()
}

fn record(mut reader: Reader, mut recorder: Recorder) -> anyhow::Result<VideoSummary> {
    let mut store = Store::new();
    while let Some(update) = reader.next_update()? {
        recorder.apply(&mut store, &update, reader.describe())?;
    }
    recorder.finish(&store)
}
