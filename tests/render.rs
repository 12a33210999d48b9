//! Renderer behaviour checked on pixels and upload counts.

mod common;

use std::collections::HashMap;

use streamvis_gpu::layout::{DataRect, PageData, PageScene, PlotSet, PointOptions, Style};
use streamvis_gpu::render::HeadlessRenderer;
use streamvis_gpu::store::Store;
use streamvis_gpu::{ColorSpec, DataLogger, GridCell, TensorView};

const W: u32 = 480;
const H: u32 = 320;

fn render(
    r: &mut HeadlessRenderer,
    store: &Store,
    views: &HashMap<String, DataRect>,
) -> Result<streamvis_gpu::render::RgbaImage, String> {
    r.render(store, views, W, H, &Default::default())
        .map_err(|e| e.to_string())
}

fn one_plot(logger: &mut DataLogger) {
    logger.set_layout([("p", GridCell::new(0, 0, 1, 1))]).unwrap();
}

fn near(a: [u8; 4], b: [u8; 3], tol: u8) -> bool {
    (0..3).all(|i| a[i].abs_diff(b[i]) <= tol)
}

fn same_image_twice(r: &mut HeadlessRenderer) -> Result<(), String> {
    let store = common::store_from_log(|logger| {
        let mut demo = streamvis_gpu::demo::SeedDemo::new(3);
        demo.start(logger).unwrap();
        for step in 0..5 {
            demo.step(logger, step).unwrap();
        }
    });
    let first = render(r, &store, &HashMap::new())?;
    // A fresh store from the same log must give the same pixels too.
    let again = render(r, &store, &HashMap::new())?;
    common::image::compare("determinism", &first, &again, common::image::EXACT)
}

