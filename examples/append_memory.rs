//! Resident memory per appended batch: a log of N one-point scatter appends
//! is read into a store, then uploaded and drawn by the renderer. Prints the
//! bytes per batch that each stage adds.
//!
//! ```bash
//! cargo run --example append_memory -- 200000
//! ```

use std::collections::HashMap;

use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::store::Store;
use streamvis_gpu::{DataLogger, GridCell, TensorView};

/// Resident set size of this process, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() -> anyhow::Result<()> {
    streamvis_gpu::render::ensure_runtime_dir();
    let n: usize = std::env::args().nth(1).map_or(Ok(200_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("appends.log");
    {
        let mut logger = DataLogger::new("append_memory");
        logger.init_write_log(&path)?;
        logger.set_layout([("p", GridCell::new(0, 0, 1, 1))])?;
        for i in 0..n {
            let point = [(i % 1000) as f32, (i / 1000) as f32];
            logger.scatter("p", TensorView::new(&[1, 2], &point), 1, true, None, None)?;
        }
    }
    let mut renderer = HeadlessRenderer::new()?;
    // Start the device's threads and allocators before measuring.
    renderer.render(&Store::new(), &HashMap::new(), 320, 240, &Default::default())?;
    let start = rss_bytes();
    let mut tail = streamvis_gpu::source::FileTail::open(&path, false)?;
    let mut store = Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store)?;
    let stored = rss_bytes();
    renderer.sync(&store)?;
    let synced = rss_bytes();
    renderer.draw(&store, &HashMap::new(), 320, 240, &Default::default())?;
    let drawn = rss_bytes();
    let per_batch = |bytes: u64| bytes as f64 / n as f64;
    println!("{n} one-point appends (8 bytes of points each):");
    println!(
        "  store (memory map + batches): {:>8.1} bytes/batch",
        per_batch(stored.saturating_sub(start))
    );
    println!(
        "  renderer sync:                {:>8.1} bytes/batch",
        per_batch(synced.saturating_sub(stored))
    );
    println!(
        "  renderer after a frame:       {:>8.1} bytes/batch",
        per_batch(drawn.saturating_sub(stored))
    );
    println!(
        "  GPU buffers held:             {:>8.1} bytes/batch",
        per_batch(renderer.page().gpu_bytes())
    );
    println!("  resident in all:              {} MiB", drawn >> 20);
    Ok(())
}
