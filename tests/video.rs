//! Videos from logs, end to end with the real binaries and the system's
//! ffmpeg. Ignored where ffmpeg or a GPU adapter is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use streamvis_gpu::format::{FrameScanner, RecordBody, StreamEvent};
use streamvis_gpu::render::RgbaImage;

fn viewer(args: &[&str]) -> Output {
    Command::new(common::bin("streamvis-gpu"))
        .args(args)
        .output()
        .expect("the viewer runs")
}

fn ok(out: &Output) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("exit {}: {}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

fn test_app(log: &Path, steps: u32, interval_ms: u32) -> Result<(), String> {
    let status = Command::new(common::bin("streamvis-test-app"))
        .args([
            "file",
            "video",
            log.to_str().unwrap(),
            "--steps",
            &steps.to_string(),
            "--interval-ms",
            &interval_ms.to_string(),
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("the test app failed".into())
    }
}

/// Frames, width and height of a video, by ffprobe.
fn probe(video: &Path) -> Result<(u64, u32, u32), String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0"])
        .arg(video)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.trim().split(',').collect();
    match fields[..] {
        [w, h, n] => Ok((
            n.parse().map_err(|_| text.to_string())?,
            w.parse().unwrap_or(0),
            h.parse().unwrap_or(0),
        )),
        _ => Err(format!(
            "ffprobe said {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The log's bytes up to the end of step marker `step`.
fn cut_after_step(log: &Path, step: u64) -> Vec<u8> {
    let bytes = Bytes::from(std::fs::read(log).unwrap());
    let mut scanner = FrameScanner::for_file();
    let mut markers = 0;
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        if let StreamEvent::Record { record, .. } = event
            && matches!(record.body, RecordBody::Step(_))
        {
            if markers == step {
                return bytes[..scanner.position() as usize].to_vec();
            }
            markers += 1;
        }
    }
    panic!("the log has no step {step}");
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn thirty_steps_thirty_frames() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 30, 0)?;
    let video = dir.path().join("run.mp4");
    ok(&viewer(&[
        "--file",
        log.to_str().unwrap(),
        "--record",
        video.to_str().unwrap(),
        "--size",
        "640x360",
    ]))?;
    let (frames, w, h) = probe(&video)?;
    if (frames, w, h) != (30, 640, 360) {
        return Err(format!(
            "expected 30 frames of 640x360, ffprobe counts {frames} of {w}x{h}"
        ));
    }
    Ok(())
}

/// Frame k of a video, `--at-step k --screenshot` and `--screenshot` of the
/// log cut after step k are the same pixels.
fn frame_k_is_the_screenshot_after_step_k() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 30, 0)?;
    let frames = dir.path().join("frames");
    ok(&viewer(&[
        "--file",
        log.to_str().unwrap(),
        "--record",
        &format!("{}/", frames.display()),
        "--size",
        "480x320",
    ]))?;
    let files = pngs(&frames);
    if files.len() != 30 {
        return Err(format!("expected 30 PNG frames, got {}", files.len()));
    }
    for k in [0u64, 10, 29] {
        let cut = dir.path().join(format!("cut{k}.log"));
        std::fs::write(&cut, cut_after_step(&log, k)).unwrap();
        let shot = dir.path().join(format!("cut{k}.png"));
        ok(&viewer(&[
            "--file",
            cut.to_str().unwrap(),
            "--screenshot",
            shot.to_str().unwrap(),
            "--size",
            "480x320",
        ]))?;
        let expected = RgbaImage::load_png(&shot).map_err(|e| e.to_string())?;
        let frame = RgbaImage::load_png(&files[k as usize]).map_err(|e| e.to_string())?;
        common::image::compare(&format!("video_frame_{k}"), &expected, &frame, common::image::EXACT)?;
        // The same step of the whole log, by --at-step.
        let at = dir.path().join(format!("at{k}.png"));
        ok(&viewer(&[
            "--file",
            log.to_str().unwrap(),
            "--at-step",
            &k.to_string(),
            "--screenshot",
            at.to_str().unwrap(),
            "--size",
            "480x320",
        ]))?;
        let at = RgbaImage::load_png(&at).map_err(|e| e.to_string())?;
        common::image::compare(&format!("at_step_{k}"), &expected, &at, common::image::EXACT)?;
    }
    // With log axes and smoothing, frames and screenshots read the flags
    // alike.
    let reading = ["--log-y", "all", "--log-x", "top_right", "--smooth", "0.6"];
    let framed = dir.path().join("framed");
    let record = format!("{}/", framed.display());
    let args = [
        "--file",
        log.to_str().unwrap(),
        "--record",
        &record,
        "--size",
        "480x320",
    ];
    ok(&viewer(&[&args[..], &reading[..]].concat()))?;
    let files = pngs(&framed);
    for k in [10u64, 29] {
        let at = dir.path().join(format!("read{k}.png"));
        let step = k.to_string();
        let args = [
            "--file",
            log.to_str().unwrap(),
            "--at-step",
            &step,
            "--screenshot",
            at.to_str().unwrap(),
            "--size",
            "480x320",
        ];
        ok(&viewer(&[&args[..], &reading[..]].concat()))?;
        let at = RgbaImage::load_png(&at).map_err(|e| e.to_string())?;
        let frame = RgbaImage::load_png(&files[k as usize]).map_err(|e| e.to_string())?;
        common::image::compare(&format!("read_frame_{k}"), &at, &frame, common::image::EXACT)?;
        if at == RgbaImage::load_png(&dir.path().join(format!("at{k}.png"))).map_err(|e| e.to_string())? {
            return Err(format!("step {k} looks the same on log axes as on linear ones"));
        }
    }
    Ok(())
}

fn two_runs_give_identical_frames() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 12, 0)?;
    let pattern = |run: &str| dir.path().join(run).join("f%04d.png").to_string_lossy().into_owned();
    for run in ["a", "b"] {
        ok(&viewer(&[
            "--file",
            log.to_str().unwrap(),
            "--record",
            &pattern(run),
            "--size",
            "320x240",
        ]))?;
    }
    let (a, b) = (pngs(&dir.path().join("a")), pngs(&dir.path().join("b")));
    if a.len() != 12 || b.len() != 12 {
        return Err(format!("expected 12 frames each, got {} and {}", a.len(), b.len()));
    }
    if a[3].file_name().unwrap() != "f0003.png" {
        return Err(format!("the pattern was not followed: {:?}", a[3]));
    }
    for (x, y) in a.iter().zip(&b) {
        if std::fs::read(x).unwrap() != std::fs::read(y).unwrap() {
            return Err(format!("{x:?} and {y:?} differ"));
        }
    }
    Ok(())
}

