//! The `streamvis-gpu` command line: flags are parsed, validated into a
//! [`Config`], then run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use crate::layout::{LogAxes, PageData, PlotSet, PointOptions};
pub use crate::source::Follow;
use crate::source::{FileTail, LogSet, Reader, RecordSource};
use crate::store::{self, AsSnapshot, Runs, StepRule};
use crate::video::{VideoOptions, VideoTarget};

/// With --pubsub, a one-shot output (--screenshot, --no-follow, --record
/// without --follow) stops after this long without messages, unless
/// --stop-after-idle says otherwise: a subscription has no "current end".
pub const PUBSUB_IDLE: Duration = Duration::from_secs(5);

/// Watch a training run's plots live, on the GPU.
///
/// With no output flag, a window shows the plots and follows the source as it
/// grows. --export, --screenshot and --record work without a display.
#[derive(Debug, Parser)]
#[command(name = "streamvis-gpu", version, about)]
pub struct Args {
    /// Log file to read and follow as it grows (created and waited for if
    /// missing). Repeat it for several logs, or give a directory for every
    /// log in it (and, while following, the logs that appear there later);
    /// several logs can be exported (--export), not yet drawn.
    #[arg(long, value_name = "PATH", group = "source")]
    pub file: Vec<PathBuf>,

    /// Only the run NAME: a logger's run name, or the label of one of two
    /// runs of the same name, like `myapp (b.log)`. Repeatable.
    #[arg(long = "run", value_name = "NAME")]
    pub runs: Vec<String>,

    /// With several runs: draw their clouds in one plot, coloured by run,
    /// instead of a panel per run (`o` in the window).
    #[arg(long)]
    pub overlay_clouds: bool,

    /// Smooth line plots by an exponential moving average of weight W (0
    /// to below 1, TensorBoard's debiased smoothing; `[` and `]` in the
    /// window); the raw lines stay drawn, faint. --export stays raw.
    #[arg(long, value_name = "W", value_parser = parse_smoothing)]
    pub smooth: Option<f32>,

    /// Show PLOT's y axis on a log scale (`all`: every plot; repeatable;
    /// `l` in the window). Points at or below zero are not drawn, and the
    /// plot says how many.
    #[arg(long, value_name = "PLOT")]
    pub log_y: Vec<String>,

    /// Show PLOT's x axis on a log scale (`all`: every plot; repeatable;
    /// `L` in the window).
    #[arg(long, value_name = "PLOT")]
    pub log_x: Vec<String>,

    /// Draw scatter markers PX pixels across (a diameter, from 0.5 to 64;
    /// `,` and `.` in the window). By default they shrink from 5 px towards
    /// 2 px as a cloud's points per pixel of its plot grow.
    #[arg(long, value_name = "PX", value_parser = parse_point_size)]
    pub point_size: Option<f32>,

    /// Opacity of scatter markers, above 0 up to 1 (default 1: opaque).
    #[arg(long, value_name = "A", value_parser = parse_opacity)]
    pub opacity: Option<f32>,

    /// Draw PLOT's scatter as a density image: points per pixel, on a log
    /// scale through the plot's palette (Viridis without one), with a
    /// colour bar of counts (`all`: every plot; repeatable; `d` in the
    /// window).
    #[arg(long, value_name = "PLOT")]
    pub density: Vec<String>,

    /// Run the example training app in this process (logging to a temporary
    /// file) and view it live.
    #[arg(long, group = "source")]
    pub demo: bool,

    /// Receive from the Google Pub/Sub topic TOPIC of project PROJECT, which
    /// the training app publishes to (the topic is created if missing; start
    /// the viewer first). Uses the emulator with --emulator or
    /// PUBSUB_EMULATOR_HOST, else Application Default Credentials. With
    /// --screenshot, --no-follow or --record (without --follow), reads until
    /// --stop-after-idle (default 5 s) passes without messages.
    #[arg(long, num_args = 2, value_names = ["PROJECT", "TOPIC"], group = "source")]
    pub pubsub: Option<Vec<String>>,

    /// With --pubsub: also append every record received to this log, in the
    /// order shown (view it later with --file).
    #[arg(long, value_name = "PATH", requires = "pubsub", alias = "log_file")]
    pub log_file: Option<PathBuf>,

    /// With --pubsub: use the Pub/Sub emulator at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", requires = "pubsub")]
    pub emulator: Option<String>,

