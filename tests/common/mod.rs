//! Helpers shared by the integration tests: parity scenarios and export
//! comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod calls;

use serde_json::Value;
use streamvis_gpu::DataLogger;

/// The parity directory: `$STREAMVIS_PARITY_DIR`, or the repository's copy.
pub fn parity_dir() -> PathBuf {
    std::env::var_os("STREAMVIS_PARITY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity"))
}

/// Every `*.json` scenario in the parity directory, sorted by name.
pub fn parity_files() -> Vec<PathBuf> {
    let dir = parity_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading parity dir {dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no parity scenarios in {dir:?}");
    files
}

pub fn load_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path:?}: {e}"))
}

/// Largest magnitude among the numbers in a column (nested lists flattened).
fn max_magnitude(v: &Value) -> f64 {
    match v {
        Value::Array(items) => items.iter().map(max_magnitude).fold(0.0, f64::max),
        Value::Number(n) => n.as_f64().unwrap().abs(),
        _ => 0.0,
    }
}

fn compare_values(path: &str, expected: &Value, actual: &Value, tol: f64, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!("{path}: expected {} entries, got {}", e.len(), a.len()));
                return;
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                compare_values(&format!("{path}[{i}]"), e, a, tol, errors);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            if (e - a).abs() > tol {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        // NaN is written as null.
        (Value::Null, Value::Null) => {}
        (e, a) => errors.push(format!("{path}: expected {e}, got {a}")),
    }
}

/// Compares an export with a parity `expected`: the same plots, kinds,
/// palettes and layouts, and every column within 1e-4 of its largest value.
pub fn compare_exports(expected: &Value, actual: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let (e, a) = (expected.as_object().unwrap(), actual.as_object().unwrap());
    let mut e_names: Vec<&String> = e.keys().collect();
    let mut a_names: Vec<&String> = a.keys().collect();
    e_names.sort();
    a_names.sort();
    if e_names != a_names {
        errors.push(format!("plots: expected {e_names:?}, got {a_names:?}"));
        return errors;
    }
    for (name, ep) in e {
        let ap = &a[name];
        for key in ["kind", "palette", "layout"] {
            if ep[key] != ap[key] {
                errors.push(format!("{name}.{key}: expected {}, got {}", ep[key], ap[key]));
            }
        }
        let (ec, ac) = (ep["columns"].as_object().unwrap(), ap["columns"].as_object().unwrap());
        let mut ek: Vec<&String> = ec.keys().collect();
        let mut ak: Vec<&String> = ac.keys().collect();
        ek.sort();
        ak.sort();
        if ek != ak {
            errors.push(format!("{name}.columns: expected {ek:?}, got {ak:?}"));
            continue;
        }
        for (col, ev) in ec {
            let tol = 1e-4 * max_magnitude(ev).max(1e-30);
            compare_values(&format!("{name}.{col}"), ev, &ac[col], tol, &mut errors);
        }
    }
    errors
}

/// Path of a built binary of this package.
pub fn bin(name: &str) -> PathBuf {
    match name {
        "streamvis-gpu" => PathBuf::from(env!("CARGO_BIN_EXE_streamvis-gpu")),
        "streamvis-test-app" => PathBuf::from(env!("CARGO_BIN_EXE_streamvis-test-app")),
        other => panic!("unknown binary {other}"),
    }
}

/// Image comparison shared by every test that checks pixels.
#[cfg(feature = "viewer")]
pub mod image {
    use std::path::{Path, PathBuf};

    use streamvis_gpu::render::RgbaImage;

    /// How far an image may stray from its golden: at most `max_mean` mean
    /// absolute difference per channel, and at most `max_bad_fraction` of
    /// pixels differing by more than `bad_threshold` in any channel.
    #[derive(Clone, Copy, Debug)]
    pub struct Tolerance {
        pub max_mean: f64,
        pub bad_threshold: u8,
        pub max_bad_fraction: f64,
    }

    /// The one tolerance for golden images: same adapter, same pixels, with
    /// room for a different LLVM build of the software rasteriser.
    pub const GOLDEN: Tolerance = Tolerance {
        max_mean: 0.5,
        bad_threshold: 48,
        max_bad_fraction: 0.002,
    };

