use super::*;
use crate::format::GridCell;
use crate::store::Bounds;

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
