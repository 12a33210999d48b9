//! The live window, end to end under Xvfb: real input events sent with
//! xdotool, screenshots taken with the window's own `s` key and compared with
//! `--screenshot` of the same log. Ignored where Xvfb, xdotool or a GPU
//! adapter is missing.
//!
//! Nothing here sleeps for a fixed time: a shared CI machine can be slow by
//! seconds. The viewer logs a line per presented frame (its page size, store
//! revision, the step shown, cursor and a fingerprint of the views) and one per saved
//! screenshot; after each input the test waits, with a generous deadline,
//! for the frame that shows it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use streamvis_gpu::DataLogger;
use streamvis_gpu::app::timeline::StripGeometry;
use streamvis_gpu::demo::SeedDemo;
use streamvis_gpu::layout::{PageData, PageScene, Rect, Style, marker_radius, point_size_step};
use streamvis_gpu::render::RgbaImage;
use streamvis_gpu::store::Store;

/// How long any one condition may take: far more than it needs, even on a
/// machine shared with a compiler.
const PATIENCE: Duration = Duration::from_secs(120);

/// How often to look again at a condition nothing notifies us of.
const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it gives a value or `PATIENCE` runs out.
fn poll<T>(what: &str, mut check: impl FnMut() -> Result<Option<T>, String>) -> Result<T, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not happen within {PATIENCE:?}"));
        }
        std::thread::sleep(POLL);
    }
}

