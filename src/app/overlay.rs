//! What the window draws over the page: the hover read-out, the zoom box,
//! help and status messages. Never part of screenshots.

use std::time::Duration;

use super::interaction::Drag;
use super::{App, HELP};
use crate::layout::{PageScene, Rect, Style};
use crate::render::{Anchor, Label, Overlay, SolidRect};

impl App {
    /// Hover read-out, zoom box, help and status over the page.
    pub(super) fn overlay(&self, scene: &PageScene, style: &Style) -> Overlay {
        let mut overlay = Overlay::default();
        let page = Rect::new(0.0, 0.0, scene.width as f32, scene.height as f32);
        let dark = crate::render::linear_rgba_of([0x22, 0x22, 0x22], 1.0);
        let panel = crate::render::linear_rgba_of([0xff, 0xff, 0xf4], 0.94);
        let label = |text: String, anchor: [f32; 2], placement| Label {
            text,
            size: style.font_size,
            anchor,
            placement,
            color: [0x22, 0x22, 0x22],
            clip: page,
        };
        let boxed = |overlay: &mut Overlay, text: String, x: f32, y: f32| {
            let lines = text.lines().count().max(1) as f32;
            let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f32;
            let (w, h) = (
                longest * style.font_size * 0.62 + 12.0,
                lines * style.font_size * 1.25 + 8.0,
            );
            let x = x.min(scene.width as f32 - w - 2.0).max(2.0);
            let y = y.min(scene.height as f32 - h - 2.0).max(2.0);
            overlay.rects.push(SolidRect {
                min: [x - 1.0, y - 1.0],
                max: [x + w + 1.0, y + h + 1.0],
                color: dark,
            });
            overlay.rects.push(SolidRect {
                min: [x, y],
                max: [x + w, y + h],
                color: panel,
            });
            overlay.labels.push(label(text, [x + 6.0, y + 4.0], Anchor::TopLeft));
        };
        if let Some(Drag::Box { start, current, .. }) = &self.views.drag {
            let (x0, x1) = (start[0].min(current[0]), start[0].max(current[0]));
            let (y0, y1) = (start[1].min(current[1]), start[1].max(current[1]));
            let edge = crate::render::linear_rgba_of([0x33, 0x66, 0xcc], 1.0);
            overlay.rects.push(SolidRect {
                min: [x0, y0],
                max: [x1, y1],
                color: crate::render::linear_rgba_of([0x33, 0x66, 0xcc], 0.15),
            });
            for r in [
                [x0, y0, x1, y0 + 1.0],
                [x0, y1 - 1.0, x1, y1],
                [x0, y0, x0 + 1.0, y1],
                [x1 - 1.0, y0, x1, y1],
            ] {
                overlay.rects.push(SolidRect {
                    min: [r[0], r[1]],
                    max: [r[2], r[3]],
                    color: edge,
                });
            }
        }
        if let Some(hit) = &self.hover {
            let [x, y] = hit.screen;
            let ring = crate::render::linear_rgba_of([0xd6, 0x27, 0x28], 1.0);
            let r = style.point_radius + 3.0;
            for e in [
                [x - r, y - r, x + r, y - r + 1.5],
                [x - r, y + r - 1.5, x + r, y + r],
                [x - r, y - r, x - r + 1.5, y + r],
                [x + r - 1.5, y - r, x + r, y + r],
            ] {
                overlay.rects.push(SolidRect {
                    min: [e[0], e[1]],
                    max: [e[2], e[3]],
                    color: ring,
                });
            }
            boxed(&mut overlay, hit.describe(), x + 12.0, y + 12.0);
        }
        if self.runs.runs().iter().all(|run| run.store.layout().is_empty()) {
            let text = format!("waiting for data from {}", self.source_name);
            overlay.labels.push(label(
                text,
                [scene.width as f32 / 2.0, scene.height as f32 / 2.0],
                Anchor::TopCenter,
            ));
        }
        let mut notes = Vec::new();
        if self.paused {
            notes.push("paused (space resumes)".to_owned());
        }
        if let Some((message, since)) = &self.status
            && since.elapsed() < Duration::from_secs(4)
        {
            notes.push(message.clone());
        }
        if !notes.is_empty() {
            boxed(&mut overlay, notes.join("\n"), 8.0, scene.height as f32 - 40.0);
        }
        if self.show_help {
            let memory = self.gfx.as_ref().map_or(0, |g| g.page.gpu_bytes());
            let text = format!(
                "{HELP}\n\nGPU memory for plot data: {:.1} MiB",
                memory as f64 / (1 << 20) as f64
            );
            boxed(&mut overlay, text, scene.width as f32, 8.0);
        }
        overlay
    }
}
