use super::*;
use crate::format::GridCell;
use crate::store::Bounds;
use std::collections::HashMap;

fn cells(list: &[(&str, [u32; 4])]) -> Vec<(String, GridCell)> {
    list.iter()
        .map(|(n, c)| (n.to_string(), GridCell::new(c[0], c[1], c[2], c[3])))
        .collect()
}

#[test]
fn two_by_two_grid() {
    let style = Style::default();
    let page = PageLayout::new(
        &cells(&[
            ("tl", [0, 0, 1, 1]),
            ("tr", [0, 1, 1, 1]),
            ("bl", [1, 0, 1, 1]),
            ("br", [1, 1, 1, 1]),
        ]),
        800.0,
        600.0,
        &style,
    );
    let m = style.cell_margin;
    assert_eq!(
        page.frame("tl").unwrap().cell,
        Rect::new(m, m, 400.0 - 2.0 * m, 300.0 - 2.0 * m)
    );
    assert_eq!(
        page.frame("br").unwrap().cell,
        Rect::new(400.0 + m, 300.0 + m, 400.0 - 2.0 * m, 300.0 - 2.0 * m)
    );
    for frame in &page.frames {
        let (c, p) = (frame.cell, frame.plot_area);
        assert!(
            p.x >= c.x && p.y >= c.y && p.right() <= c.right() && p.bottom() <= c.bottom(),
            "{frame:?}"
        );
        assert!(p.width > 0.0 && p.height > 0.0);
    }
    assert_eq!(page.frame_at([700.0, 100.0]).unwrap().name, "tr");
}

#[test]
fn a_cell_spans_rows_and_columns() {
    let page = PageLayout::new(
        &cells(&[("wide", [0, 0, 1, 2]), ("a", [1, 0, 1, 1]), ("b", [1, 1, 1, 1])]),
        600.0,
        400.0,
        &Style::default(),
    );
    let wide = page.frame("wide").unwrap().cell;
    let a = page.frame("a").unwrap().cell;
    let b = page.frame("b").unwrap().cell;
    assert!((wide.width - (b.right() - a.x)).abs() < 0.5, "spans both columns");
    assert!(wide.bottom() <= a.y);
}

#[test]
fn transforms_round_trip() {
    let t = ScreenFromData::new(
        DataRect {
            min: [-1.0, 10.0],
            max: [3.0, 20.0],
        },
        Rect::new(100.0, 50.0, 400.0, 200.0),
    );
    assert_eq!(t.screen_from_data([-1.0, 10.0]), [100.0, 250.0]);
    assert_eq!(t.screen_from_data([3.0, 20.0]), [500.0, 50.0]);
    let p = t.data_from_screen([300.0, 150.0]);
    assert!((p[0] - 1.0).abs() < 1e-9 && (p[1] - 15.0).abs() < 1e-9);
}

#[test]
fn zoom_keeps_the_anchor_fixed() {
    let t = ScreenFromData::new(
        DataRect {
            min: [0.0, 0.0],
            max: [10.0, 10.0],
        },
        Rect::new(0.0, 0.0, 100.0, 100.0),
    );
    let cursor = [30.0, 20.0];
    let anchor = t.data_from_screen(cursor);
    let zoomed = ScreenFromData::new(t.data.zoomed(anchor, [0.5, 0.5]), t.screen);
    let after = zoomed.screen_from_data(anchor);
    assert!((after[0] - cursor[0]).abs() < 1e-4 && (after[1] - cursor[1]).abs() < 1e-4);
    assert!((zoomed.data.width() - 5.0).abs() < 1e-12);
}

#[test]
fn box_zoom_takes_the_box() {
    let r = DataRect::from_corners([4.0, 1.0], [2.0, 3.0]);
    assert_eq!(
        r,
        DataRect {
            min: [2.0, 1.0],
            max: [4.0, 3.0]
        }
    );
    // A click without drag does not make an empty view.
    let r = DataRect::from_corners([2.0, 2.0], [2.0, 2.0]);
    assert!(r.width() > 0.0 && r.height() > 0.0);
}

#[test]
fn autoscale_pads_and_handles_degenerate_bounds() {
    let r = autoscale(&Bounds {
        min: [0.0, -1.0],
        max: [10.0, 1.0],
    });
    assert_eq!(
        r,
        DataRect {
            min: [-0.5, -1.1],
            max: [10.5, 1.1]
        }
    );
    let single = autoscale(&Bounds {
        min: [5.0, 5.0],
        max: [5.0, 5.0],
    });
    assert!(single.min[0] < 5.0 && single.max[0] > 5.0);
    assert_eq!(
        autoscale(&Bounds::EMPTY),
        DataRect {
            min: [-1.0, -1.0],
            max: [1.0, 1.0]
        }
    );
}

#[test]
fn ticks_are_nice() {
    let labels = |min, max, n| nice_ticks(min, max, n).into_iter().map(|t| t.label).collect::<Vec<_>>();
    assert_eq!(labels(0.0, 10.0, 5), ["0", "2", "4", "6", "8", "10"]);
    assert_eq!(labels(-1.1, 1.1, 4), ["-1.0", "-0.5", "0.0", "0.5", "1.0"]);
    assert_eq!(labels(0.013, 0.052, 4), ["0.02", "0.03", "0.04", "0.05"]);
    assert_eq!(labels(0.0, 3_000_000.0, 3), ["0", "1e6", "2e6", "3e6"]);
    assert_eq!(labels(97.0, 103.0, 3), ["98", "100", "102"]);
    assert!(nice_ticks(1.0, 1.0, 5).is_empty());
    assert!(nice_ticks(0.0, f64::INFINITY, 5).is_empty());
    // Values are exact multiples: no 0.30000000000000004.
    for t in nice_ticks(0.0, 1.0, 10) {
        assert_eq!(t.value, (t.value * 10.0).round() / 10.0);
    }
}