/// A private X server.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Result<Xvfb, String> {
        let base = 90 + std::process::id() % 100;
        for n in base..base + 50 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .args([&format!(":{n}"), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting Xvfb: {e}"))?;
            let socket = format!("/tmp/.X11-unix/X{n}");
            let started = poll("Xvfb's socket appearing", || {
                if Path::new(&socket).exists() {
                    return Ok(Some(true));
                }
                // Exited: another server took the display first.
                Ok(matches!(child.try_wait(), Ok(Some(_))).then_some(false))
            });
            if started == Ok(true) {
                return Ok(Xvfb {
                    child,
                    display: format!(":{n}"),
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err("no free X display".into())
    }

    /// Runs xdotool on this display and returns what it printed.
    fn xdotool(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .map_err(|e| format!("running xdotool: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "xdotool {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One presented frame, as the viewer logs it.
#[derive(Clone, Debug, PartialEq)]
struct Frame {
    /// The page: the window less the timeline strip.
    size: [u32; 2],
    revision: u64,
    /// The step shown (`None`: the live end), and the steps known.
    step: Option<u64>,
    steps: u64,
    /// Runs shown, of all runs.
    runs: [usize; 2],
    cursor: Option<[i32; 2]>,
    views: String,
}

impl Frame {
    /// Parses `... frame N presented: WxH, store revision R, step S of N,
    /// runs V of N, cursor X,Y, views HASH` (S is a number or `live`).
    fn parse(line: &str) -> Option<Frame> {
        let (_, rest) = line.split_once("] frame ")?;
        let (_number, rest) = rest.split_once(" presented: ")?;
        let mut fields = rest.split(", ");
        let (width, height) = fields.next()?.split_once('x')?;
        let revision = fields.next()?.strip_prefix("store revision ")?;
        let (step, steps) = fields.next()?.strip_prefix("step ")?.split_once(" of ")?;
        let step = match step {
            "live" => None,
            k => Some(k.parse().ok()?),
        };
        let (shown_runs, runs) = fields.next()?.strip_prefix("runs ")?.split_once(" of ")?;
        let cursor = fields.next()?.strip_prefix("cursor ")?;
        let views = fields.next()?.strip_prefix("views ")?;
        let cursor = match cursor.split_once(',') {
            Some((x, y)) => Some([x.parse().ok()?, y.parse().ok()?]),
            None => None,
        };
        Some(Frame {
            size: [width.parse().ok()?, height.parse().ok()?],
            revision: revision.parse().ok()?,
            step,
            steps: steps.parse().ok()?,
            runs: [shown_runs.parse().ok()?, runs.parse().ok()?],
            cursor,
            views: views.trim().to_owned(),
        })
    }
}

/// A screenshot the `s` key saved.
struct Shot {
    path: PathBuf,
    /// The store revision it shows.
    revision: u64,
    /// The step it shows (`None`: the live end).
    step: Option<u64>,
}

/// What a viewer has logged so far.
#[derive(Default)]
struct Logged {
    /// The latest frame presented, and its line for error messages.
    frame: Option<Frame>,
    frame_line: String,
    /// The step of every frame presented, in order.
    steps_shown: Vec<Option<u64>>,
    /// Screenshots saved, in order, or why one failed.
    shots: Vec<Result<Shot, String>>,
    /// Every line but the frames, for error messages.
    lines: Vec<String>,
    /// The viewer closed its stderr (it exited).
    closed: bool,
}

/// A viewer's stderr, read on a thread; waiters are woken at every line.
#[derive(Default)]
struct ViewerLog {
    logged: Mutex<Logged>,
    changed: Condvar,
}

impl ViewerLog {
    /// Reads `stderr` to its end, echoing all but the frame lines.
    fn follow(self: Arc<Self>, stderr: impl std::io::Read + Send + 'static) {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(frame) = Frame::parse(&line) {
                    logged.steps_shown.push(frame.step);
                    logged.frame = Some(frame);
                    logged.frame_line = line;
                } else {
                    eprintln!("{line}");
                    if let Some((_, saved)) = line.split_once("saved a screenshot to \"")
                        && let Some((path, rest)) = saved.split_once('"')
                        && let Some(shown) = rest.trim().strip_prefix("(store revision ")
                        && let Some((revision, step)) = shown.trim_end_matches(')').split_once(", step ")
                    {
                        logged.shots.push(Ok(Shot {
                            path: PathBuf::from(path),
                            revision: revision.parse().unwrap_or(u64::MAX),
                            step: step.parse().ok(),
                        }));
                    } else if line.contains("screenshot failed") {
                        logged.shots.push(Err(line.clone()));
                    }
                    logged.lines.push(line);
                }
                self.changed.notify_all();
            }
            self.logged.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
            self.changed.notify_all();
        });
    }

    /// Waits until `found` gives a value: at most `PATIENCE`, and no longer
    /// than the viewer lives.
    fn wait<T>(&self, what: &str, mut found: impl FnMut(&Logged) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + PATIENCE;
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(value) = found(&logged) {
                return Ok(value);
            }
            let now = Instant::now();
            if logged.closed || now >= deadline {
                let why = if logged.closed {
                    "the viewer exited".to_owned()
                } else {
                    format!("waited {PATIENCE:?}")
                };
                return Err(format!(
                    "{why} before {what}; the last frame logged was {:?}; the viewer also said:\n{}",
                    logged.frame_line,
                    logged.lines.join("\n")
                ));
            }
            logged = self
                .changed
                .wait_timeout(logged, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The latest frame presented.
    fn frame(&self) -> Option<Frame> {
        self.logged.lock().unwrap_or_else(|p| p.into_inner()).frame.clone()
    }
}

/// A viewer under the X server, with its own working directory for the
/// screenshots its `s` key writes. Killed when dropped, on every path.
struct Viewer<'a> {
    x: &'a Xvfb,
    child: Child,
    log: Arc<ViewerLog>,
    dir: PathBuf,
    window: String,
}

impl<'a> Viewer<'a> {
    /// Starts the viewer and waits for its window, titled with `title_part`,
    /// to have keyboard focus.
    fn start(x: &'a Xvfb, dir: &Path, args: &[&str], title_part: &str) -> Result<Viewer<'a>, String> {
        let mut child = Command::new(common::bin("streamvis-gpu"))
            .args(args)
            .current_dir(dir)
            .env("DISPLAY", &x.display)
            // The frame and screenshot lines this test waits on.
            .env("RUST_LOG", "info,streamvis_gpu::app=debug")
            // Saved window settings stay in the test's directory.
            .env("STREAMVIS_CONFIG_DIR", dir.join("config"))
            .env("RUST_LOG_STYLE", "never")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let log = Arc::new(ViewerLog::default());
        log.clone().follow(child.stderr.take().expect("piped"));
        let mut viewer = Viewer {
            x,
            child,
            log,
            dir: dir.to_owned(),
            window: String::new(),
        };
        viewer.wait_frame("the first frame", |_| true)?;
        let pid = viewer.child.id().to_string();
        viewer.window = poll(&format!("a window titled {title_part:?}"), || {
            // Fails while no window has this process's pid.
            let Ok(found) = x.xdotool(&["search", "--pid", &pid]) else {
                return Ok(None);
            };
            for window in found.lines() {
                if x.xdotool(&["getwindowname", window])
                    .is_ok_and(|t| t.contains(title_part))
                {
                    return Ok(Some(window.to_owned()));
                }
            }
            Ok(None)
        })?;
        // Keys go to the focused window (xdotool sends them through XTEST
        // only there); asked again until the server says it is done.
        poll("the window getting keyboard focus", || {
            let _ = x.xdotool(&["windowfocus", &viewer.window]);
            let focused = x.xdotool(&["getwindowfocus"]).unwrap_or_default();
            Ok((focused == viewer.window).then_some(()))
        })?;
        Ok(viewer)
    }

    /// Waits for a presented frame that satisfies `shows`.
    fn wait_frame(&self, what: &str, shows: impl Fn(&Frame) -> bool) -> Result<Frame, String> {
        self.log
            .wait(what, |logged| logged.frame.clone().filter(|frame| shows(frame)))
    }

    /// The latest frame presented.
    fn frame(&self) -> Result<Frame, String> {
        self.log.frame().ok_or_else(|| "no frame presented yet".to_owned())
    }

    fn xdotool(&self, args: &[&str]) -> Result<String, String> {
        self.x.xdotool(args)
    }

    /// Moves the pointer and waits for a frame drawn with it there.
    fn pointer(&self, p: [f32; 2]) -> Result<Frame, String> {
        let at = [p[0] as i32, p[1] as i32];
        self.xdotool(&["mousemove", &at[0].to_string(), &at[1].to_string()])?;
        self.wait_frame(&format!("a frame with the cursor at {at:?}"), |f| f.cursor == Some(at))
    }

    /// Sends an input that changes the views (zoom, pan, box, reset, or a
    /// drag starting or ending) and waits for a frame that shows the change.
    fn change_views(&self, what: &str, args: &[&str]) -> Result<Frame, String> {
        let before = self.frame()?.views;
        self.xdotool(args)?;
        self.wait_frame(&format!("a frame showing {what}"), |f| f.views != before)
    }

    fn key(&self, key: &str) -> Result<(), String> {
        self.xdotool(&["key", "--window", &self.window, key]).map(|_| ())
    }

    /// Presses `s` with the cursor off the data, waits for the PNG (written
    /// whole, then renamed) and loads it with the store revision it shows.
    fn screenshot(&mut self) -> Result<(RgbaImage, u64), String> {
        self.screenshot_step().map(|(image, revision, _)| (image, revision))
    }

    /// [`Viewer::screenshot`], with the step the screenshot shows.
    fn screenshot_step(&mut self) -> Result<(RgbaImage, u64, Option<u64>), String> {
        self.pointer([2.0, 2.0])?;
        let taken = self.log.logged.lock().unwrap_or_else(|p| p.into_inner()).shots.len();
        self.key("s")?;
        let shot = self.log.wait("the s key saving a screenshot", |logged| {
            logged.shots.get(taken).map(|shot| match shot {
                Ok(shot) => Ok((self.dir.join(&shot.path), shot.revision, shot.step)),
                Err(line) => Err(line.clone()),
            })
        })??;
        let image = RgbaImage::load_png(&shot.0).map_err(|e| format!("{:?}: {e}", shot.0))?;
        Ok((image, shot.1, shot.2))
    }

    /// Presses `key` and waits for a frame showing step `step`.
    fn key_to_step(&self, key: &str, step: Option<u64>) -> Result<Frame, String> {
        self.key(key)?;
        self.wait_frame(&format!("{key} showing step {step:?}"), |f| f.step == step)
    }

    /// A screenshot that must show step `step`.
    fn screenshot_of_step(&mut self, step: Option<u64>) -> Result<RgbaImage, String> {
        let (image, _, shown) = self.screenshot_step()?;
        if shown != step {
            return Err(format!("the screenshot shows step {shown:?}, not {step:?}"));
        }
        Ok(image)
    }

    fn quit(mut self) -> Result<(), String> {
        self.key("q")?;
        let status = poll("the viewer closing after q", || {
            self.child.try_wait().map_err(|e| e.to_string())
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the viewer exited with {status}"))
        }
    }
}

impl Drop for Viewer<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn test_app(log: &Path, steps: u32) -> Result<(), String> {
    common::test_app_log(log, "e2e", steps);
    Ok(())
}

/// `--screenshot` of a log at the page's size (`WxH`), with more flags.
fn reference_with(log: &Path, dir: &Path, size: [u32; 2], extra: &[&str]) -> Result<RgbaImage, String> {
    screenshot_with(log, dir, size, extra, None)
}

/// [`reference_with`], with `STREAMVIS_CONFIG_DIR` set to `config`.
fn screenshot_with(
    log: &Path,
    dir: &Path,
    size: [u32; 2],
    extra: &[&str],
    config: Option<&Path>,
) -> Result<RgbaImage, String> {
    let out = dir.join("reference.png");
    let size = format!("{}x{}", size[0], size[1]);
    let mut command = Command::new(common::bin("streamvis-gpu"));
    command
        .args([
            "--file",
            log.to_str().unwrap(),
            "--screenshot",
            out.to_str().unwrap(),
            "--size",
            &size,
        ])
        .args(extra);
    if let Some(config) = config {
        command.env("STREAMVIS_CONFIG_DIR", config);
    }
    let status = command.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("--screenshot failed".into());
    }
    RgbaImage::load_png(&out).map_err(|e| e.to_string())
}

/// `--screenshot` of a log at the page's size.
fn reference(log: &Path, dir: &Path, size: [u32; 2]) -> Result<RgbaImage, String> {
    reference_with(log, dir, size, &[])
}

/// The log as the viewer's store holds it once it has read all of it.
fn store_of(log: &Path) -> Store {
    let mut tail = streamvis_gpu::source::FileTail::open(log, false).unwrap();
    let mut store = Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
    store
}

/// The page layout at the page's size (scale factor 1 under Xvfb).
fn scene_of(log: &Path, size: [u32; 2]) -> PageScene {
    PageScene::build(&store_of(log), &Default::default(), size[0], size[1], &Style::default())
}

/// Waits until the viewer has drawn all of `log`, as it is now.
fn wait_for_all_of(viewer: &Viewer, log: &Path) -> Result<Frame, String> {
    let revision = store_of(log).revision();
    viewer.wait_frame(&format!("a frame of the whole log (store revision {revision})"), |f| {
        f.revision == revision
    })
}

/// Takes a screenshot that must show store revision `revision`.
fn screenshot_of(viewer: &mut Viewer, revision: u64) -> Result<RgbaImage, String> {
    let (image, shown) = viewer.screenshot()?;
    if shown != revision {
        return Err(format!("the screenshot shows store revision {shown}, not {revision}"));
    }
    Ok(image)
}

fn center(rect: &Rect) -> [f32; 2] {
    [rect.x + rect.width / 2.0, rect.y + rect.height / 2.0]
}

fn at(p: [f32; 2]) -> [String; 2] {
    [(p[0] as i32).to_string(), (p[1] as i32).to_string()]
}

/// Whether two images agree inside `rect`.
fn same_in(a: &RgbaImage, b: &RgbaImage, rect: &Rect) -> bool {
    (rect.y as u32..rect.bottom() as u32)
        .all(|y| (rect.x as u32..rect.right() as u32).all(|x| a.pixel(x, y) == b.pixel(x, y)))
}

/// A test app's log of `steps` steps in a fresh directory, and a window on
/// it that has drawn all of it.
struct Opened<'a> {
    dir: tempfile::TempDir,
    log: PathBuf,
    revision: u64,
    viewer: Viewer<'a>,
    /// The page's size, and its layout.
    page: [u32; 2],
    scene: PageScene,
}

fn open_test_log(x: &Xvfb, steps: u32) -> Result<Opened<'_>, String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, steps)?;
    let revision = store_of(&log).revision();
    let viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    let page = wait_for_all_of(&viewer, &log)?.size;
    let scene = scene_of(&log, page);
    Ok(Opened {
        dir,
        log,
        revision,
        viewer,
        page,
        scene,
    })
}

fn zoom_pan_box_and_reset(x: &Xvfb) -> Result<(), String> {
    let Opened {
        dir,
        log,
        revision,
        mut viewer,
        page,
        scene,
    } = open_test_log(x, 8)?;
    let frame = |name: &str| scene.plots.iter().find(|p| p.frame.name == name).unwrap().frame.clone();
    let initial = screenshot_of(&mut viewer, revision)?;
    common::image::compare(
        "window_matches_screenshot",
        &reference(&log, dir.path(), page)?,
        &initial,
        common::image::EXACT,
    )?;

    // Wheel up three notches over bottom_left: only that plot zooms.
    viewer.pointer(center(&frame("bottom_left").plot_area))?;
    for notch in 1..=3 {
        viewer.change_views(&format!("wheel notch {notch}"), &["click", "4"])?;
    }
    let zoomed = screenshot_of(&mut viewer, revision)?;
    if same_in(&initial, &zoomed, &frame("bottom_left").plot_area) {
        return Err("scrolling did not zoom bottom_left".into());
    }
    if !same_in(&initial, &zoomed, &frame("top_left").cell) {
        return Err("zooming bottom_left changed top_left".into());
    }

    // r over the plot returns it to its data: the very same pixels.
    viewer.pointer(center(&frame("bottom_left").plot_area))?;
    viewer.change_views("r resetting bottom_left", &["key", "--window", &viewer.window, "r"])?;
    let reset = screenshot_of(&mut viewer, revision)?;
    common::image::compare("reset_restores", &initial, &reset, common::image::EXACT)?;

    // Drag to pan top_right.
    let c = center(&frame("top_right").plot_area);
    viewer.pointer(c)?;
    viewer.change_views("a pan starting", &["mousedown", "1"])?;
    for step in 1..=6 {
        viewer.pointer([c[0] + step as f32 * 10.0, c[1] + step as f32 * 5.0])?;
    }
    viewer.change_views("the pan ending", &["mouseup", "1"])?;
    let panned = screenshot_of(&mut viewer, revision)?;
    if same_in(&initial, &panned, &frame("top_right").plot_area) {
        return Err("dragging did not pan top_right".into());
    }

    // Right-drag a box in bottom_right.
    let c = center(&frame("bottom_right").plot_area);
    viewer.pointer([c[0] - 40.0, c[1] - 30.0])?;
    viewer.change_views("a box starting", &["mousedown", "3"])?;
    let [cx, cy] = at(c);
    viewer.change_views("the box growing", &["mousemove", &cx, &cy])?;
    viewer.change_views("the box zoom", &["mouseup", "3"])?;
    let boxed = screenshot_of(&mut viewer, revision)?;
    if same_in(&panned, &boxed, &frame("bottom_right").plot_area) {
        return Err("the box zoom did not zoom bottom_right".into());
    }
    // Elsewhere, r resets every plot.
    viewer.pointer([2.0, 2.0])?;
    viewer.change_views("r resetting every plot", &["key", "--window", &viewer.window, "r"])?;
    let all_reset = screenshot_of(&mut viewer, revision)?;
    common::image::compare("reset_all", &initial, &all_reset, common::image::EXACT)?;
    viewer.quit()
}

/// The test app's plots, written here step by step so that the test knows
/// what the log holds whenever it looks at the window.
struct Writer {
    logger: DataLogger,
    demo: SeedDemo,
    next_step: u64,
}

impl Writer {
    fn create(log: &Path) -> Result<Writer, String> {
        let mut logger = DataLogger::new("e2e");
        logger.init_write_log(log).map_err(|e| e.to_string())?;
        let mut demo = SeedDemo::new(0);
        demo.start(&mut logger).map_err(|e| e.to_string())?;
        Ok(Writer {
            logger,
            demo,
            next_step: 0,
        })
    }

    /// Logs `steps` more steps and flushes them to the file.
    fn steps(&mut self, steps: u64) -> Result<(), String> {
        for _ in 0..steps {
            self.demo
                .step(&mut self.logger, self.next_step)
                .map_err(|e| e.to_string())?;
            self.next_step += 1;
        }
        self.logger.flush().map_err(|e| e.to_string())
    }
}

fn follows_a_growing_log(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    // The viewer starts before the log exists.
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "waiting")?;
    let mut writer = Writer::create(&log)?;
    writer.steps(5)?;
    let early_revision = wait_for_all_of(&viewer, &log)?.revision;
    let early = screenshot_of(&mut viewer, early_revision)?;
    // The window follows every step as it is flushed.
    for _ in 0..15 {
        writer.steps(1)?;
        wait_for_all_of(&viewer, &log)?;
    }
    let later_revision = store_of(&log).revision();
    let later = screenshot_of(&mut viewer, later_revision)?;
    if early == later {
        return Err("the window did not change while the log grew".into());
    }
    // Steps written faster than the window draws are caught up with.
    for _ in 0..20 {
        writer.steps(1)?;
    }
    drop(writer);
    let last_frame = wait_for_all_of(&viewer, &log)?;
    let last = screenshot_of(&mut viewer, last_frame.revision)?;
    common::image::compare(
        "live_end_matches_screenshot",
        &reference(&log, dir.path(), last_frame.size)?,
        &last,
        common::image::EXACT,
    )?;
    viewer.quit()
}

fn resizing_lays_the_page_out_again(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 5)?;
    let revision = store_of(&log).revision();
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    wait_for_all_of(&viewer, &log)?;
    viewer.xdotool(&["windowsize", &viewer.window, "800", "600"])?;
    // The page is the window less the timeline strip.
    let page = viewer
        .wait_frame("a frame at 800x600", |f| {
            f.size[0] == 800 && (500..600).contains(&f.size[1])
        })?
        .size;
    let shot = screenshot_of(&mut viewer, revision)?;
    let expected = reference(&log, dir.path(), page)?;
    common::image::compare("resized_window", &expected, &shot, common::image::EXACT)?;
    viewer.quit()
}

fn demo_runs_live(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut viewer = Viewer::start(x, dir.path(), &["--demo", "--demo-interval-ms", "50"], "demo")?;
    let (first, shown) = viewer.screenshot()?;
    viewer.wait_frame("a frame of a later demo step", |f| f.revision > shown)?;
    let (second, _) = viewer.screenshot()?;
    if first == second {
        return Err("the demo's plots did not move".into());
    }
    viewer.quit()
}

/// `truncate -s 100` of the followed log, then `cp other.log` onto it: the
/// window lives through both and ends showing the new log exactly.
fn survives_truncation_and_rewrite(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 12)?;
    let other = dir.path().join("other.log");
    test_app(&other, 5)?;
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    let first = wait_for_all_of(&viewer, &log)?;
    let before = first.revision;
    // The store borrows every record of the log from its memory map.
    common::truncate(&log, 100);
    viewer.wait_frame("a frame after the truncation", |f| f.revision > before)?;
    std::fs::copy(&other, &log).map_err(|e| e.to_string())?;
    let expected = reference(&other, dir.path(), first.size)?;
    // At least one restart and every record of the new log.
    let enough = before + 1 + store_of(&other).revision();
    let mut frame = viewer.wait_frame("a frame of the rewritten log", |f| f.revision >= enough)?;
    for _ in 0..10 {
        let (shot, shown) = viewer.screenshot()?;
        if shot == expected {
            return viewer.quit();
        }
        frame = viewer.wait_frame("a later frame", |f| f.revision > shown.max(frame.revision))?;
    }
    Err("the window never showed the rewritten log as --screenshot does".into())
}

/// Where the timeline strip is for a page of `page` (the window less the
/// strip), as the viewer lays it out.
fn strip_of(page: [u32; 2]) -> StripGeometry {
    let style = Style::default();
    StripGeometry::new(page[0] as f32, page[1] as f32 + StripGeometry::height(&style), &style)
}

/// The keys and a drag on the strip move the step shown; each step looks
/// as `--at-step` shows it; zoom survives; the live button returns.
fn timeline_keys_and_drag(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 12)?;
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    let live = wait_for_all_of(&viewer, &log)?;
    if (live.step, live.steps) != (None, 12) {
        return Err(format!("expected the live end of 12 steps, got {live:?}"));
    }
    let page = live.size;
    let at_step = |k: u64| reference_with(&log, dir.path(), page, &["--at-step", &k.to_string()]);
    let check = |viewer: &mut Viewer, k: u64| -> Result<(), String> {
        let shot = viewer.screenshot_of_step(Some(k))?;
        common::image::compare(
            &format!("window_at_step_{k}"),
            &at_step(k)?,
            &shot,
            common::image::EXACT,
        )
    };
    viewer.key_to_step("Left", Some(10))?;
    check(&mut viewer, 10)?;
    viewer.key_to_step("Home", Some(0))?;
    check(&mut viewer, 0)?;
    viewer.key_to_step("Next", Some(10))?;
    viewer.key_to_step("Right", Some(11))?;
    viewer.key_to_step("Right", Some(11))?;
    viewer.key_to_step("Prior", Some(1))?;
    viewer.key_to_step("Left", Some(0))?;
    viewer.key_to_step("End", None)?;

    // Press on the track at step 3 and drag to step 7.
    let strip = strip_of(page);
    let y = strip.track.y + strip.track.height / 2.0;
    viewer.pointer([strip.x_of(3, 12), y])?;
    viewer.xdotool(&["mousedown", "1"])?;
    viewer.wait_frame("the press showing step 3", |f| f.step == Some(3))?;
    for k in 4..=7 {
        viewer.pointer([strip.x_of(k, 12), y])?;
        viewer.wait_frame(&format!("the drag showing step {k}"), |f| f.step == Some(k))?;
    }
    viewer.xdotool(&["mouseup", "1"])?;
    check(&mut viewer, 7)?;

    // A zoomed plot stays zoomed while the steps change.
    let scene = scene_of(&log, page);
    let plot = scene.plots[0].frame.plot_area;
    viewer.pointer(center(&plot))?;
    let zoomed = viewer.change_views("a wheel zoom", &["click", "4"])?.views;
    let moved = viewer.key_to_step("Left", Some(6))?;
    if moved.views != zoomed {
        return Err("moving a step reset the zoom".into());
    }
    // The live button returns to the live end.
    viewer.pointer([
        strip.live.x + strip.live.width / 2.0,
        strip.live.y + strip.live.height / 2.0,
    ])?;
    viewer.xdotool(&["click", "1"])?;
    viewer.wait_frame("the live button showing the live end", |f| f.step.is_none())?;
    viewer.quit()
}

