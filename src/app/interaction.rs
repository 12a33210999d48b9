//! What the mouse and keys do to the views, kept free of windows and GPUs so
//! it can be tested: wheel zoom about the cursor, drag to pan, box zoom,
//! reset, and finding the point under the cursor.

use std::collections::HashMap;

use crate::layout::{DataRect, PageScene, PlotScene, format_value};
use crate::store::{Plot, PlotKind, unit_index};

/// Zoom per wheel notch.
pub const ZOOM_PER_NOTCH: f64 = 0.85;
/// A box smaller than this (pixels) is a click, not a box zoom.
const MIN_BOX_PIXELS: f32 = 4.0;

/// A drag in progress.
#[derive(Clone, Debug, PartialEq)]
pub enum Drag {
    /// Moving the view of `plot`; `last` is the previous cursor position.
    Pan { plot: String, last: [f32; 2] },
    /// Drawing a zoom box in `plot` from `start` to the cursor.
    Box {
        plot: String,
        start: [f32; 2],
        current: [f32; 2],
    },
}

/// The user's views: plots they zoomed or panned show a fixed data
/// rectangle; the others follow their data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Views {
    pub fixed: HashMap<String, DataRect>,
    pub drag: Option<Drag>,
}

impl Views {
    /// Zooms the plot under `cursor` by `notches` (positive: in) about the
    /// cursor, which stays over the same data point.
    pub fn zoom(&mut self, scene: &PageScene, cursor: [f32; 2], notches: f64) -> bool {
        let Some(plot) = plot_area_at(scene, cursor) else {
            return false;
        };
        let t = plot.transform();
        let anchor = t.data_from_screen(cursor);
        let factor = ZOOM_PER_NOTCH.powf(notches);
        self.fixed
            .insert(plot.frame.name.clone(), plot.view.zoomed(anchor, [factor, factor]));
        true
    }

    /// Starts a pan (`boxed` false) or a box zoom in the plot under `cursor`.
    pub fn press(&mut self, scene: &PageScene, cursor: [f32; 2], boxed: bool) -> bool {
        let Some(plot) = plot_area_at(scene, cursor) else {
            return false;
        };
        let plot = plot.frame.name.clone();
        self.drag = Some(if boxed {
            Drag::Box {
                plot,
                start: cursor,
                current: cursor,
            }
        } else {
            Drag::Pan { plot, last: cursor }
        });
        true
    }

    /// Follows the cursor during a drag; returns whether anything changed.
    pub fn motion(&mut self, scene: &PageScene, cursor: [f32; 2]) -> bool {
        match &mut self.drag {
            Some(Drag::Pan { plot, last }) => {
                let Some(scene_plot) = scene.plots.iter().find(|p| &p.frame.name == plot) else {
                    return false;
                };
                let t = scene_plot.transform();
                let (a, b) = (t.data_from_screen(*last), t.data_from_screen(cursor));
                let moved = scene_plot.view.translated([a[0] - b[0], a[1] - b[1]]);
                self.fixed.insert(plot.clone(), moved);
                *last = cursor;
                true
            }
            Some(Drag::Box { current, .. }) => {
                *current = cursor;
                true
            }
            None => false,
        }
    }

    /// Ends a drag: a box zoom takes the box.
    pub fn release(&mut self, scene: &PageScene) -> bool {
        match self.drag.take() {
            Some(Drag::Box { plot, start, current }) => {
                let Some(scene_plot) = scene.plots.iter().find(|p| p.frame.name == plot) else {
                    return true;
                };
                if (start[0] - current[0]).abs() < MIN_BOX_PIXELS || (start[1] - current[1]).abs() < MIN_BOX_PIXELS {
                    return true;
                }
                let area = scene_plot.frame.plot_area;
                let clamp = |p: [f32; 2]| [p[0].clamp(area.x, area.right()), p[1].clamp(area.y, area.bottom())];
                let t = scene_plot.transform();
                let rect = DataRect::from_corners(t.data_from_screen(clamp(start)), t.data_from_screen(clamp(current)));
                self.fixed.insert(plot, rect);
                true
            }
            Some(Drag::Pan { .. }) => true,
            None => false,
        }
    }

    /// Keeps a zoomed plot's view when its `axis` turns to a log scale
    /// (`log`) or back: the same data range, in the new plot space. A range
    /// reaching zero or below has no log view; the plot then follows its
    /// data.
    pub fn rescale_axis(&mut self, plot: &str, axis: usize, log: bool) {
        let Some(view) = self.fixed.get_mut(plot) else { return };
        let (min, max) = (view.min[axis], view.max[axis]);
        if log && min > 0.0 {
            (view.min[axis], view.max[axis]) = (min.log10(), max.log10());
        } else if log {
            self.fixed.remove(plot);
        } else {
            (view.min[axis], view.max[axis]) = (10f64.powf(min), 10f64.powf(max));
        }
    }

