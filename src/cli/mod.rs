//! The `streamvis-gpu` command line: flags are parsed, validated into a
//! [`Config`], then run.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use crate::ingest;
use crate::source::FileTail;
use crate::store::{self, Store};

/// How often a followed file is checked for new data.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Watch a training run's plots live, on the GPU.
#[derive(Debug, Parser)]
#[command(name = "streamvis-gpu", version, about)]
pub struct Args {
    /// Log file to read and follow as it grows (created and waited for if missing).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Stop at the file's current end instead of following it.
    #[arg(long)]
    pub no_follow: bool,

    /// Write the resolved plots as JSON and exit (when following: on Ctrl-C
    /// or after --stop-after-idle).
    #[arg(long, value_name = "OUT.json")]
    pub export: Option<PathBuf>,

    /// Stop following once the file has not grown for this many seconds.
    #[arg(long, value_name = "SECS")]
    pub stop_after_idle: Option<f64>,

    /// Render the plots at the file's current end to a PNG and exit
    /// (offscreen: no window or display needed).
    #[arg(long, value_name = "OUT.png")]
    pub screenshot: Option<PathBuf>,

    /// Size of screenshots and video frames, in pixels.
    #[arg(long, value_name = "WxH", default_value = "1280x800", value_parser = parse_size)]
    pub size: (u32, u32),
}

/// Parses `WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {text:?}"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("expected WIDTHxHEIGHT, got {text:?}"))
    };
    let (w, h) = (parse(w)?, parse(h)?);
    if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) {
        return Err(format!("size {w}x{h} is out of range (16..16384 per side)"));
    }
    Ok((w, h))
}

/// What to read.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceConfig {
    File(PathBuf),
}

/// When to stop reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Follow {
    /// Stop at the current end.
    No,
    /// Follow until interrupted, or until idle for the given time.
    Yes { stop_after_idle: Option<Duration> },
}

/// What to produce.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Print a summary whenever the plots change.
    Summary,
    /// Write the resolved plots as JSON.
    Export(PathBuf),
    /// Render a PNG offscreen.
    Screenshot { path: PathBuf, size: (u32, u32) },
}

/// Validated flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub source: SourceConfig,
    pub follow: Follow,
    pub output: Output,
}

impl Args {
    /// Checks the flags against each other.
    pub fn validate(self) -> anyhow::Result<Config> {
        let Some(path) = self.file else {
            bail!("nothing to read: give --file PATH");
        };
        let stop_after_idle = match self.stop_after_idle {
            None => None,
            Some(secs) if secs.is_finite() && secs >= 0.0 => Some(Duration::from_secs_f64(secs)),
            Some(secs) => {
                bail!("--stop-after-idle must be a non-negative number of seconds, got {secs}")
            }
        };
        let output = match (self.export, self.screenshot) {
            (Some(_), Some(_)) => bail!("--export and --screenshot each make one output: pick one"),
            (Some(path), None) => Output::Export(path),
            (None, Some(path)) => Output::Screenshot { path, size: self.size },
            (None, None) => Output::Summary,
        };
        // A screenshot shows the file as it is now.
        let no_follow = self.no_follow || matches!(output, Output::Screenshot { .. });
        if no_follow && stop_after_idle.is_some() {
            bail!("--stop-after-idle applies only when following");
        }
        let follow = if no_follow {
            Follow::No
        } else {
            Follow::Yes { stop_after_idle }
        };
        Ok(Config {
            source: SourceConfig::File(path),
            follow,
            output,
        })
    }
}