/// Scrubbed back, the plots stay while the log grows and the strip counts
/// the new steps; End follows the live end again. `p` plays the steps in
/// order at the run's pace.
fn timeline_follows_and_plays(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let mut writer = Writer::create(&log)?;
    // Steps 60 ms apart in wall time: played at 1/4 speed, a quarter second
    // each, so that every step gets frames of its own.
    for _ in 0..10 {
        writer.steps(1)?;
        std::thread::sleep(Duration::from_millis(60));
    }
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    let page = wait_for_all_of(&viewer, &log)?.size;
    viewer.key_to_step("Home", Some(0))?;
    let first = viewer.screenshot_of_step(Some(0))?;
    writer.steps(3)?;
    let revision = store_of(&log).revision();
    viewer.wait_frame("the strip counting 13 steps at step 0", |f| {
        f.steps == 13 && f.step == Some(0) && f.revision == revision
    })?;
    let still = viewer.screenshot_of_step(Some(0))?;
    common::image::compare("scrubbed_back_while_growing", &first, &still, common::image::EXACT)?;
    viewer.key_to_step("End", None)?;
    writer.steps(2)?;
    wait_for_all_of(&viewer, &log)?;
    let live = viewer.screenshot_of_step(None)?;
    common::image::compare(
        "end_follows_live",
        &reference(&log, dir.path(), page)?,
        &live,
        common::image::EXACT,
    )?;

    // Play from step 0 at a quarter of the run's pace.
    viewer.key_to_step("Home", Some(0))?;
    viewer.key("minus")?;
    viewer.key("minus")?;
    let from = viewer
        .log
        .logged
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .steps_shown
        .len();
    viewer.key("p")?;
    viewer.wait_frame("playing to the last step", |f| f.step == Some(14))?;
    let shown: Vec<Option<u64>> =
        viewer.log.logged.lock().unwrap_or_else(|p| p.into_inner()).steps_shown[from..].to_vec();
    let steps: Vec<u64> = shown
        .iter()
        .map(|s| s.ok_or("a live frame while playing"))
        .collect::<Result<_, _>>()?;
    if steps.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!("playing went back: {steps:?}"));
    }
    let mut distinct = steps.clone();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err(format!("playing showed only steps {distinct:?}"));
    }
    viewer.quit()
}

