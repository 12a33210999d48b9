//! [`DataLogger`]: what a training app calls to log its plots.
//!
//! Each call is checked, encoded once into a pending buffer of whole frames,
//! and handed to every sink on [`DataLogger::flush`], on a background timer
//! (every [`LoggerOptions::flush_interval`]), when the buffer passes
//! [`LoggerOptions::flush_threshold_bytes`], and on drop. A refused call
//! returns an error and writes nothing. [`DataLogger::flush`] and drop also
//! wait until every sink has delivered what it was given ([`Sink::sync`]):
//! for Pub/Sub, until the messages are published.

#[cfg(feature = "pubsub")]
pub mod pubsub_sink;
#[cfg(feature = "pubsub")]
pub mod service_model;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(feature = "pubsub")]
pub use pubsub_sink::{PubSubSink, PubSubSinkOptions, PublishStats};
#[cfg(feature = "pubsub")]
pub use service_model::ServiceModel;

use crate::calls::{self, CallError, DataCallKind};
use crate::format::{
    ColorSpec, DataCall, GridCell, GridSpec, LineNames, PackError, RecordBody, RecordMeta, TandemCall, TensorView,
    encode_record,
};
use crate::log_file::{LogFileError, LogFileWriter};

/// Why a logger call failed.
#[derive(Debug, thiserror::Error)]
pub enum LoggerError {
    #[error("refused: {0}")]
    Call(#[from] CallError),

    #[error("no destination: call init_write_log (or init_pubsub) first")]
    NoSink,

    #[error(transparent)]
    LogFile(#[from] LogFileError),

    #[error(transparent)]
    Pack(#[from] PackError),

    #[error("{0}")]
    Sink(String),

    #[cfg(feature = "pubsub")]
    #[error(transparent)]
    PubSub(#[from] crate::pubsub_client::PubSubError),
}

/// Where frames go: a file, a Pub/Sub topic.
pub trait Sink: Send {
    /// Writes whole frames (their concatenation is 8-aligned); called with the
    /// logger's lock held, in call order.
    fn write_frames(&mut self, frames: &[u8]) -> Result<(), LoggerError>;

    /// Waits until everything written so far has been delivered (a file:
    /// nothing to wait for; Pub/Sub: published). Called by
    /// [`DataLogger::flush`] and on drop, with the logger's lock held.
    fn sync(&mut self) -> Result<(), LoggerError> {
        Ok(())
    }
}

/// The file sink: each batch is one locked append (see [`LogFileWriter`]).
impl Sink for LogFileWriter {
    fn write_frames(&mut self, frames: &[u8]) -> Result<(), LoggerError> {
        Ok(self.append(frames)?)
    }
}

/// Tuning for a [`DataLogger`].
#[derive(Clone, Debug)]
pub struct LoggerOptions {
    /// Pending records are flushed at least this often.
    pub flush_interval: Duration,
    /// Pending records are flushed as soon as they exceed this many bytes.
    pub flush_threshold_bytes: usize,
}

impl Default for LoggerOptions {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_millis(50),
            flush_threshold_bytes: 4 << 20,
        }
    }
}

/// State shared with the background flusher.
struct Shared {
    /// Encoded frames not yet handed to the sinks.
    pending: Vec<u8>,
    sinks: Vec<Box<dyn Sink>>,
    /// An error met by the background flusher, returned by the next call.
    deferred_error: Option<LoggerError>,
    stopping: bool,
}

impl Shared {
    fn flush(&mut self) -> Result<(), LoggerError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut first_error = None;
        for sink in &mut self.sinks {
            if let Err(err) = sink.write_frames(&self.pending) {
                first_error.get_or_insert(err);
            }
        }
        self.pending.clear();
        // Give back a huge buffer once a large tensor has gone out.
        if self.pending.capacity() > 64 << 20 {
            self.pending = Vec::new();
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Waits for every sink to deliver what it was given.
    fn sync(&mut self) -> Result<(), LoggerError> {
        let mut first_error = None;
        for sink in &mut self.sinks {
            if let Err(err) = sink.sync() {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Logs plots for a viewer: the Rust twin of the original's `DataLogger`.
///
/// ```no_run
/// use streamvis_gpu::{ColorSpec, DataLogger, GridCell, TensorView};
///
/// let mut logger = DataLogger::new("myapp");
/// logger.init_write_log("run.log")?;
/// logger.set_layout([("cloud", GridCell::new(0, 0, 1, 1))])?;
/// let points = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
/// let data = TensorView::new(&[3, 2], &points);
/// logger.scatter("cloud", data, 1, false, Some(ColorSpec::by_dim("Viridis256", 0)), None)?;
/// logger.flush()?;
/// # Ok::<(), streamvis_gpu::logger::LoggerError>(())
/// ```
pub struct DataLogger {
    run_name: String,
    session_id: u64,
    next_seq: u64,
    next_step: u64,
    /// The layout as last set: calls for other plots are refused.
    layout: calls::Layout,
    /// The line names last written per plot, so they are written again
    /// only when they change.
    line_names: HashMap<String, Vec<String>>,
    options: LoggerOptions,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl DataLogger {
    pub fn new(run_name: impl Into<String>) -> Self {
        Self::with_options(run_name, LoggerOptions::default())
    }

    pub fn with_options(run_name: impl Into<String>, options: LoggerOptions) -> Self {
        let shared = Shared {
            pending: Vec::new(),
            sinks: Vec::new(),
            deferred_error: None,
            stopping: false,
        };
        Self {
            run_name: run_name.into(),
            session_id: new_session_id(),
            next_seq: 0,
            next_step: 0,
            layout: calls::Layout::default(),
            line_names: HashMap::new(),
            options,
            shared: Arc::new((Mutex::new(shared), Condvar::new())),
            flusher: None,
        }
    }

    pub fn run_name(&self) -> &str {
        &self.run_name
    }

    /// The random id stamped on every record of this logger.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Appends records to the log file at `path`, creating it if needed. An
    /// existing log is appended to (after checking its header); other
    /// processes may append to the same file at the same time.
    pub fn init_write_log(&mut self, path: impl AsRef<Path>) -> Result<(), LoggerError> {
        let sink = LogFileWriter::open(path.as_ref())?;
        self.add_sink(Box::new(sink))
    }

    /// Publishes records to the Google Pub/Sub topic `topic` of `project`,
    /// which must exist (the viewer creates it: start the viewer first).
    /// Uses the emulator when `PUBSUB_EMULATOR_HOST` is set, else Application
    /// Default Credentials. Messages carry no ordering key (the service
    /// limits each key to 1 MB/s): the viewer puts records back in order.
    /// A logger faster than the service blocks; see [`PubSubSink`].
    #[cfg(feature = "pubsub")]
    pub fn init_pubsub(&mut self, project: &str, topic: &str) -> Result<(), LoggerError> {
        let endpoint = crate::pubsub_client::Endpoint::from_env()?;
        self.init_pubsub_at(endpoint, project, topic)
    }

    /// Like [`DataLogger::init_pubsub`], at an explicit endpoint.
    #[cfg(feature = "pubsub")]
    pub fn init_pubsub_at(
        &mut self,
        endpoint: crate::pubsub_client::Endpoint,
        project: &str,
        topic: &str,
    ) -> Result<(), LoggerError> {
        self.init_pubsub_with(endpoint, project, topic, PubSubSinkOptions::default())
    }

    /// Like [`DataLogger::init_pubsub_at`], with the sink's options (queue
    /// bounds, a [`ServiceModel`] for tests).
    #[cfg(feature = "pubsub")]
    pub fn init_pubsub_with(
        &mut self,
        endpoint: crate::pubsub_client::Endpoint,
        project: &str,
        topic: &str,
        options: PubSubSinkOptions,
    ) -> Result<(), LoggerError> {
        let sink = PubSubSink::open(endpoint, project, topic, options)?;
        self.add_sink(Box::new(sink))
    }

    /// Adds a destination; records logged from now on go to it too.
    pub fn add_sink(&mut self, sink: Box<dyn Sink>) -> Result<(), LoggerError> {
        {
            let mut shared = self.lock();
            // Records already pending go to the sinks that were there first.
            shared.flush()?;
            shared.sinks.push(sink);
        }
        if self.flusher.is_none() {
            self.flusher = Some(spawn_flusher(Arc::downgrade(&self.shared), self.options.flush_interval));
        }
        Ok(())
    }

    /// Sets the page layout: plot name -> `(top, left, height, width)` cell.
    pub fn set_layout<I, S, C>(&mut self, grid_map: I) -> Result<(), LoggerError>
    where
        I: IntoIterator<Item = (S, C)>,
        S: Into<String>,
        C: Into<GridCell>,
    {
        let cells: Vec<(String, GridCell)> = grid_map
            .into_iter()
            .map(|(name, cell)| (name.into(), cell.into()))
            .collect();
        let layout = calls::Layout::new(cells)?;
        self.write(&RecordBody::<TensorView>::Layout(layout.cells().to_vec()))?;
        self.layout = layout;
        Ok(())
    }

    /// Drops every plot, the layout and all data; set a layout again before
    /// logging more.
    pub fn clear(&mut self) -> Result<(), LoggerError> {
        self.write(&RecordBody::<TensorView>::Clear)?;
        self.layout = calls::Layout::default();
        self.line_names.clear();
        Ok(())
    }

    /// Logs a point cloud. `data` holds x, y (and, for colour by value, the
    /// colour value) along `spatial_dim`; every other index is a point.
    pub fn scatter(
        &mut self,
        plot: &str,
        data: TensorView<'_>,
        spatial_dim: usize,
        append: bool,
        color: Option<ColorSpec>,
        grid: Option<GridSpec>,
    ) -> Result<(), LoggerError> {
        let call = DataCall {
            plot: plot.to_owned(),
            spatial_dim,
            append,
            color,
            grid,
            line_dims: Vec::new(),
            data,
        };
        self.check_plot(plot)?;
        calls::check_data_call(DataCallKind::Scatter, &call)?;
        self.write(&RecordBody::Scatter(call))
    }

    /// Logs lines: `line_dims` enumerate the lines, the remaining non-spatial
    /// dims each line's points. With `append`, every line grows. `names`, one
    /// per line (row-major over `line_dims`), name the lines in legends and
    /// hover read-outs, from this call on.
    #[allow(clippy::too_many_arguments)]
    pub fn multi_lines(
        &mut self,
        plot: &str,
        data: TensorView<'_>,
        line_dims: &[usize],
        spatial_dim: usize,
        append: bool,
        color: Option<ColorSpec>,
        grid: Option<GridSpec>,
        names: Option<&[&str]>,
    ) -> Result<(), LoggerError> {
        let call = DataCall {
            plot: plot.to_owned(),
            spatial_dim,
            append,
            color,
            grid,
            line_dims: line_dims.to_vec(),
            data,
        };
        self.check_plot(plot)?;
        calls::check_data_call(DataCallKind::MultiLines, &call)?;
        let lines = line_dims.iter().map(|&d| call.data.shape[d]).product();
        self.write_line_names(plot, names, lines)?;
        self.write(&RecordBody::MultiLines(call))
    }

    /// Adds the point `(x, ys[k])` to line `k` of the plot, e.g. one loss
    /// value per line per training step. `names`, one per line, name the
    /// lines (e.g. `["train", "val"]`), from this call on.
    pub fn tandem_lines(
        &mut self,
        plot: &str,
        x: f64,
        ys: &[f32],
        palette: Option<&str>,
        names: Option<&[&str]>,
    ) -> Result<(), LoggerError> {
        self.check_plot(plot)?;
        calls::check_tandem_call(palette, ys.len())?;
        let shape = [ys.len()];
        let call = TandemCall {
            plot: plot.to_owned(),
            palette: palette.map(str::to_owned),
            x,
            ys: TensorView::new(&shape, ys),
        };
        self.write_line_names(plot, names, ys.len())?;
        self.write(&RecordBody::TandemLines(call))
    }

    /// Writes a LineNames record for `plot` when `names` (checked against
    /// `lines`) differ from the names last written for it.
    fn write_line_names(&mut self, plot: &str, names: Option<&[&str]>, lines: usize) -> Result<(), LoggerError> {
        let Some(names) = names else { return Ok(()) };
        calls::check_line_names(names, lines)?;
        if self
            .line_names
            .get(plot)
            .is_some_and(|last| last.iter().eq(names.iter()))
        {
            return Ok(());
        }
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.write(&RecordBody::<TensorView>::LineNames(LineNames {
            plot: plot.to_owned(),
            names: names.clone(),
        }))?;
        self.line_names.insert(plot.to_owned(), names);
        Ok(())
    }

    /// Marks the end of a training step: a video made from the log gets one
    /// frame per step. Returns the step's number.
    pub fn end_step(&mut self) -> Result<u64, LoggerError> {
        let step = self.next_step;
        self.write(&RecordBody::<TensorView>::Step(step))?;
        self.next_step += 1;
        Ok(step)
    }

    /// Hands every pending record to the sinks (for a file: one `write`)
    /// and waits until they have delivered them (for Pub/Sub: published).
    pub fn flush(&mut self) -> Result<(), LoggerError> {
        let mut shared = self.lock();
        if let Some(err) = shared.deferred_error.take() {
            return Err(err);
        }
        let flushed = shared.flush();
        let synced = shared.sync();
        flushed.and(synced)
    }

    fn check_plot(&self, plot: &str) -> Result<(), CallError> {
        self.layout.check_contains(plot)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while flushing leaves the buffer in a valid state (whole
        // frames or empty), so a poisoned lock can be used.
        self.shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Encodes one record into the pending buffer.
    fn write(&mut self, body: &RecordBody<TensorView<'_>>) -> Result<(), LoggerError> {
        let meta = RecordMeta {
            session_id: self.session_id,
            seq: self.next_seq,
            wall_time_ns: now_ns(),
            run_name: self.run_name.clone(),
        };
        let threshold = self.options.flush_threshold_bytes;
        let shared = self.shared.clone();
        let mut shared = shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(err) = shared.deferred_error.take() {
            return Err(err);
        }
        if shared.sinks.is_empty() {
            return Err(LoggerError::NoSink);
        }
        encode_record(&meta, body, &mut shared.pending);
        self.next_seq += 1;
        if shared.pending.len() >= threshold {
            shared.flush()?;
        }
        Ok(())
    }
}

impl Drop for DataLogger {
    fn drop(&mut self) {
        {
            let mut shared = self.lock();
            shared.stopping = true;
            if let Err(err) = shared.flush() {
                log::error!("flushing the log on drop: {err}");
            }
            if let Err(err) = shared.sync() {
                log::error!("delivering the last records on drop: {err}");
            }
        }
        self.shared.1.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

/// Flushes pending records every `interval` until the logger is dropped.
fn spawn_flusher(shared: Weak<(Mutex<Shared>, Condvar)>, interval: Duration) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("streamvis-flush".into())
        .spawn(move || {
            while let Some(shared) = shared.upgrade() {
                let (lock, wake) = &*shared;
                let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
                if guard.stopping {
                    return;
                }
                let (mut guard, _) = wake.wait_timeout(guard, interval).unwrap_or_else(|p| p.into_inner());
                if guard.stopping {
                    return;
                }
                if let Err(err) = guard.flush() {
                    log::warn!("background flush failed: {err}");
                    guard.deferred_error.get_or_insert(err);
                }
            }
        })
        .expect("spawning the flush thread")
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn new_session_id() -> u64 {
    // Mix the clock and pid into a random draw so that loggers started in the
    // same instant by different processes still differ.
    let t = now_ns() as u64;
    fastrand::u64(..) ^ t.rotate_left(17) ^ u64::from(std::process::id()).rotate_left(40)
}

impl From<(u32, u32, u32, u32)> for GridCell {
    fn from((top, left, height, width): (u32, u32, u32, u32)) -> Self {
        GridCell {
            top,
            left,
            height,
            width,
        }
    }
}

impl<'a> TensorView<'a> {
    /// A view of row-major `values` with `shape`.
    pub fn new(shape: &'a [usize], values: &'a [f32]) -> Self {
        Self { shape, values }
    }
}

#[cfg(test)]
mod tests;
