//! streamvis-gpu: watch machine-learning training live.
//!
//! A training app logs plots through a [`DataLogger`]; a viewer reads the
//! records back and draws them on the GPU. The data flows through one module
//! per stage:
//!
//! ```text
//!  training app                                   viewer
//!  ────────────                                   ──────
//!  DataLogger ── format::encode ──► log file ──► source::FileTail ─┐
//!   (logger)      (frames, CRC)    or Pub/Sub    (mmap, follow)    │
//!                                                                  ▼
//!                             render (wgpu) ◄── layout ◄── store::Store
//!                            window / PNG / video   (grid_map, ticks)  (plots, bounds)
//! ```
//!
//! Tensor bytes travel as the caller gave them: the logger copies them once
//! into a frame, the viewer borrows them from the memory-mapped log, and the
//! renderer uploads them unchanged; per-point work (picking x, y and colour
//! out of a tensor, grid tiling) happens in shaders.
//!
//! ```no_run
//! use streamvis_gpu::{DataLogger, GridCell, TensorView};
//!
//! let mut logger = DataLogger::new("myapp");
//! logger.init_write_log("run.log")?;
//! logger.set_layout([("loss", GridCell::new(0, 0, 1, 1))])?;
//! for step in 0..100 {
//!     let loss = 1.0 / (1.0 + step as f32);
//!     logger.tandem_lines("loss", step as f64, &[loss], None, None)?;
//! }
//! # let _ = TensorView::new(&[0], &[]);
//! # Ok::<(), streamvis_gpu::logger::LoggerError>(())
//! ```
//!
//! Cargo features: none (`default-features = false`) is the logger alone
//! (`format`, `calls`, `log_file`, `logger`), what a training app links;
//! `pubsub` adds the Pub/Sub sink; `reader` the log reader (`source` with
//! its reader loop, `store` and its export, `layout`); `viewer` (with `reader` and
//! the binaries' `cli`) the renderer, window and videos. The default is
//! `viewer` and `pubsub`.

#[cfg(feature = "viewer")]
pub mod app;
pub mod calls;
#[cfg(feature = "viewer")]
pub mod cli;
pub mod demo;
pub mod format;
#[cfg(feature = "reader")]
#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "reader")]
pub mod layout;
pub mod log_file;
pub mod logger;
#[cfg(feature = "pubsub")]
pub mod pubsub_client;
#[cfg(feature = "viewer")]
pub mod render;
#[cfg(feature = "reader")]
pub mod source;
#[cfg(feature = "reader")]
pub mod store;
#[cfg(feature = "viewer")]
pub mod video;

pub use format::{ColorSpec, GridCell, GridSpec, TensorView};
pub use logger::DataLogger;
