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
//! by record. A `set_layout` call's plots keep the scenario file's order.

#[path = "../tests/common/calls.rs"]
mod calls;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;
use streamvis_gpu::DataLogger;

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
    let calls = scenario["calls"].as_array().context("the scenario has no calls")?;
    let mut logger = DataLogger::new("parity");
    logger
        .init_write_log(out)
        .with_context(|| format!("logging to {out:?}"))?;
    for (i, call) in calls.iter().enumerate() {
        logger.flush()?;
        let len_before = std::fs::metadata(out)?.len();
        let result = calls::apply_call(&mut logger, call);
        logger.flush()?;
        let len_after = std::fs::metadata(out)?.len();
        match (call.get("expect_error"), result) {
            (Some(why), Ok(())) => bail!("call {i} should have been refused ({why})"),
            (Some(_), Err(_)) if len_after != len_before => bail!("refused call {i} left bytes in the log"),
            (Some(_), Err(_)) => {}
            (None, Err(err)) => bail!("call {i} was refused: {err}"),
            (None, Ok(())) => {}
        }
    }
    logger.flush()?;
    Ok(())
}
