//! The resolved plots as JSON: per plot its kind, palette, layout cell and
//! columns x, y (and z where colour applies), in the shape of the parity
//! files' `expected`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AsSnapshot, Plot, PlotKind, unit_index};

/// One plot's export.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExportPlot {
    /// `scatter` or `multi_line`.
    pub kind: &'static str,
    pub palette: Option<String>,
    /// `[top, left, height, width]`, or null for a plot outside the layout.
    pub layout: Option<[u32; 4]>,
    /// Line plots whose logger named their lines: the names, in line order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    pub columns: ExportColumns,
}

/// Columns: for a scatter one value per point; for lines one list per line
/// (z: one value per tandem line, one list per multi_lines line).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ExportColumns {
    Points {
        x: Vec<f32>,
        y: Vec<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        z: Option<Vec<f32>>,
    },
    Lines {
        x: Vec<Vec<f32>>,
        y: Vec<Vec<f32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        z: Option<serde_json::Value>,
    },
}

/// Resolves every plot that holds data, keyed by plot name.
pub fn export(store: &dyn AsSnapshot) -> BTreeMap<String, ExportPlot> {
    let store = store.as_snapshot();
    store
        .plots()
        .iter()
        .map(|plot| {
            let cell = store.cell(plot.name).map(|c| [c.top, c.left, c.height, c.width]);
            let columns = match plot.kind {
                PlotKind::Scatter => scatter_columns(plot),
                PlotKind::Lines => lines_columns(plot),
                PlotKind::Tandem => tandem_columns(plot),
            };
            let kind = if plot.kind == PlotKind::Scatter {
                "scatter"
            } else {
                "multi_line"
            };
            (
                plot.name.to_owned(),
                ExportPlot {
                    kind,
                    palette: plot.palette.map(str::to_owned),
                    layout: cell,
                    names: plot.line_names.map(<[String]>::to_vec),
                    columns,
                },
            )
        })
        .collect()
}

fn scatter_columns(plot: &Plot) -> ExportColumns {
    let n = plot.point_count();
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut z = plot.palette.as_ref().map(|_| Vec::with_capacity(n));
    for batch in plot.batches {
        let values = batch.tensor.values();
        for p in 0..batch.len() {
            let (px, py, pc) = batch.layout.point(&values, p);
            x.push(px);
            y.push(py);
            if let Some(z) = &mut z {
                z.push(pc.unwrap_or(f32::NAN));
            }
        }
    }
    ExportColumns::Points { x, y, z }
}

fn lines_columns(plot: &Plot) -> ExportColumns {
    let lines = plot.line_count();
    let mut x = vec![Vec::new(); lines];
    let mut y = vec![Vec::new(); lines];
    let mut z = plot.palette.as_ref().map(|_| vec![Vec::new(); lines]);
    for batch in plot.batches {
        let values = batch.tensor.values();
        let (_, points) = batch.layout.lines_shape();
        for line in 0..lines {
            for i in 0..points {
                let (px, py, pc) = batch.layout.point(&values, line * points + i);
                x[line].push(px);
                y[line].push(py);
                if let Some(z) = &mut z {
                    z[line].push(pc.unwrap_or(f32::NAN));
                }
            }
        }
    }
    ExportColumns::Lines {
        x,
        y,
        z: z.map(|z| serde_json::json!(z)),
    }
}

fn tandem_columns(plot: &Plot) -> ExportColumns {
    let t = &plot.tandem;
    let x = (0..t.lines)
        .map(|k| (0..t.len()).map(|i| t.point(k, i).0).collect())
        .collect();
    let y = (0..t.lines)
        .map(|k| (0..t.len()).map(|i| t.point(k, i).1).collect())
        .collect();
    let z = plot.palette.as_ref().map(|_| {
        let z: Vec<f32> = (0..t.lines).map(|k| unit_index(k, t.lines)).collect();
        serde_json::json!(z)
    });
    ExportColumns::Lines { x, y, z }
}