fn ctrl_c_leaves_a_playable_video() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let video = dir.path().join("live.mp4");
    let mut writer = Command::new(common::bin("streamvis-test-app"))
        .args([
            "file",
            "live",
            log.to_str().unwrap(),
            "--steps",
            "400",
            "--interval-ms",
            "50",
        ])
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut recorder = Command::new(common::bin("streamvis-gpu"))
        .args([
            "--file",
            log.to_str().unwrap(),
            "--record",
            video.to_str().unwrap(),
            "--follow",
            "--size",
            "320x240",
        ])
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(4));
    // SAFETY: kill only sends a signal to our own child.
    unsafe { libc_kill(recorder.id() as i32, 2) };
    let status = recorder.wait().map_err(|e| e.to_string())?;
    let _ = writer.kill();
    let _ = writer.wait();
    if !status.success() {
        return Err(format!("the recorder exited with {status} on Ctrl-C"));
    }
    let (frames, w, h) = probe(&video)?;
    if frames < 5 || (w, h) != (320, 240) {
        return Err(format!("the interrupted video has {frames} frames of {w}x{h}"));
    }
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&video)
        .args(["-f", "null", "-"])
        .output()
        .map_err(|e| e.to_string())?;
    if !decode.status.success() || !decode.stderr.is_empty() {
        return Err(format!(
            "the video does not decode cleanly: {}",
            String::from_utf8_lossy(&decode.stderr)
        ));
    }
    Ok(())
}

/// A log of `steps` steps, each replacing a 50,000-point cloud: long
/// enough (many frames, each read back and encoded) that the file can be
/// truncated in the middle of a replay, even on a fast GPU.
fn heavy_log(log: &Path, steps: usize) {
    let mut logger = streamvis_gpu::DataLogger::new("heavy");
    logger.init_write_log(log).unwrap();
    logger
        .set_layout([("cloud", streamvis_gpu::GridCell::new(0, 0, 1, 1))])
        .unwrap();
    let mut rng = fastrand::Rng::with_seed(3);
    for _ in 0..steps {
        let points: Vec<f32> = (0..100_000).map(|_| rng.f32()).collect();
        logger
            .scatter(
                "cloud",
                streamvis_gpu::TensorView::new(&[50_000, 2], &points),
                1,
                false,
                None,
                None,
            )
            .unwrap();
        logger.end_step().unwrap();
    }
}

