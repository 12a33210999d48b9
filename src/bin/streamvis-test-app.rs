//! `streamvis-test-app`: the seed README's example application, logging four
//! plots every step.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use streamvis_gpu::DataLogger;
use streamvis_gpu::demo::SeedDemo;

#[derive(Debug, Parser)]
#[command(
    name = "streamvis-test-app",
    version,
    about = "The example application: logs four plots every step"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,

    /// Number of steps to run.
    #[arg(long, default_value_t = 10_000, global = true)]
    steps: u64,

    /// Time between steps, in milliseconds.
    #[arg(long, default_value_t = 1000, global = true)]
    interval_ms: u64,

    /// Seed for the random data.
    #[arg(long, default_value_t = 0, global = true)]
    seed: u64,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Log to a file.
    File { run_name: String, log_file: PathBuf },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let Mode::File { run_name, log_file } = &args.mode;
    let mut logger = DataLogger::new(run_name.as_str());
    logger
        .init_write_log(log_file)
        .with_context(|| format!("logging to {log_file:?}"))?;
    let mut demo = SeedDemo::new(args.seed);
    demo.start(&mut logger)?;
    let interval = Duration::from_millis(args.interval_ms);
    let started = Instant::now();
    for step in 0..args.steps {
        // Sleep to the step's slot, so steps keep their pace however long logging takes.
        let due = started + interval * (step as u32);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        demo.step(&mut logger, step)?;
        logger.flush()?;
    }
    logger.flush()?;
    Ok(())
}