fn points_take_their_colours(r: &mut HeadlessRenderer) -> Result<(), String> {
    // One uncoloured point in the middle of its plot; one point with colour
    // value 0 and one with 1 through Viridis256.
    let store = common::store_from_log(|logger| {
        logger
            .set_layout([
                ("plain", GridCell::new(0, 0, 1, 1)),
                ("viridis", GridCell::new(0, 1, 1, 1)),
            ])
            .unwrap();
        logger
            .scatter("plain", TensorView::new(&[1, 2], &[0.0, 0.0]), 1, false, None, None)
            .unwrap();
        // Bottom left and bottom right: the colour key is top right.
        let data = [0.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        logger
            .scatter(
                "viridis",
                TensorView::new(&[2, 3], &data),
                1,
                false,
                Some(ColorSpec::by_value("Viridis256")),
                None,
            )
            .unwrap();
    });
    let image = render(r, &store, &HashMap::new())?;
    let scene = PageScene::build(&store, &HashMap::new(), W, H, &Style::default());
    let at = |plot: usize, p: [f64; 2]| {
        let [x, y] = scene.plots[plot].transform().screen_from_data(p);
        image.pixel(x as u32, y as u32)
    };
    let checks = [
        (at(0, [0.0, 0.0]), [0x1f, 0x77, 0xb4], "default blue"),
        (at(1, [0.0, 0.0]), [0x44, 0x01, 0x54], "viridis at 0"),
        (at(1, [1.0, 0.0]), [0xfd, 0xe7, 0x25], "viridis at 1"),
    ];
    for (got, want, what) in checks {
        if !near(got, want, 3) {
            return Err(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

fn nothing_is_drawn_outside_its_plot_area(r: &mut HeadlessRenderer) -> Result<(), String> {
    // A dense cloud, zoomed so that points lie all around the view.
    let store = common::store_from_log(|logger| {
        logger
            .set_layout([("a", GridCell::new(0, 0, 1, 1)), ("b", GridCell::new(0, 1, 1, 1))])
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        let data: Vec<f32> = (0..40_000).map(|_| rng.f32() * 10.0).collect();
        for plot in ["a", "b"] {
            logger
                .scatter(plot, TensorView::new(&[20_000, 2], &data), 1, false, None, None)
                .unwrap();
        }
    });
    let views: HashMap<String, DataRect> = ["a", "b"]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                DataRect {
                    min: [4.0, 4.0],
                    max: [6.0, 6.0],
                },
            )
        })
        .collect();
    let image = render(r, &store, &views)?;
    let scene = PageScene::build(&store, &views, W, H, &Style::default());
    let mut data_pixels = 0;
    for plot in &scene.plots {
        let area = plot.frame.plot_area;
        // The stripe right of the frame holds no text or ticks: it must be
        // page background.
        for y in area.y as u32..area.bottom() as u32 {
            for x in (area.right() as u32 + 1)..(plot.frame.cell.right() as u32) {
                let p = image.pixel(x, y);
                if p != [255, 255, 255, 255] {
                    return Err(format!(
                        "plot {}: pixel ({x}, {y}) outside the plot area is {p:?}",
                        plot.frame.name
                    ));
                }
            }
        }
        for y in area.y as u32..area.bottom() as u32 {
            for x in area.x as u32..area.right() as u32 {
                data_pixels += near(image.pixel(x, y), [0x1f, 0x77, 0xb4], 40) as usize;
            }
        }
    }
    if data_pixels < 1000 {
        return Err(format!("only {data_pixels} data pixels inside the plot areas"));
    }
    Ok(())
}

fn appends_upload_only_the_new_tail(r: &mut HeadlessRenderer) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("append.log");
    let mut logger = DataLogger::new("append");
    logger.init_write_log(&path).unwrap();
    one_plot(&mut logger);
    let big: Vec<f32> = (0..200_000).map(|i| (i % 1000) as f32).collect();
    logger
        .scatter("p", TensorView::new(&[100_000, 2], &big), 1, true, None, None)
        .unwrap();
    logger.flush().unwrap();
    let mut tail = streamvis_gpu::source::FileTail::open(&path, false).unwrap();
    let mut store = Store::new();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
    render(r, &store, &HashMap::new())?;
    let first = r.last_sync().uploaded_bytes;
    if first < 800_000 {
        return Err(format!(
            "the first upload sent {first} bytes, expected the whole 800000"
        ));
    }
    let small: Vec<f32> = vec![1.0; 20_000];
    logger
        .scatter("p", TensorView::new(&[10_000, 2], &small), 1, true, None, None)
        .unwrap();
    logger.flush().unwrap();
    streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
    render(r, &store, &HashMap::new())?;
    let second = r.last_sync().uploaded_bytes;
    // The new batch's 80000 bytes and its small descriptor, nothing more.
    if !(80_000..81_000).contains(&second) {
        return Err(format!("appending 10000 points uploaded {second} bytes"));
    }
    render(r, &store, &HashMap::new())?;
    if r.last_sync().uploaded_bytes != 0 {
        return Err("an unchanged store uploaded data".into());
    }
    Ok(())
}

fn a_new_store_is_not_mistaken_for_an_old_one(r: &mut HeadlessRenderer) -> Result<(), String> {
    // Two stores whose plot has the same name: the renderer must not keep
    // the first one's data for the second.
    let store_at = |x: f32| {
        common::store_from_log(|logger| {
            logger.set_layout([("same", GridCell::new(0, 0, 1, 1))]).unwrap();
            let data = [x, 0.0, x + 1.0, 1.0];
            logger
                .scatter("same", TensorView::new(&[2, 2], &data), 1, false, None, None)
                .unwrap();
        })
    };
    let first = render(r, &store_at(0.0), &HashMap::new())?;
    let views: HashMap<String, DataRect> = [(
        "same".to_owned(),
        DataRect {
            min: [-1.0, -1.0],
            max: [12.0, 2.0],
        },
    )]
    .into();
    let second = render(r, &store_at(10.0), &views)?;
    let fresh = {
        let mut other = HeadlessRenderer::new().map_err(|e| e.to_string())?;
        other
            .render(&store_at(10.0), &views, W, H, &Default::default())
            .map_err(|e| e.to_string())?
    };
    common::image::compare("fresh_store", &fresh, &second, common::image::EXACT)?;
    if first == second {
        return Err("the second store drew the same image".into());
    }
    Ok(())
}

fn reduced_lines_look_like_the_full_lines(r: &mut HeadlessRenderer) -> Result<(), String> {
    // 30,000 noisy points per line across a 400-pixel-wide plot.
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        let mut rng = fastrand::Rng::with_seed(12);
        for step in 0..30_000 {
            let s = step as f32;
            let ys = [
                (s / 3000.0).sin() + rng.f32() * 0.3,
                (s / 5000.0).cos() + if step == 17_000 { 2.0 } else { 0.0 },
            ];
            logger
                .tandem_lines("p", s as f64, &ys, Some("Viridis256"), None)
                .unwrap();
        }
    });
    let size = (400, 300);
    r.page_mut().set_line_reduction(false);
    let full = r
        .render(&store, &HashMap::new(), size.0, size.1, &Default::default())
        .map_err(|e| e.to_string())?;
    r.page_mut().set_line_reduction(true);
    let reduced = r
        .render(&store, &HashMap::new(), size.0, size.1, &Default::default())
        .map_err(|e| e.to_string())?;
    // The note above the plot differs; compare the plot areas.
    let scene = PageScene::build(&store, &HashMap::new(), size.0, size.1, &Style::default());
    let area = scene.plots[0].frame.plot_area;
    let crop = |img: &streamvis_gpu::render::RgbaImage| {
        let mut pixels = Vec::new();
        for y in area.y as u32..area.bottom() as u32 {
            for x in area.x as u32..area.right() as u32 {
                pixels.extend_from_slice(&img.pixel(x, y));
            }
        }
        streamvis_gpu::render::RgbaImage {
            width: area.width as u32,
            height: area.height as u32,
            pixels,
        }
    };
    // Only the antialiased edges of the envelope may differ.
    let tolerance = common::image::Tolerance {
        max_mean: 2.0,
        bad_threshold: 96,
        max_bad_fraction: 0.03,
    };
    common::image::compare("reduced_vs_full", &crop(&full), &crop(&reduced), tolerance)
}

fn a_memory_budget_drops_the_oldest_points(r: &mut HeadlessRenderer) -> Result<(), String> {
    // A small storage binding forces chunks: 40 appends of 100,000 points
    // (800 KB each) into a 24 MiB budget.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.log");
    let mut logger = DataLogger::new("budget");
    logger.init_write_log(&path).unwrap();
    one_plot(&mut logger);
    let mut tail = streamvis_gpu::source::FileTail::open(&path, false).unwrap();
    let mut store = Store::new();
    let budget = 24u64 << 20;
    r.page_mut().set_memory_budget(Some(budget));
    let mut rng = fastrand::Rng::with_seed(13);
    let (mut peak, mut dropped) = (0, 0);
    for _ in 0..40 {
        let data: Vec<f32> = (0..200_000).map(|_| rng.f32()).collect();
        logger
            .scatter("p", TensorView::new(&[100_000, 2], &data), 1, true, None, None)
            .unwrap();
        logger.flush().unwrap();
        streamvis_gpu::source::read_to_end(&mut tail, &mut store).unwrap();
        dropped += r.sync(&store).map_err(|e| e.to_string())?.dropped_points;
        peak = peak.max(r.page().gpu_bytes());
    }
    // The frame still draws, with what fits.
    r.draw(&store, &HashMap::new(), 320, 240, &Default::default())
        .map_err(|e| e.to_string())?;
    r.page_mut().set_memory_budget(None);
    if dropped == 0 || dropped % 100_000 != 0 {
        return Err(format!("{dropped} points reported dropped; expected whole old batches"));
    }
    if peak > budget {
        return Err(format!("GPU buffers reached {peak} bytes over a {budget}-byte budget"));
    }
    if r.page().gpu_bytes() < budget / 4 {
        return Err(format!(
            "only {} bytes in use: too much was dropped",
            r.page().gpu_bytes()
        ));
    }
    Ok(())
}