    /// Exact equality, for determinism checks.
    pub const EXACT: Tolerance = Tolerance {
        max_mean: 0.0,
        bad_threshold: 0,
        max_bad_fraction: 0.0,
    };

    /// Differences between two images, and an image showing them.
    pub struct Diff {
        pub mean: f64,
        pub bad_fraction: f64,
        pub image: RgbaImage,
    }

    pub fn diff(expected: &RgbaImage, actual: &RgbaImage, threshold: u8) -> Diff {
        assert_eq!(
            (expected.width, expected.height),
            (actual.width, actual.height),
            "image sizes differ"
        );
        let mut sum = 0u64;
        let mut bad = 0usize;
        let mut pixels = Vec::with_capacity(actual.pixels.len());
        for (e, a) in expected.pixels.chunks_exact(4).zip(actual.pixels.chunks_exact(4)) {
            let d = (0..4).map(|i| e[i].abs_diff(a[i])).max().unwrap();
            sum += (0..4).map(|i| e[i].abs_diff(a[i]) as u64).sum::<u64>();
            if d > threshold {
                bad += 1;
            }
            // Differences in red on a faded copy of the expected image.
            let faded = |c: u8| 200 + c / 5;
            pixels.extend_from_slice(&if d > 0 {
                [255, 255 - d, 255 - d, 255]
            } else {
                [faded(e[0]), faded(e[1]), faded(e[2]), 255]
            });
        }
        let n = (actual.width * actual.height) as usize;
        Diff {
            mean: sum as f64 / (n * 4) as f64,
            bad_fraction: bad as f64 / n as f64,
            image: RgbaImage {
                width: actual.width,
                height: actual.height,
                pixels,
            },
        }
    }

    /// Where failing comparisons leave their actual and diff images.
    pub fn failure_dir() -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-failures")
    }

    /// Compares `actual` with the golden PNG `name` in tests/golden. With
    /// `STREAMVIS_UPDATE_GOLDEN=1` the golden is (re)written instead; a
    /// missing golden fails.
    pub fn check_golden(name: &str, actual: &RgbaImage) -> Result<(), String> {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{name}.png"));
        if std::env::var_os("STREAMVIS_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            actual.save_png(&golden).map_err(|e| e.to_string())?;
            return Ok(());
        }
        let expected = RgbaImage::load_png(&golden).map_err(|e| {
            format!("no golden image {golden:?} ({e}); run with STREAMVIS_UPDATE_GOLDEN=1 to create it")
        })?;
        compare(name, &expected, actual, GOLDEN)
    }

    /// Compares two images; on failure writes `NAME.actual.png` and
    /// `NAME.diff.png` to [`failure_dir`].
    pub fn compare(name: &str, expected: &RgbaImage, actual: &RgbaImage, tolerance: Tolerance) -> Result<(), String> {
        if (expected.width, expected.height) != (actual.width, actual.height) {
            return Err(format!(
                "{name}: size {}x{} differs from the expected {}x{}",
                actual.width, actual.height, expected.width, expected.height
            ));
        }
        let d = diff(expected, actual, tolerance.bad_threshold);
        if d.mean <= tolerance.max_mean && d.bad_fraction <= tolerance.max_bad_fraction {
            return Ok(());
        }
        let dir = failure_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let actual_path = dir.join(format!("{name}.actual.png"));
        let diff_path = dir.join(format!("{name}.diff.png"));
        actual.save_png(&actual_path).unwrap();
        d.image.save_png(&diff_path).unwrap();
        Err(format!(
            "{name}: mean difference {:.3} (max {}), {:.3}% pixels off by more than {} (max {:.3}%); see {actual_path:?} and {diff_path:?}",
            d.mean,
            tolerance.max_mean,
            d.bad_fraction * 100.0,
            tolerance.bad_threshold,
            tolerance.max_bad_fraction * 100.0
        ))
    }
}