    /// Read to the source's current end instead of following it.
    #[arg(long, conflicts_with = "follow")]
    pub no_follow: bool,

    /// Keep following the source with --record (replays stop at the end).
    #[arg(long)]
    pub follow: bool,

    /// Write the resolved plots as JSON and exit (when following: on Ctrl-C
    /// or after --stop-after-idle).
    #[arg(long, value_name = "OUT.json", group = "output")]
    pub export: Option<PathBuf>,

    /// Render the plots at the source's current end to a PNG and exit
    /// (offscreen: no window or display needed).
    #[arg(long, value_name = "OUT.png", group = "output")]
    pub screenshot: Option<PathBuf>,

    /// Render one frame per training step into a video (OUT.mp4, encoded by
    /// ffmpeg) or PNG frames (a directory, or a pattern like frames/%05d.png).
    /// Replays the whole log headless; with --follow, records as steps arrive;
    /// with --window, records while showing the window.
    #[arg(long, value_name = "OUT", group = "output")]
    pub record: Option<PathBuf>,

    /// With --record: show the window too.
    #[arg(long, requires = "record")]
    pub window: bool,

    /// Frames per second of the video.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=240))]
    pub fps: u32,

    /// Pace the video by the log's wall-clock time, this many times faster
    /// (repeating frames between steps); from 0.001 to 1000000.
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,

    /// A step ends with every update of this plot (default: the logger's step
    /// markers, or else a plot updated twice).
    #[arg(long, value_name = "PLOT")]
    pub step_plot: Option<String>,

    /// With --screenshot or --export: the plots right after step K (counting
    /// from 0, steps as for --record), or `last`: the log's end. Reads the
    /// log as it is now.
    #[arg(long, value_name = "K|last", value_parser = parse_at_step)]
    pub at_step: Option<AtStep>,

    /// Only record steps FIRST..LAST (inclusive, counting from 0), e.g. 100..200.
    #[arg(long, value_name = "FIRST..LAST", value_parser = parse_range)]
    pub steps: Option<(u64, u64)>,

    /// Size of screenshots and video frames, in pixels.
    #[arg(long, value_name = "WxH", default_value = "1280x800", value_parser = parse_size)]
    pub size: (u32, u32),

    /// Stop following once the source has not grown for this many seconds.
    #[arg(long, value_name = "SECS")]
    pub stop_after_idle: Option<f64>,

    /// Most GPU memory for plot data, in MiB; past it the oldest appended
    /// points are dropped from view (and the plot says how many).
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(16..=MAX_GPU_MEMORY_MB))]
    pub gpu_memory_mb: Option<u64>,

    /// With --demo: milliseconds between the example's steps.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub demo_interval_ms: u64,
}

/// The longest --stop-after-idle: a year.
const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// --speed: from a thousandth (a second of log is 17 minutes of video) to
/// a million times the log's pace.
const SPEED_RANGE: std::ops::RangeInclusive<f64> = 1e-3..=1e6;

/// The largest --gpu-memory-mb: 16 TiB.
const MAX_GPU_MEMORY_MB: u64 = 1 << 24;

/// Parses `WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected WIDTHxHEIGHT, got {text:?}");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let parse = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
    let (w, h) = (parse(w)?, parse(h)?);
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err(format!("size {w}x{h} is out of range (16..16384 per side)"));
    }
    Ok((w, h))
}

/// Parses a smoothing weight: 0 (none) up to, not including, 1.
pub fn parse_smoothing(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(w) if (0.0..1.0).contains(&w) => Ok(w),
        Ok(w) => Err(format!("the smoothing weight must be from 0 to below 1, got {w}")),
        Err(_) => Err(format!("expected a number from 0 to below 1, got {text:?}")),
    }
}

/// Parses a marker diameter in pixels: 0.5 to 64.
pub fn parse_point_size(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(px) if (0.5..=64.0).contains(&px) => Ok(px),
        Ok(px) => Err(format!("the point size must be from 0.5 to 64 pixels, got {px}")),
        Err(_) => Err(format!("expected a size in pixels from 0.5 to 64, got {text:?}")),
    }
}

/// Parses an opacity: above 0, up to 1.
pub fn parse_opacity(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(a) if a > 0.0 && a <= 1.0 => Ok(a),
        Ok(a) => Err(format!("the opacity must be above 0 and at most 1, got {a}")),
        Err(_) => Err(format!("expected an opacity above 0 and at most 1, got {text:?}")),
    }
}

