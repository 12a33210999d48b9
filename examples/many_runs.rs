//! Many runs at once: writes RUNS logs of STEPS steps (three tandem loss
//! lines and a 64-point cloud replaced each step, as a sweep of training
//! runs would), then measures what `--file DIR` does with them: the time to
//! read every log into runs with their history, the memory that takes, and
//! frame times of the page of every run (first frame with its uploads, a
//! repeat frame, and a move on the timeline to the middle and back).
//!
//! `cargo run --release --example many_runs [-- RUNS STEPS [DIR]]`
//! (defaults: 100 runs of 10,000 steps in target/bench-data/runs-RUNSxSTEPS).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use streamvis_gpu::layout::PageData;
use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::source::{Follow, LogSet, Reader};
use streamvis_gpu::store::Runs;
use streamvis_gpu::{DataLogger, GridCell, TensorView};

/// Resident memory now and at its peak, in MiB (Linux).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn write_logs(dir: &PathBuf, runs: usize, steps: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for run in 0..runs {
        let path = dir.join(format!("run{run:03}.log"));
        if path.exists() {
            continue;
        }
        let partial = path.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        let mut logger = DataLogger::new(format!("lr-{run:03}"));
        logger.init_write_log(&partial)?;
        logger.set_layout([
            ("loss", GridCell::new(0, 0, 1, 2)),
            ("cloud", GridCell::new(0, 2, 1, 1)),
        ])?;
        let mut rng = fastrand::Rng::with_seed(run as u64);
        let rate = 1e-4 * (1.0 + run as f32 / 10.0);
        let mut cloud = vec![0f32; 128];
        for step in 0..steps {
            let t = step as f32;
            let losses = [(-rate * t).exp(), (-rate * 0.7 * t).exp() + 0.1, 0.5 + 0.1 * rng.f32()];
            logger.tandem_lines("loss", step as f64, &losses, None, None)?;
            for v in cloud.iter_mut() {
                *v = rng.f32() * 2.0 - 1.0;
            }
            logger.scatter("cloud", TensorView::new(&[64, 2], &cloud), 1, false, None, None)?;
            logger.end_step()?;
        }
        drop(logger);
        std::fs::rename(&partial, &path)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    streamvis_gpu::render::ensure_runtime_dir();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs_wanted: usize = args.first().map_or(Ok(100), |a| a.parse())?;
    let steps: usize = args.get(1).map_or(Ok(10_000), |a| a.parse())?;
    let dir = args.get(2).map_or_else(
        || PathBuf::from(format!("target/bench-data/runs-{runs_wanted}x{steps}")),
        PathBuf::from,
    );
    let started = Instant::now();
    write_logs(&dir, runs_wanted, steps)?;
    let bytes: u64 = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "logs: {runs_wanted} runs x {steps} steps, {:.0} MiB on disk ({:.1} s to write or find)",
        bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );

    let (rss_before, _) = memory_mib();
    let started = Instant::now();
    let set = LogSet::open(std::slice::from_ref(&dir), false)?;
    let mut reader = Reader::new(Box::new(set), Follow::No);
    let mut runs = Runs::new(None);
    reader.read_into_runs(&mut runs)?;
    let open_s = started.elapsed().as_secs_f64();
    let (rss, peak) = memory_mib();
    let history: usize = runs.runs().iter().map(|r| r.store.history_bytes()).sum();
    let index: usize = runs.runs().iter().map(|r| r.store.timeline().memory_bytes()).sum();
    println!(
        "open: {} runs read in {open_s:.2} s; resident {rss:.0} MiB (+{:.0}, peak {peak:.0}; the logs' mapped pages count as they are read); \
         history bookkeeping {:.1} MiB, step index {:.2} MiB",
        runs.len(),
        rss - rss_before,
        history as f64 / (1 << 20) as f64,
        index as f64 / (1 << 20) as f64,
    );

    let mut renderer = HeadlessRenderer::new()?;
    println!("adapter: {}", renderer.ctx.adapter_summary());
    let hidden = HashSet::new();
    let views = HashMap::new();
    let mut frame = |label: &str, step: Option<u64>| -> anyhow::Result<f64> {
        let page = match step {
            None => PageData::of_runs(&runs, &hidden, |run| Some(run.store.live())),
            Some(k) => PageData::of_runs(&runs, &hidden, |run| runs.state_at(run, k)),
        };
        let started = Instant::now();
        let stats = renderer.draw(&page, &views, 1280, 800, &Default::default())?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "frame {label}: {ms:.1} ms, uploaded {:.1} KiB, GPU buffers {:.1} MiB",
            stats.uploaded_bytes as f64 / 1024.0,
            stats.gpu_bytes as f64 / (1 << 20) as f64
        );
        Ok(ms)
    };
    frame("first (live end, every upload)", None)?;
    let mut repeats: Vec<f64> = (0..5).map(|_| frame("repeat", None)).collect::<anyhow::Result<_>>()?;
    repeats.sort_by(f64::total_cmp);
    let middle = (steps / 2) as u64;
    frame("to the middle step", Some(middle))?;
    frame("back to the live end", None)?;
    let (rss, peak) = memory_mib();
    println!(
        "repeat frame median {:.1} ms; resident after drawing {rss:.0} MiB (peak {peak:.0})",
        repeats[repeats.len() / 2]
    );
    Ok(())
}
