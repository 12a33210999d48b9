use super::*;
use crate::format::{ColorSpec, DataCall, GridCell, GridSpec, Record, RecordBody, RecordMeta, TandemCall, Tensor};

fn record(seq: u64, body: RecordBody) -> Record {
    Record {
        meta: RecordMeta {
            session_id: 1,
            seq,
            wall_time_ns: 0,
            run_name: "r".into(),
        },
        body,
    }
}

fn layout(names: &[&str]) -> Record {
    let cells = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), GridCell::new(0, i as u32, 1, 1)))
        .collect();
    record(0, RecordBody::Layout(cells))
}

fn scatter(plot: &str, shape: Vec<usize>, values: &[f32], spatial_dim: usize, append: bool) -> Record {
    record(
        1,
        RecordBody::Scatter(DataCall {
            plot: plot.into(),
            spatial_dim,
            append,
            color: None,
            grid: None,
            line_dims: vec![],
            data: Tensor::from_values(shape, values),
        }),
    )
}

fn xs_ys(plot: &Plot) -> Vec<(f32, f32)> {
    plot.batches
        .iter()
        .flat_map(|b| {
            let values = b.tensor.values().into_owned();
            (0..b.len()).map(move |p| {
                let (x, y, _) = b.layout.point(&values, p);
                (x, y)
            })
        })
        .collect()
}

#[test]
fn replace_and_append() {
    let mut store = Store::new();
    store.apply(&layout(&["p"])).unwrap();
    store
        .apply(&scatter("p", vec![2, 2], &[1.0, 2.0, 3.0, 4.0], 1, false))
        .unwrap();
    let generation = store.plot("p").unwrap().generation;
    store.apply(&scatter("p", vec![2, 1], &[5.0, 6.0], 0, true)).unwrap();
    let plot = store.plot("p").unwrap();
    assert_eq!(plot.generation, generation, "append keeps the generation");
    assert_eq!(xs_ys(&plot), vec![(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]);
    assert_eq!(
        plot.bounds,
        Bounds {
            min: [1.0, 2.0],
            max: [5.0, 6.0]
        }
    );
    store.apply(&scatter("p", vec![1, 2], &[-1.0, -2.0], 1, false)).unwrap();
    let plot = store.plot("p").unwrap();
    assert_ne!(plot.generation, generation, "replace starts a new generation");
    assert_eq!(xs_ys(&plot), vec![(-1.0, -2.0)]);
    assert_eq!(
        plot.bounds,
        Bounds {
            min: [-1.0, -2.0],
            max: [-1.0, -2.0]
        }
    );
}

#[test]
fn spatial_dim_first_middle_last() {
    // Shape [2, 3]: spatial first: x = row 0, y = row 1.
    let mut store = Store::new();
    store.apply(&layout(&["a", "b"])).unwrap();
    store
        .apply(&scatter("a", vec![2, 3], &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0], 0, false))
        .unwrap();
    assert_eq!(
        xs_ys(&store.plot("a").unwrap()),
        vec![(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)]
    );
    // Shape [2, 2, 2] spatial in the middle: point (i, k) -> x at [i,0,k], y at [i,1,k].
    let v = [0.0, 1.0, 10.0, 11.0, 2.0, 3.0, 12.0, 13.0];
    store.apply(&scatter("b", vec![2, 2, 2], &v, 1, false)).unwrap();
    assert_eq!(
        xs_ys(&store.plot("b").unwrap()),
        vec![(0.0, 10.0), (1.0, 11.0), (2.0, 12.0), (3.0, 13.0)]
    );
    assert_eq!(
        store.plot("b").unwrap().bounds,
        Bounds {
            min: [0.0, 10.0],
            max: [3.0, 13.0]
        }
    );
}