/// Two logs, two runs: `2` hides the second run and `2` again shows it, the
/// very same pixels as before; a click on a name in a legend does the same.
fn hiding_and_showing_runs(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    common::test_app_log(&a, "A", 8);
    common::test_app_log(&b, "B", 5);
    let args = ["--file", "a.log", "--file", "b.log"];
    let mut viewer = Viewer::start(x, dir.path(), &args, "2 runs")?;
    let revision = store_of(&a).revision() + store_of(&b).revision();
    let page = viewer
        .wait_frame("a frame of both logs", |f| f.revision == revision && f.runs == [2, 2])?
        .size;
    let both = viewer.screenshot_of_step(None)?;
    viewer.key("2")?;
    viewer.wait_frame("run B hidden", |f| f.runs == [1, 2])?;
    let only_a = viewer.screenshot_of_step(None)?;
    if only_a == both {
        return Err("hiding run B changed nothing".into());
    }
    viewer.key("2")?;
    viewer.wait_frame("run B shown again", |f| f.runs == [2, 2])?;
    common::image::compare(
        "run_shown_again",
        &both,
        &viewer.screenshot_of_step(None)?,
        common::image::EXACT,
    )?;

    // The legend of the first line plot lists A then B: click B.
    let runs = common::runs_from_paths(&[a.clone(), b.clone()]);
    let data = PageData::of_runs(&runs, &Default::default(), |run| Some(run.store.live()));
    let scene = PageScene::build(&data, &Default::default(), page[0], page[1], &Style::default());
    let (plot, rows) = scene
        .plots
        .iter()
        .find_map(|p| Some((p, p.legend_layout(&scene.style)?.1)))
        .ok_or("no legend on the page")?;
    if plot.legend.iter().map(|e| e.label.as_str()).collect::<Vec<_>>() != ["A", "B"] {
        return Err(format!("legend {:?}", plot.legend));
    }
    viewer.pointer(center(&rows[1]))?;
    viewer.xdotool(&["click", "1"])?;
    viewer.wait_frame("a legend click hiding B", |f| f.runs == [1, 2])?;
    common::image::compare(
        "legend_click_hides",
        &only_a,
        &viewer.screenshot_of_step(None)?,
        common::image::EXACT,
    )?;
    viewer.quit()
}

