//! End-to-end Pub/Sub benchmark through the emulator: a `DataLogger`
//! publishing, a `PubSubSource` receiving.
//!
//! * **Throughput**, per record size (64 KiB, 1 MiB, 8 MiB, 30 MiB): scatter
//!   records logged back to back; MB/s of record bytes from the first log
//!   call to the last record out of `PubSubSource::next_event`. Records over
//!   9 MiB travel as fragments.
//! * **Latency**, per record size: one record at a time; from the log call
//!   (followed by `flush`) to the record coming out of `next_event`:
//!   publish to record received, p50 and p99 (the largest, with few samples).
//! * **Memory under a burst**: a logger process logs 500 MB of 1 MiB records
//!   as fast as it can while a viewer process receives them; each reports
//!   its peak resident memory (`VmHWM`) and its growth over the start.
//!
//! ```text
//! cargo run --release --example pubsub_bench                      # starts an emulator
//! cargo run --release --example pubsub_bench -- 127.0.0.1:8085    # uses a running one
//! ```
//!
//! A running emulator needs `JAVA_OPTS=-Xmx4g` or so: with 1 GiB of heap it
//! runs out of memory part way through (it then stops answering, and the
//! logger reports that and eventually gives up).

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

    /// Logs `count` scatters of `points` points back to back; returns (MB/s,
    /// seconds).
    fn throughput(endpoint: &Endpoint, points: usize, count: u64) -> anyhow::Result<(f64, f64)> {
        let topic = format!("bench-tput-{points}");
        let source = source(endpoint, &topic)?;
        let receiver = Receiver::start(source, count + 1);
        let mut logger = logger(endpoint, &topic)?;
        let values: Vec<f32> = (0..points * 2).map(|i| i as f32).collect();
        let shape = [points, 2];
        let started = Instant::now();
        for _ in 0..count {
            logger.scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)?;
        }
        logger.flush()?;
        let deadline = started + Duration::from_secs(600);
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

    /// Publish-to-received latencies (ms, sorted) of `count` records of
    /// `points` points logged one at a time.
    fn latency(endpoint: &Endpoint, points: usize, count: u64) -> anyhow::Result<Vec<f64>> {
        let topic = format!("bench-latency-{points}");
        let receiver = Receiver::start(source(endpoint, &topic)?, count + 1);
        let mut logger = logger(endpoint, &topic)?;
        logger.flush()?;
        let values: Vec<f32> = (0..points * 2).map(|i| i as f32).collect();
        let shape = [points, 2];
        let mut starts = HashMap::new();
        // Sequence 0 is the layout; record k is sequence k.
        for seq in 1..=count {
            let started = Instant::now();
            starts.insert(seq, started);
            logger.scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)?;
            logger.flush()?;
            // Wait for it, so that records do not queue behind each other.
            let deadline = Instant::now() + Duration::from_secs(60);
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
        let mut latencies: Vec<f64> = starts
            .iter()
            .filter_map(|(seq, start)| arrivals.get(seq).map(|t| (*t - *start).as_secs_f64() * 1e3))
            .collect();
        if latencies.len() as u64 != count {
            bail!("{} of {count} records arrived", latencies.len());
        }
        latencies.sort_by(f64::total_cmp);
        Ok(latencies)
    }

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    /// `(VmRSS, VmHWM)` of this process in MiB.
    fn memory_mib() -> (f64, f64) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// The burst's two sides, each a process of its own: prints "ready" when
    /// it can start, then "START_MIB PEAK_MIB SECONDS" when done.
    fn burst_side(role: &str, host_port: &str, topic: &str, records: u64) -> anyhow::Result<()> {
        use std::io::Write;
        let endpoint = Endpoint::emulator(host_port)?;
        match role {
            "burst-view" => {
                let mut source = source(&endpoint, topic)?;
                let (start_mib, _) = memory_mib();
                println!("ready");
                std::io::stdout().flush()?;
                let mut received = 0;
                let mut first = None;
                let deadline = Instant::now() + Duration::from_secs(600);
                while received < records + 1 && Instant::now() < deadline {
                    match source.next_event()? {
                        Some(SourceEvent::Record { .. }) => {
                            first.get_or_insert_with(Instant::now);
                            received += 1;
                        }
                        Some(other) => bail!("unexpected event {other:?}"),
                        None => std::thread::sleep(Duration::from_micros(200)),
                    }
                }
                if received != records + 1 {
                    bail!("received {received} of {} records", records + 1);
                }
                let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
                println!("{start_mib:.0} {:.0} {seconds:.1}", memory_mib().1);
            }
            _ => {
                let mut logger = logger(&endpoint, topic)?;
                let (start_mib, _) = memory_mib();
                println!("ready");
                let points = (1 << 20) / 8;
                let values: Vec<f32> = (0..points * 2).map(|i| i as f32).collect();
                let shape = [points, 2];
                let started = Instant::now();
                for _ in 0..records {
                    logger.scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)?;
                }
                logger.flush()?;
                println!(
                    "{start_mib:.0} {:.0} {:.1}",
                    memory_mib().1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(())
    }

    /// Runs a burst of `records` 1 MiB records with the logger and the
    /// viewer in processes of their own; returns each side's line.
    fn burst(host_port: &str, records: u64) -> anyhow::Result<(String, String)> {
        use std::io::BufRead;
        let exe = std::env::current_exe()?;
        let topic = "bench-burst";
        let spawn =
            |role: &str| -> anyhow::Result<(Child, std::io::Lines<std::io::BufReader<std::process::ChildStdout>>)> {
                let mut child = Command::new(&exe)
                    .args([role, host_port, topic, &records.to_string()])
                    .stdout(Stdio::piped())
                    .spawn()?;
                let stdout = child.stdout.take().context("no stdout")?;
                let mut lines = std::io::BufReader::new(stdout).lines();
                match lines.next() {
                    Some(Ok(line)) if line == "ready" => Ok((child, lines)),
                    other => bail!("{role} did not start: {other:?}"),
                }
            };
        let (mut viewer, mut viewer_lines) = spawn("burst-view")?;
        let (mut logger, mut logger_lines) = spawn("burst-log")?;
        let logger_line = logger_lines.next().context("no logger report")??;
        let viewer_line = viewer_lines.next().context("no viewer report")??;
        logger.wait()?;
        viewer.wait()?;
        Ok((logger_line, viewer_line))
    }

    fn size_label(bytes: usize) -> String {
        if bytes >= 1 << 20 {
            format!("{} MiB", bytes >> 20)
        } else {
            format!("{} KiB", bytes >> 10)
        }
    }

    pub fn main() -> anyhow::Result<()> {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
        let args: Vec<String> = std::env::args().skip(1).collect();
        if let [role, host_port, topic, records] = &args[..] {
            return burst_side(role, host_port, topic, records.parse()?);
        }
        let (host_port, _emulator) = match args.first() {
            Some(host_port) => (host_port.clone(), None),
            None => {
                let emulator = Emulator::start()?;
                (emulator.host_port.clone(), Some(emulator))
            }
        };
        let endpoint = Endpoint::emulator(&host_port)?;
        println!("Pub/Sub through {endpoint} (DataLogger -> emulator -> PubSubSource)\n");
        println!("| record size | MB/s | publish to received p50 | p99 |");
        println!("|------------:|-----:|------------------------:|----:|");
        // (points, records for throughput, records for latency): about 200 MB each.
        let sizes: [(usize, u64, u64); 4] = [
            ((64 << 10) / 8, 3200, 100),
            ((1 << 20) / 8, 200, 40),
            ((8 << 20) / 8, 25, 15),
            ((30 << 20) / 8, 7, 8),
        ];
        for (points, count, samples) in sizes {
            let (mb_s, _seconds) = throughput(&endpoint, points, count)?;
            let latencies = latency(&endpoint, points, samples)?;
            println!(
                "| {:>11} | {mb_s:>4.0} | {:>20.0} ms | {:.0} ms |",
                size_label(points * 8),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
            );
        }
        let (logger_line, viewer_line) = burst(&host_port, 500)?;
        println!("\n500 x 1 MiB records logged at once, logger and viewer in processes of their own:");
        println!("| side | resident at start | peak resident | seconds |");
        println!("|------|------------------:|--------------:|--------:|");
        for (side, line) in [("logger", logger_line), ("viewer", viewer_line)] {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let [start, peak, seconds] = fields[..] {
                println!("| {side} | {start} MiB | {peak} MiB | {seconds} |");
            } else {
                bail!("{side} reported {line:?}");
            }
        }
        Ok(())
    }
}
