//! Moving on the timeline: with one renderer at 1280x720, the time to draw
//! another step of a long log (a plain frame of the last step, one and 100
//! steps back, the end to step 0 and back), what each move uploads, and how
//! much memory the step index and the history bookkeeping take.
//!
//! The log is `$STREAMVIS_TIMELINE_LOG`, or
//! `target/bench-data/timeline-{STEPS}.log`, written by
//! `scripts/timeline_log.py` if missing: every step the seed example's four
//! plots, 10,000 points appended to a scatter and a tandem line plot.
//! `STEPS` is `$STREAMVIS_TIMELINE_STEPS`, 10,000 by default (1e8 appended
//! points, a log of about 930 MiB); under `cargo test --benches`, 20.
//!
//! A frame of 1e8 points takes half a minute on a software adapter, so every
//! sample is one move and there are `$STREAMVIS_TIMELINE_SAMPLES` of them
//! (10 by default). Criterion needs at least 10; below that the moves are
//! timed without it. Either way the bench prints each move's median and
//! worst time and its upload.
//!
//! ```bash
//! cargo bench --bench timeline
//! STREAMVIS_TIMELINE_STEPS=1000 cargo bench --bench timeline
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use streamvis_gpu::format::{GridCell, Record, RecordBody, RecordMeta, TandemCall, Tensor};
use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::source::FileTail;
use streamvis_gpu::store::Store;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
/// Steps of the generated log when benchmarking.
const DEFAULT_STEPS: u64 = 10_000;
/// Steps of the generated log under `cargo test --benches`, which runs each
/// benchmark once to see that it works.
const TEST_STEPS: u64 = 20;
/// Criterion's smallest sample size.
const CRITERION_MIN_SAMPLES: usize = 10;