/// Parses `K` or `last`.
pub fn parse_at_step(text: &str) -> Result<AtStep, String> {
    match text.trim() {
        "last" => Ok(AtStep::Last),
        k => k
            .parse::<u64>()
            .map(AtStep::Index)
            .map_err(|_| format!("expected a step number or \"last\", got {text:?}")),
    }
}

/// Parses `FIRST..LAST`.
pub fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected FIRST..LAST, got {text:?}");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if a > b {
        return Err(format!("the range {text:?} is empty"));
    }
    Ok((a, b))
}

/// What to read.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceConfig {
    File(PathBuf),
    /// Several logs, or the logs in directories.
    Logs(Vec<PathBuf>),
    /// The example app on a thread, logging to a temporary file.
    Demo {
        interval: Duration,
    },
    /// A Pub/Sub topic, through a subscription of the viewer's own.
    PubSub {
        project: String,
        topic: String,
        /// Append the records received to this log.
        log_file: Option<PathBuf>,
        /// The emulator's `HOST:PORT` (else `PUBSUB_EMULATOR_HOST`, else
        /// Google's service).
        emulator: Option<String>,
    },
}

/// What to produce.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A window; with a video, recorded as steps arrive.
    Window { record: Option<VideoOptions> },
    /// Write the resolved plots as JSON.
    Export(PathBuf),
    /// Render a PNG offscreen.
    Screenshot { path: PathBuf, size: (u32, u32) },
    /// Render a video offscreen.
    Record(VideoOptions),
}

/// A step of the log (`--at-step`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtStep {
    /// Right after step K, counting from 0.
    Index(u64),
    /// The log's end.
    Last,
}

/// Validated flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub source: SourceConfig,
    pub follow: Follow,
    pub output: Output,
    /// With --screenshot or --export: where in the log to stop, and how
    /// steps are told apart (`--step-plot`).
    pub at_step: Option<(AtStep, Option<StepRule>)>,
    /// `--run`: only these runs.
    pub runs: Vec<String>,
    /// `--overlay-clouds`.
    pub overlay_clouds: bool,
    /// `--smooth`: 0 for raw lines.
    pub smoothing: f32,
    /// `--smooth` when given (the window otherwise takes its saved setting).
    pub smoothing_flag: Option<f32>,
    /// `--log-x`, `--log-y`.
    pub log_axes: LogAxes,
    /// `--point-size`, `--opacity`, `--density`.
    pub points: PointOptions,
    /// Bytes of GPU memory the plots may hold.
    pub gpu_memory_budget: Option<u64>,
}