/// A test that drives a viewer on the shared X server.
type WindowTest = fn(&Xvfb) -> Result<(), String>;

/// Presses each key with the pointer over `over_plot` and compares the
/// window's screenshot with `--screenshot` of the log with the key's flags.
fn keys_draw_as_flags(
    opened: &mut Opened,
    over_plot: [f32; 2],
    what: &str,
    keys: &[(&str, &[&str])],
) -> Result<(), String> {
    for (key, flags) in keys {
        // Screenshots move the pointer away: back over the plot.
        opened.viewer.pointer(over_plot)?;
        let window = opened.viewer.window.clone();
        opened
            .viewer
            .change_views(&format!("the {key} key"), &["key", "--window", &window, key])?;
        let shot = screenshot_of(&mut opened.viewer, opened.revision)?;
        common::image::compare(
            &format!("{what}_{key}_like_{}", flags.join("_")),
            &reference_with(&opened.log, opened.dir.path(), opened.page, flags)?,
            &shot,
            common::image::EXACT,
        )?;
    }
    Ok(())
}

/// `l` and `L` switch the y and x axes of the plot under the cursor between
/// linear and log; each state is the page `--log-y` / `--log-x` draw.
fn log_axes_keys(x: &Xvfb) -> Result<(), String> {
    let mut opened = open_test_log(x, 12)?;
    let plot = opened.scene.plots.iter().find(|p| p.frame.name == "top_left").unwrap();
    let over_plot = center(&plot.frame.plot_area);
    let keys: [(&str, &[&str]); 4] = [
        ("l", &["--log-y", "top_left"]),
        ("L", &["--log-y", "top_left", "--log-x", "top_left"]),
        ("l", &["--log-x", "top_left"]),
        ("L", &[]),
    ];
    keys_draw_as_flags(&mut opened, over_plot, "log_axes", &keys)?;
    opened.viewer.quit()
}