#[test]
fn non_finite_points_do_not_break_bounds() {
    let mut store = Store::new();
    store.apply(&layout(&["p"])).unwrap();
    let v = [f32::NAN, 1.0, 2.0, f32::INFINITY, 3.0, 4.0, -5.0, 6.0];
    store.apply(&scatter("p", vec![4, 2], &v, 1, false)).unwrap();
    assert_eq!(
        store.plot("p").unwrap().bounds,
        Bounds {
            min: [-5.0, 4.0],
            max: [3.0, 6.0]
        }
    );
    store
        .apply(&scatter("p", vec![1, 2], &[f32::NAN, f32::NAN], 1, false))
        .unwrap();
    assert!(store.plot("p").unwrap().bounds.is_empty());
}

#[test]
fn bounds_pass_matches_a_naive_one_with_grid_tiling() {
    // Random data with the spatial dim and grid dim at every position,
    // including spatial dim last (x and y interleaved).
    let mut rng = fastrand::Rng::with_seed(3);
    for shape in [
        vec![3usize, 2, 4, 5],
        vec![3, 4, 5, 2],
        vec![7, 2],
        vec![2, 9],
        vec![4, 1, 2],
        vec![37, 2],
        vec![2, 37],
        vec![5, 2, 19],
    ] {
        let n: usize = shape.iter().product::<usize>();
        // Both signs, zeros (on a log axis, left out like negatives) and NaN.
        let values: Vec<f32> = (0..n)
            .map(|i| match i % 11 {
                5 => f32::NAN,
                7 => 0.0,
                _ => rng.f32() * 10.0 - 5.0,
            })
            .collect();
        for spatial_dim in (0..shape.len()).filter(|&d| shape[d] == 2) {
            let grids = (0..shape.len()).filter(|&g| g != spatial_dim).map(Some).chain([None]);
            for grid in grids {
                let call = DataCall {
                    plot: "p".into(),
                    spatial_dim,
                    append: false,
                    color: None,
                    grid: grid.map(|g| GridSpec::new(g, 2)),
                    line_dims: vec![],
                    data: Tensor::from_values(shape.clone(), &values),
                };
                let batch = Batch::new(&call);
                let (mut naive, mut naive_log) = (Bounds::EMPTY, LogExtent::EMPTY);
                for p in 0..batch.len() {
                    let (x, y, _) = batch.layout.point(&values, p);
                    naive.include(x, y);
                    naive_log.include(x, y);
                }
                let context = format!("shape {shape:?}, spatial {spatial_dim}, grid {grid:?}");
                assert_eq!(batch.bounds, naive, "{context}");
                assert_eq!(batch.log_extent, naive_log, "{context}");
                // The counts, written out: x, y, and both at or below zero.
                let points: Vec<(f32, f32)> = (0..batch.len())
                    .map(|p| batch.layout.point(&values, p))
                    .filter(|(x, y, _)| x.is_finite() && y.is_finite())
                    .map(|(x, y, _)| (x, y))
                    .collect();
                let count = |f: &dyn Fn(&(f32, f32)) -> bool| points.iter().filter(|p| f(p)).count() as u32;
                assert_eq!(
                    batch.log_extent.at_or_below_zero,
                    [
                        count(&|p| p.0 <= 0.0),
                        count(&|p| p.1 <= 0.0),
                        count(&|p| p.0 <= 0.0 && p.1 <= 0.0)
                    ],
                    "{context}"
                );
            }
        }
    }
}

#[test]
fn finite_bounds_skips_nan_and_infinity_in_every_lane() {
    for n in 0..40 {
        let xs: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { f32::NAN } else { i as f32 }).collect();
        let ys: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 1 { f32::NEG_INFINITY } else { -(i as f32) })
            .collect();
        let mut naive = Bounds::EMPTY;
        for (&x, &y) in xs.iter().zip(&ys) {
            naive.include(x, y);
        }
        assert_eq!(finite_bounds(&xs, &ys), naive, "n = {n}");
    }
}