/// `truncate -s 100` of the log while each output reads or draws it: the
/// process ends normally (no SIGBUS), and the readers that were still
/// reading say that they start over.
fn truncation_mid_read_never_crashes() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.log");
    heavy_log(&source, 200);
    let log = dir.path().join("run.log");
    let log_arg = log.to_str().unwrap();
    let frames = dir.path().join("frames");
    let shot = dir.path().join("shot.png");
    // What to wait for before truncating: a stderr line, or a frame file.
    enum Cue<'a> {
        Line(&'a str),
        File(PathBuf),
    }
    let cases = [
        (
            "replay",
            vec!["--record", frames.to_str().unwrap(), "--size", "160x120"],
            Cue::File(frames.join("00003.png")),
            true,
        ),
        (
            "live recording",
            vec!["--record", frames.to_str().unwrap(), "--follow", "--size", "160x120"],
            Cue::Line("caught up at"),
            true,
        ),
        (
            "screenshot",
            vec!["--screenshot", shot.to_str().unwrap()],
            Cue::Line("GPU adapter"),
            false,
        ),
    ];
    for (what, args, cue, restarts) in cases {
        std::fs::copy(&source, &log).unwrap();
        let _ = std::fs::remove_dir_all(&frames);
        let mut all = vec!["--file", log_arg];
        all.extend(args);
        let mut viewer = common::Viewer::start(&all);
        match cue {
            Cue::Line(text) => viewer.wait_for(text),
            Cue::File(path) => {
                let deadline = std::time::Instant::now() + Duration::from_secs(120);
                while !path.exists() {
                    if std::time::Instant::now() > deadline {
                        return Err(format!("{what}: no {path:?}"));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        common::truncate(&log, 100);
        if what == "live recording" {
            // Following without end: Ctrl-C once the truncation is noticed.
            viewer.wait_for("starting over");
            viewer.interrupt();
        }
        let (status, stderr) = viewer.finish();
        if !status.success() {
            return Err(format!("{what}: exit {status:?} after truncation\n{stderr}"));
        }
        if restarts && !stderr.contains("starting over") {
            return Err(format!("{what}: the truncation was not noticed\n{stderr}"));
        }
    }
    if !shot.exists() {
        return Err("the screenshot was not written".into());
    }
    Ok(())
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

fn a_range_of_steps_and_wall_clock_pacing() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 10, 50)?;
    let range = dir.path().join("range");
    ok(&viewer(&[
        "--file",
        log.to_str().unwrap(),
        "--record",
        &format!("{}/", range.display()),
        "--size",
        "160x120",
        "--steps",
        "5..7",
    ]))?;
    if pngs(&range).len() != 3 {
        return Err(format!("--steps 5..7 gave {} frames", pngs(&range).len()));
    }
    // Ten steps 50 ms apart span ~0.45 s; at half speed and 20 fps that is
    // about 18 frames of video, steps held between their times.
    let paced = dir.path().join("paced");
    ok(&viewer(&[
        "--file",
        log.to_str().unwrap(),
        "--record",
        &format!("{}/", paced.display()),
        "--size",
        "160x120",
        "--fps",
        "20",
        "--speed",
        "0.5",
    ]))?;
    let n = pngs(&paced).len();
    if !(15..=24).contains(&n) {
        return Err(format!("pacing by wall time gave {n} frames, expected about 19"));
    }
    Ok(())
}

fn without_ffmpeg_the_error_says_so() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    test_app(&log, 2, 0)?;
    let out = Command::new(common::bin("streamvis-gpu"))
        .args([
            "--file",
            log.to_str().unwrap(),
            "--record",
            dir.path().join("x.mp4").to_str().unwrap(),
        ])
        .env("PATH", dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains("ffmpeg is not installed") || !stderr.contains("PNG frames") {
        return Err(format!("expected a missing-ffmpeg error, got {}: {stderr}", out.status));
    }
    Ok(())
}

/// A video test.
type VideoTest = fn() -> Result<(), String>;

/// `--at-step k --screenshot` of a log without markers (a replaced cloud,
/// an appended one, tandem lines and a clear after step 4) is the
/// `--screenshot` of the log cut after step k, by plot repeats and by
/// `--step-plot`.
fn at_step_screenshots_without_markers() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("unmarked.log");
    common::unmarked_log(&log);
    let bytes = std::fs::read(&log).unwrap();
    let shot = |log: &Path, name: &str, extra: &[&str]| -> Result<RgbaImage, String> {
        let out = dir.path().join(format!("{name}.png"));
        let mut args = vec![
            "--file",
            log.to_str().unwrap(),
            "--screenshot",
            out.to_str().unwrap(),
            "--size",
            "480x320",
        ];
        args.extend(extra);
        ok(&viewer(&args))?;
        RgbaImage::load_png(&out).map_err(|e| e.to_string())
    };
    for (rule, extra, steps) in [
        ("repeats", &[][..], &[0u64, 4, 5, 9][..]),
        ("cloud", &["--step-plot", "cloud"][..], &[2, 7][..]),
    ] {
        let ends = common::step_ends(&log, rule);
        let mut previous: Option<RgbaImage> = None;
        for &k in steps {
            let cut = dir.path().join(format!("{rule}{k}.log"));
            std::fs::write(&cut, &bytes[..ends[k as usize] as usize]).unwrap();
            let expected = shot(&cut, &format!("{rule}{k}-cut"), &[])?;
            let mut args = vec!["--at-step".to_owned(), k.to_string()];
            args.extend(extra.iter().map(|a| a.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let at = shot(&log, &format!("{rule}{k}-at"), &args)?;
            common::image::compare(
                &format!("unmarked_{rule}_step_{k}"),
                &expected,
                &at,
                common::image::EXACT,
            )?;
            if previous.as_ref() == Some(&at) {
                return Err(format!("{rule}: step {k} looks like the step before it"));
            }
            previous = Some(at);
        }
    }
    Ok(())
}

/// Several logs replay into one frame per step of the longest run, every
/// run at its own step of that number: frame k is `--at-step k
/// --screenshot` of the same logs.
fn several_logs_replay_aligned_by_step_number() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    common::test_app_log(&a, "A", 8);
    common::test_app_log(&b, "B", 5);
    let frames = dir.path().join("frames");
    let logs = ["--file", a.to_str().unwrap(), "--file", b.to_str().unwrap()];
    let mut args = logs.to_vec();
    let target = format!("{}/", frames.display());
    args.extend(["--record", &target, "--size", "480x320"]);
    ok(&viewer(&args))?;
    let files = pngs(&frames);
    if files.len() != 8 {
        return Err(format!(
            "expected 8 frames (the longest run's steps), got {}",
            files.len()
        ));
    }
    // Recorded while following (the logs are whole already: idle stops it),
    // the same frames.
    let live = dir.path().join("live");
    let mut args = logs.to_vec();
    let live_target = format!("{}/", live.display());
    args.extend([
        "--record",
        &live_target,
        "--size",
        "480x320",
        "--follow",
        "--stop-after-idle",
        "1",
    ]);
    ok(&viewer(&args))?;
    let live_files = pngs(&live);
    if live_files.len() != files.len() {
        return Err(format!(
            "following recorded {} frames, the replay {}",
            live_files.len(),
            files.len()
        ));
    }
    for (replayed, followed) in files.iter().zip(&live_files) {
        let a = RgbaImage::load_png(replayed).map_err(|e| e.to_string())?;
        let b = RgbaImage::load_png(followed).map_err(|e| e.to_string())?;
        common::image::compare("runs_followed_frame", &a, &b, common::image::EXACT)?;
    }
    for k in [0usize, 4, 7] {
        let shot = dir.path().join(format!("at{k}.png"));
        let mut args = logs.to_vec();
        let k_text = k.to_string();
        args.extend([
            "--at-step",
            &k_text,
            "--screenshot",
            shot.to_str().unwrap(),
            "--size",
            "480x320",
        ]);
        ok(&viewer(&args))?;
        let expected = RgbaImage::load_png(&shot).map_err(|e| e.to_string())?;
        let frame = RgbaImage::load_png(&files[k]).map_err(|e| e.to_string())?;
        common::image::compare(&format!("runs_frame_{k}"), &expected, &frame, common::image::EXACT)?;
    }
    Ok(())
}

fn main() {
    streamvis_gpu::render::ensure_runtime_dir();
    let args = libtest_mimic::Arguments::from_args();
    let ffmpeg = ["ffmpeg", "ffprobe"].into_iter().all(|t| {
        Command::new(t)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let adapter = streamvis_gpu::render::GpuContext::headless().err();
    let skip = match (ffmpeg, adapter) {
        (false, _) => Some("ffmpeg is not installed".to_owned()),
        (true, Some(err)) => Some(err.to_string()),
        (true, None) => None,
    };
    if let Some(why) = &skip {
        eprintln!("video tests ignored: {why}");
    }
    let tests: Vec<(&str, VideoTest)> = vec![
        ("thirty_steps_thirty_frames", thirty_steps_thirty_frames),
        (
            "frame_k_is_the_screenshot_after_step_k",
            frame_k_is_the_screenshot_after_step_k,
        ),
        ("two_runs_give_identical_frames", two_runs_give_identical_frames),
        (
            "at_step_screenshots_without_markers",
            at_step_screenshots_without_markers,
        ),
        (
            "several_logs_replay_aligned_by_step_number",
            several_logs_replay_aligned_by_step_number,
        ),
        ("ctrl_c_leaves_a_playable_video", ctrl_c_leaves_a_playable_video),
        (
            "a_range_of_steps_and_wall_clock_pacing",
            a_range_of_steps_and_wall_clock_pacing,
        ),
        ("without_ffmpeg_the_error_says_so", without_ffmpeg_the_error_says_so),
        ("truncation_mid_read_never_crashes", truncation_mid_read_never_crashes),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            libtest_mimic::Trial::test(name, move || test().map_err(Into::into)).with_ignored_flag(skip.is_some())
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