    /// Returns the plot under `cursor` to following its data; with no plot
    /// there, every plot.
    pub fn reset(&mut self, scene: &PageScene, cursor: Option<[f32; 2]>) {
        match cursor.and_then(|c| scene.plot_at(c)) {
            Some(plot) => {
                self.fixed.remove(&plot.frame.name);
            }
            None => self.fixed.clear(),
        }
    }
}

/// The plot whose data area contains `cursor`.
pub fn plot_area_at(scene: &PageScene, cursor: [f32; 2]) -> Option<&PlotScene> {
    scene.plots.iter().find(|p| p.frame.plot_area.contains(cursor))
}

/// The data point nearest the cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub plot: String,
    /// The run's label, when several runs share the page.
    pub run: Option<String>,
    /// Line number, for lines.
    pub line: Option<usize>,
    /// The line's name, when the logger named the plot's lines.
    pub line_name: Option<String>,
    pub x: f32,
    pub y: f32,
    pub color_value: Option<f32>,
    /// Where the point is on screen.
    pub screen: [f32; 2],
}

impl Hit {
    /// The read-out shown next to the cursor.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(run) = &self.run {
            text.push_str(&format!("{}\n", crate::calls::printable(run)));
        }
        match (&self.line_name, self.line) {
            (Some(name), _) => text.push_str(&format!("{}  ", crate::calls::printable(name))),
            (None, Some(line)) => text.push_str(&format!("line {line}  ")),
            (None, None) => {}
        }
        text.push_str(&format!(
            "x {}  y {}",
            format_value(self.x as f64),
            format_value(self.y as f64)
        ));
        if let Some(c) = self.color_value {
            text.push_str(&format!("  colour {}", format_value(c as f64)));
        }
        text
    }
}

/// The most points searched per hover; beyond, the read-out is skipped.
pub const MAX_HOVER_POINTS: usize = 4_000_000;