impl Args {
    /// Checks the flags against each other.
    pub fn validate(self) -> anyhow::Result<Config> {
        let points = self.point_options();
        if self.pubsub.is_none() && (self.log_file.is_some() || self.emulator.is_some()) {
            bail!("--log-file and --emulator apply to --pubsub");
        }
        let source = match (self.file.as_slice(), self.demo, self.pubsub) {
            ([path], false, None) if !path.is_dir() => SourceConfig::File(path.clone()),
            ([_, ..], false, None) => SourceConfig::Logs(self.file),
            ([], true, None) => SourceConfig::Demo {
                interval: Duration::from_millis(self.demo_interval_ms),
            },
            ([], false, Some(names)) => {
                let Ok([project, topic]) = <[String; 2]>::try_from(names) else {
                    bail!("--pubsub takes two values: PROJECT TOPIC");
                };
                #[cfg(feature = "pubsub")]
                {
                    crate::pubsub_client::topic_path(&project, &topic)?;
                    if let Some(host_port) = &self.emulator {
                        crate::pubsub_client::Endpoint::emulator(host_port)?;
                    }
                }
                SourceConfig::PubSub {
                    project,
                    topic,
                    log_file: self.log_file,
                    emulator: self.emulator,
                }
            }
            _ => bail!("nothing to read: give --file PATH, --pubsub PROJECT TOPIC or --demo"),
        };
        let stop_after_idle = match self.stop_after_idle {
            None => None,
            Some(secs) => match Duration::try_from_secs_f64(secs) {
                Ok(idle) if idle <= MAX_IDLE => Some(idle),
                _ => bail!(
                    "--stop-after-idle must be from 0 to {} seconds, got {secs}",
                    MAX_IDLE.as_secs()
                ),
            },
        };
        if let Some(speed) = self.speed
            && !(SPEED_RANGE.contains(&speed))
        {
            bail!(
                "--speed must be from {} to {}, got {speed}",
                SPEED_RANGE.start(),
                SPEED_RANGE.end()
            );
        }
        let video = match &self.record {
            Some(path) => Some(VideoOptions {
                target: VideoTarget::parse(path)?,
                size: self.size,
                fps: self.fps,
                rule: self.step_plot.clone().map(StepRule::Plot),
                steps: self.steps,
                speed: self.speed,
                gpu_memory_budget: None,
                overlay_clouds: self.overlay_clouds,
                smoothing: self.smooth.unwrap_or(0.0),
                log_axes: LogAxes::from_names(&self.log_x, &self.log_y),
                points: points.clone(),
            }),
            None => {
                if self.speed.is_some() || self.steps.is_some() {
                    bail!("--speed and --steps apply to --record");
                }
                if self.step_plot.is_some() && self.at_step.is_none() {
                    bail!("--step-plot applies to --record and --at-step");
                }
                None
            }
        };
        let (output, follows_by_default) = match (self.export, self.screenshot, video) {
            (Some(path), None, None) => (Output::Export(path), true),
            (None, Some(path), None) => (Output::Screenshot { path, size: self.size }, false),
            (None, None, Some(video)) if self.window => (Output::Window { record: Some(video) }, true),
            (None, None, Some(video)) => (Output::Record(video), self.follow),
            (None, None, None) => (Output::Window { record: None }, true),
            _ => bail!("--export, --screenshot and --record each make one output: pick one"),
        };
        if self.follow && !matches!(output, Output::Record(_)) {
            bail!("--follow applies to --record (the window and --export follow by default)");
        }
        let at_step = match self.at_step {
            None => None,
            Some(at) => {
                if matches!(source, SourceConfig::Demo { .. }) {
                    bail!("--at-step reads a log file or a Pub/Sub topic, not --demo");
                }
                if !matches!(output, Output::Export(_) | Output::Screenshot { .. }) {
                    bail!("--at-step applies to --screenshot and --export");
                }
                if at == AtStep::Last && self.step_plot.is_some() {
                    bail!("--step-plot has no effect with --at-step last (the log's end)");
                }
                Some((at, self.step_plot.clone().map(StepRule::Plot)))
            }
        };
        // A step of the log as it is now: no following.
        let follows = follows_by_default && !self.no_follow && at_step.is_none();
        if matches!(source, SourceConfig::Demo { .. }) && !follows {
            bail!("--demo runs live: it cannot be combined with --no-follow or a one-shot output");
        }
        let follow = match (&source, follows) {
            (_, true) => Follow::Yes { stop_after_idle },
            // A subscription has no end to read to: read until it goes quiet.
            (SourceConfig::PubSub { .. }, false) => Follow::Yes {
                stop_after_idle: Some(stop_after_idle.unwrap_or(PUBSUB_IDLE)),
            },
            (_, false) if stop_after_idle.is_some() => bail!("--stop-after-idle applies only when following"),
            (_, false) => Follow::No,
        };

        if matches!(source, SourceConfig::Logs(_)) && matches!(output, Output::Window { record: Some(_) }) {
            bail!(
                "several logs (--file given more than once, or a directory) are recorded headless \
                 (--record, with --follow to record as they grow), not with --window"
            );
        }
        let gpu_memory_budget = self.gpu_memory_mb.map(|mb| mb << 20);
        Ok(Config {
            source,
            follow,
            output,
            at_step,
            runs: self.runs,
            overlay_clouds: self.overlay_clouds,
            smoothing: self.smooth.unwrap_or(0.0),
            smoothing_flag: self.smooth,
            log_axes: LogAxes::from_names(&self.log_x, &self.log_y),
            points,
            gpu_memory_budget,
        })
    }

    /// `--point-size`, `--opacity` and `--density`.
    fn point_options(&self) -> PointOptions {
        PointOptions {
            size: self.point_size,
            opacity: self.opacity.unwrap_or(1.0),
            density: PlotSet::from_names(&self.density),
        }
    }
}