fn the_splat_pass_draws_what_the_triangles_draw(r: &mut HeadlessRenderer) -> Result<(), String> {
    // 80,000 points coloured by value: drawn by the splat compute pass, and,
    // for comparison, as antialiased triangles. Only disc edges may differ.
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        let mut rng = fastrand::Rng::with_seed(14);
        let data: Vec<f32> = (0..80_000)
            .flat_map(|_| {
                let (x, y) = (rng.f32() * 2.0 - 1.0, rng.f32() * 2.0 - 1.0);
                [x, y * x.abs(), rng.f32()]
            })
            .collect();
        let color = Some(ColorSpec::by_value("Turbo256"));
        logger
            .scatter("p", TensorView::new(&[80_000, 3], &data), 1, false, color, None)
            .unwrap();
    });
    // 5 px markers: the size rule would draw these at 1 px, where every
    // marker is all edge.
    let points = PointOptions {
        size: Some(5.0),
        ..PointOptions::default()
    };
    let page = PageData::single(store.live()).with_points(&points);
    let render = |r: &mut HeadlessRenderer| {
        r.render(&page, &HashMap::new(), W, H, &Default::default())
            .map_err(|e| e.to_string())
    };
    let splat = render(r)?;
    let again = render(r)?;
    common::image::compare("splat_determinism", &splat, &again, common::image::EXACT)?;
    r.page_mut().set_splat(false);
    let triangles = render(r);
    r.page_mut().set_splat(true);
    // Antialiased edges against hard ones: most pixels agree, and no large
    // area differs.
    let tolerance = common::image::Tolerance {
        max_mean: 6.0,
        bad_threshold: 160,
        max_bad_fraction: 0.04,
    };
    common::image::compare("splat_vs_triangles", &triangles?, &splat, tolerance)
}

/// The colour at data point `p` of plot `plot` in `image` of `store`.
fn pixel_at(store: &Store, image: &streamvis_gpu::render::RgbaImage, plot: usize, p: [f64; 2]) -> [u8; 4] {
    let scene = PageScene::build(store, &HashMap::new(), image.width, image.height, &Style::default());
    let [x, y] = scene.plots[plot].transform().screen_from_data(p);
    image.pixel(x as u32, y as u32)
}

fn many_small_appends_share_descriptors(r: &mut HeadlessRenderer) -> Result<(), String> {
    // One-point scatter appends and one-point single-line appends: the
    // descriptor count must not grow with the number of appends, and the
    // pixels must equal those of the same points logged in one call.
    let points = |n: usize| -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let t = i as f32 / n as f32;
                [t, (t * 9.0).sin()]
            })
            .collect()
    };
    let appended = |n: usize| {
        common::store_from_log(|logger| {
            logger
                .set_layout([("s", GridCell::new(0, 0, 1, 1)), ("l", GridCell::new(0, 1, 1, 1))])
                .unwrap();
            let data = points(n);
            for p in data.chunks(2) {
                logger
                    .scatter("s", TensorView::new(&[1, 2], p), 1, true, None, None)
                    .unwrap();
                logger
                    .multi_lines("l", TensorView::new(&[1, 1, 2], p), &[0], 2, true, None, None, None)
                    .unwrap();
            }
        })
    };
    let whole = |n: usize| {
        common::store_from_log(|logger| {
            logger
                .set_layout([("s", GridCell::new(0, 0, 1, 1)), ("l", GridCell::new(0, 1, 1, 1))])
                .unwrap();
            let data = points(n);
            logger
                .scatter("s", TensorView::new(&[n, 2], &data), 1, false, None, None)
                .unwrap();
            logger
                .multi_lines(
                    "l",
                    TensorView::new(&[1, n, 2], &data),
                    &[0],
                    2,
                    false,
                    None,
                    None,
                    None,
                )
                .unwrap();
        })
    };
    let mut descriptors = Vec::new();
    for n in [100, 400] {
        let store = appended(n);
        r.page_mut().set_line_reduction(false);
        let image = render(r, &store, &HashMap::new());
        descriptors.push(r.last_sync().descriptors);
        let reference = render(r, &whole(n), &HashMap::new());
        r.page_mut().set_line_reduction(true);
        common::image::compare(&format!("appends_{n}"), &reference?, &image?, common::image::EXACT)?;
    }
    // Two plots: one descriptor each, however many appends.
    if descriptors != [2, 2] {
        return Err(format!(
            "descriptors for 100 and 400 appends to two plots: {descriptors:?}, expected [2, 2]"
        ));
    }
    Ok(())
}