#[test]
fn hover_values_are_short() {
    assert_eq!(format_value(1.0), "1");
    assert_eq!(format_value(0.123456789), "0.123457");
    assert_eq!(format_value(-2500.5), "-2500.5");
    assert_eq!(format_value(1.5e-7), "1.5000e-7");
    assert_eq!(format_value(f64::NAN), "NaN");
}

#[test]
fn pixel_rects_are_clamped() {
    assert_eq!(Rect::new(-5.0, 10.4, 50.0, 1000.0).to_pixels(100, 100), (0, 10, 45, 90));
}

#[test]
fn log_ticks_sit_at_powers_of_ten() {
    let major = |min, max, n| {
        log_ticks(min, max, n)
            .into_iter()
            .filter(|t| !t.minor)
            .map(|t| (t.value, t.label))
            .collect::<Vec<_>>()
    };
    // 1e-4 to 1e2: a labelled tick per decade.
    let labels: Vec<String> = major(-4.2, 2.3, 8).into_iter().map(|(_, l)| l).collect();
    assert_eq!(labels, ["1e-4", "1e-3", "0.01", "0.1", "1", "10", "100"]);
    // Twelve decades in room for four labels: every third power.
    let values: Vec<f64> = major(-6.0, 6.0, 4).into_iter().map(|(v, _)| v).collect();
    assert_eq!(values, [-6.0, -3.0, 0.0, 3.0, 6.0]);
    // Minor ticks at 2..9 times each power, unlabelled, while there is room.
    let ticks = log_ticks(0.0, 2.0, 8);
    let minors: Vec<f64> = ticks.iter().filter(|t| t.minor).map(|t| t.value).collect();
    assert_eq!(minors.len(), 16);
    assert!((minors[0] - 2f64.log10()).abs() < 1e-12 && (minors[15] - 90f64.log10()).abs() < 1e-12);
    assert!(ticks.iter().all(|t| t.minor == t.label.is_empty()));
    assert!(
        log_ticks(-30.0, 30.0, 8).iter().all(|t| !t.minor),
        "no minor ticks when decades crowd"
    );
    // One power in view: 2x and 5x are labelled too.
    let labels: Vec<String> = log_ticks(0.1, 1.8, 5)
        .into_iter()
        .filter(|t| !t.minor)
        .map(|t| t.label)
        .collect();
    assert_eq!(labels, ["2", "5", "10", "20", "50"]);
    // Within a decade: the data's nice ticks at their logarithms.
    let within = log_ticks(2f64.log10(), 3f64.log10(), 4);
    assert_eq!(
        within.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(),
        ["2.0", "2.2", "2.4", "2.6", "2.8", "3.0"]
    );
    assert!((within[1].value - 2.2f64.log10()).abs() < 1e-12);
    assert!(log_ticks(1.0, 1.0, 5).is_empty() && log_ticks(0.0, f64::NAN, 5).is_empty());
}

#[test]
fn log_axes_by_name_or_all_with_exceptions() {
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut axes = LogAxes::from_names(&names(&["cloud"]), &names(&["all"]));
    assert_eq!(axes.of("cloud"), [true, true]);
    assert_eq!(axes.of("loss"), [false, true]);
    axes.toggle("loss", 1);
    assert_eq!(axes.of("loss"), [false, false]);
    assert_eq!(axes.of("other"), [false, true], "the others stay log");
    axes.toggle("loss", 1);
    axes.toggle("cloud", 0);
    assert_eq!(axes, LogAxes::from_names(&[], &names(&["all"])));
    assert!(LogAxes::default().is_none() && !axes.is_none());
}

#[test]
fn a_log_axis_scales_to_the_positive_data_and_counts_the_rest() {
    use crate::format::{Record, RecordBody, TandemCall, Tensor};
    let mut store = crate::store::Store::new();
    store
        .apply(&Record::for_test(RecordBody::Layout(cells(&[("loss", [0, 0, 1, 1])]))))
        .unwrap();
    for (x, ys) in [(1.0, [1e-3f32, 100.0]), (2.0, [0.0, 10.0]), (3.0, [-1.0, 1.0])] {
        let call = TandemCall {
            plot: "loss".into(),
            palette: None,
            x,
            ys: Tensor::from_values(vec![2], &ys),
        };
        store.apply(&Record::for_test(RecordBody::TandemLines(call))).unwrap();
    }
    let log_y = LogAxes::from_names(&[], &["loss".to_owned()]);
    let page = PageData::single(store.live()).with_log_axes(&log_y);
    let scene = PageScene::build(&page, &HashMap::new(), 600, 400, &Style::default());
    let plot = &scene.plots[0];
    assert_eq!((plot.log, plot.left_out), ([false, true], 2));
    // log10 of 1e-3 to 100, with the usual 5% margin in plot space.
    assert!((plot.view.min[1] - (-3.0 - 0.25)).abs() < 1e-6, "{:?}", plot.view);
    assert!((plot.view.max[1] - (2.0 + 0.25)).abs() < 1e-6, "{:?}", plot.view);
    assert!(plot.y_ticks.iter().any(|t| t.label == "1e-3" && t.value == -3.0));
    assert_eq!(plot.plot_from_data([2.0, 100.0]), Some([2.0, 2.0]));
    assert_eq!(plot.plot_from_data([2.0, 0.0]), None);
    assert_eq!(plot.data_from_plot([2.0, -1.0]), [2.0, 0.1]);
    let linear = PageScene::build(&store, &HashMap::new(), 600, 400, &Style::default());
    assert_eq!((linear.plots[0].log, linear.plots[0].left_out), ([false, false], 0));
}
