//! Golden images: each scene is logged through the DataLogger, read back
//! through the file tail, rendered offscreen at a fixed size and compared
//! with `tests/golden/NAME.png`. Regenerate with `STREAMVIS_UPDATE_GOLDEN=1`.
//!
//! The tests need a GPU adapter (lavapipe will do); where there is none they
//! are reported as ignored.

mod common;

use std::collections::HashSet;
use streamvis_gpu::demo::SeedDemo;

use streamvis_gpu::layout::{LogAxes, PageData, PlotSet, PointOptions};
use streamvis_gpu::store::{Runs, Store};
use streamvis_gpu::{ColorSpec, DataLogger, GridCell, GridSpec, TensorView};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 400;

fn one_plot(logger: &mut DataLogger, name: &str) {
    logger.set_layout([(name, GridCell::new(0, 0, 1, 1))]).unwrap();
}

/// `n` points of a noisy spiral, shape `[n, 2]`.
fn spiral(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / n as f32 * 12.0;
            [t.cos() * t + rng.f32() - 0.5, t.sin() * t + rng.f32() - 0.5]
        })
        .collect()
}

/// A named scene: how to build the store it shows.
type Scene = (&'static str, fn() -> Store);

fn scenes() -> Vec<Scene> {
    vec![
        ("seed_demo", || {
            common::store_from_log(|logger| {
                let mut demo = SeedDemo::new(7);
                demo.start(logger).unwrap();
                for step in 0..25 {
                    demo.step(logger, step).unwrap();
                }
            })
        }),
        ("scatter_plain", || {
            common::store_from_log(|logger| {
                one_plot(logger, "spiral");
                let data = spiral(400, 1);
                logger
                    .scatter("spiral", TensorView::new(&[400, 2], &data), 1, false, None, None)
                    .unwrap();
            })
        }),
        ("scatter_color_by_dim", || {
            // Shape [2, 6, 50]: spatial dim first, colour along the 6 groups.
            common::store_from_log(|logger| {
                one_plot(logger, "groups");
                let mut rng = fastrand::Rng::with_seed(2);
                let mut data = vec![0.0f32; 2 * 6 * 50];
                for g in 0..6 {
                    for i in 0..50 {
                        data[g * 50 + i] = g as f32 + rng.f32() * 0.8;
                        data[300 + g * 50 + i] = (g as f32 * 0.7).sin() + rng.f32() * 0.5;
                    }
                }
                let color = ColorSpec::by_dim("Viridis256", 1);
                logger
                    .scatter(
                        "groups",
                        TensorView::new(&[2, 6, 50], &data),
                        0,
                        false,
                        Some(color),
                        None,
                    )
                    .unwrap();
            })
        }),
        ("scatter_color_by_value", || {
            common::store_from_log(|logger| {
                one_plot(logger, "by_value");
                let xy = spiral(300, 3);
                let data: Vec<f32> = xy
                    .chunks(2)
                    .enumerate()
                    .flat_map(|(i, p)| [p[0], p[1], i as f32 / 299.0])
                    .collect();
                let color = ColorSpec::by_value("Magma256");
                logger
                    .scatter(
                        "by_value",
                        TensorView::new(&[300, 3], &data),
                        1,
                        false,
                        Some(color),
                        None,
                    )
                    .unwrap();
            })
        }),
        ("categorical_palettes", || {
            common::store_from_log(|logger| {
                logger
                    .set_layout([
                        ("clusters", GridCell::new(0, 0, 1, 1)),
                        ("twenty", GridCell::new(0, 1, 1, 1)),
                    ])
                    .unwrap();
                let mut rng = fastrand::Rng::with_seed(4);
                let data: Vec<f32> = (0..10)
                    .flat_map(|c| {
                        let (cx, cy) = ((c as f32).cos() * 5.0, (c as f32).sin() * 5.0);
                        (0..30)
                            .flat_map(|_| [cx + rng.f32(), cy + rng.f32()])
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let color = ColorSpec::by_dim("Category10_10", 0);
                logger
                    .scatter(
                        "clusters",
                        TensorView::new(&[10, 30, 2], &data),
                        2,
                        false,
                        Some(color),
                        None,
                    )
                    .unwrap();
                for step in 0..40 {
                    let ys: Vec<f32> = (0..20)
                        .map(|k| k as f32 + (step as f32 / 6.0 + k as f32).sin() * 0.4)
                        .collect();
                    logger
                        .tandem_lines("twenty", step as f64, &ys, Some("Category20_20"), None)
                        .unwrap();
                }
            })
        }),
        ("multi_lines", || {
            // Four lines (colour by line) appended in three pieces.
            common::store_from_log(|logger| {
                one_plot(logger, "trajectories");
                for piece in 0..3 {
                    let data: Vec<f32> = (0..4)
                        .flat_map(|l| {
                            (0..20).flat_map(move |i| {
                                let t = (piece * 20 + i) as f32 / 10.0;
                                [t, (t + l as f32).sin() * (1.0 + l as f32 * 0.5)]
                            })
                        })
                        .collect();
                    let color = ColorSpec::by_dim("Plasma256", 0);
                    logger
                        .multi_lines(
                            "trajectories",
                            TensorView::new(&[4, 20, 2], &data),
                            &[0],
                            2,
                            true,
                            Some(color),
                            None,
                            None,
                        )
                        .unwrap();
                }
            })
        }),
        ("tandem_lines", || {
            common::store_from_log(|logger| {
                logger
                    .set_layout([
                        ("loss", GridCell::new(0, 0, 1, 1)),
                        ("turbo", GridCell::new(0, 1, 1, 1)),
                    ])
                    .unwrap();
                for step in 0..100 {
                    let s = step as f32;
                    logger
                        .tandem_lines(
                            "loss",
                            s as f64,
                            &[2.0 / (1.0 + s / 10.0), 1.5 / (1.0 + s / 20.0)],
                            None,
                            None,
                        )
                        .unwrap();
                    let ys: Vec<f32> = (0..5).map(|k| (s / 15.0 + k as f32).sin() + k as f32).collect();
                    logger
                        .tandem_lines("turbo", s as f64 * 100.0, &ys, Some("Turbo256"), None)
                        .unwrap();
                }
            })
        }),
        ("grid_tiling", || {
            common::store_from_log(|logger| {
                one_plot(logger, "tiles");
                let mut rng = fastrand::Rng::with_seed(5);
                let data: Vec<f32> = (0..7 * 40 * 2)
                    .map(|i| (rng.f32() - 0.5) * (1.0 + (i / 80) as f32))
                    .collect();
                let grid = GridSpec::new(0, 3).with_padding_factor(1.3);
                let color = ColorSpec::by_dim("Inferno256", 0);
                logger
                    .scatter(
                        "tiles",
                        TensorView::new(&[7, 40, 2], &data),
                        2,
                        false,
                        Some(color),
                        Some(grid),
                    )
                    .unwrap();
            })
        }),
        ("span_across_cells", || {
            common::store_from_log(|logger| {
                logger
                    .set_layout([
                        ("wide", GridCell::new(0, 0, 1, 2)),
                        ("tall", GridCell::new(0, 2, 2, 1)),
                        ("small_a", GridCell::new(1, 0, 1, 1)),
                        ("small_b", GridCell::new(1, 1, 1, 1)),
                    ])
                    .unwrap();
                let data = spiral(200, 6);
                for plot in ["wide", "tall", "small_a", "small_b"] {
                    logger
                        .scatter(plot, TensorView::new(&[200, 2], &data), 1, false, None, None)
                        .unwrap();
                }
            })
        }),
        ("empty_plots", || {
            common::store_from_log(|logger| {
                logger
                    .set_layout([
                        ("no_data", GridCell::new(0, 0, 1, 1)),
                        ("also_empty", GridCell::new(0, 1, 1, 1)),
                        ("one", GridCell::new(1, 0, 1, 2)),
                    ])
                    .unwrap();
                logger.tandem_lines("one", 0.0, &[1.0], None, None).unwrap();
                logger
                    .scatter("also_empty", TensorView::new(&[0, 2], &[]), 1, false, None, None)
                    .unwrap();
            })
        }),
        ("single_point", || {
            common::store_from_log(|logger| {
                one_plot(logger, "lonely");
                logger
                    .scatter("lonely", TensorView::new(&[1, 2], &[3.0, -2.0]), 1, false, None, None)
                    .unwrap();
            })
        }),
        ("million_points", || {
            common::store_from_log(|logger| {
                one_plot(logger, "cloud");
                let n = 1_000_000;
                let mut rng = fastrand::Rng::with_seed(8);
                let data: Vec<f32> = (0..n)
                    .flat_map(|_| {
                        let (r, a) = (rng.f32().sqrt(), rng.f32() * std::f32::consts::TAU);
                        [r * a.cos(), r * a.sin() * 0.6, r]
                    })
                    .collect();
                let color = ColorSpec::by_value("Viridis256");
                logger
                    .scatter("cloud", TensorView::new(&[n, 3], &data), 1, false, Some(color), None)
                    .unwrap();
            })
        }),
        ("nan_and_infinity", || {
            common::store_from_log(|logger| {
                logger
                    .set_layout([
                        ("points", GridCell::new(0, 0, 1, 1)),
                        ("lines", GridCell::new(0, 1, 1, 1)),
                    ])
                    .unwrap();
                let mut data = spiral(100, 9);
                for i in (0..data.len()).step_by(7) {
                    data[i] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][i % 3];
                }
                logger
                    .scatter("points", TensorView::new(&[100, 2], &data), 1, false, None, None)
                    .unwrap();
                for step in 0..60 {
                    let y = if (20..25).contains(&step) {
                        f32::NAN
                    } else {
                        (step as f32 / 8.0).sin()
                    };
                    let z = if step == 40 {
                        f32::INFINITY
                    } else {
                        (step as f32 / 8.0).cos()
                    };
                    logger
                        .tandem_lines("lines", step as f64, &[y, z], Some("Viridis256"), None)
                        .unwrap();
                }
            })
        }),
        ("long_lines_reduced", || {
            // 300,000 steps of two lines with rare spikes: reduced to min/max
            // per pixel column, and the spikes still show.
            common::store_from_log(|logger| {
                one_plot(logger, "loss");
                let mut rng = fastrand::Rng::with_seed(10);
                for step in 0..300_000u32 {
                    let s = step as f32;
                    let spike = if step % 70_001 == 12_345 { 3.0 } else { 0.0 };
                    let ys = [
                        (s / 20_000.0).sin() + rng.f32() * 0.2 + spike,
                        (s / 50_000.0).cos() * 0.5 - rng.f32() * 0.1,
                    ];
                    logger
                        .tandem_lines("loss", s as f64, &ys, Some("Category10_10"), None)
                        .unwrap();
                }
            })
        }),
        ("sequential_palettes", || {
            common::store_from_log(|logger| {
                let names = ["Greys256", "Cividis256", "Turbo256", "Viridis11"];
                let cells: Vec<_> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (*n, GridCell::new(i as u32 / 2, i as u32 % 2, 1, 1)))
                    .collect();
                logger.set_layout(cells).unwrap();
                // A ramp of colour values along x.
                let data: Vec<f32> = (0..200)
                    .flat_map(|i| [i as f32, ((i * 37) % 23) as f32, i as f32 / 199.0])
                    .collect();
                for name in names {
                    let color = ColorSpec::by_value(name);
                    logger
                        .scatter(name, TensorView::new(&[200, 3], &data), 1, false, Some(color), None)
                        .unwrap();
                }
            })
        }),
    ]
}

/// A tandem loss curve per run: train and validation, decaying at `rate`.
fn loss_run(rate: f32, seed: u64) -> common::LogFn {
    Box::new(move |logger| {
        logger
            .set_layout([
                ("loss", GridCell::new(0, 0, 1, 2)),
                ("lines", GridCell::new(1, 0, 1, 2)),
            ])
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(seed);
        for step in 0..60 {
            let t = step as f32;
            let train = (-rate * t).exp() + 0.05 * rng.f32();
            let val = (-rate * 0.8 * t).exp() + 0.1 + 0.05 * rng.f32();
            logger
                .tandem_lines("loss", step as f64, &[train, val], None, None)
                .unwrap();
        }
        // Three lines of 40 points, shape [3, 2, 40].
        let data: Vec<f32> = (0..3)
            .flat_map(|line| {
                let xs: Vec<f32> = (0..40).map(|i| i as f32).collect();
                let ys: Vec<f32> = (0..40)
                    .map(|i| (i as f32 * rate + line as f32).sin() + line as f32)
                    .collect();
                [xs, ys].concat()
            })
            .collect();
        logger
            .multi_lines(
                "lines",
                TensorView::new(&[3, 2, 40], &data),
                &[0],
                1,
                false,
                None,
                None,
                None,
            )
            .unwrap();
    })
}

/// A cloud per run: one plain spiral, one coloured by value.
fn cloud_run(seed: u64, scale: f32, colored: bool) -> common::LogFn {
    Box::new(move |logger| {
        one_plot(logger, "cloud");
        let xy = spiral(300, seed);
        if colored {
            let data: Vec<f32> = xy
                .chunks(2)
                .enumerate()
                .flat_map(|(i, p)| [p[0] * scale, p[1] * scale, i as f32 / 299.0])
                .collect();
            let color = ColorSpec::by_value("Viridis256");
            logger
                .scatter("cloud", TensorView::new(&[300, 3], &data), 1, false, Some(color), None)
                .unwrap();
        } else {
            let data: Vec<f32> = xy.iter().map(|v| v * scale).collect();
            logger
                .scatter("cloud", TensorView::new(&[300, 2], &data), 1, false, None, None)
                .unwrap();
        }
    })
}

/// Scenes of several runs: how to build the runs they show, and whether
/// clouds are overlaid.
type RunsScene = (&'static str, fn() -> Runs, bool);

/// A noisy loss (train and validation, tandem) and three noisy multi-lines
/// appended in ten batches: what smoothing is for.
fn noisy_lines() -> Store {
    common::store_from_log(|logger| {
        logger
            .set_layout([
                ("loss", GridCell::new(0, 0, 1, 1)),
                ("lines", GridCell::new(1, 0, 1, 1)),
            ])
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(11);
        for step in 0..300 {
            let t = step as f32;
            let train = (-t / 80.0).exp() + 0.15 * (rng.f32() - 0.5);
            let val = (-t / 120.0).exp() + 0.1 + 0.2 * (rng.f32() - 0.5);
            logger
                .tandem_lines("loss", step as f64, &[train, val], None, None)
                .unwrap();
        }
        for batch in 0..10 {
            // [3 lines, 2 (x, y), 30 points]
            let data: Vec<f32> = (0..3)
                .flat_map(|line| {
                    let xs: Vec<f32> = (0..30).map(|i| (batch * 30 + i) as f32).collect();
                    let ys: Vec<f32> = xs
                        .iter()
                        .map(|x| (x / 40.0 + line as f32).sin() + line as f32 + 0.5 * (rng.f32() - 0.5))
                        .collect();
                    [xs, ys].concat()
                })
                .collect();
            let color = ColorSpec::by_dim("Viridis256", 0);
            logger
                .multi_lines(
                    "lines",
                    TensorView::new(&[3, 2, 30], &data),
                    &[0],
                    1,
                    true,
                    Some(color),
                    None,
                    None,
                )
                .unwrap();
        }
    })
}

/// A loss falling from 1e2 to 1e-4 over 400 steps (train and validation,
/// noisy by a factor), and a cloud spread over five decades in x and y:
/// what log axes are for.
fn decades() -> Store {
    common::store_from_log(|logger| {
        logger
            .set_layout([
                ("loss", GridCell::new(0, 0, 1, 1)),
                ("cloud", GridCell::new(0, 1, 1, 1)),
            ])
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(21);
        for step in 0..400 {
            let exponent = 2.0 - 6.0 * step as f32 / 399.0;
            let train = 10f32.powf(exponent + 0.3 * (rng.f32() - 0.5));
            let val = 10f32.powf(exponent + 0.4 + 0.3 * (rng.f32() - 0.5));
            logger
                .tandem_lines("loss", step as f64, &[train, val], None, None)
                .unwrap();
        }
        let cloud: Vec<f32> = (0..2000)
            .flat_map(|_| {
                let u = rng.f32() * 5.0 - 2.0;
                [10f32.powf(u), 10f32.powf(u + 0.8 * (rng.f32() - 0.5))]
            })
            .collect();
        logger
            .scatter("cloud", TensorView::new(&[2000, 2], &cloud), 1, false, None, None)
            .unwrap();
    })
}

/// `n` points of a swiss roll (a diffusion model's usual toy target), with
/// noise of `sigma` mixed in as a denoising step would: `[n, 2]`.
fn swiss_roll(rng: &mut fastrand::Rng, n: usize, sigma: f32) -> Vec<f32> {
    let normal = |rng: &mut fastrand::Rng| {
        let (u1, u2) = (1.0 - rng.f32(), rng.f32());
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    };
    (0..n)
        .flat_map(|_| {
            let t = 1.5 * std::f32::consts::PI * (1.0 + 2.0 * rng.f32());
            let clean = [t * t.cos() / 10.0, t * t.sin() / 10.0];
            let keep = (1.0 - sigma * sigma).sqrt();
            [
                keep * (clean[0] + 0.03 * normal(rng)) + sigma * normal(rng),
                keep * (clean[1] + 0.03 * normal(rng)) + sigma * normal(rng),
            ]
        })
        .collect()
}

/// A diffusion model's sample clouds as a training run logs them: 16
/// denoising stages of 1,000 points, one grid cell each (shape `[16, 1000,
/// 2]`), noise falling from 1 to 0.
fn diffusion_samples() -> Store {
    common::store_from_log(|logger| {
        one_plot(logger, "samples");
        let mut rng = fastrand::Rng::with_seed(31);
        let data: Vec<f32> = (0..16)
            .flat_map(|stage| swiss_roll(&mut rng, 1000, 1.0 - stage as f32 / 15.0))
            .collect();
        logger
            .scatter(
                "samples",
                TensorView::new(&[16, 1000, 2], &data),
                2,
                false,
                None,
                Some(GridSpec::new(0, 4).with_padding_factor(1.1)),
            )
            .unwrap();
    })
}

/// A cloud of 250,000 points (drawn by the splat pass), plain and coloured
/// by value, each twice: the top row for markers, the bottom row for density
/// images.
fn dense_clouds() -> Store {
    common::store_from_log(|logger| {
        logger
            .set_layout([
                ("cloud", GridCell::new(0, 0, 1, 1)),
                ("cloud_by_value", GridCell::new(0, 1, 1, 1)),
                ("density", GridCell::new(1, 0, 1, 1)),
                ("density_by_value", GridCell::new(1, 1, 1, 1)),
            ])
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(32);
        let n = 250_000;
        let xy = swiss_roll(&mut rng, n, 0.02);
        // Coloured by distance from the centre.
        let xyz: Vec<f32> = xy
            .chunks(2)
            .flat_map(|p| [p[0], p[1], (p[0] * p[0] + p[1] * p[1]).sqrt() / 1.5])
            .collect();
        for name in ["cloud", "density"] {
            logger
                .scatter(name, TensorView::new(&[n, 2], &xy), 1, false, None, None)
                .unwrap();
        }
        for name in ["cloud_by_value", "density_by_value"] {
            let color = ColorSpec::by_value("Magma256");
            logger
                .scatter(name, TensorView::new(&[n, 3], &xyz), 1, false, Some(color), None)
                .unwrap();
        }
    })
}

/// Lines through zero and below: a log y axis leaves those points out and
/// says how many.
fn through_zero() -> Store {
    common::store_from_log(|logger| {
        one_plot(logger, "metric");
        for step in 0..200 {
            let t = step as f32 / 20.0;
            let values = [t.sin() * 10.0, t * 0.5, (t - 5.0).max(0.0)];
            logger.tandem_lines("metric", step as f64, &values, None, None).unwrap();
        }
    })
}

/// Named lines: a legend that says which line is which.
fn named_lines() -> Store {
    common::store_from_log(|logger| {
        logger
            .set_layout([
                ("loss", GridCell::new(0, 0, 1, 1)),
                ("layers", GridCell::new(0, 1, 1, 1)),
            ])
            .unwrap();
        let names = ["train", "validation"];
        for step in 0..100 {
            let t = step as f32;
            let ys = [(-t / 30.0).exp(), (-t / 40.0).exp() + 0.1];
            logger
                .tandem_lines("loss", step as f64, &ys, Some("Category10_10"), Some(&names))
                .unwrap();
        }
        // [4 lines, 2 (x, y), 20 points]: a norm per layer.
        let data: Vec<f32> = (0..4)
            .flat_map(|line| {
                let xs: Vec<f32> = (0..20).map(|i| i as f32).collect();
                let ys: Vec<f32> = xs.iter().map(|x| (1.0 + line as f32) * (1.0 + x / 10.0).ln()).collect();
                [xs, ys].concat()
            })
            .collect();
        logger
            .multi_lines(
                "layers",
                TensorView::new(&[4, 2, 20], &data),
                &[0],
                1,
                false,
                Some(ColorSpec::by_dim("Category10_10", 0)),
                None,
                Some(&["embed", "block 1", "block 2", "head"]),
            )
            .unwrap();
    })
}

fn two_clouds() -> Runs {
    common::runs_from_logs(vec![
        ("small", cloud_run(4, 0.5, false)),
        ("large", cloud_run(5, 1.0, true)),
    ])
}

fn runs_scenes() -> Vec<RunsScene> {
    vec![
        (
            "runs_lines_with_legend",
            || {
                common::runs_from_logs(vec![
                    ("baseline", loss_run(0.05, 1)),
                    ("lr x2", loss_run(0.1, 2)),
                    ("lr x4", loss_run(0.2, 3)),
                ])
            },
            false,
        ),
        ("runs_scatter_panels", two_clouds, false),
        ("runs_scatter_overlaid", two_clouds, true),
    ]
}

fn main() {
    let mut tests: Vec<(String, common::GpuTest)> = scenes()
        .into_iter()
        .map(|(name, scene)| {
            let test: common::GpuTest = Box::new(move |renderer| {
                let image = renderer
                    .render(&scene(), &Default::default(), WIDTH, HEIGHT, &Default::default())
                    .map_err(|e| format!("rendering: {e:#}"))?;
                common::image::check_golden(name, &image)
            });
            (name.to_owned(), test)
        })
        .collect();
    // Scenes with reading options: smoothing weight, plots with log x and
    // with log y.
    type ReadScene = (
        &'static str,
        fn() -> Store,
        f32,
        &'static [&'static str],
        &'static [&'static str],
    );
    let read_scenes: [ReadScene; 7] = [
        ("named_lines_legend", named_lines, 0.0, &[], &[]),
        ("lines_raw", noisy_lines, 0.0, &[], &[]),
        ("lines_smoothed_0_6", noisy_lines, 0.6, &[], &[]),
        ("lines_smoothed_0_95", noisy_lines, 0.95, &[], &[]),
        ("log_axes", decades, 0.0, &["cloud"], &["all"]),
        ("log_y_smoothed", decades, 0.95, &[], &["loss"]),
        ("log_y_leaves_out_zero_and_below", through_zero, 0.0, &[], &["metric"]),
    ];
    for (name, scene, weight, log_x, log_y) in read_scenes {
        let test: common::GpuTest = Box::new(move |renderer| {
            let store = scene();
            let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
            let log_axes = LogAxes::from_names(&names(log_x), &names(log_y));
            let page = PageData::single(store.live())
                .with_smoothing(weight)
                .with_log_axes(&log_axes);
            let image = renderer
                .render(&page, &Default::default(), WIDTH, HEIGHT, &Default::default())
                .map_err(|e| format!("rendering: {e:#}"))?;
            common::image::check_golden(name, &image)
        });
        tests.push((name.to_owned(), test));
    }
    // Scenes with scatter marker options: opacity, density images.
    type PointScene = (&'static str, fn() -> Store, f32, &'static [&'static str]);
    let point_scenes: [PointScene; 4] = [
        ("diffusion_samples", diffusion_samples, 1.0, &[]),
        ("diffusion_samples_translucent", diffusion_samples, 0.3, &[]),
        ("dense_clouds_translucent", dense_clouds, 0.02, &[]),
        (
            "dense_clouds_density",
            dense_clouds,
            1.0,
            &["density", "density_by_value"],
        ),
    ];
    for (name, scene, opacity, density) in point_scenes {
        let test: common::GpuTest = Box::new(move |renderer| {
            let store = scene();
            let density: Vec<String> = density.iter().map(|n| n.to_string()).collect();
            let points = PointOptions {
                opacity,
                density: PlotSet::from_names(&density),
                ..PointOptions::default()
            };
            let page = PageData::single(store.live()).with_points(&points);
            let image = renderer
                .render(&page, &Default::default(), WIDTH, HEIGHT, &Default::default())
                .map_err(|e| format!("rendering: {e:#}"))?;
            common::image::check_golden(name, &image)
        });
        tests.push((name.to_owned(), test));
    }
    for (name, scene, overlay) in runs_scenes() {
        let test: common::GpuTest = Box::new(move |renderer| {
            let runs = scene();
            let page =
                PageData::of_runs(&runs, &HashSet::new(), |run| Some(run.store.live())).with_overlay_clouds(overlay);
            let image = renderer
                .render(&page, &Default::default(), WIDTH, HEIGHT, &Default::default())
                .map_err(|e| format!("rendering: {e:#}"))?;
            common::image::check_golden(name, &image)
        });
        tests.push((name.to_owned(), test));
    }
    common::run_gpu_tests(tests)
}
