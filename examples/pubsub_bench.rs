//! End-to-end Pub/Sub benchmark through the emulator: a `DataLogger`
//! publishing, a `PubSubSource` receiving, in one process.
//!
//! * **Throughput**: scatter records of a given size, logged back to back;
//!   MB/s of frame bytes from the first log call to the last record out of
//!   `PubSubSource::next_event`. Records over 9 MiB travel as fragments.
//! * **Latency**: one small record at a time; the time from the start of
//!   `DataLogger::flush` (which returns once the message is published) to
//!   the record being available from `next_event`.
//!
//! ```text
//! cargo run --release --example pubsub_bench                      # starts an emulator
//! cargo run --release --example pubsub_bench -- 127.0.0.1:8085    # uses a running one
//! ```
//!
//! A running emulator needs `JAVA_OPTS=-Xmx4g` or so: with 1 GiB of heap it
//! runs out of memory part way through (it then stops answering, and the
//! logger reports that and eventually gives up).
//!
//! ```text
//! ```

#[cfg(feature = "pubsub")]
fn main() -> anyhow::Result<()> {
    bench::main()
}

#[cfg(not(feature = "pubsub"))]
fn main() {
    eprintln!("pubsub_bench needs the \"pubsub\" feature");
}

#[cfg(feature = "pubsub")]
mod bench {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};
    use streamvis_gpu::pubsub_client::Endpoint;
    use streamvis_gpu::source::{PubSubOptions, PubSubSource, RecordSource, SourceEvent};
    use streamvis_gpu::{DataLogger, GridCell, TensorView};

    const PROJECT: &str = "streamvis-bench";
    const EMULATOR: &str = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

    /// An emulator started for the benchmark, stopped on drop.
    struct Emulator {
        child: Child,
        host_port: String,
        _dir: tempfile::TempDir,
    }

    impl Emulator {
        fn start() -> anyhow::Result<Self> {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let dir = tempfile::tempdir()?;
            let log_path = dir.path().join("emulator.log");
            let log = std::fs::File::create(&log_path)?;
            let child = {
                use std::os::unix::process::CommandExt;
                Command::new(
                    std::env::var_os("PUBSUB_EMULATOR_BIN").map_or_else(|| PathBuf::from(EMULATOR), PathBuf::from),
                )
                .args(["--host=127.0.0.1", &format!("--port={port}")])
                // Sustained 100 MB/s of 9 MiB messages needs more than 1 GiB of heap.
                .env("JAVA_OPTS", "-Xmx4g")
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .context("starting the Pub/Sub emulator")?
            };
            let mut emulator = Self {
                child,
                host_port: format!("127.0.0.1:{port}"),
                _dir: dir,
            };
            let ready = format!("Server started, listening on {port}");
            let deadline = Instant::now() + Duration::from_secs(90);
            while !std::fs::read_to_string(&log_path)?.contains(&ready) {
                if Instant::now() > deadline || emulator.child.try_wait()?.is_some() {
                    bail!("the emulator did not start: {}", std::fs::read_to_string(&log_path)?);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(emulator)
        }
    }

    impl Drop for Emulator {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }

    /// Receives on a thread: counts records and frame bytes, and notes when each
    /// sequence number arrived.
    struct Receiver {
        done: Arc<AtomicBool>,
        arrivals: Arc<Mutex<HashMap<u64, Instant>>>,
        thread: std::thread::JoinHandle<anyhow::Result<(u64, Instant)>>,
    }

    impl Receiver {
        fn start(mut source: PubSubSource, expected: u64) -> Self {
            let done = Arc::new(AtomicBool::new(false));
            let arrivals = Arc::new(Mutex::new(HashMap::new()));
            let (stop, seen) = (done.clone(), arrivals.clone());
            let thread = std::thread::spawn(move || -> anyhow::Result<(u64, Instant)> {
                let mut records = 0;
                let mut last = Instant::now();
                while records < expected && !stop.load(Ordering::Relaxed) {
                    match source.next_event()? {
                        Some(SourceEvent::Record { record, .. }) => {
                            last = Instant::now();
                            records += 1;
                            seen.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(record.meta.seq, last);
                        }
                        Some(other) => bail!("unexpected event {other:?}"),
                        // Poll tightly: the latency measured includes this.
                        None => std::thread::sleep(Duration::from_micros(200)),
                    }
                }
                Ok((records, last))
            });
            Self { done, arrivals, thread }
        }

        fn finish(self) -> anyhow::Result<(u64, Instant)> {
            self.done.store(true, Ordering::Relaxed);
            self.thread
                .join()
                .map_err(|_| anyhow::anyhow!("the receiver panicked"))?
        }
    }

    fn source(endpoint: &Endpoint, topic: &str) -> anyhow::Result<PubSubSource> {
        Ok(PubSubSource::open(PubSubOptions::new(
            endpoint.clone(),
            PROJECT,
            topic,
        ))?)
    }

    fn logger(endpoint: &Endpoint, topic: &str) -> anyhow::Result<DataLogger> {
        let mut logger = DataLogger::new("bench");
        logger.init_pubsub_at(endpoint.clone(), PROJECT, topic)?;
        logger.set_layout([
            ("cloud", GridCell::new(0, 0, 1, 1)),
            ("loss", GridCell::new(1, 0, 1, 1)),
        ])?;
        Ok(logger)
    }

    /// Logs `count` scatters of `points` points; returns (MB/s, seconds).
    fn throughput(endpoint: &Endpoint, points: usize, count: u64) -> anyhow::Result<(f64, f64)> {
        let topic = format!("bench-tput-{points}");
        let receiver = Receiver::start(source(endpoint, &topic)?, count + 1);
        let mut logger = logger(endpoint, &topic)?;
        let values: Vec<f32> = (0..points * 2).map(|i| i as f32).collect();
        let shape = [points, 2];
        let started = Instant::now();
        for _ in 0..count {
            logger.scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)?;
        }
        logger.flush()?;
        let deadline = started + Duration::from_secs(300);
        while !receiver.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (records, last) = receiver.finish()?;
        if records != count + 1 {
            bail!("received {records} of {} records", count + 1);
        }
        let seconds = (last - started).as_secs_f64();
        let bytes = count as f64 * (points * 8) as f64;
        Ok((bytes / seconds / 1e6, seconds))
    }

    /// Percentiles of flush-to-available latency over `count` small records.
    fn latency(endpoint: &Endpoint, count: u64) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        let topic = "bench-latency";
        let receiver = Receiver::start(source(endpoint, topic)?, count + 1);
        let mut logger = logger(endpoint, topic)?;
        logger.flush()?;
        let mut flush_starts = HashMap::new();
        let mut flush_ms = Vec::new();
        // Sequence 0 is the layout; record k is sequence k.
        for seq in 1..=count {
            logger.tandem_lines("loss", seq as f64, &[0.5, 0.25, 0.125, 0.0625], None, None)?;
            let started = Instant::now();
            flush_starts.insert(seq, started);
            logger.flush()?;
            flush_ms.push(started.elapsed().as_secs_f64() * 1e3);
            // Wait for it, so that records do not queue behind each other.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !receiver
                .arrivals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&seq)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let arrivals = receiver.arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone();
        receiver.finish()?;
        let mut latencies: Vec<f64> = flush_starts
            .iter()
            .filter_map(|(seq, start)| arrivals.get(seq).map(|t| (*t - *start).as_secs_f64() * 1e3))
            .collect();
        if latencies.len() as u64 != count {
            bail!("{} of {count} records arrived", latencies.len());
        }
        latencies.sort_by(f64::total_cmp);
        flush_ms.sort_by(f64::total_cmp);
        Ok((latencies, flush_ms))
    }

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    pub fn main() -> anyhow::Result<()> {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
        let (endpoint, _emulator) = match std::env::args().nth(1) {
            Some(host_port) => (Endpoint::emulator(&host_port)?, None),
            None => {
                let emulator = Emulator::start()?;
                (Endpoint::emulator(&emulator.host_port)?, Some(emulator))
            }
        };
        println!("Pub/Sub through {endpoint} (one process: DataLogger -> emulator -> PubSubSource)\n");
        println!("| record size | records | seconds | MB/s |");
        println!("|------------:|--------:|--------:|-----:|");
        // (points, records): about 256 MB each; 32 MiB records go as fragments.
        for (points, count) in [(8 << 10, 4000), (128 << 10, 256), (1 << 20, 32), (4 << 20, 8)] {
            let (mb_s, seconds) = throughput(&endpoint, points, count)?;
            let size = points * 8;
            let size = if size >= 1 << 20 {
                format!("{} MiB", size >> 20)
            } else {
                format!("{} KiB", size >> 10)
            };
            println!("| {size:>11} | {count:>7} | {seconds:>7.2} | {mb_s:>4.0} |");
        }
        let (latencies, flush_ms) = latency(&endpoint, 200)?;
        println!("\nflush-to-next_event latency, 200 small records, one at a time (ms):");
        println!("| p50 | p90 | p99 | max | flush() p50 |");
        println!("|----:|----:|----:|----:|------------:|");
        println!(
            "| {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
            percentile(&flush_ms, 0.5)
        );
        Ok(())
    }
}