/// Builds a store by logging through a real DataLogger into a temporary log
/// and reading it back through the file tail.
pub fn store_from_log(log: impl FnOnce(&mut DataLogger)) -> streamvis_gpu::store::Store {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scene.log");
    let mut logger = DataLogger::new("scene");
    logger.init_write_log(&path).unwrap();
    log(&mut logger);
    drop(logger);
    let mut tail = streamvis_gpu::source::FileTail::open(&path, false).unwrap();
    let mut store = streamvis_gpu::store::Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
    store
}

/// What a test logs through a DataLogger.
pub type LogFn = Box<dyn FnOnce(&mut DataLogger)>;

/// Runs read from logs written through a DataLogger, one per entry: the
/// logger's run name and what it logs. Logs are named `run0.log`, ...
pub fn runs_from_logs(logs: Vec<(&str, LogFn)>) -> streamvis_gpu::store::Runs {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, (run, log)) in logs.into_iter().enumerate() {
        let path = dir.path().join(format!("run{i}.log"));
        let mut logger = DataLogger::new(run);
        logger.init_write_log(&path).unwrap();
        log(&mut logger);
        drop(logger);
        paths.push(path);
    }
    runs_from_paths(&paths)
}

/// The runs of logs read together, as `--file` given for each reads them.
pub fn runs_from_paths(paths: &[PathBuf]) -> streamvis_gpu::store::Runs {
    let set = streamvis_gpu::source::LogSet::open(paths, false).unwrap();
    let mut reader = streamvis_gpu::source::Reader::new(Box::new(set), streamvis_gpu::source::Follow::No);
    let mut runs = streamvis_gpu::store::Runs::new(None);
    reader.read_into_runs(&mut runs).unwrap();
    runs
}

/// Writes `steps` steps of the test app under run name `run` to the log at
/// `path`, without waiting between steps.
pub fn test_app_log(path: &Path, run: &str, steps: u32) {
    let status = std::process::Command::new(bin("streamvis-test-app"))
        .args([
            "file",
            run,
            path.to_str().unwrap(),
            "--steps",
            &steps.to_string(),
            "--interval-ms",
            "0",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "the test app failed");
}

/// Every record of the log at `path`, in order.
pub fn records_of(path: &Path) -> Vec<streamvis_gpu::format::Record> {
    use streamvis_gpu::format::{FrameScanner, StreamEvent};
    let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
    let mut scanner = FrameScanner::for_file();
    let mut records = Vec::new();
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        match event {
            StreamEvent::Record { record, .. } => records.push(record),
            other => panic!("damaged test log: {other:?}"),
        }
    }
    records
}

/// A test that draws with the shared renderer.
#[cfg(feature = "viewer")]
pub type GpuTest = Box<dyn FnOnce(&mut streamvis_gpu::render::HeadlessRenderer) -> Result<(), String> + Send>;

/// A plain GPU test function.
#[cfg(feature = "viewer")]
pub type GpuFn = fn(&mut streamvis_gpu::render::HeadlessRenderer) -> Result<(), String>;

/// Runs named GPU test functions (see [`run_gpu_tests`]).
#[cfg(feature = "viewer")]
pub fn run_gpu_fns(tests: Vec<(&str, GpuFn)>) -> ! {
    run_gpu_tests(
        tests
            .into_iter()
            .map(|(name, test)| (name.to_owned(), Box::new(test) as GpuTest))
            .collect(),
    )
}

