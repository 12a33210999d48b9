//! `streamvis-test-app`: the seed README's example application, logging four
//! plots every step, to a file or published to a Google Pub/Sub topic (with
//! an optional file log of the same records).

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
    /// Publish to the Google Pub/Sub topic TOPIC of project PROJECT (start the
    /// viewer first: it creates the topic). Uses the emulator with --emulator
    /// or PUBSUB_EMULATOR_HOST, else Application Default Credentials.
    Publish {
        run_name: String,
        project: String,
        topic: String,
        /// Also log the same records to this file.
        #[arg(long, value_name = "PATH", alias = "log_file")]
        log_file: Option<PathBuf>,
        /// Use the Pub/Sub emulator at HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        emulator: Option<String>,
    },
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
    let mut logger = match &args.mode {
        Mode::File { run_name, log_file } => {
            let mut logger = DataLogger::new(run_name.as_str());
            logger
                .init_write_log(log_file)
                .with_context(|| format!("logging to {log_file:?}"))?;
            logger
        }
        Mode::Publish {
            run_name,
            project,
            topic,
            log_file,
            emulator,
        } => {
            let mut logger = DataLogger::new(run_name.as_str());
            init_pubsub(&mut logger, project, topic, emulator.as_deref())?;
            if let Some(log_file) = log_file {
                logger
                    .init_write_log(log_file)
                    .with_context(|| format!("logging to {log_file:?}"))?;
            }
            logger
        }
    };
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

#[cfg(feature = "pubsub")]
fn init_pubsub(logger: &mut DataLogger, project: &str, topic: &str, emulator: Option<&str>) -> anyhow::Result<()> {
    let endpoint = streamvis_gpu::pubsub_client::Endpoint::emulator_or_env(emulator)?;
    logger
        .init_pubsub_at(endpoint, project, topic)
        .with_context(|| format!("publishing to Pub/Sub topic {topic:?} of project {project:?}"))
}

#[cfg(not(feature = "pubsub"))]
fn init_pubsub(_: &mut DataLogger, _: &str, _: &str, _: Option<&str>) -> anyhow::Result<()> {
    anyhow::bail!("this build has no Pub/Sub support: rebuild with the \"pubsub\" feature")
}