/// Finds the point (or line vertex) of `plot` nearest `cursor`, within
/// `radius` pixels.
pub fn nearest(plot: &Plot, scene_plot: &PlotScene, cursor: [f32; 2], radius: f32) -> Option<Hit> {
    if plot.point_count() > MAX_HOVER_POINTS {
        return None;
    }
    let t = scene_plot.transform();
    let mut best: Option<(f32, Hit)> = None;
    let mut consider = |x: f32, y: f32, c: Option<f32>, line: Option<usize>| {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        // Points a log axis leaves out are not drawn, so not found either.
        let Some(p) = scene_plot.plot_from_data([x as f64, y as f64]) else {
            return;
        };
        let s = t.screen_from_data(p);
        let d2 = (s[0] - cursor[0]).powi(2) + (s[1] - cursor[1]).powi(2);
        if d2 <= radius * radius && best.as_ref().is_none_or(|(b, _)| d2 < *b) {
            let hit = Hit {
                plot: plot.name.to_owned(),
                run: None,
                line,
                line_name: line.and_then(|l| plot.line_names?.get(l).cloned()),
                x,
                y,
                color_value: c,
                screen: s,
            };
            best = Some((d2, hit));
        }
    };
    match plot.kind {
        PlotKind::Tandem => {
            let data = &plot.tandem;
            for i in 0..data.len() {
                for k in 0..data.lines {
                    let (x, y) = data.point(k, i);
                    let c = plot.palette.as_ref().map(|_| unit_index(k, data.lines));
                    consider(x, y, c, Some(k));
                }
            }
        }
        PlotKind::Scatter | PlotKind::Lines => {
            for batch in plot.batches {
                let values = batch.tensor.values();
                let (_, per_line) = batch.layout.lines_shape();
                for p in 0..batch.len() {
                    let (x, y, c) = batch.layout.point(&values, p);
                    let line = (plot.kind == PlotKind::Lines).then(|| p / per_line.max(1));
                    consider(x, y, c, line);
                }
            }
        }
    }
    best.map(|(_, hit)| hit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::GridCell;
    use crate::layout::Style;
    use crate::store::Store;

    fn scene() -> PageScene {
        let mut store = Store::new();
        let cells = vec![
            ("a".to_owned(), GridCell::new(0, 0, 1, 1)),
            ("b".to_owned(), GridCell::new(0, 1, 1, 1)),
        ];
        store
            .apply(&crate::format::Record::for_test(crate::format::RecordBody::Layout(
                cells,
            )))
            .unwrap();
        PageScene::build(&store, &HashMap::new(), 800, 400, &Style::default())
    }

    fn center(scene: &PageScene, plot: usize) -> [f32; 2] {
        let a = scene.plots[plot].frame.plot_area;
        [a.x + a.width / 2.0, a.y + a.height / 2.0]
    }

    #[test]
    fn wheel_zoom_keeps_the_point_under_the_cursor() {
        let scene = scene();
        let mut views = Views::default();
        let a = scene.plots[0].frame.plot_area;
        let cursor = [a.x + a.width * 0.3, a.y + a.height * 0.7];
        let before = scene.plots[0].transform().data_from_screen(cursor);
        assert!(views.zoom(&scene, cursor, 2.0));
        let zoomed = PageScene::build(&Store::new(), &views.fixed, 800, 400, &Style::default());
        let _ = zoomed;
        let view = views.fixed["a"];
        let t = crate::layout::ScreenFromData::new(view, a);
        let after = t.data_from_screen(cursor);
        assert!((before[0] - after[0]).abs() < 1e-9 && (before[1] - after[1]).abs() < 1e-9);
        assert!((view.width() - scene.plots[0].view.width() * ZOOM_PER_NOTCH.powi(2)).abs() < 1e-9);
        assert!(!views.fixed.contains_key("b"), "only the plot under the cursor zooms");
    }

    #[test]
    fn drag_pans_by_the_cursor_motion() {
        let scene = scene();
        let mut views = Views::default();
        let start = center(&scene, 1);
        assert!(views.press(&scene, start, false));
        let t = scene.plots[1].transform();
        views.motion(&scene, [start[0] + 40.0, start[1]]);
        assert!(views.release(&scene));
        let moved = views.fixed["b"];
        let dx = t.data_from_screen([start[0] + 40.0, start[1]])[0] - t.data_from_screen(start)[0];
        assert!(
            (scene.plots[1].view.min[0] - moved.min[0] - dx).abs() < 1e-9,
            "the data follows the cursor"
        );
        assert_eq!(moved.width(), scene.plots[1].view.width());
    }

    #[test]
    fn box_zoom_shows_the_box_and_a_click_does_nothing() {
        let scene = scene();
        let mut views = Views::default();
        let c = center(&scene, 0);
        views.press(&scene, c, true);
        views.motion(&scene, [c[0] + 50.0, c[1] + 30.0]);
        views.release(&scene);
        let t = scene.plots[0].transform();
        let expected = DataRect::from_corners(t.data_from_screen(c), t.data_from_screen([c[0] + 50.0, c[1] + 30.0]));
        assert_eq!(views.fixed["a"], expected);
        let mut clicked = Views::default();
        clicked.press(&scene, c, true);
        clicked.release(&scene);
        assert!(clicked.fixed.is_empty());
    }

    #[test]
    fn reset_returns_to_autoscale() {
        let scene = scene();
        let mut views = Views::default();
        views.zoom(&scene, center(&scene, 0), 1.0);
        views.zoom(&scene, center(&scene, 1), 1.0);
        views.reset(&scene, Some(center(&scene, 0)));
        assert_eq!(views.fixed.keys().collect::<Vec<_>>(), ["b"]);
        views.reset(&scene, None);
        assert!(views.fixed.is_empty());
    }

    #[test]
    fn hover_finds_the_nearest_point_within_reach() {
        use crate::format::{DataCall, Record, RecordBody, Tensor};
        let mut store = Store::new();
        let cells = vec![("a".to_owned(), GridCell::new(0, 0, 1, 1))];
        store.apply(&Record::for_test(RecordBody::Layout(cells))).unwrap();
        let data = Tensor::from_values(vec![3, 3], &[0.0, 0.0, 0.25, 1.0, 1.0, 0.5, 2.0, 0.5, 0.75]);
        let call = DataCall {
            plot: "a".into(),
            spatial_dim: 1,
            append: false,
            color: Some(crate::format::ColorSpec::by_value("Viridis256")),
            grid: None,
            line_dims: vec![],
            data,
        };
        store.apply(&Record::for_test(RecordBody::Scatter(call))).unwrap();
        let scene = PageScene::build(&store, &HashMap::new(), 800, 400, &Style::default());
        let t = scene.plots[0].transform();
        let near = t.screen_from_data([1.0, 1.0]);
        let hit = nearest(
            &store.plot("a").unwrap(),
            &scene.plots[0],
            [near[0] + 3.0, near[1] - 2.0],
            12.0,
        )
        .unwrap();
        assert_eq!((hit.x, hit.y, hit.color_value, hit.line), (1.0, 1.0, Some(0.5), None));
        assert_eq!(hit.describe(), "x 1  y 1  colour 0.5");
        let far = t.screen_from_data([1.5, 0.0]);
        assert!(nearest(&store.plot("a").unwrap(), &scene.plots[0], far, 12.0).is_none());
    }

    #[test]
    fn nothing_happens_outside_the_plots() {
        let scene = scene();
        let mut views = Views::default();
        assert!(!views.zoom(&scene, [1.0, 1.0], 1.0));
        assert!(!views.press(&scene, [1.0, 1.0], false));
        assert!(views.fixed.is_empty() && views.drag.is_none());
    }

    #[test]
    fn zoom_on_a_log_axis_keeps_the_data_under_the_cursor() {
        use crate::format::{DataCall, Record, RecordBody, Tensor};
        use crate::layout::{LogAxes, PageData};
        let mut store = Store::new();
        let cells = vec![("a".to_owned(), GridCell::new(0, 0, 1, 1))];
        store.apply(&Record::for_test(RecordBody::Layout(cells))).unwrap();
        let data = Tensor::from_values(vec![2, 2], &[1e-3, 1e-2, 1e3, 1e4]);
        let call = DataCall {
            plot: "a".into(),
            spatial_dim: 1,
            append: false,
            color: None,
            grid: None,
            line_dims: vec![],
            data,
        };
        store.apply(&Record::for_test(RecordBody::Scatter(call))).unwrap();
        let all = vec!["all".to_owned()];
        let log = LogAxes::from_names(&all, &all);
        let page = PageData::single(store.live()).with_log_axes(&log);
        let build = |views: &HashMap<String, DataRect>| PageScene::build(&page, views, 800, 400, &Style::default());
        let scene = build(&HashMap::new());
        let plot = &scene.plots[0];
        let a = plot.frame.plot_area;
        let cursor = [a.x + a.width * 0.3, a.y + a.height * 0.7];
        let data_at = |scene: &PageScene| {
            let plot = &scene.plots[0];
            plot.data_from_plot(plot.transform().data_from_screen(cursor))
        };
        let before = data_at(&scene);
        // Hover finds a point where the log axes put it.
        let at = plot.transform().screen_from_data([1e3f64.log10(), 1e4f64.log10()]);
        let hit = nearest(&store.plot("a").unwrap(), plot, [at[0] + 2.0, at[1]], 12.0).unwrap();
        assert_eq!((hit.x, hit.y), (1e3, 1e4));
        let mut views = Views::default();
        assert!(views.zoom(&scene, cursor, 3.0));
        let zoomed = build(&views.fixed);
        let after = data_at(&zoomed);
        for axis in 0..2 {
            assert!(
                (after[axis] / before[axis] - 1.0).abs() < 1e-9,
                "{before:?} -> {after:?}"
            );
        }
        // The zoom scales decades: the view spans the same ratio of data
        // less by the zoom factor in log space.
        let decades = |s: &PageScene| s.plots[0].view.width();
        assert!((decades(&zoomed) - decades(&scene) * ZOOM_PER_NOTCH.powi(3)).abs() < 1e-9);
        // Back to a linear x: the zoomed view keeps its data range.
        let shown = zoomed.plots[0].view;
        views.rescale_axis("a", 0, false);
        let linear = views.fixed["a"];
        assert!((linear.min[0] - 10f64.powf(shown.min[0])).abs() < 1e-12);
        assert!((linear.max[0] - 10f64.powf(shown.max[0])).abs() < 1e-9);
        assert_eq!(linear.min[1], shown.min[1], "y stays as it was");
        views.rescale_axis("a", 0, true);
        assert!((views.fixed["a"].min[0] - shown.min[0]).abs() < 1e-9);
        // A range through zero has no log view: the plot follows its data.
        views.fixed.insert(
            "a".into(),
            DataRect {
                min: [-1.0, 0.0],
                max: [1.0, 1.0],
            },
        );
        views.rescale_axis("a", 0, true);
        assert!(views.fixed.is_empty());
    }

    #[test]
    fn hover_names_a_named_line() {
        let hit = |line_name: Option<&str>| Hit {
            plot: "loss".into(),
            run: None,
            line: Some(1),
            line_name: line_name.map(Into::into),
            x: 3.0,
            y: 0.5,
            color_value: None,
            screen: [0.0, 0.0],
        };
        assert_eq!(hit(Some("val")).describe(), "val  x 3  y 0.5");
        assert_eq!(hit(None).describe(), "line 1  x 3  y 0.5");
        assert_eq!(hit(Some("a\u{7}b")).describe(), "a\\u{7}b  x 3  y 0.5");
    }
}