/// `d` switches the scatter under the cursor to a density image and back;
/// `.` and `,` make markers a size larger and smaller, from the size that
/// follows the cloud's density. Each state is the page `--density` and
/// `--point-size` draw.
fn density_and_point_size_keys(x: &Xvfb) -> Result<(), String> {
    let mut opened = open_test_log(x, 6)?;
    let store = store_of(&opened.log);
    let plot = opened
        .scene
        .plots
        .iter()
        .find(|p| p.frame.name == "bottom_left")
        .unwrap();
    let over_plot = center(&plot.frame.plot_area);
    // The diameter the size rule gives the plot's cloud, then a step up,
    // then two down.
    let points = store.live().plot("bottom_left").unwrap().point_count();
    let auto = 2.0 * marker_radius(&Style::default(), None, points, &plot.frame.plot_area);
    let larger = point_size_step(auto, true).to_string();
    let smaller = point_size_step(point_size_step(auto, true), false);
    let smallest = point_size_step(smaller, false).to_string();
    let smaller = smaller.to_string();
    let keys: [(&str, &[&str]); 5] = [
        ("d", &["--density", "bottom_left"]),
        ("period", &["--density", "bottom_left", "--point-size", &larger]),
        ("comma", &["--density", "bottom_left", "--point-size", &smaller]),
        ("d", &["--point-size", &smaller]),
        ("comma", &["--point-size", &smallest]),
    ];
    keys_draw_as_flags(&mut opened, over_plot, "points", &keys)?;
    opened.viewer.quit()
}

