//! Renderer speed: offscreen frame time at 1920x1080 for 1e5, 1e6 and 1e7
//! scatter points; uploading a replaced 1e6-point step; appending 1e4
//! points to a plot that already holds 1e7 (must not grow with history).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use streamvis_gpu::format::{DataCall, GridCell, Record, RecordBody, RecordMeta, Tensor};
use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::store::Store;

fn record(seq: u64, body: RecordBody) -> Record {
    Record {
        meta: RecordMeta {
            session_id: 1,
            seq,
            wall_time_ns: 0,
            run_name: "bench".into(),
        },
        body,
    }
}

fn layout() -> Record {
    record(0, RecordBody::Layout(vec![("cloud".into(), GridCell::new(0, 0, 1, 1))]))
}

/// A scatter record of `n` points, shape `[n, 2]`, from `seed`.
fn scatter(n: usize, seed: u64, append: bool) -> Record {
    let mut rng = fastrand::Rng::with_seed(seed);
    let values: Vec<f32> = (0..n * 2).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let bytes = Bytes::from(bytemuck::cast_slice::<f32, u8>(&values).to_vec());
    record(
        1,
        RecordBody::Scatter(DataCall {
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
        }),
    )
}

fn store_with(records: &[Record]) -> Store {
    let mut store = Store::new();
    for r in records {
        store.apply(r).unwrap();
    }
    store
}

fn frame_time(c: &mut Criterion) {
    let Ok(mut renderer) = HeadlessRenderer::new() else {
        eprintln!("no GPU adapter: render benchmarks skipped");
        return;
    };
    eprintln!("adapter: {}", renderer.ctx.adapter_summary());
    let views = HashMap::new();
    let mut group = c.benchmark_group("frame_1920x1080_scatter");
    group.sample_size(10);
    for n in [100_000usize, 1_000_000, 10_000_000] {
        let store = store_with(&[layout(), scatter(n, 1, false)]);
        renderer.draw(&store, &views, 1920, 1080, &Default::default()).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(renderer.draw(&store, &views, 1920, 1080, &Default::default()).unwrap()))
        });
    }
    group.finish();
}

fn uploads(c: &mut Criterion) {
    let Ok(mut renderer) = HeadlessRenderer::new() else {
        return;
    };
    let mut group = c.benchmark_group("upload");
    group.sample_size(20);

    // A 1e6-point step replacing the previous one.
    let steps = [scatter(1_000_000, 2, false), scatter(1_000_000, 3, false)];
    let mut store = store_with(&[layout(), steps[0].clone()]);
    renderer.sync(&store).unwrap();
    group.throughput(Throughput::Bytes(8_000_000));
    let mut k = 0;
    group.bench_function("replace_1e6_step", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                store.apply(&steps[k % 2]).unwrap();
                let start = Instant::now();
                black_box(renderer.sync(&store).unwrap());
                total += start.elapsed();
            }
            total
        })
    });

    // 1e4 points appended to 1e7 points of history.
    let mut store = store_with(&[layout(), scatter(10_000_000, 4, true)]);
    renderer.sync(&store).unwrap();
    let tail = scatter(10_000, 5, true);
    group.throughput(Throughput::Bytes(80_000));
    group.bench_function("append_1e4_to_1e7", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                store.apply(&tail).unwrap();
                let start = Instant::now();
                let stats = renderer.sync(&store).unwrap();
                total += start.elapsed();
                assert!(stats.uploaded_bytes < 100_000, "appending re-sent history: {stats:?}");
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5));
    targets = frame_time, uploads
}
criterion_main!(benches);
