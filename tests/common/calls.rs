//! Parity scenario calls made on a real DataLogger; shared by the tests and
//! the `parity_log` example.

use serde_json::Value;
use streamvis_gpu::logger::LoggerError;
use streamvis_gpu::{ColorSpec, DataLogger, GridCell, GridSpec, TensorView};

/// A tensor from `{shape, values}`.
pub fn tensor(value: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = value["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let values = value["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(json_f32)
        .collect();
    (shape, values)
}

pub fn json_f32(v: &Value) -> f32 {
    v.as_f64().map_or(f32::NAN, |f| f as f32)
}

fn opt_usize(v: &Value) -> Option<usize> {
    v.as_u64().map(|d| d as usize)
}

fn color(call: &Value) -> Option<ColorSpec> {
    let c = call.get("color").filter(|c| !c.is_null())?;
    Some(ColorSpec {
        palette: c["palette"].as_str().expect("palette").to_owned(),
        dim: opt_usize(&c["dim"]),
    })
}

fn grid(call: &Value) -> Option<GridSpec> {
    let g = call.get("grid").filter(|g| !g.is_null())?;
    let mut grid = GridSpec::new(
        opt_usize(&g["dim"]).expect("grid dim"),
        opt_usize(&g["num_columns"]).expect("columns"),
    );
    if let Some(pf) = g.get("padding_factor").and_then(Value::as_f64) {
        grid.padding_factor = pf as f32;
    }
    Some(grid)
}

/// `line_dims` as an int or a list.
fn line_dims(call: &Value) -> Vec<usize> {
    match &call["line_dims"] {
        Value::Array(dims) => dims.iter().map(|d| d.as_u64().unwrap() as usize).collect(),
        d => vec![d.as_u64().expect("line_dims") as usize],
    }
}

/// Makes one scenario call on a logger.
pub fn apply_call(logger: &mut DataLogger, call: &Value) -> Result<(), LoggerError> {
    let plot = call.get("plot").and_then(Value::as_str).unwrap_or("");
    let names: Option<Vec<&str>> = call
        .get("names")
        .and_then(Value::as_array)
        .map(|names| names.iter().map(|n| n.as_str().expect("a name")).collect());
    let spatial_dim = || opt_usize(&call["spatial_dim"]).expect("spatial_dim");
    let append = || call.get("append").and_then(Value::as_bool).unwrap_or(false);
    match call["op"].as_str().expect("op") {
        "clear" => logger.clear(),
        "set_layout" => {
            let cells = call["grid_map"]
                .as_object()
                .expect("grid_map")
                .iter()
                .map(|(name, cell)| {
                    let c: Vec<u32> = cell
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_u64().unwrap() as u32)
                        .collect();
                    (name.clone(), GridCell::new(c[0], c[1], c[2], c[3]))
                });
            logger.set_layout(cells.collect::<Vec<_>>())
        }
        "scatter" => {
            let (shape, values) = tensor(&call["data"]);
            logger.scatter(
                plot,
                TensorView::new(&shape, &values),
                spatial_dim(),
                append(),
                color(call),
                grid(call),
            )
        }
        "multi_lines" => {
            let (shape, values) = tensor(&call["data"]);
            let data = TensorView::new(&shape, &values);
            logger.multi_lines(
                plot,
                data,
                &line_dims(call),
                spatial_dim(),
                append(),
                color(call),
                grid(call),
                names.as_deref(),
            )
        }
        "tandem_lines" => {
            let x = call["x"].as_f64().expect("x");
            let ys: Vec<f32> = call["ys"].as_array().expect("ys").iter().map(json_f32).collect();
            let palette = call.get("palette").and_then(Value::as_str);
            logger.tandem_lines(plot, x, &ys, palette, names.as_deref())
        }
        op => panic!("unknown op {op}"),
    }
}
