//! Prints one table of the viewer's speed and memory on this machine's GPU
//! adapter: frame time and update latency for scatters and lines, the cost
//! of an append against a long history, video replay speed, and resident
//! memory against the size of a memory-mapped log.
//!
//! `cargo run --release --example perf_table [-- --max-scatter 10000000 --history 100000000]`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use streamvis_gpu::format::{DataCall, GridCell, Record, RecordBody, RecordMeta, TandemCall, Tensor};
use streamvis_gpu::layout::{DataRect, PageData, PlotSet, PointOptions};
use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::store::Store;

fn record(body: RecordBody) -> Record {
    Record {
        meta: RecordMeta {
            session_id: 1,
            seq: 0,
            wall_time_ns: 0,
            run_name: "perf".into(),
        },
        body,
    }
}

fn layout(plot: &str) -> Record {
    record(RecordBody::Layout(vec![(plot.into(), GridCell::new(0, 0, 1, 1))]))
}

fn scatter(n: usize, seed: u64, append: bool) -> Record {
    let mut rng = fastrand::Rng::with_seed(seed);
    let values: Vec<f32> = (0..n * 2).map(|_| rng.f32() * 2.0 - 1.0).collect();
    scatter_of(values, append)
}

/// `n` points from a standard normal in x and y: as concentrated as real
/// embeddings, where points pile up on the same pixels.
fn gaussian(n: usize, seed: u64) -> Record {
    let mut rng = fastrand::Rng::with_seed(seed);
    let values: Vec<f32> = (0..n)
        .flat_map(|_| {
            // Box-Muller.
            let (u, v) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
            let r = (-2.0 * u.ln()).sqrt();
            let t = std::f64::consts::TAU * v;
            [(r * t.cos()) as f32, (r * t.sin()) as f32]
        })
        .collect();
    scatter_of(values, false)
}

fn scatter_of(values: Vec<f32>, append: bool) -> Record {
    let n = values.len() / 2;
    let bytes = Bytes::from(bytemuck::cast_slice::<f32, u8>(&values).to_vec());
    record(RecordBody::Scatter(DataCall {
        plot: "cloud".into(),
        spatial_dim: 1,
        append,
        color: None,
        grid: None,
        line_dims: vec![],
        data: Tensor {
            shape: vec![n, 2],
            bytes,
        },
    }))
}

fn tandem(step: usize) -> Record {
    let y = (step as f32 / 1000.0).sin() + ((step * 7919) % 1000) as f32 / 5000.0;
    record(RecordBody::TandemLines(TandemCall {
        plot: "loss".into(),
        palette: None,
        x: step as f64,
        ys: Tensor::from_values(vec![1], &[y]),
    }))
}

/// A store holding one Gaussian cloud of `n` points.
fn gaussian_store(n: usize) -> anyhow::Result<Store> {
    let mut store = Store::new();
    store.apply(&layout("cloud"))?;
    store.apply(&gaussian(n, 5))?;
    Ok(store)
}

