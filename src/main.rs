//! `streamvis-gpu`: the viewer.

use std::process::ExitCode;

use clap::Parser;
use streamvis_gpu::cli;

fn main() -> ExitCode {
    streamvis_gpu::render::ensure_runtime_dir();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match cli::Args::parse().validate().and_then(cli::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