fn different_layouts_do_not_share_a_descriptor(r: &mut HeadlessRenderer) -> Result<(), String> {
    // Alternating uncoloured and coloured points may not merge: each keeps
    // its own colour.
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        for i in 0..50 {
            let x = i as f32;
            if i % 2 == 0 {
                logger
                    .scatter("p", TensorView::new(&[1, 2], &[x, 0.0]), 1, true, None, None)
                    .unwrap();
            } else {
                let color = Some(ColorSpec::by_value("Viridis256"));
                logger
                    .scatter("p", TensorView::new(&[1, 3], &[x, 1.0, 1.0]), 1, true, color, None)
                    .unwrap();
            }
        }
    });
    let image = render(r, &store, &HashMap::new())?;
    if r.last_sync().descriptors != 50 {
        return Err(format!(
            "{} descriptors for 50 alternating layouts",
            r.last_sync().descriptors
        ));
    }
    let checks = [
        (
            pixel_at(&store, &image, 0, [10.0, 0.0]),
            [0x1f, 0x77, 0xb4],
            "uncoloured",
        ),
        (
            pixel_at(&store, &image, 0, [11.0, 1.0]),
            [0xfd, 0xe7, 0x25],
            "viridis at 1",
        ),
    ];
    for (got, want, what) in checks {
        if !near(got, want, 3) {
            return Err(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

fn descriptor_tables_past_the_binding_limit_are_chunked(r: &mut HeadlessRenderer) -> Result<(), String> {
    // More alternating one-point appends than one storage binding holds
    // descriptors for (800,000 on a 128 MiB binding would have failed with a
    // validation error): markers in the first and the last chunk are drawn.
    let max_binding = {
        let limits = r.ctx.device.limits();
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size)
    };
    let descriptor = std::mem::size_of::<streamvis_gpu::render::BatchDesc>() as u64;
    let n = (max_binding / descriptor) as usize + 1000;
    let markers = [
        (0, [0.25, 0.25]),
        (1, [0.75, 0.25]),
        (n - 2, [0.25, 0.75]),
        (n - 1, [0.75, 0.75]),
    ];
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        for i in 0..n {
            // Points not drawn unless a marker, at the bounds otherwise.
            let xy = markers
                .iter()
                .find(|(at, _)| *at == i)
                .map(|(_, xy)| *xy)
                .unwrap_or(match i {
                    2 => [0.0, 0.0],
                    3 => [1.0, 1.0],
                    _ => [f32::NAN, f32::NAN],
                });
            if i % 2 == 0 {
                logger
                    .scatter("p", TensorView::new(&[1, 2], &xy), 1, true, None, None)
                    .unwrap();
            } else {
                let color = Some(ColorSpec::by_value("Viridis256"));
                let xyc = [xy[0], xy[1], 0.0];
                logger
                    .scatter("p", TensorView::new(&[1, 3], &xyc), 1, true, color, None)
                    .unwrap();
            }
        }
    });
    let image = render(r, &store, &HashMap::new())?;
    let sync = r.last_sync();
    if sync.chunks < 2 || sync.descriptors != n as u64 || sync.dropped_points != 0 {
        return Err(format!("{n} appends: {sync:?}"));
    }
    for (i, xy) in markers {
        let want = if i % 2 == 0 {
            [0x1f, 0x77, 0xb4]
        } else {
            [0x44, 0x01, 0x54]
        };
        let got = pixel_at(&store, &image, 0, [xy[0] as f64, xy[1] as f64]);
        if !near(got, want, 3) {
            return Err(format!("marker {i} of {n} at {xy:?}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

/// Renders `store` at the device's binding limit and at `small_binding`
/// (which forces chunks), full lines, and requires the same pixels.
fn same_with_small_bindings(
    r: &mut HeadlessRenderer,
    name: &str,
    store: &Store,
    small_binding: u64,
) -> Result<(), String> {
    r.page_mut().set_line_reduction(false);
    let whole = render(r, store, &HashMap::new());
    let one_chunk = r.last_sync().chunks;
    r.page_mut().set_max_binding_bytes(Some(small_binding));
    let chunked = render(r, store, &HashMap::new());
    let chunks = r.last_sync().chunks;
    r.page_mut().set_max_binding_bytes(None);
    r.page_mut().set_line_reduction(true);
    if one_chunk != 1 || chunks < 3 {
        return Err(format!(
            "{name}: {one_chunk} chunk(s) unbounded, {chunks} with small bindings"
        ));
    }
    common::image::compare(name, &whole?, &chunked?, common::image::EXACT)
}

fn tandem_lines_past_the_binding_limit_are_chunked(r: &mut HeadlessRenderer) -> Result<(), String> {
    // 1,000,000 tandem lines outgrow one binding with a few dozen rows, but
    // drawing 3e7 segments takes minutes on a software adapter: the same
    // path is reached with a small binding. Lines far apart, so the drawing
    // order across chunks cannot change a pixel.
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        for step in 0..600 {
            let s = step as f32;
            let ys: Vec<f32> = (0..6).map(|k| k as f32 * 3.0 + (s / 40.0).sin()).collect();
            logger
                .tandem_lines("p", s as f64, &ys, Some("Viridis256"), None)
                .unwrap();
        }
    });
    let row_bytes = 7 * 4;
    same_with_small_bindings(r, "tandem_chunks", &store, 150 * row_bytes)
}

fn appended_lines_past_the_binding_limit_are_bridged(r: &mut HeadlessRenderer) -> Result<(), String> {
    // Two lines grown by 60 appends of 5 points: with a binding of a few
    // batches, each chunk starts with the last points of the previous one,
    // and the joining segments are drawn.
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        for step in 0..60 {
            let mut data = Vec::new();
            for line in 0..2 {
                for j in 0..5 {
                    let x = (step * 5 + j) as f32;
                    data.extend_from_slice(&[x, line as f32 * 4.0 + (x / 30.0).cos()]);
                }
            }
            let color = Some(ColorSpec::by_dim("Viridis256", 0));
            logger
                .multi_lines(
                    "p",
                    TensorView::new(&[2, 5, 2], &data),
                    &[0],
                    2,
                    true,
                    color,
                    None,
                    None,
                )
                .unwrap();
        }
    });
    // Four descriptors per chunk: the bridge and three batches.
    let descriptor = std::mem::size_of::<streamvis_gpu::render::BatchDesc>() as u64;
    same_with_small_bindings(r, "lines_bridged", &store, 4 * descriptor)
}

fn a_plot_area_past_the_binding_limit_still_draws_its_dense_scatter(r: &mut HeadlessRenderer) -> Result<(), String> {
    // A page whose plot area needs more splat marks (4 bytes a pixel) than
    // one binding holds (--size 16384x16384 failed so): drawn as triangles.
    let limits = r.ctx.device.limits();
    let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
    let side = ((max_binding / 4) as f64).sqrt() as u32 + 200;
    if side > limits.max_texture_dimension_2d {
        let err = r
            .render(&Store::new(), &HashMap::new(), side, side, &Default::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return match err.contains("largest texture side") {
            true => Ok(()),
            false => Err(format!("a {side}x{side} page: {err:?}")),
        };
    }
    let n = streamvis_gpu::render::DENSE_MIN_POINTS + 10;
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        // A dense cluster near (0.9, 0.1), one point at (0.1, 0.9), and the
        // corners for the bounds.
        let mut rng = fastrand::Rng::with_seed(15);
        let mut data: Vec<f32> = (0..n - 3)
            .flat_map(|_| [0.9 + rng.f32() * 0.02, 0.1 + rng.f32() * 0.02])
            .collect();
        data.extend_from_slice(&[0.1, 0.9, 0.0, 0.0, 1.0, 1.0]);
        logger
            .scatter("p", TensorView::new(&[n, 2], &data), 1, false, None, None)
            .unwrap();
    });
    let image = r
        .render(&store, &HashMap::new(), side, side, &Default::default())
        .map_err(|e| e.to_string())?;
    let scene = PageScene::build(&store, &HashMap::new(), side, side, &Style::default());
    let area = scene.plots[0].frame.plot_area;
    if (area.width as u64 * area.height as u64 * 4) <= max_binding {
        return Err(format!("the plot area {area:?} is within the binding limit"));
    }
    let checks = [
        (
            pixel_at(&store, &image, 0, [0.1, 0.9]),
            [0x1f, 0x77, 0xb4],
            "lone point",
        ),
        (pixel_at(&store, &image, 0, [0.91, 0.11]), [0x1f, 0x77, 0xb4], "cluster"),
    ];
    // The middle holds no point: only page background and grid lines.
    for i in 0..100 {
        let p = [0.4 + 0.002 * i as f64, 0.6 - 0.002 * i as f64];
        let got = pixel_at(&store, &image, 0, p);
        if near(got, [0x1f, 0x77, 0xb4], 60) {
            return Err(format!("a point drawn at {p:?}, where there is none"));
        }
    }
    for (got, want, what) in checks {
        if !near(got, want, 3) {
            return Err(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

fn a_page_larger_than_a_texture_is_refused_clearly(r: &mut HeadlessRenderer) -> Result<(), String> {
    let max_side = r.ctx.device.limits().max_texture_dimension_2d;
    match r.render(&Store::new(), &HashMap::new(), max_side + 1, 16, &Default::default()) {
        Err(streamvis_gpu::render::RenderError::TargetTooLarge {
            width, max_side: max, ..
        }) if width == max_side + 1 && max == max_side => Ok(()),
        other => Err(format!("a page wider than {max_side}: {:?}", other.map(|i| i.width))),
    }
}

/// A log of eight marked steps: an appended dense cloud (the splat pass
/// past step 2), a replaced small cloud, appended multi-lines, tandem
/// lines, and a clear with a new layout after step 5.
fn history_log(logger: &mut DataLogger) {
    let layout = [
        ("dense", GridCell::new(0, 0, 1, 1)),
        ("cloud", GridCell::new(0, 1, 1, 1)),
        ("curves", GridCell::new(1, 0, 1, 1)),
        ("loss", GridCell::new(1, 1, 1, 1)),
    ];
    logger.set_layout(layout).unwrap();
    let mut rng = fastrand::Rng::with_seed(21);
    for step in 0..8u32 {
        if step == 6 {
            logger.clear().unwrap();
            logger.set_layout(layout[1..].to_vec()).unwrap();
        }
        if step < 6 {
            let dense: Vec<f32> = (0..40_000).map(|_| rng.f32() + step as f32 * 0.1).collect();
            logger
                .scatter("dense", TensorView::new(&[20_000, 2], &dense), 1, true, None, None)
                .unwrap();
        }
        let cloud: Vec<f32> = (0..200).map(|_| rng.f32()).collect();
        let color = ColorSpec::by_dim("Viridis256", 0);
        logger
            .scatter("cloud", TensorView::new(&[100, 2], &cloud), 1, false, Some(color), None)
            .unwrap();
        // Two lines of 50 points each step: x, y along dim 2.
        let curves: Vec<f32> = (0..2)
            .flat_map(|line| {
                let xs: Vec<f32> = (0..50).map(|i| (step * 50 + i) as f32).collect();
                let ys: Vec<f32> = (0..50)
                    .map(|i| ((step * 50 + i) as f32 * 0.1 + line as f32).sin())
                    .collect();
                [xs, ys].concat()
            })
            .collect();
        logger
            .multi_lines(
                "curves",
                TensorView::new(&[2, 2, 50], &curves),
                &[0],
                1,
                true,
                None,
                None,
                None,
            )
            .unwrap();
        logger
            .tandem_lines("loss", step as f64, &[1.0 / (1.0 + step as f32), rng.f32()], None, None)
            .unwrap();
        logger.end_step().unwrap();
    }
}

fn moving_on_the_timeline_draws_each_step_as_a_fresh_store_would(r: &mut HeadlessRenderer) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.log");
    let mut logger = DataLogger::new("history");
    logger.init_write_log(&path).unwrap();
    history_log(&mut logger);
    drop(logger);
    let records = common::records_of(&path);
    let mut store = Store::new();
    for record in &records {
        store.apply(record).unwrap();
    }
    if store.steps() != 8 {
        return Err(format!("{} steps, expected 8", store.steps()));
    }
    // What each step looks like from a store of the records up to its end,
    // uploaded from scratch.
    let mut expected = Vec::new();
    for k in 0..8 {
        let mut cut = Store::new();
        for record in &records[..store.step(k).unwrap().end as usize] {
            cut.apply(record).unwrap();
        }
        expected.push(render(r, &cut, &HashMap::new())?);
    }
    let at = |r: &mut HeadlessRenderer, k: u64| -> Result<_, String> {
        let image = r
            .render(&store.at_step(k).unwrap(), &HashMap::new(), W, H, &Default::default())
            .map_err(|e| e.to_string())?;
        common::image::compare(
            &format!("step {k}"),
            &expected[k as usize],
            &image,
            common::image::EXACT,
        )?;
        Ok(r.last_sync().uploaded_bytes)
    };
    // Live first, then back and forth.
    render(r, &store, &HashMap::new())?;
    let dense_step = 20_000 * 8;
    // The first visit to a step with the dense cloud uploads its batches;
    // after that, a move uploads only the small replaced cloud of the step
    // (and, across the clear, the small epochs of the lines from the other
    // side): going back draws fewer batches, going forward more.
    let moves = [
        (5, 6 * dense_step + 10_000),
        (7, 10_000),
        (5, 10_000),
        (4, 2_000),
        (0, 2_000),
        (3, 2_000),
        (6, 10_000),
        (1, 10_000),
    ];
    for (k, most) in moves {
        let uploaded = at(r, k)?;
        if uploaded > most {
            return Err(format!(
                "moving to step {k} uploaded {uploaded} bytes (at most {most} expected)"
            ));
        }
    }
    Ok(())
}

/// Whether a pixel within one of screen point `at` has colour `want`
/// (each channel within 2).
fn colour_near(image: &streamvis_gpu::render::RgbaImage, at: [f32; 2], want: [u8; 3]) -> bool {
    let (x, y) = (at[0].floor() as i64, at[1].floor() as i64);
    (y - 1..=y + 1).any(|y| {
        (x - 1..=x + 1).any(|x| {
            let p = image.pixel(x as u32, y as u32);
            (0..3).all(|c| p[c].abs_diff(want[c]) <= 2)
        })
    })
}

/// Points stacked 1, 10 and 1,000 deep at three places of a density image:
/// each place takes the palette's colour at log(1 + count) / log(1 + 1000),
/// whether or not dense scatters are splatted (a density image always is).
fn density_images_count_points_per_pixel(r: &mut HeadlessRenderer) -> Result<(), String> {
    let places = [([-1.0f32, -1.0f32], 1usize), ([0.0, -1.0], 10), ([-1.0, 0.0], 1000)];
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        let data: Vec<f32> = places
            .iter()
            .flat_map(|&(xy, count)| std::iter::repeat_n(xy, count).flatten())
            .collect();
        logger
            .scatter("p", TensorView::new(&[data.len() / 2, 2], &data), 1, false, None, None)
            .unwrap();
    });
    let points = PointOptions {
        density: PlotSet::from_names(&["p".to_owned()]),
        ..PointOptions::default()
    };
    let page = PageData::single(store.live()).with_points(&points);
    let scene = PageScene::build(&page, &HashMap::new(), W, H, &Style::default());
    let transform = scene.plots[0].transform();
    let viridis =
        streamvis_gpu::render::palette::palette_colors(&streamvis_gpu::calls::Palette::parse("Viridis256").unwrap());
    let splat = r
        .render(&page, &HashMap::new(), W, H, &Default::default())
        .map_err(|e| e.to_string())?;
    r.page_mut().set_splat(false);
    let unsplatted = r.render(&page, &HashMap::new(), W, H, &Default::default());
    r.page_mut().set_splat(true);
    common::image::compare(
        "density_without_splat",
        &splat,
        &unsplatted.map_err(|e| e.to_string())?,
        common::image::EXACT,
    )?;
    for (xy, count) in places {
        let t = (1.0 + count as f32).ln() / 1001f32.ln();
        let want = viridis[((t * 256.0).floor() as usize).min(255)];
        let at = transform.screen_from_data([xy[0] as f64, xy[1] as f64]);
        if !colour_near(&splat, at, want) {
            return Err(format!(
                "{count} points at {xy:?} (pixel {at:?}): no pixel of colour {want:?}"
            ));
        }
    }
    Ok(())
}

/// Translucent markers of a splatted scatter: a pixel under many markers is
/// their colour, one under a single marker is lighter (blended with the
/// white page), and the picture is the same every time.
fn translucent_splats_stack_by_count(r: &mut HeadlessRenderer) -> Result<(), String> {
    let n = streamvis_gpu::render::DENSE_MIN_POINTS + 10;
    let store = common::store_from_log(|logger| {
        one_plot(logger);
        let mut data = vec![0.0f32; 2 * n];
        data.extend([-1.0, -1.0]);
        logger
            .scatter("p", TensorView::new(&[n + 1, 2], &data), 1, false, None, None)
            .unwrap();
    });
    let points = PointOptions {
        opacity: 0.5,
        ..PointOptions::default()
    };
    let page = PageData::single(store.live()).with_points(&points);
    let scene = PageScene::build(&page, &HashMap::new(), W, H, &Style::default());
    let transform = scene.plots[0].transform();
    let image = r
        .render(&page, &HashMap::new(), W, H, &Default::default())
        .map_err(|e| e.to_string())?;
    let again = r
        .render(&page, &HashMap::new(), W, H, &Default::default())
        .map_err(|e| e.to_string())?;
    common::image::compare("translucent_determinism", &image, &again, common::image::EXACT)?;
    let blue = [0x1f, 0x77, 0xb4];
    let stacked = transform.screen_from_data([0.0, 0.0]);
    if !colour_near(&image, stacked, blue) {
        return Err(format!("no pixel of {n} stacked markers at {stacked:?} is {blue:?}"));
    }
    // Half of the blue over white, blended in linear light.
    let lin = |c: u8| ((c as f32 / 255.0 + 0.055) / 1.055).powf(2.4);
    let srgb = |l: f32| ((1.055 * l.powf(1.0 / 2.4) - 0.055) * 255.0).round() as u8;
    let half = blue.map(|c| srgb(0.5 * lin(c) + 0.5));
    let single = transform.screen_from_data([-1.0, -1.0]);
    if !colour_near(&image, single, half) {
        return Err(format!("no pixel of the lone marker at {single:?} is {half:?}"));
    }
    Ok(())
}

/// A dense cloud on log axes (the splat pass, the log in the shader) lands
/// where the same cloud's logarithms, taken on the CPU, land on linear
/// axes; points at or below zero are not drawn.
fn log_axes_place_points_at_their_logarithms(r: &mut HeadlessRenderer) -> Result<(), String> {
    use streamvis_gpu::layout::{LogAxes, PageData};
    let mut rng = fastrand::Rng::with_seed(23);
    let exponents: Vec<[f32; 2]> = (0..60_000)
        .map(|_| {
            let u = rng.f32() * 6.0 - 3.0;
            [u, u * 0.5 + rng.f32() - 0.5]
        })
        .collect();
    let cloud = |points: Vec<f32>| {
        common::store_from_log(move |logger| {
            one_plot(logger);
            let n = points.len() / 2;
            logger
                .scatter("p", TensorView::new(&[n, 2], &points), 1, false, None, None)
                .unwrap();
        })
    };
    let mut powers: Vec<f32> = exponents.iter().flat_map(|e| e.map(|v| 10f32.powf(v))).collect();
    // Points a log axis leaves out, all over the linear range.
    for i in 0..20_000 {
        let v = (i as f32 / 20_000.0) * 1000.0;
        powers.extend_from_slice(&[if i % 2 == 0 { -v } else { v + 1.0 }, if i % 2 == 0 { v } else { 0.0 }]);
    }
    let logs = cloud(exponents.iter().flat_map(|e| *e).collect());
    let powers = cloud(powers);
    let all = vec!["all".to_owned()];
    let log = LogAxes::from_names(&all, &all);
    let on_log_axes = PageData::single(powers.live()).with_log_axes(&log);
    let scene = PageScene::build(&on_log_axes, &HashMap::new(), W, H, &Style::default());
    if scene.plots[0].left_out != 20_000 {
        return Err(format!(
            "{} points said to be left out, not 20000",
            scene.plots[0].left_out
        ));
    }
    // The same rectangle of plot space for both.
    let views = HashMap::from([("p".to_owned(), scene.plots[0].view)]);
    let a = r
        .render(&on_log_axes, &views, W, H, &Default::default())
        .map_err(|e| e.to_string())?;
    let b = render(r, &logs, &views)?;
    let area = scene.plots[0].frame.plot_area;
    let (mut differing, mut total, mut inked) = (0, 0, 0);
    for y in area.y as u32 + 1..area.bottom() as u32 - 1 {
        for x in area.x as u32 + 1..area.right() as u32 - 1 {
            let (pa, pb) = (a.pixel(x, y), b.pixel(x, y));
            total += 1;
            inked += usize::from(pb[0] < 200);
            differing += usize::from((0..3).any(|c| pa[c].abs_diff(pb[c]) > 64));
        }
    }
    // f32 log10 on the CPU against log2 on the GPU: a point may move a
    // pixel at a disc's edge, nothing more.
    if inked < total / 20 || differing * 100 > total {
        return Err(format!(
            "{differing} of {total} pixels differ ({inked} inked on the linear page)"
        ));
    }
    Ok(())
}

/// A dense scatter whose view stays put keeps its splat's marks between
/// frames: a frame splats only the points appended since the last, and
/// gives exactly the image a redraw of every point gives, in every splat
/// mode. A move back on the timeline redraws.
fn appended_points_splat_into_the_kept_marks(r: &mut HeadlessRenderer) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(31);
    let mut cloud = |n: usize, spread: f32| -> Vec<f32> {
        (0..n)
            .flat_map(|_| {
                let (x, y) = (rng.f32() * 2.0 - 1.0, rng.f32() * 2.0 - 1.0);
                [x * spread, y * spread * x.abs(), rng.f32()]
            })
            .collect()
    };
    // The first batch spans the view; the appended ones fall inside it, so
    // autoscale keeps the view.
    let first = cloud(200_000, 1.0);
    let more: Vec<Vec<f32>> = (0..2).map(|_| cloud(10_000, 0.9)).collect();
    let store = common::store_from_log(move |logger| {
        one_plot(logger);
        let color = Some(ColorSpec::by_value("Turbo256"));
        logger
            .scatter(
                "p",
                TensorView::new(&[200_000, 3], &first),
                1,
                false,
                color.clone(),
                None,
            )
            .unwrap();
        for batch in &more {
            logger
                .scatter("p", TensorView::new(&[10_000, 3], batch), 1, true, color.clone(), None)
                .unwrap();
        }
    });
    let modes = [
        PointOptions::default(),
        PointOptions {
            opacity: 0.3,
            ..PointOptions::default()
        },
        PointOptions {
            density: PlotSet::from_names(&["p".to_owned()]),
            ..PointOptions::default()
        },
    ];
    let fresh = || HeadlessRenderer::new().map_err(|e| e.to_string());
    for points in &modes {
        let draw = |r: &mut HeadlessRenderer, records: u64| {
            let page = PageData::single(store.at_record(records)).with_points(points);
            let image = r.render(&page, &HashMap::new(), W, H, &Default::default());
            image
                .map(|image| (image, r.last_sync().splatted_points))
                .map_err(|e| e.to_string())
        };
        // Records: the layout, 200k points, then 10k and 10k more.
        let (_, splatted) = draw(r, 2)?;
        if splatted != 200_000 {
            return Err(format!("{points:?}: the first frame splatted {splatted} points"));
        }
        for (records, all) in [(3, 210_000u64), (4, 220_000)] {
            let (kept, splatted) = draw(r, records)?;
            if splatted != 10_000 {
                return Err(format!("{points:?}: a frame after 10k more splatted {splatted} points"));
            }
            let (redrawn, splatted) = draw(&mut fresh()?, records)?;
            if splatted != all {
                return Err(format!("{points:?}: a first frame of {all} points splatted {splatted}"));
            }
            common::image::compare("kept_marks_vs_redrawn", &redrawn, &kept, common::image::EXACT)?;
        }
        // Back to the first state: the marks are drawn again.
        let (back, splatted) = draw(r, 2)?;
        let (redrawn, _) = draw(&mut fresh()?, 2)?;
        if splatted != 200_000 {
            return Err(format!("{points:?}: moving back splatted {splatted} points"));
        }
        common::image::compare("moved_back_vs_redrawn", &redrawn, &back, common::image::EXACT)?;
    }
    Ok(())
}

