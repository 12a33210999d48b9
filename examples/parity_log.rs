//! Replays a parity scenario through the Rust `DataLogger` into a log file.
//!
//! ```text
//! cargo run --example parity_log -- SCENARIO.json OUT.log
//! ```
//!
//! Every call of the scenario (see `tests/data/parity/README.md`) is made on
//! one logger writing `OUT.log`. A call marked `expect_error` must be refused
//! and must leave the log unchanged; any other call must succeed. The Python
//! logger's tests compare its log of the same scenario with this one, record
//! by record.
//!
//! A `set_layout` call's plots are passed in the order the scenario file
//! lists them (as a Python dict keeps them), not in the sorted order of a
//! `serde_json::Map`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use streamvis_gpu::logger::LoggerError;
use streamvis_gpu::{ColorSpec, DataLogger, GridCell, GridSpec, TensorView};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [scenario, out] = args.as_slice() else {
        eprintln!("usage: parity_log SCENARIO.json OUT.log");
        return ExitCode::from(2);
    };
    match run(scenario, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(scenario_path: &Path, out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(scenario_path).with_context(|| format!("reading {scenario_path:?}"))?;
    let scenario: Value = serde_json::from_str(&text).with_context(|| format!("parsing {scenario_path:?}"))?;
    let ordered: OrderedScenario = serde_json::from_str(&text).with_context(|| format!("parsing {scenario_path:?}"))?;
    let calls = scenario["calls"].as_array().context("the scenario has no calls")?;
    ensure!(calls.len() == ordered.calls.len(), "calls parsed differently");

    let mut logger = DataLogger::new("parity");
    logger
        .init_write_log(out)
        .with_context(|| format!("logging to {out:?}"))?;
    for (i, (call, layout)) in calls.iter().zip(&ordered.calls).enumerate() {
        logger.flush()?;
        let len_before = file_len(out)?;
        let result = apply_call(&mut logger, call, layout.grid_map.as_ref());
        logger.flush()?;
        let len_after = file_len(out)?;
        match (call.get("expect_error"), result) {
            (Some(why), Ok(())) => bail!("call {i} should have been refused ({why})"),
            (Some(_), Err(_)) if len_after != len_before => {
                bail!("call {i} was refused but wrote to the log")
            }
            (Some(_), Err(_)) => {}
            (None, Err(err)) => bail!("call {i} was refused: {err}"),
            (None, Ok(())) => {}
        }
    }
    logger.flush()?;
    Ok(())
}

fn file_len(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading the length of {path:?}"))?
        .len())
}

/// Makes one scenario call on the logger; `grid_map` is the call's layout in
/// file order, for `set_layout`.
fn apply_call(logger: &mut DataLogger, call: &Value, grid_map: Option<&OrderedGridMap>) -> Result<(), LoggerError> {
    let plot = call.get("plot").and_then(Value::as_str).unwrap_or("");
    let spatial_dim = || opt_usize(&call["spatial_dim"]).expect("spatial_dim");
    let append = || call.get("append").and_then(Value::as_bool).unwrap_or(false);
    match call["op"].as_str().expect("op") {
        "clear" => logger.clear(),
        "set_layout" => {
            let cells = &grid_map.expect("set_layout has a grid_map").0;
            logger.set_layout(
                cells
                    .iter()
                    .map(|(name, [t, l, h, w])| (name.clone(), GridCell::new(*t, *l, *h, *w))),
            )
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
            )
        }
        "tandem_lines" => {
            let x = call["x"].as_f64().expect("x");
            let ys: Vec<f32> = call["ys"].as_array().expect("ys").iter().map(json_f32).collect();
            logger.tandem_lines(plot, x, &ys, call.get("palette").and_then(Value::as_str))
        }
        op => panic!("unknown op {op}"),
    }
}

/// A tensor from `{shape, values}`; `null` values are NaN.
fn tensor(value: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = value["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    let values = value["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(json_f32)
        .collect();
    (shape, values)
}

fn json_f32(v: &Value) -> f32 {
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
        opt_usize(&g["num_columns"]).expect("num_columns"),
    );
    if let Some(pf) = g.get("padding_factor").and_then(Value::as_f64) {
        grid.padding_factor = pf as f32;
    }
    Some(grid)
}

/// `line_dims` as an int or a list.
fn line_dims(call: &Value) -> Vec<usize> {
    match &call["line_dims"] {
        Value::Array(dims) => dims.iter().map(|d| d.as_u64().expect("line dim") as usize).collect(),
        d => vec![d.as_u64().expect("line_dims") as usize],
    }
}

/// The scenario's calls, read only for their `grid_map`s in file order.
#[derive(Deserialize)]
struct OrderedScenario {
    calls: Vec<OrderedCall>,
}

#[derive(Deserialize)]
struct OrderedCall {
    #[serde(default)]
    grid_map: Option<OrderedGridMap>,
}

/// A JSON object of plot name -> `[top, left, height, width]`, in the order
/// the file lists the plots.
struct OrderedGridMap(Vec<(String, [u32; 4])>);

impl<'de> Deserialize<'de> for OrderedGridMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;

        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = OrderedGridMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of plot name to [top, left, height, width]")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut cells = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    cells.push(entry);
                }
                Ok(OrderedGridMap(cells))
            }
        }

        deserializer.deserialize_map(OrderedVisitor)
    }
}