/// Whether criterion measures (`cargo bench`) rather than tries each
/// benchmark once (`cargo test --benches`, `cargo bench -- --test`).
fn measuring() -> bool {
    let mut args = std::env::args();
    args.any(|arg| arg == "--bench") && !std::env::args().any(|arg| arg == "--test")
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// The log to read: `$STREAMVIS_TIMELINE_LOG`, or one generated under the
/// target directory.
fn log_path() -> PathBuf {
    if let Some(path) = std::env::var_os("STREAMVIS_TIMELINE_LOG") {
        return path.into();
    }
    let default_steps = if measuring() { DEFAULT_STEPS } else { TEST_STEPS };
    let steps = env_number("STREAMVIS_TIMELINE_STEPS", default_steps);
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, wherever the target dir is.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory");
    let path = target_dir.join("bench-data").join(format!("timeline-{steps}.log"));
    if !path.exists() {
        generate_log(&path, steps);
    }
    path
}

/// Writes a log of `steps` steps with `scripts/timeline_log.py`, to a
/// temporary name first so an interrupted run leaves no partial log behind.
fn generate_log(path: &Path, steps: u64) {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("creating bench-data");
    let partial = path.with_extension("log.partial");
    let _ = std::fs::remove_file(&partial);
    println!("writing {steps} steps to {}", path.display());
    let start = Instant::now();
    let status = Command::new("python3")
        .arg(manifest_dir.join("scripts/timeline_log.py"))
        .arg(&partial)
        .arg(steps.to_string())
        .env("PYTHONPATH", manifest_dir.join("python"))
        .status()
        .expect("running python3 scripts/timeline_log.py");
    assert!(status.success(), "scripts/timeline_log.py failed: {status}");
    std::fs::rename(&partial, path).expect("renaming the written log");
    println!("  written in {:.1} s", start.elapsed().as_secs_f64());
}

/// Anonymous resident memory of this process (the heap, not the log's
/// map), from /proc/self/status; 0 where there is none.
fn heap_resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// Prints the step index and history bookkeeping of `store`.
fn print_memory(store: &Store) {
    let steps = store.steps();
    let index = store.timeline().memory_bytes();
    let history = store.history_bytes();
    let per_step = |bytes: usize| bytes as f64 / steps.max(1) as f64;
    println!(
        "  step index:   {index} bytes ({:.2} MiB, {:.1} bytes/step)",
        mib(index),
        per_step(index)
    );
    println!(
        "  history:      {history} bytes ({:.2} MiB, {:.1} bytes/step; includes the step index)",
        mib(history),
        per_step(history)
    );
}

/// A record of the synthetic logs.
fn record(seq: u64, body: RecordBody) -> Record {
    Record {
        meta: RecordMeta {
            session_id: 1,
            seq,
            wall_time_ns: seq as i64 * 1_000_000,
            run_name: "timeline".into(),
        },
        body,
    }
}

/// Step index and history memory of logs of 1e4 and 1e6 steps, each one
/// tandem_lines record (two lines) and a step marker; printed, not timed.
fn index_memory(_: &mut Criterion) {
    let sizes: &[u64] = if measuring() { &[10_000, 1_000_000] } else { &[100] };
    for &steps in sizes {
        let heap_before = heap_resident_bytes();
        let mut store = Store::new();
        let layout = vec![("loss".to_owned(), GridCell::new(0, 0, 1, 1))];
        store.apply(&record(0, RecordBody::Layout(layout))).unwrap();
        let start = Instant::now();
        for step in 0..steps {
            let loss = 1.0 / (step + 1) as f32;
            let ys = Tensor::from_values(vec![2], &[loss, loss * 1.1]);
            let call = TandemCall {
                plot: "loss".into(),
                palette: None,
                x: step as f64,
                ys,
            };
            store
                .apply(&record(2 * step + 1, RecordBody::TandemLines(call)))
                .unwrap();
            store.apply(&record(2 * step + 2, RecordBody::Step(step))).unwrap();
        }
        assert_eq!(store.steps(), steps);
        println!(
            "synthetic log of {steps} steps (a 2-line tandem_lines record and a marker each), applied in {:.2} s:",
            start.elapsed().as_secs_f64()
        );
        print_memory(&store);
        println!(
            "  heap:         {:.1} MiB more resident (RssAnon; the store's every allocation)",
            mib(heap_resident_bytes().saturating_sub(heap_before))
        );
    }
}

/// A move on the timeline: draw `from` (untimed, unless `None`: the renderer
/// already shows `to`), then time drawing `to`.
#[derive(Clone, Copy, Debug)]
struct Move {
    name: &'static str,
    from: Option<u64>,
    to: u64,
}

/// One timed move.
#[derive(Clone, Copy, Debug)]
struct Sample {
    elapsed: Duration,
    uploaded_bytes: u64,
}

/// Draws the state after step `k`; finding the step is part of the move.
fn draw_step(renderer: &mut HeadlessRenderer, store: &Store, k: u64) -> u64 {
    let snapshot = store.at_step(k).expect("a step of the log");
    renderer
        .draw(&snapshot, &HashMap::new(), WIDTH, HEIGHT, &Default::default())
        .expect("a frame");
    renderer.last_sync().uploaded_bytes
}

fn time_move(renderer: &mut HeadlessRenderer, store: &Store, mv: Move) -> Sample {
    if let Some(from) = mv.from {
        draw_step(renderer, store, from);
    }
    let start = Instant::now();
    let uploaded_bytes = draw_step(renderer, store, mv.to);
    Sample {
        elapsed: start.elapsed(),
        uploaded_bytes,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_samples(mv: Move, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let mut times: Vec<Duration> = samples.iter().map(|s| s.elapsed).collect();
    times.sort();
    // The median of an even count: the mean of the middle two.
    let mid = times.len() / 2;
    let median = if times.len().is_multiple_of(2) {
        (times[mid - 1] + times[mid]) / 2
    } else {
        times[mid]
    };
    let worst = times[times.len() - 1];
    let uploaded_min = samples.iter().map(|s| s.uploaded_bytes).min().unwrap_or(0);
    let uploaded_max = samples.iter().map(|s| s.uploaded_bytes).max().unwrap_or(0);
    let uploaded = if uploaded_min == uploaded_max {
        format!("{uploaded_max} bytes")
    } else {
        format!("{uploaded_min}..{uploaded_max} bytes")
    };
    let from = mv.from.map_or_else(|| "(none)".to_owned(), |k| k.to_string());
    println!(
        "{:<10} step {from:>6} -> {:>6}: median {:>10.1} ms, worst {:>10.1} ms over {} samples; uploaded {uploaded}",
        mv.name,
        mv.to,
        ms(median),
        ms(worst),
        samples.len()
    );
}

fn moves(c: &mut Criterion) {
    streamvis_gpu::render::ensure_runtime_dir();
    let Ok(mut renderer) = HeadlessRenderer::new() else {
        eprintln!("no GPU adapter: timeline benchmarks skipped");
        return;
    };
    let path = log_path();
    let samples = env_number("STREAMVIS_TIMELINE_SAMPLES", CRITERION_MIN_SAMPLES as u64) as usize;
    assert!(samples > 0, "STREAMVIS_TIMELINE_SAMPLES must be at least 1");

    let heap_before = heap_resident_bytes();
    let start = Instant::now();
    let mut tail = FileTail::open(&path, false).expect("opening the log");
    let mut store = Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).expect("reading the log");
    let read = start.elapsed();
    let log_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("adapter: {}", renderer.ctx.adapter_summary());
    println!(
        "read {} ({:.1} MiB, {} records) in {:.2} s: {} steps",
        path.display(),
        mib(log_bytes as usize),
        store.records(),
        read.as_secs_f64(),
        store.steps()
    );
    print_memory(&store);
    println!(
        "  heap:         {:.1} MiB more resident after reading (RssAnon; the store's every allocation)",
        mib(heap_resident_bytes().saturating_sub(heap_before))
    );
    let steps = store.steps();
    assert!(steps > 0, "the log has no steps");
    let last = steps - 1;

    // The first frame uploads everything; the moves start from there.
    let start = Instant::now();
    let uploaded = draw_step(&mut renderer, &store, last);
    println!(
        "first frame of step {last} at {WIDTH}x{HEIGHT}: {:.1} ms, uploaded {uploaded} bytes, GPU holds {} bytes",
        ms(start.elapsed()),
        renderer.page().gpu_bytes()
    );

    let all = [
        Move {
            name: "frame",
            from: None,
            to: last,
        },
        Move {
            name: "back_1",
            from: Some(last),
            to: last.saturating_sub(1),
        },
        Move {
            name: "back_100",
            from: Some(last),
            to: last.saturating_sub(100),
        },
        Move {
            name: "end_to_0",
            from: Some(last),
            to: 0,
        },
        Move {
            name: "0_to_end",
            from: Some(0),
            to: last,
        },
    ];

    if samples < CRITERION_MIN_SAMPLES {
        println!("{samples} samples per move, timed without criterion (it needs {CRITERION_MIN_SAMPLES})");
        for mv in all {
            let taken: Vec<Sample> = (0..samples).map(|_| time_move(&mut renderer, &store, mv)).collect();
            print_samples(mv, &taken);
        }
        return;
    }

    let mut group = c.benchmark_group(format!("timeline_{steps}_steps_{WIDTH}x{HEIGHT}"));
    // One move per sample: the target time is far below one move, and warming
    // up is one move too (the first frame above already uploaded the log).
    group
        .sample_size(samples)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1));
    let mut report = Vec::new();
    for mv in all {
        // The samples of every call of the routine; criterion's last
        // `samples` calls are its measurement, those before its warm-up.
        let mut calls: Vec<Vec<Sample>> = Vec::new();
        group.bench_function(mv.name, |b| {
            b.iter_custom(|iters| {
                let taken: Vec<Sample> = (0..iters).map(|_| time_move(&mut renderer, &store, mv)).collect();
                let total = taken.iter().map(|s| s.elapsed).sum();
                calls.push(taken);
                total
            })
        });
        let measured: Vec<Sample> = calls[calls.len().saturating_sub(samples)..].concat();
        print_samples(mv, &measured);
        report.push((mv, measured));
    }
    group.finish();
    report.retain(|(_, measured)| !measured.is_empty());
    if !report.is_empty() {
        println!("moves at {WIDTH}x{HEIGHT}, {steps} steps:");
    }
    for (mv, measured) in &report {
        print_samples(*mv, measured);
    }
}

criterion_group!(benches, index_memory, moves);
criterion_main!(benches);