#[test]
fn multi_lines_append_grows_every_line() {
    let mut store = Store::new();
    store.apply(&layout(&["l"])).unwrap();
    let lines = |values: &[f32], append| {
        record(
            2,
            RecordBody::MultiLines(DataCall {
                plot: "l".into(),
                spatial_dim: 2,
                append,
                color: Some(ColorSpec::by_dim("Viridis256", 0)),
                grid: None,
                line_dims: vec![0],
                data: Tensor::from_values(vec![2, 1, 2], values),
            }),
        )
    };
    store.apply(&lines(&[0.0, 0.0, 5.0, 5.0], true)).unwrap();
    store.apply(&lines(&[1.0, 1.0, 6.0, 6.0], true)).unwrap();
    let plot = store.plot("l").unwrap();
    assert_eq!(plot.kind, PlotKind::Lines);
    assert_eq!(plot.line_count(), 2);
    let exported = serde_json::to_value(export(&store)).unwrap();
    assert_eq!(
        exported["l"]["columns"]["x"],
        serde_json::json!([[0.0, 1.0], [5.0, 6.0]])
    );
    assert_eq!(
        exported["l"]["columns"]["z"],
        serde_json::json!([[0.0, 0.0], [1.0, 1.0]])
    );
}

#[test]
fn tandem_lines_and_clear() {
    let mut store = Store::new();
    store.apply(&layout(&["t"])).unwrap();
    for (i, x) in [0.0, 10.0, 20.0].into_iter().enumerate() {
        let ys = Tensor::from_values(vec![2], &[i as f32, -(i as f32)]);
        let call = TandemCall {
            plot: "t".into(),
            palette: Some("Turbo256".into()),
            x,
            ys,
        };
        store.apply(&record(3, RecordBody::TandemLines(call))).unwrap();
    }
    let plot = store.plot("t").unwrap();
    assert_eq!((plot.tandem.lines, plot.tandem.len()), (2, 3));
    assert_eq!(plot.tandem.point(1, 2), (20.0, -2.0));
    assert_eq!(
        plot.bounds,
        Bounds {
            min: [0.0, -2.0],
            max: [20.0, 2.0]
        }
    );
    assert_eq!(plot.tandem_color(1), Some(1.0));
    store.apply(&record(4, RecordBody::Clear)).unwrap();
    assert!(store.plots().is_empty() && store.layout().is_empty());
}

#[test]
fn records_for_plots_outside_the_layout_are_refused() {
    let mut store = Store::new();
    let err = store
        .apply(&scatter("p", vec![1, 2], &[0.0, 0.0], 1, false))
        .unwrap_err();
    assert!(err.to_string().contains("not in layout"), "{err}");
    assert!(store.plots().is_empty());
}

fn marker(n: u64) -> Record {
    record(9, RecordBody::Step(n))
}

fn point(plot: &str, x: f32, append: bool) -> Record {
    scatter(plot, vec![1, 2], &[x, x], 1, append)
}

#[test]
fn the_first_marker_turns_guessed_steps_into_marked_ones() {
    let mut store = Store::new();
    store.apply(&layout(&["a"])).unwrap();
    // Plot repeats would end a step before each of these but the first.
    for x in 0..3 {
        store.apply(&point("a", x as f32, true)).unwrap();
    }
    assert_eq!(store.steps(), 3, "two repeats and the unfinished step");
    store.apply(&marker(0)).unwrap();
    assert_eq!(store.steps(), 1, "the marker ends step 0: the guesses are gone");
    assert_eq!(store.step(0).unwrap().end, 5);
    store.apply(&point("a", 3.0, true)).unwrap();
    store.apply(&point("a", 4.0, true)).unwrap();
    assert_eq!(store.steps(), 1, "with markers, data after the last is not a step yet");
    store.apply(&marker(1)).unwrap();
    assert_eq!(store.steps(), 2);
    assert_eq!(store.at_step(0).unwrap().plot("a").unwrap().point_count(), 3);
    assert_eq!(store.at_step(1).unwrap().plot("a").unwrap().point_count(), 5);
    assert!(store.at_step(2).is_none());
}

