//! The data path without a GPU: decoding and applying 1e6-point scatter
//! records (beside a plain memcpy of the same bytes), DataLogger write
//! throughput into the page cache, and reducing a 1e7-point tandem line to
//! min/max per pixel column (the full pass, and the block extremes kept as
//! rows arrive: a new step, a zoom).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use streamvis_gpu::format::{FrameScanner, StreamEvent};
use streamvis_gpu::source::FileTail;
use streamvis_gpu::store::Store;
use streamvis_gpu::{DataLogger, GridCell, TensorView};

const POINTS: usize = 1_000_000;
const RECORDS: usize = 8;

/// Random points, shaped `[POINTS, 2]`.
fn points(seed: u64) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..POINTS * 2).map(|_| rng.f32() * 2.0 - 1.0).collect()
}

/// Writes a log of `RECORDS` replaced 1e6-point scatters and returns its path.
fn write_log(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("bench.log");
    let mut logger = DataLogger::new("bench");
    logger.init_write_log(&path).unwrap();
    logger.set_layout([("cloud", GridCell::new(0, 0, 1, 1))]).unwrap();
    let data = points(1);
    for _ in 0..RECORDS {
        logger
            .scatter("cloud", TensorView::new(&[POINTS, 2], &data), 1, false, None, None)
            .unwrap();
    }
    logger.flush().unwrap();
    path
}

fn decode_apply(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path());
    let bytes = Bytes::from(std::fs::read(&path).unwrap());
    let mut group = c.benchmark_group("decode_apply_1e6_scatter");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);

    let mut dst = vec![0u8; bytes.len()];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&bytes));
            black_box(&dst);
        })
    });
    group.bench_function("scan_decode_apply_in_memory", |b| {
        b.iter(|| {
            let mut scanner = FrameScanner::for_file();
            let mut store = Store::new();
            while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
                if let StreamEvent::Record { record, .. } = event {
                    store.apply(&record).unwrap();
                }
            }
            black_box(store.revision())
        })
    });
    group.bench_function("file_tail_mmap_decode_apply", |b| {
        b.iter(|| {
            let mut tail = FileTail::open(&path, false).unwrap();
            let mut store = Store::new();
            streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
            black_box(store.revision())
        })
    });
    group.finish();
}

fn logger_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = points(2);
    let record_bytes = (POINTS * 2 * 4) as u64;
    let mut group = c.benchmark_group("logger_write_1e6_scatter");
    group.throughput(Throughput::Bytes(record_bytes));
    group.sample_size(20);
    group.bench_function("scatter_and_flush", |b| {
        b.iter_custom(|iters| {
            // A fresh file per sample keeps the page cache from filling up.
            let path = dir.path().join("write.log");
            let _ = std::fs::remove_file(&path);
            let mut logger = DataLogger::new("bench");
            logger.init_write_log(&path).unwrap();
            logger.set_layout([("cloud", GridCell::new(0, 0, 1, 1))]).unwrap();
            logger.flush().unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                logger
                    .scatter("cloud", TensorView::new(&[POINTS, 2], &data), 1, false, None, None)
                    .unwrap();
                logger.flush().unwrap();
            }
            let elapsed = start.elapsed();
            drop(logger);
            let _ = std::fs::remove_file(&path);
            elapsed
        })
    });
    group.finish();
}

fn record(body: streamvis_gpu::format::RecordBody) -> streamvis_gpu::format::Record {
    streamvis_gpu::format::Record {
        meta: streamvis_gpu::format::RecordMeta {
            session_id: 1,
            seq: 0,
            wall_time_ns: 0,
            run_name: "bench".into(),
        },
        body,
    }
}

/// A tandem plot of two lines over `rows` steps: a falling loss with noise.
fn loss_store(rows: usize) -> Store {
    use streamvis_gpu::format::{RecordBody, TandemCall, Tensor};
    let mut store = Store::new();
    let cells = vec![("loss".to_owned(), GridCell::new(0, 0, 1, 1))];
    store.apply(&record(RecordBody::Layout(cells))).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    for step in 0..rows {
        let ys = [(-(step as f32) / 1e6).exp() + rng.f32() * 0.1, 0.5 + rng.f32() * 0.1];
        let call = TandemCall {
            plot: "loss".into(),
            palette: None,
            x: step as f64,
            ys: Tensor::from_values(vec![2], &ys),
        };
        store.apply(&record(RecordBody::TandemLines(call))).unwrap();
    }
    store
}

fn line_reduction(c: &mut Criterion) {
    use streamvis_gpu::format::{RecordBody, TandemCall, Tensor};
    use streamvis_gpu::store::{LinePyramid, reduce_lines};
    const ROWS: usize = 10_000_000;
    const COLUMNS: u32 = 1920;
    let mut store = loss_store(ROWS);
    let mut group = c.benchmark_group("line_reduction_1e7_rows_2_lines");
    group.throughput(Throughput::Elements(2 * ROWS as u64));
    group.sample_size(10);
    group.bench_function("full_pass", |b| {
        let plot = store.plot("loss").unwrap();
        b.iter(|| black_box(reduce_lines(&plot, 0.0, ROWS as f64, COLUMNS, [false; 2])))
    });
    let mut pyramid = LinePyramid::new();
    let start = Instant::now();
    pyramid.update(&store.plot("loss").unwrap());
    eprintln!("indexing {ROWS} rows: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    // A new step: the row applied, indexed, and the line reduced for the
    // view that now ends one step later (autoscale moves every column).
    let mut step = ROWS;
    group.bench_function("new_step", |b| {
        b.iter(|| {
            let call = TandemCall {
                plot: "loss".into(),
                palette: None,
                x: step as f64,
                ys: Tensor::from_values(vec![2], &[0.1, 0.5]),
            };
            store.apply(&record(RecordBody::TandemLines(call))).unwrap();
            step += 1;
            let plot = store.plot("loss").unwrap();
            pyramid.update(&plot);
            assert!(pyramid.serves(&plot, [false; 2]));
            black_box(pyramid.reduce(&plot, -0.05 * step as f64, 1.05 * step as f64, COLUMNS, [false; 2]))
        })
    });
    // A zoom: another view of the same rows.
    let mut rng = fastrand::Rng::with_seed(3);
    group.bench_function("zoom", |b| {
        let plot = store.plot("loss").unwrap();
        b.iter(|| {
            let lo = rng.f64() * ROWS as f64 * 0.5;
            let hi = lo + (1.0 + rng.f64() * ROWS as f64 * 0.5);
            black_box(pyramid.reduce(&plot, lo, hi, COLUMNS, [false; 2]))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = decode_apply, logger_write, line_reduction
}
criterion_main!(benches);