/// What was set in the window (log axes, smoothing, zoom, a density image)
/// is there again on the next start on the same log; `r` still resets a
/// plot; screenshots do not read the saved settings.
fn settings_are_kept_for_the_next_start(x: &Xvfb) -> Result<(), String> {
    let Opened {
        dir,
        log,
        revision,
        mut viewer,
        page,
        scene,
    } = open_test_log(x, 12)?;
    let area = |name: &str| {
        scene
            .plots
            .iter()
            .find(|p| p.frame.name == name)
            .unwrap()
            .frame
            .plot_area
    };
    let window = viewer.window.clone();
    viewer.pointer(center(&area("top_left")))?;
    viewer.change_views("l", &["key", "--window", &window, "l"])?;
    viewer.change_views("] once", &["key", "--window", &window, "bracketright"])?;
    viewer.change_views("] twice", &["key", "--window", &window, "bracketright"])?;
    viewer.pointer(center(&area("top_right")))?;
    viewer.change_views("a wheel zoom", &["click", "4"])?;
    viewer.pointer(center(&area("bottom_left")))?;
    viewer.change_views("d", &["key", "--window", &window, "d"])?;
    let before = screenshot_of(&mut viewer, revision)?;
    viewer.quit()?;
    let saved = dir.path().join("config/views.json");
    if !saved.exists() {
        return Err(format!("no settings saved at {saved:?}"));
    }

    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    wait_for_all_of(&viewer, &log)?;
    common::image::compare(
        "settings_restored",
        &before,
        &screenshot_of(&mut viewer, revision)?,
        common::image::EXACT,
    )?;
    // r returns the zoomed plot to its data: log y, smoothing and the
    // density image stay.
    viewer.pointer(center(&area("top_right")))?;
    let window = viewer.window.clone();
    viewer.change_views("r", &["key", "--window", &window, "r"])?;
    let flags = ["--log-y", "top_left", "--smooth", "0.6", "--density", "bottom_left"];
    common::image::compare(
        "settings_after_reset",
        &reference_with(&log, dir.path(), page, &flags)?,
        &screenshot_of(&mut viewer, revision)?,
        common::image::EXACT,
    )?;
    viewer.quit()?;
    // A screenshot depends on its flags alone, whatever was saved.
    let config = dir.path().join("config");
    let with_settings = screenshot_with(&log, dir.path(), page, &[], Some(&config))?;
    common::image::compare(
        "screenshot_ignores_settings",
        &reference(&log, dir.path(), page)?,
        &with_settings,
        common::image::EXACT,
    )
}