#[test]
fn the_unfinished_last_step_is_the_live_end() {
    let mut store = Store::with_step_rule(Some(StepRule::PlotRepeats));
    store.apply(&layout(&["a", "b"])).unwrap();
    store.apply(&point("a", 0.0, false)).unwrap();
    store.apply(&point("b", 0.0, false)).unwrap();
    store.apply(&point("a", 1.0, false)).unwrap();
    assert_eq!(store.steps(), 2);
    assert_eq!(store.step(0).unwrap().end, 3, "step 0 ends before a's second update");
    assert_eq!(store.step(1).unwrap().end, store.records());
    store.apply(&point("b", 1.0, false)).unwrap();
    assert_eq!(store.step(1).unwrap().end, store.records(), "it grows with the log");
    let first = store.at_step(0).unwrap();
    assert_eq!(xs_ys(&first.plot("a").unwrap()), vec![(0.0, 0.0)]);
    assert!(!first.is_live());
}

#[test]
fn earlier_states_keep_replaced_data_palettes_and_cleared_plots() {
    let mut store = Store::new();
    store.apply(&layout(&["p"])).unwrap();
    store.apply(&point("p", 1.0, false)).unwrap();
    let colored = record(
        1,
        RecordBody::Scatter(DataCall {
            plot: "p".into(),
            spatial_dim: 1,
            append: true,
            color: Some(ColorSpec::by_dim("Viridis256", 0)),
            grid: None,
            line_dims: vec![],
            data: Tensor::from_values(vec![1, 2], &[2.0, 2.0]),
        }),
    );
    store.apply(&colored).unwrap();
    store.apply(&point("p", 5.0, false)).unwrap();
    store.apply(&record(0, RecordBody::Clear)).unwrap();
    assert!(store.plot("p").is_none() && store.layout().is_empty());
    let at = |n| store.at_record(n);
    assert_eq!(xs_ys(&at(2).plot("p").unwrap()), vec![(1.0, 1.0)]);
    assert_eq!(at(2).plot("p").unwrap().palette, None);
    let both = at(3).plot("p").unwrap();
    assert_eq!(xs_ys(&both), vec![(1.0, 1.0), (2.0, 2.0)]);
    assert_eq!(both.palette, Some("Viridis256"));
    assert_eq!(
        both.bounds,
        Bounds {
            min: [1.0, 1.0],
            max: [2.0, 2.0]
        }
    );
    let replaced = at(4).plot("p").unwrap();
    assert_eq!(xs_ys(&replaced), vec![(5.0, 5.0)]);
    assert_ne!(replaced.generation, both.generation);
    assert_eq!(at(4).layout().len(), 1);
    assert!(at(0).plots().is_empty() && at(0).layout().is_empty());
}

#[test]
fn step_numbers_only_grow_when_a_logger_restarts() {
    let mut store = Store::new();
    store.apply(&layout(&["a"])).unwrap();
    for n in [0, 1, 2, 0, 1] {
        store.apply(&point("a", n as f32, true)).unwrap();
        store.apply(&marker(n)).unwrap();
    }
    let numbers: Vec<u64> = (0..store.steps()).map(|k| store.step(k).unwrap().number).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4]);
    assert_eq!(store.timeline().last_numbered(3), Some(3));
}

#[test]
fn colour_values_have_their_range_through_the_history() {
    let mut store = Store::new();
    store.apply(&layout(&["p"])).unwrap();
    let colored = |values: &[f32], append: bool| {
        record(
            1,
            RecordBody::Scatter(DataCall {
                plot: "p".into(),
                spatial_dim: 1,
                append,
                color: Some(ColorSpec::by_value("Viridis256")),
                grid: None,
                line_dims: vec![],
                data: Tensor::from_values(vec![values.len() / 3, 3], values),
            }),
        )
    };
    store
        .apply(&colored(&[0.0, 0.0, 2.0, 1.0, 1.0, f32::NAN, 2.0, 2.0, -1.0], false))
        .unwrap();
    store.apply(&colored(&[0.0, 0.0, 7.5], true)).unwrap();
    assert_eq!(store.at_record(2).plot("p").unwrap().color_range, Some((-1.0, 2.0)));
    assert_eq!(store.plot("p").unwrap().color_range, Some((-1.0, 7.5)));
    store.apply(&point("p", 1.0, false)).unwrap();
    assert_eq!(store.plot("p").unwrap().color_range, None, "replaced without colour");
}