/// Opens the configured source for reading. Files are created and waited
/// for when followed; the demo's writer lives as long as the reader.
pub fn open_source(config: &SourceConfig, follow: Follow, stop: Arc<AtomicBool>) -> anyhow::Result<Reader<'static>> {
    let reader = match config {
        SourceConfig::File(path) => {
            let tail = FileTail::open(path, follow != Follow::No).with_context(|| format!("cannot read {path:?}"))?;
            Reader::new(Box::new(tail), follow)
        }
        SourceConfig::Logs(paths) => {
            let set = LogSet::open(paths, follow != Follow::No).context("cannot read the logs")?;
            if set.is_empty() && follow == Follow::No {
                log::warn!("no logs found in {paths:?}");
            }
            Reader::new(Box::new(set), follow)
        }
        SourceConfig::Demo { interval } => {
            let demo = crate::demo::DemoRun::start(*interval).context("starting the demo")?;
            let tail = FileTail::open(demo.log_path(), true).context("reading the demo's log")?;
            Reader::new(Box::new(tail), follow).keep_alive(Box::new(demo))
        }
        SourceConfig::PubSub {
            project,
            topic,
            log_file,
            emulator,
        } => Reader::new(
            open_pubsub(project, topic, log_file.as_deref(), emulator.as_deref())?,
            follow,
        ),
    };
    Ok(reader.with_stop(stop))
}

/// Subscribes to a topic (see [`crate::source::PubSubSource`]).
#[cfg(feature = "pubsub")]
fn open_pubsub(
    project: &str,
    topic: &str,
    log_file: Option<&Path>,
    emulator: Option<&str>,
) -> anyhow::Result<Box<dyn RecordSource>> {
    use crate::pubsub_client::Endpoint;
    use crate::source::{PubSubOptions, PubSubSource};

    let endpoint = Endpoint::emulator_or_env(emulator)?;
    let mut options = PubSubOptions::new(endpoint, project, topic);
    options.log_file = log_file.map(Path::to_owned);
    let source = PubSubSource::open(options)
        .with_context(|| format!("cannot subscribe to Pub/Sub topic {topic:?} of project {project:?}"))?;
    Ok(Box::new(source))
}

#[cfg(not(feature = "pubsub"))]
fn open_pubsub(
    _project: &str,
    _topic: &str,
    _log_file: Option<&Path>,
    _emulator: Option<&str>,
) -> anyhow::Result<Box<dyn RecordSource>> {
    bail!("this build has no Pub/Sub support: rebuild with the \"pubsub\" feature")
}

/// Runs the command.
pub fn run(config: Config) -> anyhow::Result<()> {
    let result = run_output(config);
    if crate::source::reads_past_shrunken_ends() > 0 {
        log::warn!("the log shrank while its records were in use: what was drawn or exported then may show zeros");
    }
    result
}

fn run_output(config: Config) -> anyhow::Result<()> {
    if matches!(config.output, Output::Window { .. }) {
        // Before creating files or subscriptions for a window that cannot open.
        crate::app::check_display()?;
    }
    let stop = stop_flag()?;
    let mut reader = open_source(&config.source, config.follow, stop)?.with_runs(config.runs.clone());
    match &config.output {
        Output::Window { record } => {
            use crate::app::settings::{SourceKeyInput, source_key};
            let key = match &config.source {
                SourceConfig::File(path) => Some(SourceKeyInput::Files(vec![path.clone()])),
                SourceConfig::Logs(paths) => Some(SourceKeyInput::Files(paths.clone())),
                SourceConfig::PubSub { project, topic, .. } => Some(SourceKeyInput::PubSub {
                    project: project.clone(),
                    topic: topic.clone(),
                }),
                // A fresh temporary log each time: only its run name is kept.
                SourceConfig::Demo { .. } => None,
            };
            let options = crate::app::WindowOptions {
                record: record.clone(),
                gpu_memory_budget: config.gpu_memory_budget,
                overlay_clouds: config.overlay_clouds,
                smoothing: config.smoothing_flag,
                log_axes: (!config.log_axes.is_none()).then(|| config.log_axes.clone()),
                settings_key: key.as_ref().map(source_key),
                points: (config.points != PointOptions::default()).then(|| config.points.clone()),
            };
            crate::app::run_window(reader, options)
        }
        Output::Export(out) => {
            let runs = read_runs(&mut reader, &config)?;
            let json = export_runs(&runs, &reader, &config)?;
            let bytes = serde_json::to_vec_pretty(&json).context("encoding the export")?;
            std::fs::write(out, bytes).with_context(|| format!("writing {out:?}"))
        }
        Output::Screenshot { path, size } => {
            // Follow::No but for --pubsub, which reads until idle.
            let runs = read_runs(&mut reader, &config)?;
            let page = match check_at_step(&runs, &reader, &config)? {
                Some(step) => PageData::of_runs(&runs, &HashSet::new(), |run| runs.state_at(run, step)),
                None => PageData::of_runs(&runs, &HashSet::new(), |run| Some(run.store.live())),
            };
            let page = page
                .with_overlay_clouds(config.overlay_clouds)
                .with_smoothing(config.smoothing)
                .with_log_axes(&config.log_axes)
                .with_points(&config.points);
            write_screenshot(&page, path, *size, config.gpu_memory_budget)
        }
        Output::Record(video) => {
            let video = VideoOptions {
                gpu_memory_budget: config.gpu_memory_budget,
                ..video.clone()
            };
            let summary = match (&config.source, config.follow) {
                (SourceConfig::File(path), Follow::No) => crate::video::replay(path, reader, video)?,
                (SourceConfig::Logs(_), Follow::No) => crate::video::replay_runs(reader, video)?,
                (SourceConfig::Logs(_), _) => crate::video::record_live_runs(reader, video)?,
                _ => crate::video::record_live(reader, video)?,
            };
            log::info!(
                "wrote {} frames for {} steps in {:.1} s ({:.1} frames/s)",
                summary.frames,
                summary.steps,
                summary.seconds,
                summary.frames as f64 / summary.seconds.max(1e-9)
            );
            Ok(())
        }
    }
}