/// Runs the command.
pub fn run(config: Config) -> anyhow::Result<()> {
    let SourceConfig::File(path) = &config.source;
    let follow = config.follow != Follow::No;
    let mut tail = FileTail::open(path, follow).with_context(|| format!("cannot read {path:?}"))?;
    let stop = stop_flag()?;
    let mut store = Store::new();
    let mut last_growth = Instant::now();
    let mut printed_revision = None;
    loop {
        let pumped = ingest::pump(&mut tail, &mut store, usize::MAX)?;
        if pumped.applied > 0 {
            last_growth = Instant::now();
        }
        if config.output == Output::Summary && printed_revision != Some(store.revision()) {
            print_summary(&store);
            printed_revision = Some(store.revision());
        }
        let idle_done = match config.follow {
            Follow::No => true,
            Follow::Yes { stop_after_idle } => stop_after_idle.is_some_and(|idle| last_growth.elapsed() >= idle),
        };
        if idle_done || stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    match &config.output {
        Output::Export(out) => write_export(&store, out)?,
        Output::Screenshot { path, size } => write_screenshot(&store, path, *size)?,
        Output::Summary => {}
    }
    Ok(())
}

/// Renders the store offscreen and writes a PNG.
pub fn write_screenshot(store: &Store, path: &std::path::Path, (width, height): (u32, u32)) -> anyhow::Result<()> {
    let mut renderer = crate::render::HeadlessRenderer::new().context("starting the renderer")?;
    let image = renderer
        .render(store, &Default::default(), width, height, &Default::default())
        .context("rendering the screenshot")?;
    image.save_png(path).with_context(|| format!("writing {path:?}"))?;
    log::info!(
        "wrote {path:?} ({width}x{height}) on {}",
        renderer.ctx.adapter_summary()
    );
    Ok(())
}

/// Writes the resolved plots to `out` as JSON.
pub fn write_export(store: &Store, out: &std::path::Path) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(&store::export(store)).context("encoding the export")?;
    std::fs::write(out, json).with_context(|| format!("writing {out:?}"))
}

/// A flag set by Ctrl-C or SIGTERM.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    Ok(stop)
}

fn print_summary(store: &Store) {
    let run = store.run_name().unwrap_or("?");
    println!("run {run}: {} plots", store.plots().len());
    for plot in store.plots() {
        let b = plot.bounds;
        println!(
            "  {:<16} {:?}: {} points, {} lines, x {:.4}..{:.4}, y {:.4}..{:.4}",
            plot.name,
            plot.kind,
            plot.point_count(),
            plot.line_count(),
            b.min[0],
            b.max[0],
            b.min[1],
            b.max[1]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Config> {
        let args = Args::try_parse_from(std::iter::once("streamvis-gpu").chain(args.iter().copied()))?;
        args.validate()
    }

    #[test]
    fn file_follows_by_default() {
        let config = parse(&["--file", "run.log"]).unwrap();
        assert_eq!(config.source, SourceConfig::File("run.log".into()));
        assert_eq!(config.follow, Follow::Yes { stop_after_idle: None });
        assert_eq!(config.output, Output::Summary);
    }

    #[test]
    fn no_follow_export() {
        let config = parse(&["--file", "a.log", "--no-follow", "--export", "out.json"]).unwrap();
        assert_eq!(config.follow, Follow::No);
        assert_eq!(config.output, Output::Export("out.json".into()));
    }

    #[test]
    fn idle_stop_needs_follow() {
        let config = parse(&["--file", "a.log", "--stop-after-idle", "0.5"]).unwrap();
        assert_eq!(
            config.follow,
            Follow::Yes {
                stop_after_idle: Some(Duration::from_millis(500))
            }
        );
        assert!(parse(&["--file", "a.log", "--no-follow", "--stop-after-idle", "1"]).is_err());
        assert!(parse(&["--file", "a.log", "--stop-after-idle", "-1"]).is_err());
    }

    #[test]
    fn screenshot_reads_to_the_current_end() {
        let config = parse(&["--file", "a.log", "--screenshot", "out.png", "--size", "640x480"]).unwrap();
        assert_eq!(config.follow, Follow::No);
        assert_eq!(
            config.output,
            Output::Screenshot {
                path: "out.png".into(),
                size: (640, 480)
            }
        );
        assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--export", "a.json"]).is_err());
        assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--size", "640"]).is_err());
        assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--size", "0x10"]).is_err());
    }

    #[test]
    fn needs_a_source() {
        let err = parse(&[]).unwrap_err();
        assert!(err.to_string().contains("--file"), "{err}");
    }
}
