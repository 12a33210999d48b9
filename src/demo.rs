//! The seed README's example application: four plots updated every step.
//! `streamvis-test-app` runs it in its own process; `streamvis-gpu --demo`
//! runs it on a thread beside the viewer.

use crate::logger::{DataLogger, LoggerError};
use crate::{ColorSpec, GridCell, GridSpec, TensorView};

/// Points per cloud.
const N: usize = 50;
/// Layers of the rank-3 data.
const L: usize = 20;

/// The example's state between steps.
pub struct SeedDemo {
    rng: fastrand::Rng,
    /// A random walk the original computes each step (and does not plot).
    left_data: Vec<f32>,
}

impl SeedDemo {
    /// A demo drawing its random numbers from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let left_data = (0..N * 2).map(|_| randn(&mut rng)).collect();
        Self { rng, left_data }
    }

    /// The grid_map of the example: four plots in a 2x2 grid.
    pub fn grid_map() -> [(&'static str, GridCell); 4] {
        [
            ("top_left", GridCell::new(0, 0, 1, 1)),
            ("top_right", GridCell::new(0, 1, 1, 1)),
            ("bottom_left", GridCell::new(1, 0, 1, 1)),
            ("bottom_right", GridCell::new(1, 1, 1, 1)),
        ]
    }

    /// Clears the viewer and sets the layout.
    pub fn start(&mut self, logger: &mut DataLogger) -> Result<(), LoggerError> {
        logger.clear()?;
        logger.set_layout(Self::grid_map())
    }

    /// Logs one step's four calls and marks the step's end.
    pub fn step(&mut self, logger: &mut DataLogger, step: u64) -> Result<(), LoggerError> {
        let s = step as f32;
        let top_data = [
            (1.0 + s / 10.0).sin(),
            0.5 * (1.5 + s / 20.0).sin(),
            1.5 * (2.0 + s / 15.0).sin(),
        ];
        for v in &mut self.left_data {
            *v += randn(&mut self.rng) * 0.1;
        }
        // data_rank3 = randn(L, N, 2) * linspace(0, 10, L)[:, None, None]
        let mut data_rank3 = Vec::with_capacity(L * N * 2);
        for layer in 0..L {
            let mult = 10.0 * layer as f32 / (L - 1) as f32;
            data_rank3.extend((0..N * 2).map(|_| randn(&mut self.rng) * mult));
        }
        let rank3 = TensorView::new(&[L, N, 2], &data_rank3);

        logger.tandem_lines("top_left", step as f64, &top_data, Some("Viridis256"), None)?;
        // Distribute the L dimension along grid cells.
        logger.scatter(
            "top_right",
            rank3,
            2,
            false,
            None,
            Some(GridSpec::new(0, 5).with_padding_factor(1.2)),
        )?;
        // Colourise the L dimension.
        logger.scatter(
            "bottom_left",
            rank3,
            2,
            false,
            Some(ColorSpec::by_dim("Viridis256", 0)),
            None,
        )?;
        // Colour within the spatial dim: (x, y, colour value) per point.
        let data4: Vec<f32> = (0..N * 3).map(|_| self.rng.f32()).collect();
        logger.scatter(
            "bottom_right",
            TensorView::new(&[N, 3], &data4),
            1,
            false,
            Some(ColorSpec::by_value("Viridis256")),
            None,
        )?;
        logger.end_step()?;
        Ok(())
    }
}

/// A standard normal draw (Box-Muller).
fn randn(rng: &mut fastrand::Rng) -> f32 {
    let u1 = 1.0 - rng.f64(); // in (0, 1]: ln is finite
    let u2 = rng.f64();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// The example app running on a thread, logging to a temporary file; what
/// `streamvis-gpu --demo` views. Dropping it stops the thread and removes the
/// file.
#[cfg(feature = "viewer")]
pub struct DemoRun {
    dir: tempfile::TempDir,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(feature = "viewer")]
impl DemoRun {
    /// Starts logging one step every `interval`.
    pub fn start(interval: std::time::Duration) -> std::io::Result<DemoRun> {
        use std::sync::atomic::Ordering;
        let dir = tempfile::Builder::new().prefix("streamvis-demo-").tempdir()?;
        let path = dir.path().join("demo.log");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let mut logger = DataLogger::new("demo");
        logger.init_write_log(&path).map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new()
            .name("streamvis-demo".into())
            .spawn(move || {
                let mut demo = SeedDemo::new(0);
                let mut run = |logger: &mut DataLogger| -> Result<(), LoggerError> {
                    demo.start(logger)?;
                    let started = std::time::Instant::now();
                    for step in 0.. {
                        if flag.load(Ordering::Relaxed) {
                            break;
                        }
                        demo.step(logger, step)?;
                        logger.flush()?;
                        let due = started + interval.mul_f64((step + 1) as f64);
                        while std::time::Instant::now() < due && !flag.load(Ordering::Relaxed) {
                            std::thread::sleep(
                                (due - std::time::Instant::now()).min(std::time::Duration::from_millis(20)),
                            );
                        }
                    }
                    Ok(())
                };
                if let Err(err) = run(&mut logger) {
                    log::error!("the demo stopped: {err}");
                }
            })?;
        Ok(DemoRun {
            dir,
            stop,
            thread: Some(thread),
        })
    }

    /// The log the demo writes.
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("demo.log")
    }
}

#[cfg(feature = "viewer")]
impl Drop for DemoRun {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