fn main() {
    streamvis_gpu::render::ensure_runtime_dir();
    let args = libtest_mimic::Arguments::from_args();
    let missing = ["Xvfb", "xdotool"].into_iter().find(|tool| {
        Command::new("which")
            .arg(tool)
            .output()
            .map_or(true, |o| !o.status.success())
    });
    let adapter = streamvis_gpu::render::GpuContext::headless().err();
    let skip = match (missing, adapter) {
        (Some(tool), _) => Some(format!("{tool} is not installed")),
        (None, Some(err)) => Some(err.to_string()),
        (None, None) => None,
    };
    if let Some(why) = &skip {
        eprintln!("window tests ignored: {why}");
    }
    let xvfb = if skip.is_none() {
        Some(std::sync::Arc::new(std::sync::Mutex::new(Xvfb::start())))
    } else {
        None
    };
    let tests: Vec<(&str, WindowTest)> = vec![
        ("zoom_pan_box_and_reset", zoom_pan_box_and_reset),
        ("follows_a_growing_log", follows_a_growing_log),
        ("resizing_lays_the_page_out_again", resizing_lays_the_page_out_again),
        ("demo_runs_live", demo_runs_live),
        ("survives_truncation_and_rewrite", survives_truncation_and_rewrite),
        ("timeline_keys_and_drag", timeline_keys_and_drag),
        ("timeline_follows_and_plays", timeline_follows_and_plays),
        ("hiding_and_showing_runs", hiding_and_showing_runs),
        ("log_axes_keys", log_axes_keys),
        ("density_and_point_size_keys", density_and_point_size_keys),
        (
            "settings_are_kept_for_the_next_start",
            settings_are_kept_for_the_next_start,
        ),
    ];
    let mut trials: Vec<libtest_mimic::Trial> = tests
        .into_iter()
        .map(|(name, test)| {
            let xvfb = xvfb.clone();
            libtest_mimic::Trial::test(name, move || {
                let xvfb = xvfb.expect("ignored without Xvfb");
                let guard = xvfb.lock().unwrap_or_else(|p| p.into_inner());
                let x = guard.as_ref().map_err(|e| e.clone())?;
                test(x).map_err(Into::into)
            })
            .with_ignored_flag(skip.is_some())
        })
        .collect();
    trials.push(libtest_mimic::Trial::test("no_display_is_reported", || {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new(common::bin("streamvis-gpu"))
            .args(["--file", "missing.log"])
            .current_dir(dir.path())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !stderr.contains("no display") || !stderr.contains("--screenshot") {
            return Err(format!("expected a clear no-display error, got {}: {stderr}", out.status).into());
        }
        if dir.path().join("missing.log").exists() {
            return Err("the log was created although no window could open".into());
        }
        Ok(())
    }));
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop the X server before exiting (exit skips destructors).
    drop(xvfb);
    conclusion.exit();
}