/// Runs GPU tests with one shared headless renderer; where no adapter
/// exists they are reported as ignored, never as passed.
#[cfg(feature = "viewer")]
pub fn run_gpu_tests(tests: Vec<(String, GpuTest)>) -> ! {
    use std::sync::{Arc, Mutex};
    streamvis_gpu::render::ensure_runtime_dir();
    let args = libtest_mimic::Arguments::from_args();
    let renderer = match streamvis_gpu::render::HeadlessRenderer::new() {
        Ok(r) => Some(Arc::new(Mutex::new(r))),
        Err(err) => {
            eprintln!("GPU tests ignored: {err}");
            None
        }
    };
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let renderer = renderer.clone();
            let ignored = renderer.is_none();
            libtest_mimic::Trial::test(name, move || {
                let renderer = renderer.expect("ignored without an adapter");
                let mut renderer = renderer.lock().unwrap_or_else(|p| p.into_inner());
                test(&mut renderer).map_err(Into::into)
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// `truncate -s LEN path`: shrinks (or grows) a file in place, as a user
/// might while the viewer reads it.
pub fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(len))
        .unwrap_or_else(|err| panic!("truncating {path:?}: {err}"));
}

/// Generous: the machine may be busy.
#[cfg(feature = "viewer")]
const VIEWER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// The viewer with `args`, its stderr collected line by line.
#[cfg(feature = "viewer")]
pub struct Viewer {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

#[cfg(feature = "viewer")]
impl Viewer {
    pub fn start(args: &[&str]) -> Viewer {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(bin("streamvis-gpu"))
            .args(args)
            .env("RUST_LOG", "streamvis_gpu=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Viewer {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`.
    pub fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + VIEWER_DEADLINE;
        if self.seen.iter().any(|l| l.contains(text)) {
            return;
        }
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {text:?}; stderr:\n{}", self.seen.join("\n"));
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
    }

    /// Waits for the exit; returns the status and all of stderr.
    pub fn finish(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + VIEWER_DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the viewer did not exit; stderr:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(std::time::Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

/// The byte offset where each step ends, by the rule the test names: after
/// each marker; before a record for a plot already updated in the step
/// (and the log's end, if data follows the last boundary); after each
/// update of one plot.
pub fn step_ends(log: &Path, rule: &str) -> Vec<u64> {
    let bytes = bytes::Bytes::from(std::fs::read(log).unwrap());
    let mut scanner = streamvis_gpu::format::FrameScanner::for_file();
    let mut ends = Vec::new();
    let mut updated: Vec<String> = Vec::new();
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        let streamvis_gpu::format::StreamEvent::Record { offset, record } = event else {
            panic!("damaged test log")
        };
        let end = scanner.position();
        match (rule, &record.body) {
            ("markers", streamvis_gpu::format::RecordBody::Step(_)) => ends.push(end),
            ("repeats", body) => {
                if let Some(plot) = body.plot_name() {
                    if updated.iter().any(|p| p == plot) {
                        ends.push(offset);
                        updated.clear();
                    }
                    updated.push(plot.to_owned());
                }
            }
            (plot, body) if body.plot_name() == Some(plot) => ends.push(end),
            _ => {}
        }
    }
    if rule == "repeats" && !updated.is_empty() {
        ends.push(bytes.len() as u64);
    }
    ends
}

/// Without markers: a replaced cloud, an appended one and a tandem loss
/// each step, and a clear (with a new layout) after step 4.
pub fn unmarked_log(path: &Path) {
    let mut logger = streamvis_gpu::DataLogger::new("unmarked");
    logger.init_write_log(path).unwrap();
    let layout = [
        ("loss", streamvis_gpu::GridCell::new(0, 0, 1, 1)),
        ("cloud", streamvis_gpu::GridCell::new(0, 1, 1, 1)),
        ("trail", streamvis_gpu::GridCell::new(1, 0, 1, 2)),
    ];
    logger.set_layout(layout).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    for step in 0..10 {
        if step == 5 {
            logger.clear().unwrap();
            logger.set_layout(layout).unwrap();
        }
        logger
            .tandem_lines("loss", step as f64, &[1.0 / (1.0 + step as f32), rng.f32()], None, None)
            .unwrap();
        let cloud: Vec<f32> = (0..200).map(|_| rng.f32()).collect();
        logger
            .scatter(
                "cloud",
                streamvis_gpu::TensorView::new(&[100, 2], &cloud),
                1,
                false,
                None,
                None,
            )
            .unwrap();
        let trail: Vec<f32> = (0..20).map(|_| rng.f32() + step as f32).collect();
        logger
            .scatter(
                "trail",
                streamvis_gpu::TensorView::new(&[10, 2], &trail),
                1,
                true,
                None,
                None,
            )
            .unwrap();
    }
}
