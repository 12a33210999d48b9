//! The Pub/Sub transport end to end, against the real Pub/Sub emulator,
//! which these tests start themselves (on 127.0.0.1, a free port, in its own
//! process group). The viewer and the test app run as the real binaries.
//! Ignored where the emulator or java is missing.
//!
//! Set `PUBSUB_EMULATOR_BIN` to use an emulator installed elsewhere.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use streamvis_gpu::format::{
    DataCall, FrameScanner, MESSAGE_MAX_BYTES, RecordBody, RecordMeta, Scan, StreamEvent, encode_record, pack_messages,
};
use streamvis_gpu::logger::{PubSubSink, PubSubSinkOptions, ServiceModel, Sink};
use streamvis_gpu::pubsub_client::Endpoint;
use streamvis_gpu::source::{PubSubOptions, PubSubSource, RecordSource, SourceEvent};
use streamvis_gpu::{DataLogger, GridCell, TensorView};

const PROJECT: &str = "streamvis-test";
const DEFAULT_EMULATOR: &str = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

type TestResult = Result<(), String>;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}
const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

fn emulator_binary() -> PathBuf {
    std::env::var_os("PUBSUB_EMULATOR_BIN").map_or_else(|| PathBuf::from(DEFAULT_EMULATOR), PathBuf::from)
}

/// Why the emulator cannot run here, if it cannot.
fn emulator_missing() -> Option<String> {
    let binary = emulator_binary();
    if !binary.is_file() {
        return Some(format!("the Pub/Sub emulator ({}) is not installed", binary.display()));
    }
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !java.is_ok_and(|s| s.success()) {
        return Some("java is not installed".into());
    }
    None
}

/// A running emulator; stopped (its whole process group) on drop.
struct Emulator {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    starts: u32,
}

