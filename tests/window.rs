//! The live window, end to end under Xvfb: real input events sent with
//! xdotool, screenshots taken with the window's own `s` key and compared with
//! `--screenshot` of the same log. Ignored where Xvfb, xdotool or a GPU
//! adapter is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streamvis_gpu::layout::{PageScene, Rect, Style};
use streamvis_gpu::render::RgbaImage;

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
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&socket).exists() {
                    return Ok(Xvfb {
                        child,
                        display: format!(":{n}"),
                    });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
        Err("no free X display".into())
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A viewer under the X server, with its own working directory for the
/// screenshots its `s` key writes.
struct Viewer<'a> {
    x: &'a Xvfb,
    child: Child,
    dir: PathBuf,
    window: String,
    shots: usize,
}

impl<'a> Viewer<'a> {
    fn start(x: &'a Xvfb, dir: &Path, args: &[&str], title_part: &str) -> Result<Viewer<'a>, String> {
        let child = Command::new(common::bin("streamvis-gpu"))
            .args(args)
            .current_dir(dir)
            .env("DISPLAY", &x.display)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut viewer = Viewer {
            x,
            child,
            dir: dir.to_owned(),
            window: String::new(),
            shots: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = viewer.xdotool(&["search", "--name", "streamvis-gpu"]);
            if let Some(id) = found.lines().next().filter(|l| !l.is_empty()) {
                let title = viewer.xdotool(&["getwindowname", id]);
                if title.contains(title_part) {
                    viewer.window = id.to_owned();
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no window titled {title_part:?} appeared"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        viewer.xdotool(&["windowfocus", "--sync", &viewer.window.clone()]);
        Ok(viewer)
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.x.display)
            .output()
            .expect("xdotool runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn pointer(&self, p: [f32; 2]) {
        self.xdotool(&["mousemove", &format!("{}", p[0] as i32), &format!("{}", p[1] as i32)]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn key(&self, key: &str) {
        self.xdotool(&["key", "--window", &self.window, key]);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Presses `s` with the cursor off the data, and loads the PNG written.
    fn screenshot(&mut self) -> Result<RgbaImage, String> {
        self.pointer([2.0, 2.0]);
        std::thread::sleep(Duration::from_millis(300));
        self.key("s");
        self.shots += 1;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut pngs: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name().unwrap().to_string_lossy().starts_with("streamvis-")
                        && p.extension().is_some_and(|e| e == "png")
                })
                .collect();
            if pngs.len() >= self.shots {
                pngs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
                std::thread::sleep(Duration::from_millis(200));
                let newest = pngs.last().unwrap();
                return RgbaImage::load_png(newest).map_err(|e| format!("{newest:?}: {e}"));
            }
            if Instant::now() > deadline {
                return Err("the s key wrote no screenshot".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn quit(mut self) -> Result<(), String> {
        self.key("q");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the viewer exited with {status}"))
                };
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err("q did not close the viewer".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Viewer<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn test_app(log: &Path, steps: u32, interval_ms: u32) -> Command {
    let mut command = Command::new(common::bin("streamvis-test-app"));
    command.args([
        "file",
        "e2e",
        log.to_str().unwrap(),
        "--steps",
        &steps.to_string(),
        "--interval-ms",
        &interval_ms.to_string(),
    ]);
    command
}

/// `--screenshot` of a log at the window's size (`WxH`).
fn reference(log: &Path, dir: &Path, size: &str) -> Result<RgbaImage, String> {
    let out = dir.join("reference.png");
    let status = Command::new(common::bin("streamvis-gpu"))
        .args([
            "--file",
            log.to_str().unwrap(),
            "--screenshot",
            out.to_str().unwrap(),
            "--size",
            size,
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("--screenshot failed".into());
    }
    RgbaImage::load_png(&out).map_err(|e| e.to_string())
}

/// The page layout of the window (scale factor 1 under Xvfb).
fn scene_of(log: &Path) -> PageScene {
    let mut tail = streamvis_gpu::source::FileTail::open(log, false).unwrap();
    let mut store = streamvis_gpu::store::Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
    PageScene::build(&store, &Default::default(), 1280, 800, &Style::default())
}

fn center(rect: &Rect) -> [f32; 2] {
    [rect.x + rect.width / 2.0, rect.y + rect.height / 2.0]
}

/// Whether two images agree inside `rect`.
fn same_in(a: &RgbaImage, b: &RgbaImage, rect: &Rect) -> bool {
    (rect.y as u32..rect.bottom() as u32)
        .all(|y| (rect.x as u32..rect.right() as u32).all(|x| a.pixel(x, y) == b.pixel(x, y)))
}

fn zoom_pan_box_and_reset(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    if !test_app(&log, 8, 0).status().map_err(|e| e.to_string())?.success() {
        return Err("the test app failed".into());
    }
    let scene = scene_of(&log);
    let frame = |name: &str| scene.plots.iter().find(|p| p.frame.name == name).unwrap().frame.clone();
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    let initial = viewer.screenshot()?;
    common::image::compare(
        "window_matches_screenshot",
        &reference(&log, dir.path(), "1280x800")?,
        &initial,
        common::image::EXACT,
    )?;

    // Wheel up three notches over bottom_left: only that plot zooms.
    viewer.pointer(center(&frame("bottom_left").plot_area));
    for _ in 0..3 {
        viewer.xdotool(&["click", "4"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    let zoomed = viewer.screenshot()?;
    if same_in(&initial, &zoomed, &frame("bottom_left").plot_area) {
        return Err("scrolling did not zoom bottom_left".into());
    }
    if !same_in(&initial, &zoomed, &frame("top_left").cell) {
        return Err("zooming bottom_left changed top_left".into());
    }

    // r over the plot returns it to its data: the very same pixels.
    viewer.pointer(center(&frame("bottom_left").plot_area));
    viewer.key("r");
    let reset = viewer.screenshot()?;
    common::image::compare("reset_restores", &initial, &reset, common::image::EXACT)?;

    // Drag to pan top_right.
    let c = center(&frame("top_right").plot_area);
    viewer.pointer(c);
    viewer.xdotool(&["mousedown", "1"]);
    for step in 1..=6 {
        viewer.xdotool(&[
            "mousemove",
            &format!("{}", c[0] as i32 + step * 10),
            &format!("{}", c[1] as i32 + step * 5),
        ]);
        std::thread::sleep(Duration::from_millis(50));
    }
    viewer.xdotool(&["mouseup", "1"]);
    let panned = viewer.screenshot()?;
    if same_in(&initial, &panned, &frame("top_right").plot_area) {
        return Err("dragging did not pan top_right".into());
    }

    // Right-drag a box in bottom_right.
    let c = center(&frame("bottom_right").plot_area);
    viewer.pointer([c[0] - 40.0, c[1] - 30.0]);
    viewer.xdotool(&["mousedown", "3"]);
    viewer.xdotool(&["mousemove", &format!("{}", c[0] as i32), &format!("{}", c[1] as i32)]);
    std::thread::sleep(Duration::from_millis(100));
    viewer.xdotool(&["mouseup", "3"]);
    let boxed = viewer.screenshot()?;
    if same_in(&panned, &boxed, &frame("bottom_right").plot_area) {
        return Err("the box zoom did not zoom bottom_right".into());
    }
    // Elsewhere, r resets every plot.
    viewer.pointer([2.0, 2.0]);
    viewer.key("r");
    let all_reset = viewer.screenshot()?;
    common::image::compare("reset_all", &initial, &all_reset, common::image::EXACT)?;
    viewer.quit()
}

fn follows_a_growing_log(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    // The viewer starts before the log exists.
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "waiting")?;
    let mut writer = test_app(&log, 40, 100).spawn().map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(1500));
    let early = viewer.screenshot()?;
    std::thread::sleep(Duration::from_millis(1000));
    let later = viewer.screenshot()?;
    if early == later {
        return Err("the window did not change while the log grew".into());
    }
    if !writer.wait().map_err(|e| e.to_string())?.success() {
        return Err("the test app failed".into());
    }
    std::thread::sleep(Duration::from_millis(500));
    let last = viewer.screenshot()?;
    common::image::compare(
        "live_end_matches_screenshot",
        &reference(&log, dir.path(), "1280x800")?,
        &last,
        common::image::EXACT,
    )?;
    viewer.quit()
}

fn resizing_lays_the_page_out_again(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    if !test_app(&log, 5, 0).status().map_err(|e| e.to_string())?.success() {
        return Err("the test app failed".into());
    }
    let mut viewer = Viewer::start(x, dir.path(), &["--file", "run.log"], "e2e")?;
    viewer.xdotool(&["windowsize", &viewer.window.clone(), "800", "600"]);
    std::thread::sleep(Duration::from_millis(800));
    let shot = viewer.screenshot()?;
    let expected = reference(&log, dir.path(), "800x600")?;
    common::image::compare("resized_window", &expected, &shot, common::image::EXACT)?;
    viewer.quit()
}

fn demo_runs_live(x: &Xvfb) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut viewer = Viewer::start(x, dir.path(), &["--demo", "--demo-interval-ms", "50"], "demo")?;
    let first = viewer.screenshot()?;
    std::thread::sleep(Duration::from_millis(800));
    let second = viewer.screenshot()?;
    if first == second {
        return Err("the demo's plots did not move".into());
    }
    viewer.quit()
}

/// A test that drives a viewer on the shared X server.
type WindowTest = fn(&Xvfb) -> Result<(), String>;

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
