//! What tells a plot's colours apart, drawn over its data: the colour key
//! of a plot with a palette (a colour bar, swatches, a legend of lines or a
//! density image's counts) and the legend of runs of a plot showing several.

use super::gpu_types::{SolidRect, linear_rgba};
use super::page::{BACKGROUND, FRAME, HIDDEN, LABEL, rect};
use super::palette::palette_colors;
use super::text::{Anchor, Label};
use crate::layout::{ColorScale, PlotScene, Style, format_count, format_value};
use crate::store::unit_index;
/// The colour key of a plot with a palette, top right in the plot area: a
/// legend of its lines, a swatch per index of a categorical palette, or a
/// colour bar from the lowest value (or index) at the bottom to the highest.
pub(super) fn color_key(plot: &PlotScene, style: &Style, rects: &mut Vec<SolidRect>, labels: &mut Vec<Label>) {
    let Some(key) = &plot.color_key else { return };
    let Ok(palette) = crate::calls::Palette::parse(&key.palette) else {
        return;
    };
    let colors = palette_colors(&palette);
    // The colour the shaders pick for a value in 0..1.
    let color_at = |t: f32| colors[((t * colors.len() as f32).floor().max(0.0) as usize).min(colors.len() - 1)];
    let area = plot.frame.plot_area;
    let row_h = (style.font_size * 1.35).round();
    let label = |text: String, anchor: [f32; 2], placement| Label {
        text,
        size: style.font_size,
        anchor,
        placement,
        color: LABEL,
        clip: area,
    };
    let entries: Vec<(String, [u8; 3])> = match key.scale {
        ColorScale::Lines { count } => (0..count)
            .map(|k| {
                let name = match key.line_names.as_ref().and_then(|names| names.get(k)) {
                    Some(name) => crate::calls::printable(name).into_owned(),
                    None => format!("line {k}"),
                };
                (name, color_at(unit_index(k, count)))
            })
            .collect(),
        ColorScale::Index { count } if palette.family.is_categorical() && count <= 20 => (0..count)
            .map(|i| (format!("{i}"), color_at(unit_index(i, count))))
            .collect(),
        _ => Vec::new(),
    };
    if !entries.is_empty() {
        // A legend: a swatch and a name per row.
        let longest = entries.iter().map(|(t, _)| t.chars().count()).max().unwrap_or(0) as f32;
        let swatch = (style.font_size * 1.6).round();
        let width = (longest * style.font_size * 0.62 + swatch + 16.0).min(area.width);
        let rows = entries
            .len()
            .min(((area.height - 6.0) / row_h).floor().max(0.0) as usize);
        let (x0, y0) = ((area.right() - width - 4.0).round(), (area.y + 4.0).round());
        rects.push(SolidRect {
            min: [x0, y0],
            max: [x0 + width, y0 + rows as f32 * row_h + 6.0],
            color: linear_rgba(BACKGROUND, 0.85),
        });
        for (i, (text, color)) in entries.into_iter().take(rows).enumerate() {
            let y = y0 + 3.0 + i as f32 * row_h;
            let mid = (y + row_h / 2.0).floor();
            rects.push(rect(x0 + 6.0, mid - 1.0, x0 + 6.0 + swatch, mid + 2.0, color));
            labels.push(label(text, [x0 + swatch + 10.0, y], Anchor::TopLeft));
        }
        return;
    }
    let (low, high) = match key.scale {
        ColorScale::Values { min, max } => (format_value(min as f64), format_value(max as f64)),
        ColorScale::Index { count } | ColorScale::Lines { count } => {
            ("0".to_owned(), format!("{}", count.saturating_sub(1)))
        }
        ColorScale::Counts { max } => ("1".to_owned(), format!("{} per px", format_count(max as usize))),
    };
    // Counts: the bar starts at the colour of one point per pixel.
    let bar_from = match key.scale {
        ColorScale::Counts { max } if max > 0 => 2f32.ln() / (1.0 + max as f32).ln(),
        _ => 0.0,
    };
    // A colour bar: the palette bottom to top, labelled at both ends.
    let height = (area.height * 0.4).clamp(0.0, 220.0).floor();
    if height < 2.0 * row_h {
        return;
    }
    let (x1, y0) = ((area.right() - 8.0).round(), (area.y + 8.0 + row_h / 2.0).round());
    let x0 = x1 - 10.0;
    let chars = low.chars().count().max(high.chars().count()) as f32;
    let text_w = chars * style.font_size * 0.62 + 6.0;
    rects.push(SolidRect {
        min: [x0 - text_w - 4.0, y0 - row_h / 2.0 - 4.0],
        max: [x1 + 4.0, y0 + height + row_h / 2.0 + 4.0],
        color: linear_rgba(BACKGROUND, 0.85),
    });
    let steps = colors.len().min(64);
    for i in 0..steps {
        let (top, bottom) = (
            y0 + height * (1.0 - (i + 1) as f32 / steps as f32),
            y0 + height * (1.0 - i as f32 / steps as f32),
        );
        let t = bar_from + (1.0 - bar_from) * (i as f32 + 0.5) / steps as f32;
        rects.push(rect(x0, top.floor(), x1, bottom.floor(), color_at(t)));
    }
    rects.push(rect(x0 - 1.0, y0 - 1.0, x1 + 1.0, y0, FRAME));
    rects.push(rect(x0 - 1.0, y0 + height, x1 + 1.0, y0 + height + 1.0, FRAME));
    labels.push(label(high, [x0 - 4.0, y0], Anchor::RightMiddle));
    labels.push(label(low, [x0 - 4.0, y0 + height], Anchor::RightMiddle));
}

/// The runs of a plot that shows several, top right in the plot area: a
/// line of each run's colour and its label, on a pale panel; a hidden run
/// greyed, its line hollow.
pub(super) fn legend(plot: &PlotScene, style: &Style, rects: &mut Vec<SolidRect>, labels: &mut Vec<Label>) {
    let Some((panel, rows, more)) = plot.legend_layout(style) else {
        return;
    };
    rects.push(SolidRect {
        min: [panel.x, panel.y],
        max: [panel.right(), panel.bottom()],
        color: linear_rgba(BACKGROUND, 0.85),
    });
    let swatch = (style.font_size * 1.6).round();
    if more > 0 {
        let y = rows.last().map_or(panel.y + 3.0, |r| r.bottom());
        labels.push(Label {
            text: format!("and {more} more (keys 1-9)"),
            size: style.font_size,
            anchor: [panel.x + 6.0, y],
            placement: Anchor::TopLeft,
            color: HIDDEN,
            clip: plot.frame.plot_area,
        });
    }
    for (entry, row) in plot.legend.iter().zip(rows) {
        let mid = (row.y + row.height / 2.0).floor();
        let (x0, x1) = (row.x + 6.0, row.x + 6.0 + swatch);
        if entry.visible {
            rects.push(rect(x0, mid - 1.0, x1, mid + 2.0, entry.color));
        } else {
            rects.push(rect(x0, mid - 2.0, x1, mid - 1.0, HIDDEN));
            rects.push(rect(x0, mid + 2.0, x1, mid + 3.0, HIDDEN));
        }
        labels.push(Label {
            text: entry.label.clone(),
            size: style.font_size,
            anchor: [x1 + 4.0, row.y],
            placement: Anchor::TopLeft,
            color: if entry.visible { LABEL } else { HIDDEN },
            clip: plot.frame.plot_area,
        });
    }
}
