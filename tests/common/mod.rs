//! Helpers shared by the integration tests: parity scenarios and export
//! comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use streamvis_gpu::logger::LoggerError;
use streamvis_gpu::{ColorSpec, DataLogger, GridCell, GridSpec, TensorView};

/// The parity directory: `$STREAMVIS_PARITY_DIR`, or the repository's copy.
pub fn parity_dir() -> PathBuf {
    std::env::var_os("STREAMVIS_PARITY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity"))
}

/// Every `*.json` scenario in the parity directory, sorted by name.
pub fn parity_files() -> Vec<PathBuf> {
    let dir = parity_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading parity dir {dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no parity scenarios in {dir:?}");
    files
}

pub fn load_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path:?}: {e}"))
}

/// A tensor from `{shape, values}`.
pub fn tensor(value: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = value["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let values = value["values"].as_array().expect("values").iter().map(json_f32).collect();
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
    Some(ColorSpec { palette: c["palette"].as_str().expect("palette").to_owned(), dim: opt_usize(&c["dim"]) })
}

fn grid(call: &Value) -> Option<GridSpec> {
    let g = call.get("grid").filter(|g| !g.is_null())?;
    let mut grid = GridSpec::new(opt_usize(&g["dim"]).expect("grid dim"), opt_usize(&g["num_columns"]).expect("columns"));
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
    let spatial_dim = || opt_usize(&call["spatial_dim"]).expect("spatial_dim");
    let append = || call.get("append").and_then(Value::as_bool).unwrap_or(false);
    match call["op"].as_str().expect("op") {
        "clear" => logger.clear(),
        "set_layout" => {
            let cells = call["grid_map"].as_object().expect("grid_map").iter().map(|(name, cell)| {
                let c: Vec<u32> = cell.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                (name.clone(), GridCell::new(c[0], c[1], c[2], c[3]))
            });
            logger.set_layout(cells.collect::<Vec<_>>())
        }
        "scatter" => {
            let (shape, values) = tensor(&call["data"]);
            logger.scatter(plot, TensorView::new(&shape, &values), spatial_dim(), append(), color(call), grid(call))
        }
        "multi_lines" => {
            let (shape, values) = tensor(&call["data"]);
            let data = TensorView::new(&shape, &values);
            logger.multi_lines(plot, data, &line_dims(call), spatial_dim(), append(), color(call), grid(call))
        }
        "tandem_lines" => {
            let x = call["x"].as_f64().expect("x");
            let ys: Vec<f32> = call["ys"].as_array().expect("ys").iter().map(json_f32).collect();
            logger.tandem_lines(plot, x, &ys, call.get("palette").and_then(Value::as_str))
        }
        op => panic!("unknown op {op}"),
    }
}

/// Largest magnitude among the numbers in a column (nested lists flattened).
fn max_magnitude(v: &Value) -> f64 {
    match v {
        Value::Array(items) => items.iter().map(max_magnitude).fold(0.0, f64::max),
        Value::Number(n) => n.as_f64().unwrap().abs(),
        _ => 0.0,
    }
}

fn compare_values(path: &str, expected: &Value, actual: &Value, tol: f64, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!("{path}: expected {} entries, got {}", e.len(), a.len()));
                return;
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                compare_values(&format!("{path}[{i}]"), e, a, tol, errors);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            if (e - a).abs() > tol {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        // NaN is written as null.
        (Value::Null, Value::Null) => {}
        (e, a) => errors.push(format!("{path}: expected {e}, got {a}")),
    }
}

/// Compares an export with a parity `expected`: the same plots, kinds,
/// palettes and layouts, and every column within 1e-4 of its largest value.
pub fn compare_exports(expected: &Value, actual: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let (e, a) = (expected.as_object().unwrap(), actual.as_object().unwrap());
    let mut e_names: Vec<&String> = e.keys().collect();
    let mut a_names: Vec<&String> = a.keys().collect();
    e_names.sort();
    a_names.sort();
    if e_names != a_names {
        errors.push(format!("plots: expected {e_names:?}, got {a_names:?}"));
        return errors;
    }
    for (name, ep) in e {
        let ap = &a[name];
        for key in ["kind", "palette", "layout"] {
            if ep[key] != ap[key] {
                errors.push(format!("{name}.{key}: expected {}, got {}", ep[key], ap[key]));
            }
        }
        let (ec, ac) = (ep["columns"].as_object().unwrap(), ap["columns"].as_object().unwrap());
        let mut ek: Vec<&String> = ec.keys().collect();
        let mut ak: Vec<&String> = ac.keys().collect();
        ek.sort();
        ak.sort();
        if ek != ak {
            errors.push(format!("{name}.columns: expected {ek:?}, got {ak:?}"));
            continue;
        }
        for (col, ev) in ec {
            let tol = 1e-4 * max_magnitude(ev).max(1e-30);
            compare_values(&format!("{name}.{col}"), ev, &ac[col], tol, &mut errors);
        }
    }
    errors
}

/// Path of a built binary of this package.
pub fn bin(name: &str) -> PathBuf {
    match name {
        "streamvis-gpu" => PathBuf::from(env!("CARGO_BIN_EXE_streamvis-gpu")),
        "streamvis-test-app" => PathBuf::from(env!("CARGO_BIN_EXE_streamvis-test-app")),
        other => panic!("unknown binary {other}"),
    }
}