impl Emulator {
    fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let mut emulator = Self {
            child: None,
            port,
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
            starts: 0,
        };
        emulator.launch()?;
        Ok(emulator)
    }

    fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) -> TestResult {
        self.starts += 1;
        let log_path = self.dir.path().join(format!("emulator-{}.log", self.starts));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let err_log = log.try_clone().map_err(|e| e.to_string())?;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(emulator_binary())
                .args(["--host=127.0.0.1", &format!("--port={}", self.port)])
                .env("JAVA_OPTS", "-Xmx1g")
                // Its own group: the script execs java, and we stop them all.
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err_log)
                .spawn()
                .map_err(|e| format!("starting the emulator: {e}"))?
        };
        self.child = Some(child);
        let ready = format!("Server started, listening on {}", self.port);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains(&ready) {
                return Ok(());
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || text.contains("BindException") || Instant::now() > deadline {
                self.stop();
                return Err(format!("the emulator did not start:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = child.id() as i32;
        // SAFETY: kill(2) with a process group id we created.
        unsafe { libc_kill(-group, SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                // SAFETY: as above.
                unsafe { libc_kill(-group, SIGKILL) };
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The JVM may outlive the script for a moment: wait for the port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.host_port()).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn restart(&mut self) -> TestResult {
        self.stop();
        self.launch()
    }

    /// One REST call; returns the status and the body.
    fn rest(&self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
        http(&self.host_port(), method, &format!("/v1/{path}"), body)
    }

    /// Ids of the project's topics.
    fn topics(&self) -> Result<Vec<String>, String> {
        let (status, body) = self.rest("GET", &format!("projects/{PROJECT}/topics"), None)?;
        if status != 200 {
            return Err(format!("listing topics: {status} {body}"));
        }
        Ok(names(&body, "topics", "name"))
    }

    /// `(subscription id, topic path)` of the project's subscriptions.
    fn subscriptions(&self) -> Result<Vec<(String, String)>, String> {
        let (status, body) = self.rest("GET", &format!("projects/{PROJECT}/subscriptions"), None)?;
        if status != 200 {
            return Err(format!("listing subscriptions: {status} {body}"));
        }
        let names = names(&body, "subscriptions", "name");
        let topics = names_of_field(&body, "subscriptions", "topic");
        Ok(names.into_iter().zip(topics).collect())
    }

    /// Waits until a subscription to `topic` exists (the viewer is ready).
    fn wait_for_subscription(&self, topic: &str, viewer: &mut Child) -> TestResult {
        let topic_path = format!("projects/{PROJECT}/topics/{topic}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.subscriptions()?.iter().any(|(_, t)| *t == topic_path) {
                return Ok(());
            }
            if let Ok(Some(status)) = viewer.try_wait() {
                return Err(format!("the viewer exited early: {status}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("no subscription to {topic} after 60 s"))
    }

    /// Publishes raw message bytes through the REST API.
    fn publish_raw(&self, topic: &str, messages: &[Vec<u8>]) -> TestResult {
        let items: Vec<Value> = messages
            .iter()
            .map(|m| serde_json::json!({ "data": base64(m) }))
            .collect();
        let body = serde_json::json!({ "messages": items }).to_string();
        let (status, reply) = self.rest(
            "POST",
            &format!("projects/{PROJECT}/topics/{topic}:publish"),
            Some(&body),
        )?;
        if status != 200 {
            return Err(format!("publishing: {status} {reply}"));
        }
        Ok(())
    }
}

/// A subscription of a test's own, read through the REST API: what the
/// loggers really publish.
struct Inspector<'a> {
    emulator: &'a Emulator,
    subscription: String,
}

/// A message as pulled: its data and its ordering key ("" for none).
struct Pulled {
    data: Vec<u8>,
    ordering_key: String,
}

impl<'a> Inspector<'a> {
    /// Creates `topic` and a subscription to it.
    fn create(emulator: &'a Emulator, topic: &str) -> Result<Self, String> {
        let topic_path = format!("projects/{PROJECT}/topics/{topic}");
        let subscription = format!("projects/{PROJECT}/subscriptions/{topic}-inspect");
        for (path, body) in [
            (topic_path.clone(), "{}".to_owned()),
            (
                subscription.clone(),
                serde_json::json!({ "topic": topic_path }).to_string(),
            ),
        ] {
            let (status, reply) = emulator.rest("PUT", &path, Some(&body))?;
            if status != 200 {
                return Err(format!("creating {path}: {status} {reply}"));
            }
        }
        Ok(Self { emulator, subscription })
    }

    /// Pulls (and acks) messages until `done` says they are all there.
    fn pull_until(&self, done: impl Fn(&[Pulled]) -> bool) -> Result<Vec<Pulled>, String> {
        let mut pulled = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(&pulled) {
            if Instant::now() > deadline {
                return Err(format!("pulled {} messages, not all there after 120 s", pulled.len()));
            }
            let body = serde_json::json!({ "maxMessages": 50 }).to_string();
            let (status, reply) = self
                .emulator
                .rest("POST", &format!("{}:pull", self.subscription), Some(&body))?;
            if status != 200 {
                return Err(format!("pulling: {status} {reply}"));
            }
            let reply: Value = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
            let received = reply["receivedMessages"].as_array().cloned().unwrap_or_default();
            let ack_ids: Vec<Value> = received.iter().map(|m| m["ackId"].clone()).collect();
            for item in &received {
                let message = &item["message"];
                pulled.push(Pulled {
                    data: unbase64(message["data"].as_str().unwrap_or_default())?,
                    ordering_key: message["orderingKey"].as_str().unwrap_or_default().to_owned(),
                });
            }
            if !ack_ids.is_empty() {
                let body = serde_json::json!({ "ackIds": ack_ids }).to_string();
                self.emulator
                    .rest("POST", &format!("{}:acknowledge", self.subscription), Some(&body))?;
            }
        }
        Ok(pulled)
    }
}

/// A record seen on the wire: session, sequence number, and for a fragment
/// its index and the count of pieces.
type RecordKey = (u64, u64, Option<(u32, u32)>);

/// Every record (each fragment too) in messages.
fn record_keys(messages: &[Pulled]) -> Vec<RecordKey> {
    let mut keys = Vec::new();
    for message in messages {
        let data = bytes::Bytes::copy_from_slice(&message.data);
        let mut scanner = FrameScanner::for_message();
        while let Ok(Some(StreamEvent::Record { record, .. })) = scanner.next_event(&data, 0) {
            let piece = match &record.body {
                RecordBody::Fragment(fragment) => Some((fragment.index, fragment.count)),
                _ => None,
            };
            keys.push((record.meta.session_id, record.meta.seq, piece));
        }
    }
    keys
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last path segment of `field` of every entry of `list` in a JSON reply.
fn names(body: &str, list: &str, field: &str) -> Vec<String> {
    names_of_field(body, list, field)
        .into_iter()
        .map(|path| path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect()
}

fn names_of_field(body: &str, list: &str, field: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    value[list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[field].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A minimal HTTP/1.1 client: enough for the emulator's REST API (which
/// keeps the connection open, so the reply is read by its length).
fn http(host_port: &str, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(host_port).map_err(|e| format!("connecting to {host_port}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 64 << 10];
    loop {
        if let Some(end) = reply_end(&reply) {
            reply.truncate(end);
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("reading the reply to {method} {path}: {e}")),
        }
    }
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, rest) = reply.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    Ok((status, body))
}

/// Where a whole reply ends in `reply`, once it is all there.
fn reply_end(reply: &[u8]) -> Option<usize> {
    let head_end = reply.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&reply[..head_end]).to_ascii_lowercase();
    if let Some(line) = head.lines().find(|l| l.starts_with("content-length:")) {
        let len: usize = line["content-length:".len()..].trim().parse().ok()?;
        return (reply.len() >= head_end + len).then_some(head_end + len);
    }
    if head.contains("transfer-encoding: chunked") {
        let body = &reply[head_end..];
        return body
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .filter(|&i| i == 0 || body[..i].ends_with(b"\r\n"))
            .map(|i| head_end + i + 5);
    }
    None
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn unbase64(text: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut value_of = [u8::MAX; 256];
    for (i, &c) in ALPHABET.iter().enumerate() {
        value_of[c as usize] = i as u8;
    }
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = value_of[c as usize];
        if v == u8::MAX {
            return Err(format!("not base64: {:?}", c as char));
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The frames of a log file, in order.
fn frames(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {path:?}: {e}"))?;
    let mut scanner = FrameScanner::for_file();
    let mut out = Vec::new();
    loop {
        match scanner.poll(&data, 0).map_err(|e| e.to_string())? {
            Scan::NeedMore => break,
            Scan::Frame { offset, body_len, .. } => {
                let start = offset as usize;
                out.push(data[start..start + 24 + body_len].to_vec());
            }
            Scan::Corrupt { offset, error } => return Err(format!("{path:?}: corrupt frame at {offset}: {error}")),
        }
    }
    if scanner.position() != data.len() as u64 {
        return Err(format!("{path:?} ends with a torn frame"));
    }
    Ok(out)
}

/// Starts the viewer on `topic` with extra arguments; stderr to `dir/viewer.err`.
fn start_viewer(emulator: &Emulator, dir: &Path, topic: &str, args: &[&str]) -> Result<Child, String> {
    let stderr = std::fs::File::create(dir.join("viewer.err")).map_err(|e| e.to_string())?;
    Command::new(common::bin("streamvis-gpu"))
        .args(["--pubsub", PROJECT, topic, "--emulator", &emulator.host_port()])
        .args(args)
        .current_dir(dir)
        .env_remove("PUBSUB_EMULATOR_HOST")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("starting the viewer: {e}"))
}

/// The viewer writing `view.log` and `out.json`, stopping after `idle_secs`
/// without messages; returns once its subscription exists.
fn start_logging_viewer(emulator: &Emulator, dir: &Path, topic: &str, idle_secs: u32) -> Result<Child, String> {
    let idle = idle_secs.to_string();
    let args = [
        "--log-file",
        "view.log",
        "--export",
        "out.json",
        "--stop-after-idle",
        &idle,
    ];
    let mut viewer = start_viewer(emulator, dir, topic, &args)?;
    emulator.wait_for_subscription(topic, &mut viewer)?;
    Ok(viewer)
}

/// The test app publishing `steps` steps to `topic`, logging to `dir/app.log`
/// too; stderr to `dir/app.err`. The emulator comes from the environment.
fn start_app(emulator: &Emulator, dir: &Path, topic: &str, steps: u32, interval_ms: u32) -> Result<Child, String> {
    let stderr = std::fs::File::create(dir.join("app.err")).map_err(|e| e.to_string())?;
    Command::new(common::bin("streamvis-test-app"))
        .args([
            "--steps",
            &steps.to_string(),
            "--interval-ms",
            &interval_ms.to_string(),
            "publish",
            "run",
            PROJECT,
            topic,
            "--log-file",
            "app.log",
        ])
        .current_dir(dir)
        .env("PUBSUB_EMULATOR_HOST", emulator.host_port())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("starting the app: {e}"))
}

fn wait(child: &mut Child, what: &str, timeout: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish in {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_ok(child: &mut Child, what: &str, dir: &Path, err_file: &str, timeout: Duration) -> TestResult {
    let status = wait(child, what, timeout)?;
    if !status.success() {
        let stderr = std::fs::read_to_string(dir.join(err_file)).unwrap_or_default();
        return Err(format!("{what} failed ({status}):\n{stderr}"));
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| format!("reading {path:?}: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("parsing {path:?}: {e}"))
}

/// `--file LOG --no-follow --export` of a log.
fn export_of_log(dir: &Path, log: &str, out: &str) -> Result<Value, String> {
    let status = Command::new(common::bin("streamvis-gpu"))
        .args(["--file", log, "--no-follow", "--export", out])
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("exporting {log}: {status}"));
    }
    read_json(&dir.join(out))
}

/// A number from the viewer's closing summary: `N <what>`.
fn summary_count(stderr: &str, what: &str) -> Option<u64> {
    let line = stderr.lines().rev().find(|l| l.contains("records released"))?;
    let before = &line[..line.find(what)?];
    before.split_whitespace().last()?.parse().ok()
}

/// The view log and the app's log hold the same frames in the same order.
fn same_logs(dir: &Path) -> TestResult {
    let (app, view) = (frames(&dir.join("app.log"))?, frames(&dir.join("view.log"))?);
    if app.is_empty() {
        return Err("the app logged nothing".into());
    }
    if app.len() != view.len() {
        return Err(format!("app.log has {} records, view.log {}", app.len(), view.len()));
    }
    if let Some(i) = app.iter().zip(&view).position(|(a, v)| a != v) {
        return Err(format!("record {i} differs between app.log and view.log"));
    }
    let (a, v) = (
        std::fs::read(dir.join("app.log")).map_err(|e| e.to_string())?,
        std::fs::read(dir.join("view.log")).map_err(|e| e.to_string())?,
    );
    if a != v {
        return Err("app.log and view.log differ".into());
    }
    Ok(())
}

/// The viewer's subscription to `topic` is gone, and the topic too unless
/// `topic_kept`.
fn resources_gone(emulator: &Emulator, topic: &str, topic_kept: bool) -> TestResult {
    let topic_path = format!("projects/{PROJECT}/topics/{topic}");
    let left: Vec<_> = emulator
        .subscriptions()?
        .into_iter()
        .filter(|(_, t)| *t == topic_path)
        .collect();
    if !left.is_empty() {
        return Err(format!("subscriptions left behind: {left:?}"));
    }
    let exists = emulator.topics()?.iter().any(|t| t == topic);
    if exists != topic_kept {
        return Err(format!("topic {topic}: exists {exists}, expected {topic_kept}"));
    }
    Ok(())
}

/// (a) + (d): the app publishes 20 steps while the viewer exports; the
/// export equals the file export of the app's own log, the view log is the
/// app's log byte for byte, and the viewer cleans up after itself.
fn app_and_viewer_agree(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-agree";
    let mut viewer = start_logging_viewer(emulator, dir, topic, 3)?;
    let mut app = start_app(emulator, dir, topic, 20, 50)?;
    wait_ok(&mut app, "the app", dir, "app.err", Duration::from_secs(60))?;
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;

    let expected = export_of_log(dir, "app.log", "expected.json")?;
    let actual = read_json(&dir.join("out.json"))?;
    if expected != actual {
        let errors = common::compare_exports(&expected, &actual);
        return Err(format!("the export differs from the app log's: {errors:?}"));
    }
    if expected.as_object().is_none_or(|o| o.is_empty()) {
        return Err("the export is empty".into());
    }
    same_logs(dir)?;
    resources_gone(emulator, topic, false)
}

/// (b): messages published again (raw, through the REST API) are dropped.
fn duplicates_are_dropped(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-dups";
    let mut viewer = start_logging_viewer(emulator, dir, topic, 4)?;
    let mut app = start_app(emulator, dir, topic, 20, 50)?;
    wait_ok(&mut app, "the app", dir, "app.err", Duration::from_secs(60))?;

    // Publish records again: the first ten in one message, records 5..15
    // one per message, the last one alone.
    let app_frames = frames(&dir.join("app.log"))?;
    let pack = |range: &[Vec<u8>]| -> Result<Vec<Vec<u8>>, String> {
        let data = range.concat();
        let messages = pack_messages(&data, 9 << 20).map_err(|e| e.to_string())?;
        Ok(messages.into_iter().map(|m| m.to_vec()).collect())
    };
    emulator.publish_raw(topic, &pack(&app_frames[..10])?)?;
    let singles: Vec<Vec<u8>> = app_frames[5..15].to_vec();
    emulator.publish_raw(topic, &singles)?;
    emulator.publish_raw(topic, &pack(&app_frames[app_frames.len() - 1..])?)?;
    let injected = 10 + 10 + 1;

    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;
    let expected = export_of_log(dir, "app.log", "expected.json")?;
    if expected != read_json(&dir.join("out.json"))? {
        return Err("the export differs from the app log's".into());
    }
    same_logs(dir)?;
    let stderr = std::fs::read_to_string(dir.join("viewer.err")).unwrap_or_default();
    match summary_count(&stderr, "duplicates dropped") {
        Some(n) if n >= injected => Ok(()),
        other => Err(format!(
            "expected at least {injected} duplicates dropped, the viewer says {other:?}:\n{stderr}"
        )),
    }
}

/// (c): a 30 MB scatter (3.75e6 x 2 float32) travels as fragments and
/// arrives whole.
fn a_30_mb_tensor_arrives_whole(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-big";
    let mut viewer = start_logging_viewer(emulator, dir, topic, 3)?;

    const POINTS: usize = 3_750_000;
    // Values exact in f32 and in the JSON export.
    let values: Vec<f32> = (0..POINTS).flat_map(|i| [i as f32, (i % 1000) as f32 * 0.25]).collect();
    let (sum_x, sum_y) = values
        .chunks_exact(2)
        .fold((0f64, 0f64), |(x, y), p| (x + f64::from(p[0]), y + f64::from(p[1])));
    {
        let mut logger = DataLogger::new("big");
        let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
        logger
            .init_pubsub_at(endpoint, PROJECT, topic)
            .map_err(|e| e.to_string())?;
        logger.init_write_log(dir.join("app.log")).map_err(|e| e.to_string())?;
        logger
            .set_layout([("cloud", GridCell::new(0, 0, 1, 1))])
            .map_err(|e| e.to_string())?;
        let shape = [POINTS, 2];
        logger
            .scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)
            .map_err(|e| e.to_string())?;
        logger.flush().map_err(|e| e.to_string())?;
    }
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(120))?;
    // The joined frame is the original, byte for byte.
    same_logs(dir)?;
    let stderr = std::fs::read_to_string(dir.join("viewer.err")).unwrap_or_default();
    if summary_count(&stderr, "records, ").is_none_or(|joined| joined != 1) {
        return Err(format!("expected one record joined from fragments:\n{stderr}"));
    }
    let export = read_json(&dir.join("out.json"))?;
    let columns = &export["cloud"]["columns"];
    let column = |name: &str| -> Result<(usize, f64), String> {
        let items = columns[name].as_array().ok_or(format!("no column {name}"))?;
        Ok((items.len(), items.iter().filter_map(Value::as_f64).sum()))
    };
    let ((nx, sx), (ny, sy)) = (column("x")?, column("y")?);
    if (nx, ny) != (POINTS, POINTS) || sx != sum_x || sy != sum_y {
        return Err(format!(
            "expected {POINTS} points summing to ({sum_x}, {sum_y}), got ({nx}, {ny}) points summing to ({sx}, {sy})"
        ));
    }
    Ok(())
}

/// (d): the subscription goes on exit (idle or Ctrl-C); a topic the viewer
/// did not create stays.
fn resources_are_removed_on_exit(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    // Idle exit, topic created by the viewer.
    let topic = "topic-cleanup";
    let mut viewer = start_viewer(
        emulator,
        dir,
        topic,
        &["--export", "out.json", "--stop-after-idle", "1"],
    )?;
    emulator.wait_for_subscription(topic, &mut viewer)?;
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;
    resources_gone(emulator, topic, false)?;

    // Ctrl-C, topic made beforehand.
    let topic = "topic-kept";
    let (status, body) = emulator.rest("PUT", &format!("projects/{PROJECT}/topics/{topic}"), Some("{}"))?;
    if status != 200 {
        return Err(format!("creating {topic}: {status} {body}"));
    }
    let mut viewer = start_viewer(emulator, dir, topic, &["--export", "out.json"])?;
    emulator.wait_for_subscription(topic, &mut viewer)?;
    // SAFETY: kill(2) on our own child.
    unsafe { libc_kill(viewer.id() as i32, SIGINT) };
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;
    if !dir.join("out.json").is_file() {
        return Err("no export after Ctrl-C".into());
    }
    resources_gone(emulator, topic, true)
}

/// (e): the emulator stops and restarts while the app publishes; both sides
/// report it and go on, the view log keeps what came before, and records
/// published after the restart arrive.
fn an_emulator_restart_is_survived(_shared: &Emulator) -> TestResult {
    // An emulator of its own, so that the restart disturbs nothing else.
    let mut emulator = Emulator::start()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-restart";
    let mut viewer = start_logging_viewer(&emulator, dir, topic, 20)?;
    let mut app = start_app(&emulator, dir, topic, 80, 100)?;
    // Let some records through, then stop the emulator.
    let deadline = Instant::now() + Duration::from_secs(30);
    while frames(&dir.join("view.log")).map_or(0, |f| f.len()) < 40 {
        if Instant::now() > deadline {
            return Err("the viewer received nothing before the restart".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = frames(&dir.join("view.log"))?;
    emulator.stop();
    std::thread::sleep(Duration::from_secs(1));
    emulator.restart()?;
    wait_ok(&mut app, "the app", dir, "app.err", Duration::from_secs(180))?;
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(120))?;

    let (app_frames, view) = (frames(&dir.join("app.log"))?, frames(&dir.join("view.log"))?);
    if view.len() < before.len() || view[..before.len()] != before[..] {
        return Err("records received before the stop are no longer in view.log".into());
    }
    // The view log is the app's log, perhaps with records lost in the
    // outage missing, never out of order.
    let mut rest = app_frames.iter();
    if !view.iter().all(|v| rest.any(|a| a == v)) {
        return Err("view.log holds records out of order, or records the app never logged".into());
    }
    let viewer_err = std::fs::read_to_string(dir.join("viewer.err")).unwrap_or_default();
    let app_err = std::fs::read_to_string(dir.join("app.err")).unwrap_or_default();
    if view.last() != app_frames.last() {
        return Err(format!(
            "the last record published after the restart did not arrive ({} of {} records)\n\
             viewer:\n{viewer_err}\napp:\n{app_err}",
            view.len(),
            app_frames.len()
        ));
    }
    if !viewer_err.contains("is gone") {
        return Err(format!("the viewer did not report the restart:\n{viewer_err}"));
    }
    if !app_err.contains("WARN") || !app_err.contains("resumed") {
        return Err(format!(
            "the logger did not report the outage and the recovery:\n{app_err}"
        ));
    }
    eprintln!(
        "    restart: {} records before the stop, {} of {} in view.log at the end",
        before.len(),
        view.len(),
        app_frames.len()
    );
    Ok(())
}

/// A scatter of `points` points, all at `value`.
fn cloud(points: usize, value: f32) -> (Vec<f32>, [usize; 2]) {
    (vec![value; points * 2], [points, 2])
}

/// What the logger publishes: no message carries an ordering key (the
/// service limits each key to 1 MB/s), none is over the message limit, and
/// together they carry every record, a 12 MiB one as fragments.
fn messages_carry_no_ordering_key(emulator: &Emulator) -> TestResult {
    let topic = "topic-no-key";
    let inspector = Inspector::create(emulator, topic)?;
    let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
    let mut logger = DataLogger::new("keys");
    logger
        .init_pubsub_at(endpoint, PROJECT, topic)
        .map_err(|e| e.to_string())?;
    logger
        .set_layout([("cloud", GridCell::new(0, 0, 1, 1))])
        .map_err(|e| e.to_string())?;
    let session_id = logger.session_id();
    let mut records = 1;
    for step in 0..30 {
        let (values, shape) = cloud(1000, step as f32);
        logger
            .scatter("cloud", TensorView::new(&shape, &values), 1, true, None, None)
            .map_err(|e| e.to_string())?;
        records += 1;
    }
    let (values, shape) = cloud((12 << 20) / 8, 1.0);
    logger
        .scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)
        .map_err(|e| e.to_string())?;
    records += 1;
    logger.flush().map_err(|e| e.to_string())?;

    // Every record, and every piece of the fragmented one.
    let all_there = |pulled: &[Pulled]| {
        let mut keys = record_keys(pulled);
        keys.sort_unstable();
        keys.dedup();
        let whole = keys.iter().filter(|(_, _, piece)| piece.is_none()).count();
        let pieces = keys.iter().filter_map(|(_, _, piece)| *piece).collect::<Vec<_>>();
        whole == records - 1 && pieces.first().is_some_and(|(_, count)| pieces.len() == *count as usize)
    };
    let pulled = inspector.pull_until(all_there)?;
    if let Some(keyed) = pulled.iter().find(|m| !m.ordering_key.is_empty()) {
        return Err(format!("a message carries ordering key {:?}", keyed.ordering_key));
    }
    if let Some(big) = pulled.iter().find(|m| m.data.len() > MESSAGE_MAX_BYTES) {
        return Err(format!("a message of {} bytes", big.data.len()));
    }
    let keys = record_keys(&pulled);
    if keys.iter().any(|(session, _, _)| *session != session_id) {
        return Err("a record of another session".into());
    }
    let last = records as u64 - 1;
    if keys.iter().any(|(_, seq, piece)| piece.is_some() != (*seq == last)) {
        return Err("only the 12 MiB record should travel as fragments".into());
    }
    eprintln!(
        "    {} messages, none with an ordering key, largest {} bytes",
        pulled.len(),
        pulled.iter().map(|m| m.data.len()).max().unwrap_or(0)
    );
    Ok(())
}

/// Back-pressure: a topic that takes 8 MB/s (the service model's topic
/// rate) and a logger writing 32 MiB at once: the writes block, so the
/// sink never holds more than its bound (and the batch being written), and
/// everything is published in the end.
fn a_slow_topic_blocks_the_logger_with_bounded_memory(emulator: &Emulator) -> TestResult {
    let topic = "topic-slow";
    Inspector::create(emulator, topic)?;
    let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
    let options = PubSubSinkOptions {
        max_queued_bytes: 4 << 20,
        max_in_flight_bytes: 2 << 20,
        service_model: Some(ServiceModel {
            topic_bytes_per_sec: Some(8e6),
            ..ServiceModel::default()
        }),
        ..PubSubSinkOptions::default()
    };
    let mut sink = PubSubSink::open(endpoint, PROJECT, topic, options).map_err(|e| e.to_string())?;
    let (values, shape) = cloud((1 << 20) / 8, 2.0);
    let mut total_bytes = 0;
    for seq in 0..32 {
        let meta = RecordMeta {
            session_id: 5,
            seq,
            wall_time_ns: 0,
            run_name: "slow".into(),
        };
        let body = RecordBody::Scatter(DataCall {
            plot: "cloud".into(),
            spatial_dim: 1,
            append: false,
            color: None,
            grid: None,
            line_dims: vec![],
            data: TensorView::new(&shape, &values),
        });
        let mut frame = Vec::new();
        encode_record(&meta, &body, &mut frame);
        total_bytes += frame.len() as u64;
        sink.write_frames(&frame).map_err(|e| e.to_string())?;
    }
    sink.sync().map_err(|e| e.to_string())?;
    let stats = sink.stats();
    let one_record = total_bytes as usize / 32;
    if stats.peak_queued_bytes > (4 << 20) + one_record {
        return Err(format!("{} bytes were queued at once", stats.peak_queued_bytes));
    }
    if (stats.published_messages, stats.published_bytes) != (32, total_bytes) {
        return Err(format!("published {stats:?} of 32 messages, {total_bytes} bytes"));
    }
    eprintln!("    at most {} bytes queued", stats.peak_queued_bytes);
    Ok(())
}

/// The throttling model: the sink holds each message back as the real
/// service would (1 MB/s per ordering key, which its messages do not carry;
/// random delays that reorder; every seventh message published twice) and a
/// 100 MiB run (1 MiB records and two 12 MiB ones, in fragments) reaches the
/// viewer's source intact, in order, and well above 1 MB/s: the most one
/// ordering key per session could carry.
fn a_100_mb_run_through_the_throttling_model_arrives_intact(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-model";
    let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
    let mut options = PubSubOptions::new(endpoint.clone(), PROJECT, topic);
    options.log_file = Some(dir.join("view.log"));
    let mut source = PubSubSource::open(options).map_err(|e| e.to_string())?;

    let mut logger = DataLogger::new("model");
    let sink_options = PubSubSinkOptions {
        service_model: Some(ServiceModel {
            duplicate_every: Some(7),
            ..ServiceModel::default()
        }),
        ..PubSubSinkOptions::default()
    };
    logger
        .init_pubsub_with(endpoint, PROJECT, topic, sink_options)
        .map_err(|e| e.to_string())?;
    logger.init_write_log(dir.join("app.log")).map_err(|e| e.to_string())?;
    logger
        .set_layout([("cloud", GridCell::new(0, 0, 1, 1))])
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut records = 1;
    for step in 0..78 {
        let points = if step % 39 == 20 { 12 << 20 } else { 1 << 20 } / 8;
        let (values, shape) = cloud(points, step as f32);
        logger
            .scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)
            .map_err(|e| e.to_string())?;
        records += 1;
    }
    logger.flush().map_err(|e| e.to_string())?;

    let deadline = Instant::now() + Duration::from_secs(300);
    let mut received = 0;
    let mut last_seq = None;
    while received < records {
        match source.next_event().map_err(|e| e.to_string())? {
            Some(SourceEvent::Record { record, .. }) => {
                if last_seq.is_some_and(|last| record.meta.seq != last + 1) {
                    return Err(format!("record {} after {last_seq:?}", record.meta.seq));
                }
                last_seq = Some(record.meta.seq);
                received += 1;
            }
            Some(other) => return Err(format!("unexpected {other:?}")),
            None if Instant::now() > deadline => {
                return Err(format!("{received} of {records} records after 300 s"));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(logger);
    drop(source);
    same_logs(dir)?;
    let bytes = std::fs::metadata(dir.join("app.log")).map_err(|e| e.to_string())?.len() as f64;
    let mb_per_sec = bytes / seconds / 1e6;
    eprintln!("    {:.0} MB in {seconds:.1} s: {mb_per_sec:.1} MB/s", bytes / 1e6);
    if bytes < 100e6 {
        return Err(format!("only {bytes} bytes were logged"));
    }
    if mb_per_sec < 2.0 {
        return Err(format!(
            "{mb_per_sec:.2} MB/s: not above the 1 MB/s of one ordering key"
        ));
    }
    Ok(())
}

/// A viewer that stops reading holds what its bounds allow, not what the app
/// sends: records queued for it stay under `max_queued_bytes`, and receiving
/// stops once the unacknowledged bytes reach `max_outstanding_bytes`. When it
/// reads again, every record arrives, in order.
fn a_viewer_that_stops_reading_holds_bounded_bytes(emulator: &Emulator) -> TestResult {
    const MIB: u64 = 1 << 20;
    let topic = "topic-unread";
    let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
    let mut options = PubSubOptions::new(endpoint.clone(), PROJECT, topic);
    options.max_queued_bytes = 4 << 20;
    options.max_outstanding_bytes = 2 << 20;
    options.streams = 1;
    let mut source = PubSubSource::open(options).map_err(|e| e.to_string())?;
    let mut logger = DataLogger::new("unread");
    logger
        .init_pubsub_with(endpoint, PROJECT, topic, PubSubSinkOptions::default())
        .map_err(|e| e.to_string())?;
    logger
        .set_layout([("cloud", GridCell::new(0, 0, 1, 1))])
        .map_err(|e| e.to_string())?;
    let records = 1 + 32;
    for step in 0..32 {
        let (values, shape) = cloud((1 << 20) / 8, step as f32);
        logger
            .scatter("cloud", TensorView::new(&shape, &values), 1, false, None, None)
            .map_err(|e| e.to_string())?;
    }
    logger.flush().map_err(|e| e.to_string())?;
    // Nobody reads: the queue fills to its bound and receiving stops.
    let deadline = Instant::now() + Duration::from_secs(120);
    while source.queued_bytes() < 3 * MIB {
        if Instant::now() > deadline {
            return Err(format!("the queue never filled: {} bytes", source.queued_bytes()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Full: checked while the app's 32 MiB are still on their way.
    for _ in 0..100 {
        let (queued, received) = (source.queued_bytes(), source.received_bytes());
        if queued > 4 * MIB {
            return Err(format!("{queued} bytes queued, over the 4 MiB bound"));
        }
        // The queue, the unacknowledged bytes, and one message on its way.
        if received > 4 * MIB + 2 * MIB + 10 * MIB {
            return Err(format!("{received} bytes received by a viewer that does not read"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut seqs = Vec::new();
    while seqs.len() < records {
        match source.next_event().map_err(|e| e.to_string())? {
            Some(SourceEvent::Record { record, .. }) => seqs.push(record.meta.seq),
            Some(other) => return Err(format!("unexpected {other:?}")),
            None if Instant::now() > deadline => {
                return Err(format!("{} of {records} records after reading again", seqs.len()));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    if seqs != (0..records as u64).collect::<Vec<_>>() {
        return Err(format!("records out of order: {seqs:?}"));
    }
    Ok(())
}

/// (f): publishing to a topic that does not exist says to start the viewer.
fn a_missing_topic_says_start_the_viewer(emulator: &Emulator) -> TestResult {
    let endpoint = Endpoint::emulator(&emulator.host_port()).map_err(|e| e.to_string())?;
    let mut logger = DataLogger::new("orphan");
    match logger.init_pubsub_at(endpoint, PROJECT, "no-such-topic") {
        Ok(()) => return Err("init_pubsub on a missing topic succeeded".into()),
        Err(err) if err.to_string().contains("start the viewer first") => {}
        Err(err) => return Err(format!("unexpected error: {err}")),
    }
    let out = Command::new(common::bin("streamvis-test-app"))
        .args(["--steps", "1", "publish", "run", PROJECT, "no-such-topic"])
        .env("PUBSUB_EMULATOR_HOST", emulator.host_port())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains("start the viewer first") {
        return Err(format!(
            "expected the test app to fail clearly, got {}: {stderr}",
            out.status
        ));
    }
    Ok(())
}

/// Without the emulator and without credentials the viewer fails at once
/// with a clear message (no emulator needed).
fn missing_credentials_fail_fast() -> TestResult {
    let started = Instant::now();
    let out = Command::new(common::bin("streamvis-gpu"))
        .args(["--pubsub", PROJECT, "topic-nocreds", "--export", "out.json"])
        .env_remove("PUBSUB_EMULATOR_HOST")
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/nonexistent/streamvis-credentials.json",
        )
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains("credentials") || !stderr.contains("emulator") {
        return Err(format!(
            "expected a clear credentials error, got {}: {stderr}",
            out.status
        ));
    }
    if started.elapsed() > Duration::from_secs(30) {
        return Err(format!("the credentials error took {:?}", started.elapsed()));
    }
    Ok(())
}

type EmulatorTest = fn(&Emulator) -> TestResult;

/// The timeline over Pub/Sub: `--at-step 7` of the stream as received
/// equals `--at-step 7` of the app's own log (which equals that log cut
/// after step 7: tests/at_step.rs), and differs from the stream's end.
fn a_step_of_the_stream_is_the_logs_step(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-at-step";
    let args = ["--export", "out.json", "--at-step", "7", "--stop-after-idle", "3"];
    let mut viewer = start_viewer(emulator, dir, topic, &args)?;
    emulator.wait_for_subscription(topic, &mut viewer)?;
    let mut app = start_app(emulator, dir, topic, 12, 20)?;
    wait_ok(&mut app, "the app", dir, "app.err", Duration::from_secs(60))?;
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;
    let status = Command::new(common::bin("streamvis-gpu"))
        .args(["--file", "app.log", "--at-step", "7", "--export", "expected.json"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("--at-step 7 of app.log: {status}"));
    }
    let expected = read_json(&dir.join("expected.json"))?;
    let actual = read_json(&dir.join("out.json"))?;
    if expected != actual {
        let errors = common::compare_exports(&expected, &actual);
        return Err(format!(
            "step 7 of the stream differs from step 7 of the log: {errors:?}"
        ));
    }
    if actual == export_of_log(dir, "app.log", "end.json")? {
        return Err("step 7 shows the stream's end".into());
    }
    Ok(())
}

/// One topic, two apps under different run names: the viewer's export holds
/// both runs, each equal to its app's own log.
fn one_topic_carries_two_runs(emulator: &Emulator) -> TestResult {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = dir.path();
    let topic = "topic-two-runs";
    let args = ["--export", "out.json", "--stop-after-idle", "3"];
    let mut viewer = start_viewer(emulator, dir, topic, &args)?;
    emulator.wait_for_subscription(topic, &mut viewer)?;
    let (first, second) = (dir.join("first"), dir.join("second"));
    let mut apps = Vec::new();
    for (sub, run, steps) in [(&first, "first", 6), (&second, "second", 9)] {
        std::fs::create_dir(sub).map_err(|e| e.to_string())?;
        let stderr = std::fs::File::create(sub.join("app.err")).map_err(|e| e.to_string())?;
        let app = Command::new(common::bin("streamvis-test-app"))
            .args([
                "--steps",
                &steps.to_string(),
                "--interval-ms",
                "20",
                "publish",
                run,
                PROJECT,
                topic,
            ])
            .args(["--log-file", "app.log"])
            .current_dir(sub)
            .env("PUBSUB_EMULATOR_HOST", emulator.host_port())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting the app: {e}"))?;
        apps.push((app, sub));
    }
    for (mut app, sub) in apps {
        wait_ok(&mut app, "an app", sub, "app.err", Duration::from_secs(60))?;
    }
    wait_ok(&mut viewer, "the viewer", dir, "viewer.err", Duration::from_secs(60))?;
    let actual = read_json(&dir.join("out.json"))?;
    let expected = serde_json::json!({
        "runs": {
            "first": export_of_log(&first, "app.log", "expected.json")?,
            "second": export_of_log(&second, "app.log", "expected.json")?,
        }
    });
    if actual != expected {
        return Err(format!(
            "the export of the topic is not the two apps' runs: {:?}",
            actual
                .get("runs")
                .map(|r| r.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        ));
    }
    Ok(())
}

fn main() {
    let mut args = libtest_mimic::Arguments::from_args();
    // One at a time: they time idleness, and share an emulator and 2 cores.
    args.test_threads.get_or_insert(1);
    let skip = emulator_missing();
    if let Some(why) = &skip {
        eprintln!("Pub/Sub emulator tests ignored: {why}");
    }
    // Started by the first test that needs it.
    let shared: Arc<OnceLock<Mutex<Result<Emulator, String>>>> = Arc::new(OnceLock::new());
    let tests: Vec<(&str, EmulatorTest)> = vec![
        ("app_and_viewer_agree", app_and_viewer_agree),
        (
            "a_step_of_the_stream_is_the_logs_step",
            a_step_of_the_stream_is_the_logs_step,
        ),
        ("one_topic_carries_two_runs", one_topic_carries_two_runs),
        ("duplicates_are_dropped", duplicates_are_dropped),
        ("a_30_mb_tensor_arrives_whole", a_30_mb_tensor_arrives_whole),
        ("messages_carry_no_ordering_key", messages_carry_no_ordering_key),
        (
            "a_slow_topic_blocks_the_logger_with_bounded_memory",
            a_slow_topic_blocks_the_logger_with_bounded_memory,
        ),
        (
            "a_100_mb_run_through_the_throttling_model_arrives_intact",
            a_100_mb_run_through_the_throttling_model_arrives_intact,
        ),
        (
            "a_viewer_that_stops_reading_holds_bounded_bytes",
            a_viewer_that_stops_reading_holds_bounded_bytes,
        ),
        ("resources_are_removed_on_exit", resources_are_removed_on_exit),
        ("an_emulator_restart_is_survived", an_emulator_restart_is_survived),
        (
            "a_missing_topic_says_start_the_viewer",
            a_missing_topic_says_start_the_viewer,
        ),
    ];
    let mut trials: Vec<libtest_mimic::Trial> = tests
        .into_iter()
        .map(|(name, test)| {
            let shared = shared.clone();
            libtest_mimic::Trial::test(name, move || {
                let emulator = shared.get_or_init(|| Mutex::new(Emulator::start()));
                let guard = emulator.lock().unwrap_or_else(|p| p.into_inner());
                let emulator = guard.as_ref().map_err(|e| e.clone())?;
                test(emulator).map_err(Into::into)
            })
            .with_ignored_flag(skip.is_some())
        })
        .collect();
    trials.push(libtest_mimic::Trial::test("missing_credentials_fail_fast", || {
        missing_credentials_fail_fast().map_err(Into::into)
    }));
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop the shared emulator before exiting (statics are not dropped).
    if let Some(emulator) = Arc::into_inner(shared).and_then(|s| s.into_inner()) {
        drop(emulator);
    }
    conclusion.exit();
}