fn main() {
    common::run_gpu_fns(vec![
        (
            "appended_points_splat_into_the_kept_marks",
            appended_points_splat_into_the_kept_marks,
        ),
        (
            "log_axes_place_points_at_their_logarithms",
            log_axes_place_points_at_their_logarithms,
        ),
        ("same_image_twice", same_image_twice),
        ("points_take_their_colours", points_take_their_colours),
        (
            "nothing_is_drawn_outside_its_plot_area",
            nothing_is_drawn_outside_its_plot_area,
        ),
        ("appends_upload_only_the_new_tail", appends_upload_only_the_new_tail),
        (
            "a_new_store_is_not_mistaken_for_an_old_one",
            a_new_store_is_not_mistaken_for_an_old_one,
        ),
        (
            "reduced_lines_look_like_the_full_lines",
            reduced_lines_look_like_the_full_lines,
        ),
        (
            "a_memory_budget_drops_the_oldest_points",
            a_memory_budget_drops_the_oldest_points,
        ),
        (
            "the_splat_pass_draws_what_the_triangles_draw",
            the_splat_pass_draws_what_the_triangles_draw,
        ),
        (
            "density_images_count_points_per_pixel",
            density_images_count_points_per_pixel,
        ),
        ("translucent_splats_stack_by_count", translucent_splats_stack_by_count),
        (
            "many_small_appends_share_descriptors",
            many_small_appends_share_descriptors,
        ),
        (
            "different_layouts_do_not_share_a_descriptor",
            different_layouts_do_not_share_a_descriptor,
        ),
        (
            "descriptor_tables_past_the_binding_limit_are_chunked",
            descriptor_tables_past_the_binding_limit_are_chunked,
        ),
        (
            "tandem_lines_past_the_binding_limit_are_chunked",
            tandem_lines_past_the_binding_limit_are_chunked,
        ),
        (
            "appended_lines_past_the_binding_limit_are_bridged",
            appended_lines_past_the_binding_limit_are_bridged,
        ),
        (
            "a_plot_area_past_the_binding_limit_still_draws_its_dense_scatter",
            a_plot_area_past_the_binding_limit_still_draws_its_dense_scatter,
        ),
        (
            "a_page_larger_than_a_texture_is_refused_clearly",
            a_page_larger_than_a_texture_is_refused_clearly,
        ),
        (
            "moving_on_the_timeline_draws_each_step_as_a_fresh_store_would",
            moving_on_the_timeline_draws_each_step_as_a_fresh_store_would,
        ),
    ])
}