#[test]
fn log_extents_through_the_history() {
    let mut store = Store::new();
    store.apply(&layout(&["loss"])).unwrap();
    let row = |x: f64, ys: &[f32]| {
        record(
            1,
            RecordBody::TandemLines(TandemCall {
                plot: "loss".into(),
                palette: None,
                x,
                ys: Tensor::from_values(vec![ys.len()], ys),
            }),
        )
    };
    store.apply(&row(0.0, &[2.0, 0.5])).unwrap();
    store.apply(&row(1.0, &[0.0, 0.01])).unwrap();
    store.apply(&row(2.0, &[-3.0, f32::NAN])).unwrap();
    let first = store.at_record(2).plot("loss").unwrap().log_extent;
    // x = 0 is at or below zero on a log x axis: both points of row 0.
    assert_eq!(first.min_positive, [f32::INFINITY, 0.5]);
    assert_eq!(first.at_or_below_zero, [2, 0, 0]);
    let all = store.plot("loss").unwrap().log_extent;
    assert_eq!(all.min_positive, [1.0, 0.01]);
    assert_eq!(all.at_or_below_zero, [2, 2, 0]);
    assert_eq!([all.left_out([false, true]), all.left_out([true, true])], [2, 4]);
    let bounds = store.plot("loss").unwrap().bounds;
    let shown = all.plot_bounds(&bounds, [false, true]);
    assert_eq!((shown.min[1], shown.max[1]), (-2.0, 2f32.log10()));
    assert_eq!(
        (shown.min[0], shown.max[0]),
        (0.0, 2.0),
        "a linear axis keeps its bounds"
    );
}

#[test]
fn line_names_name_the_lines_from_the_next_call_on() {
    let mut store = Store::new();
    store.apply(&layout(&["loss", "cloud"])).unwrap();
    let row = |x: f64| {
        record(
            1,
            RecordBody::TandemLines(TandemCall {
                plot: "loss".into(),
                palette: None,
                x,
                ys: Tensor::from_values(vec![2], &[1.0, 2.0]),
            }),
        )
    };
    let names = |plot: &str, names: &[&str]| {
        record(
            1,
            RecordBody::LineNames(crate::format::LineNames {
                plot: plot.into(),
                names: names.iter().map(|n| n.to_string()).collect(),
            }),
        )
    };
    let names_at = |store: &Store, records: u64| {
        store
            .at_record(records)
            .plot("loss")
            .and_then(|p| p.line_names.map(<[String]>::to_vec))
    };
    // Records are numbered from 0 (the layout); at_record(n) is the state
    // after the first n.
    store.apply(&row(0.0)).unwrap(); // record 1
    store.apply(&names("loss", &["train", "val"])).unwrap(); // 2
    assert_eq!(names_at(&store, 3), None, "names wait for the next lines call");
    store.apply(&row(1.0)).unwrap(); // 3
    store.apply(&row(2.0)).unwrap(); // 4
    assert_eq!(names_at(&store, 4), Some(vec!["train".into(), "val".into()]));
    assert_eq!(names_at(&store, 2), None, "earlier states keep their names");
    store.apply(&names("loss", &["a", "b", "c"])).unwrap(); // 5
    store.apply(&row(3.0)).unwrap(); // 6
    assert_eq!(names_at(&store, 7), None, "three names for two lines: unnamed");
    assert_eq!(names_at(&store, 5), Some(vec!["train".into(), "val".into()]));
    assert!(
        store.apply(&names("nowhere", &["a"])).is_err(),
        "a plot outside the layout"
    );
    store.apply(&names("loss", &["x", "y"])).unwrap();
    store.apply(&point("cloud", 1.0, false)).unwrap();
    assert_eq!(store.plot("cloud").unwrap().line_names, None);
    store.apply(&record(1, RecordBody::Clear)).unwrap();
    store.apply(&layout(&["loss"])).unwrap();
    store.apply(&row(0.0)).unwrap();
    assert_eq!(store.plot("loss").unwrap().line_names, None, "a clear forgets names");
}