/// Reads everything, a run per run name and log, each finding steps by
/// the rule `--step-plot` names (or markers, else plot repeats).
fn read_runs(reader: &mut Reader, config: &Config) -> anyhow::Result<Runs> {
    let rule = config.at_step.as_ref().and_then(|(_, rule)| rule.clone());
    let mut runs = Runs::new(rule);
    reader.read_into_runs(&mut runs)?;
    if runs.is_empty() && !config.runs.is_empty() {
        log::warn!("no records of the runs {:?} in {}", config.runs, reader.describe());
    }
    Ok(runs)
}

/// The state of each run that a one-shot output shows: its end, or with
/// `--at-step K` step K of the run with the most steps and every other run
/// at its own step of the same number (see [`Runs::state_at`]).
fn check_at_step(runs: &Runs, reader: &Reader, config: &Config) -> anyhow::Result<Option<u64>> {
    let Some((AtStep::Index(step), _)) = config.at_step else {
        return Ok(None);
    };
    let steps = runs.clock().map_or(0, |clock| clock.steps());
    if step >= steps {
        bail!(
            "--at-step {step} is out of range: {} holds {steps} steps{}{}",
            reader.describe(),
            if steps > 0 {
                format!(" (0 to {})", steps - 1)
            } else {
                String::new()
            },
            if runs.len() > 1 { " in its longest run" } else { "" }
        );
    }
    Ok(Some(step))
}

/// The export of every run, in the state [`check_at_step`] picks.
fn export_runs(runs: &Runs, reader: &Reader, config: &Config) -> anyhow::Result<serde_json::Value> {
    match check_at_step(runs, reader, config)? {
        None => Ok(runs.export()),
        Some(step) => Ok(runs
            .export_with(|run| runs.state_at(run, step))
            .expect("step checked against the longest run")),
    }
}

/// Writes the resolved plots to `out` as JSON.
pub fn write_export(store: &dyn AsSnapshot, out: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(&store::export(store)).context("encoding the export")?;
    std::fs::write(out, json).with_context(|| format!("writing {out:?}"))
}

/// Renders the store offscreen and writes a PNG.
pub fn write_screenshot(
    store: &dyn crate::layout::AsPageData,
    path: &Path,
    (width, height): (u32, u32),
    gpu_memory_budget: Option<u64>,
) -> anyhow::Result<()> {
    let mut renderer = crate::render::HeadlessRenderer::new().context("starting the renderer")?;
    renderer.page_mut().set_memory_budget(gpu_memory_budget);
    let image = renderer
        .render(store, &Default::default(), width, height, &Default::default())
        .context("rendering the screenshot")?;
    image.save_png(path).with_context(|| format!("writing {path:?}"))?;
    log::info!(
        "wrote {path:?} ({width}x{height}) on {}; plot data held {} MiB of GPU memory",
        renderer.ctx.adapter_summary(),
        renderer.page().gpu_bytes() >> 20
    );
    Ok(())
}

/// A flag set by Ctrl-C or SIGTERM.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    Ok(stop)
}

#[cfg(test)]
mod tests;