/// The median of `runs` timings, each measured by `run` (given its index).
fn median_of(runs: usize, mut run: impl FnMut(usize) -> anyhow::Result<Duration>) -> anyhow::Result<Duration> {
    let mut samples = (0..runs).map(&mut run).collect::<anyhow::Result<Vec<_>>>()?;
    samples.sort();
    Ok(samples[samples.len() / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// A time and the points per second it makes for `points` points.
fn ms_rate(d: Duration, points: usize) -> String {
    format!("{} ({:.1e} pts/s)", ms(d), points as f64 / d.as_secs_f64().max(1e-9))
}

/// Resident memory from /proc: (anonymous, file-backed) bytes.
fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("RssAnon:"), field("RssFile:"))
}

struct Table {
    rows: Vec<[String; 3]>,
}

impl Table {
    fn row(&mut self, what: &str, size: &str, value: String) {
        eprintln!("{what:<40} {size:>12} {value}");
        self.rows.push([what.to_owned(), size.to_owned(), value]);
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    streamvis_gpu::render::ensure_runtime_dir();
    let max_scatter = arg("--max-scatter", 10_000_000);
    let history = arg("--history", 100_000_000);
    let mut r = HeadlessRenderer::new()?;
    let adapter = r.ctx.adapter_summary();
    eprintln!("adapter: {adapter}");
    let views = HashMap::new();
    let (w, h) = (1920, 1080);
    let mut table = Table { rows: Vec::new() };

    // Scatter: frame time, and the latency of a replaced step (apply,
    // upload, draw).
    for n in [100_000usize, 1_000_000, 10_000_000]
        .into_iter()
        .filter(|&n| n <= max_scatter)
    {
        let steps = [scatter(n, 1, false), scatter(n, 2, false)];
        let mut store = Store::new();
        store.apply(&layout("cloud"))?;
        store.apply(&steps[0])?;
        r.draw(&store, &views, w, h, &Default::default())?;
        let frames = median_of(3, |_| {
            let t = Instant::now();
            r.draw(&store, &views, w, h, &Default::default())?;
            Ok(t.elapsed())
        })?;
        table.row(
            "scatter frame, view unchanged (splat kept)",
            &format!("{n} pts"),
            ms_rate(frames, n),
        );
        // After a zoom or pan every point is splatted again: two views
        // taken in turn.
        for (what, store) in [("uniform", &store), ("Gaussian", &gaussian_store(n)?)] {
            r.draw(store, &views, w, h, &Default::default())?;
            let moved = median_of(3, |k| {
                let shift = 0.01 * (k % 2) as f64;
                let view = DataRect {
                    min: [-1.1 + shift, -1.1],
                    max: [1.1 + shift, 1.1],
                };
                let views = HashMap::from([("cloud".to_owned(), view)]);
                let t = Instant::now();
                r.draw(store, &views, w, h, &Default::default())?;
                Ok(t.elapsed())
            })?;
            table.row(
                &format!("scatter frame, view moved (all splatted), {what}"),
                &format!("{n} pts"),
                ms_rate(moved, n),
            );
        }
        // The same cloud as a density image (points per pixel, log scale).
        let points = PointOptions {
            density: PlotSet::from_names(&["cloud".to_owned()]),
            ..PointOptions::default()
        };
        let density = median_of(3, |_| {
            let page = PageData::single(store.live()).with_points(&points);
            let t = Instant::now();
            r.draw(&page, &views, w, h, &Default::default())?;
            Ok(t.elapsed())
        })?;
        table.row("scatter frame, density image", &format!("{n} pts"), ms_rate(density, n));
        let updates = median_of(3, |k| {
            let t = Instant::now();
            store.apply(&steps[(k + 1) % 2])?;
            r.draw(&store, &views, w, h, &Default::default())?;
            Ok(t.elapsed())
        })?;
        table.row(
            "scatter replaced step to frame",
            &format!("{n} pts"),
            ms_rate(updates, n),
        );
        let uploads = median_of(3, |k| {
            store.apply(&steps[k % 2])?;
            let t = Instant::now();
            r.sync(&store)?;
            Ok(t.elapsed())
        })?;
        table.row("scatter replaced step, upload only", &format!("{n} pts"), ms(uploads));
    }

    // Lines: a tandem line of n points; frame time and the latency of one
    // more step.
    for n in [10_000usize, 100_000, 1_000_000, 10_000_000] {
        let mut store = Store::new();
        store.apply(&layout("loss"))?;
        for step in 0..n {
            store.apply(&tandem(step))?;
        }
        r.draw(&store, &views, w, h, &Default::default())?;
        let frames = median_of(3, |_| {
            let t = Instant::now();
            r.draw(&store, &views, w, h, &Default::default())?;
            Ok(t.elapsed())
        })?;
        table.row("line frame, 1920x1080", &format!("{n} pts"), ms_rate(frames, n));
        let updates = median_of(3, |k| {
            let t = Instant::now();
            store.apply(&tandem(n + k))?;
            r.draw(&store, &views, w, h, &Default::default())?;
            Ok(t.elapsed())
        })?;
        table.row("line appended step to frame", &format!("{n} pts"), ms_rate(updates, n));
        // The reduction alone, on the CPU: a new step, and a zoom to a
        // tenth of the line.
        let plot = store.plot("loss").expect("the line");
        let mut pyramid = streamvis_gpu::store::LinePyramid::new();
        pyramid.update(&plot);
        let zooms = median_of(5, |k| {
            let lo = (k as f64 + 1.0) * n as f64 / 10.0;
            let t = Instant::now();
            std::hint::black_box(pyramid.reduce(&plot, lo, lo + n as f64 / 10.0, w, [false; 2]));
            Ok(t.elapsed())
        })?;
        table.row("line zoom, reduction (CPU)", &format!("{n} pts"), ms_rate(zooms, n));
    }

    // Appending 1e4 points to a scatter with a short and a long history:
    // apply and upload (the frame is not drawn).
    let history_frames = std::env::args().any(|a| a == "--history-frames");
    for hist in [100_000usize, 10_000_000, history] {
        let mut store = Store::new();
        store.apply(&layout("cloud"))?;
        let piece = 1_000_000.min(hist);
        for k in 0..hist / piece {
            store.apply(&scatter(piece, 10 + k as u64, true))?;
            r.sync(&store)?;
        }
        let tail = scatter(10_000, 99, true);
        let appends = median_of(20, |_| {
            let t = Instant::now();
            store.apply(&tail)?;
            r.sync(&store)?;
            Ok(t.elapsed())
        })?;
        table.row(
            "append 1e4 pts (apply + upload)",
            &format!("{hist} history"),
            ms(appends),
        );
        table.row(
            "GPU memory held",
            &format!("{hist} history"),
            format!("{} MiB", r.page().gpu_bytes() >> 20),
        );
        if history_frames || hist <= 10_000_000 {
            let t = Instant::now();
            r.draw(&store, &views, w, h, &Default::default())?;
            table.row(
                "scatter frame with the whole history, all splatted",
                &format!("{hist} pts"),
                ms_rate(t.elapsed(), hist),
            );
            // The view stays: a frame splats only what arrived since.
            let idle = median_of(5, |_| {
                let t = Instant::now();
                r.draw(&store, &views, w, h, &Default::default())?;
                Ok(t.elapsed())
            })?;
            table.row("scatter frame, nothing new", &format!("{hist} history"), ms(idle));
            let arrived = median_of(5, |_| {
                let t = Instant::now();
                store.apply(&tail)?;
                r.draw(&store, &views, w, h, &Default::default())?;
                Ok(t.elapsed())
            })?;
            table.row(
                "scatter frame, 1e4 pts arrived",
                &format!("{hist} history"),
                ms(arrived),
            );
        }
    }

    // Video replay: frames rendered and read back per second at 1280x720.
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("demo.log");
        let mut logger = streamvis_gpu::DataLogger::new("perf");
        logger.init_write_log(&path)?;
        let mut demo = streamvis_gpu::demo::SeedDemo::new(1);
        demo.start(&mut logger)?;
        for step in 0..60 {
            demo.step(&mut logger, step)?;
        }
        drop(logger);
        let mut tail = streamvis_gpu::source::FileTail::open(&path, false)?;
        let mut store = Store::new();
        streamvis_gpu::source::read_to_end(&mut tail, &mut store)?;
        let t = Instant::now();
        for _ in 0..30 {
            r.render(&store, &views, 1280, 720, &Default::default())?;
        }
        table.row(
            "replay frames/s (render + readback), 1280x720",
            "seed demo",
            format!("{:.1}", 30.0 / t.elapsed().as_secs_f64()),
        );
        let steps = [scatter(1_000_000, 3, false), scatter(1_000_000, 4, false)];
        let mut store = Store::new();
        store.apply(&layout("cloud"))?;
        let t = Instant::now();
        for k in 0..10 {
            store.apply(&steps[k % 2])?;
            r.render(&store, &views, 1280, 720, &Default::default())?;
        }
        table.row(
            "replay frames/s (render + readback), 1280x720",
            "1e6 pts/step",
            format!("{:.1}", 10.0 / t.elapsed().as_secs_f64()),
        );
    }

    // Resident memory while a log is memory-mapped and applied.
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("big.log");
        let mut logger = streamvis_gpu::DataLogger::new("perf");
        logger.init_write_log(&path)?;
        logger.set_layout([("cloud", GridCell::new(0, 0, 1, 1))])?;
        let values: Vec<f32> = (0..20_000_000).map(|i| (i % 1000) as f32).collect();
        for _ in 0..6 {
            logger.scatter(
                "cloud",
                streamvis_gpu::TensorView::new(&[10_000_000, 2], &values),
                1,
                true,
                None,
                None,
            )?;
        }
        drop(logger);
        drop(values);
        let size = std::fs::metadata(&path)?.len();
        let (anon_before, _) = resident();
        let mut tail = streamvis_gpu::source::FileTail::open(&path, false)?;
        let mut store = Store::new();
        streamvis_gpu::source::read_to_end(&mut tail, &mut store)?;
        let (anon_after, file_after) = resident();
        table.row(
            "resident memory after reading a log",
            &format!("{} MiB log", size >> 20),
            format!(
                "heap +{} MiB, mapped {} MiB",
                anon_after.saturating_sub(anon_before) >> 20,
                file_after >> 20
            ),
        );
    }

    println!("Adapter: {adapter}\n");
    println!("| measurement | size | result |");
    println!("|---|---|---|");
    for [a, b, c] in &table.rows {
        println!("| {a} | {b} | {c} |");
    }
    Ok(())
}
