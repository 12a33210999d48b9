//! The Pub/Sub sink: publishes the logger's frames to a topic.
//!
//! # Messages
//!
//! Each batch of frames the logger hands over is packed by the format's
//! [`pack_messages`]: whole frames, at most [`MESSAGE_MAX_BYTES`] per
//! message; a frame larger than that becomes Fragment records, one per
//! message, which the viewer joins back together. Messages carry **no
//! ordering key**: the service limits publishing to 1 MB/s per ordering key,
//! which one key per session would make the ceiling of a whole training run.
//! Without a key the client library sends several publish requests at once
//! (each up to 1,000 messages and [`REQUEST_MAX_BYTES`] bytes), messages arrive in
//! any order, and the viewer restores each session's order from the records'
//! sequence numbers and joins fragments whatever order they come in.
//!
//! # Delivery
//!
//! [`Sink::write_frames`] only queues the messages; a worker task on this
//! sink's own tokio runtime hands them to the client library, keeping up to
//! [`PubSubSinkOptions::max_in_flight_bytes`] unconfirmed at once.
//! [`Sink::sync`] (called by `DataLogger::flush` and on drop) waits until
//! everything queued is published. When publishing fails (the service is
//! unreachable, or the topic vanished because an emulator restarted and the
//! viewer has yet to recreate it) the worker warns once, then retries
//! everything not yet confirmed with backoff, and says when publishing
//! resumes. Retries wait until the topic has a subscriber again (where the
//! credentials allow listing them), so nothing is published into a recreated
//! topic before the viewer's subscription is back; the client library's own
//! retries are off for that reason. A retry may publish a message twice; the
//! viewer drops duplicates by session and sequence number. Only after
//! [`PubSubSinkOptions::give_up_after`] of failures does it drop the queued
//! messages and report an error from the next write or flush.
//!
//! # Back-pressure
//!
//! The queue is bounded: once more than [`PubSubSinkOptions::max_queued_bytes`]
//! wait to be published, `write_frames` (so the logger's call, or its
//! flush) **blocks** until the worker has caught up. Nothing is dropped for
//! being slow: a training loop that logs faster than the service takes is
//! slowed to the service's pace, and the sink's memory stays within the
//! bound plus the one batch being written. The rates published are logged
//! (at info level) every [`THROUGHPUT_LOG_INTERVAL`].
//!
//! [`THROUGHPUT_LOG_INTERVAL`]: crate::pubsub_client::THROUGHPUT_LOG_INTERVAL
//! [`REQUEST_MAX_BYTES`]: crate::pubsub_client::REQUEST_MAX_BYTES

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use google_cloud_pubsub::client::Publisher;
use google_cloud_pubsub::error::PublishError;
use google_cloud_pubsub::model::Message;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::service_model::{ServiceModel, ServiceModelState};
use super::{LoggerError, Sink};
use crate::format::{MESSAGE_MAX_BYTES, pack_messages};
use crate::pubsub_client::{
    self, BackgroundRuntime, Connection, Endpoint, PubSubError, THROUGHPUT_LOG_INTERVAL, ThroughputMeter,
};

/// Tuning for a [`PubSubSink`].
#[derive(Clone, Debug)]
pub struct PubSubSinkOptions {
    /// Bytes queued but not yet published before `write_frames` waits.
    pub max_queued_bytes: usize,
    /// Bytes of messages handed to the client library at once.
    pub max_in_flight_bytes: usize,
    /// How long publishing may keep failing before queued messages are
    /// dropped and an error is reported.
    pub give_up_after: Duration,
    /// How long one message may stay unconfirmed (plus one second per MiB)
    /// before a warning says publishing is held up.
    pub report_after: Duration,
    /// How long one message may stay unconfirmed (plus one second per MiB)
    /// before the attempt counts as failed and starts over.
    pub stall_timeout: Duration,
    /// Simulate the real service's limits in front of the emulator (tests
    /// and benchmarks); see [`ServiceModel`].
    pub service_model: Option<ServiceModel>,
}

impl Default for PubSubSinkOptions {
    fn default() -> Self {
        Self {
            max_queued_bytes: 256 << 20,
            max_in_flight_bytes: 64 << 20,
            give_up_after: Duration::from_secs(120),
            report_after: Duration::from_secs(2),
            stall_timeout: Duration::from_secs(10),
            service_model: None,
        }
    }
}

/// What the sink and its worker share.
#[derive(Debug, Default)]
struct Progress {
    /// Messages handed to the worker.
    submitted: u64,
    /// Messages published, or dropped after giving up.
    settled: u64,
    /// Bytes submitted but not settled.
    queued_bytes: usize,
    /// The most `queued_bytes` ever were.
    peak_queued_bytes: usize,
    /// Messages and bytes confirmed published.
    published_messages: u64,
    published_bytes: u64,
    /// Why messages were dropped; reported once by the next write or sync.
    failure: Option<String>,
    /// The worker has exited.
    worker_done: bool,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while `pending` holds, or until the worker has stopped.
    fn wait_while<'a>(
        &'a self,
        mut progress: MutexGuard<'a, Progress>,
        pending: impl Fn(&Progress) -> bool,
    ) -> Result<MutexGuard<'a, Progress>, LoggerError> {
        while pending(&progress) {
            if progress.worker_done {
                return Err(PubSubSink::worker_stopped());
            }
            progress = self
                .changed
                .wait_timeout(progress, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(progress)
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

/// What a [`PubSubSink`] has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Messages confirmed published (a message published twice counts once).
    pub published_messages: u64,
    pub published_bytes: u64,
    /// The most bytes ever queued and not yet published: the sink's memory
    /// for messages.
    pub peak_queued_bytes: usize,
}

/// Publishes frames to a Pub/Sub topic; see the [module docs](self).
pub struct PubSubSink {
    topic_path: String,
    /// Runs the worker; kept for its lifetime.
    _runtime: BackgroundRuntime,
    queue: Option<mpsc::UnboundedSender<Bytes>>,
    shared: Arc<Shared>,
    options: PubSubSinkOptions,
}

impl PubSubSink {
    /// Connects to `endpoint` and checks that the topic exists (the viewer
    /// creates it).
    pub fn open(
        endpoint: Endpoint,
        project: &str,
        topic: &str,
        options: PubSubSinkOptions,
    ) -> Result<Self, LoggerError> {
        let topic_path = pubsub_client::topic_path(project, topic)?;
        let runtime = BackgroundRuntime::new("streamvis-publish")?;
        let connect = {
            let topic_path = topic_path.clone();
            async move {
                let connection = Connection::open(endpoint).await?;
                let admin = connection.admin().await?;
                if !admin.topic_exists(&topic_path).await? {
                    return Err(PubSubError::TopicMissing { topic: topic_path });
                }
                let publisher = connection.publisher(&topic_path).await?;
                Ok::<_, PubSubError>((connection, publisher))
            }
        };
        let (connection, publisher) = runtime.wait_for(connect)??;
        let shared = Arc::new(Shared::default());
        let (queue, receiver) = mpsc::unbounded_channel();
        let worker = Worker {
            connection,
            topic_path: topic_path.clone(),
            model: options.service_model.clone().map(ServiceModelState::new),
            meter: ThroughputMeter::new(format!("published to {topic_path}"), THROUGHPUT_LOG_INTERVAL),
            publisher: Some(publisher),
            receiver,
            shared: shared.clone(),
            options: options.clone(),
            unconfirmed: VecDeque::new(),
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            outage: None,
            awaiting_subscriber: false,
            closed: false,
        };
        runtime.spawn(worker.run());
        log::info!("publishing to {topic_path}");
        Ok(Self {
            topic_path,
            _runtime: runtime,
            queue: Some(queue),
            shared,
            options,
        })
    }

    pub fn topic_path(&self) -> &str {
        &self.topic_path
    }

    pub fn stats(&self) -> PublishStats {
        let progress = self.shared.lock();
        PublishStats {
            published_messages: progress.published_messages,
            published_bytes: progress.published_bytes,
            peak_queued_bytes: progress.peak_queued_bytes,
        }
    }

    /// The failure to report, if any.
    fn take_failure(progress: &mut Progress) -> Result<(), LoggerError> {
        match progress.failure.take() {
            Some(failure) => Err(LoggerError::Sink(failure)),
            None => Ok(()),
        }
    }

    fn worker_stopped() -> LoggerError {
        LoggerError::PubSub(PubSubError::Stopped { what: "publisher" })
    }
}

impl Sink for PubSubSink {
    fn write_frames(&mut self, frames: &[u8]) -> Result<(), LoggerError> {
        let messages = pack_messages(frames, MESSAGE_MAX_BYTES)?;
        let queue = self.queue.as_ref().ok_or_else(Self::worker_stopped)?;
        let mut progress = self.shared.lock();
        for message in messages {
            progress.submitted += 1;
            progress.queued_bytes += message.len();
            if queue.send(message).is_err() {
                return Err(Self::worker_stopped());
            }
        }
        progress.peak_queued_bytes = progress.peak_queued_bytes.max(progress.queued_bytes);
        // Back-pressure: wait for the worker to catch up.
        let limit = self.options.max_queued_bytes;
        let mut progress = self
            .shared
            .wait_while(progress, |p| p.queued_bytes > limit && p.failure.is_none())?;
        Self::take_failure(&mut progress)
    }

    fn sync(&mut self) -> Result<(), LoggerError> {
        let progress = self.shared.lock();
        let target = progress.submitted;
        let mut progress = self.shared.wait_while(progress, |p| p.settled < target)?;
        Self::take_failure(&mut progress)
    }
}

impl Drop for PubSubSink {
    fn drop(&mut self) {
        if let Err(err) = self.sync() {
            log::error!("publishing the last records to {}: {err}", self.topic_path);
        }
        // Closing the queue lets the worker finish.
        self.queue = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut progress = self.shared.lock();
        while !progress.worker_done && Instant::now() < deadline {
            progress = self
                .shared
                .changed
                .wait_timeout(progress, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        // The runtime shuts down when dropped, after this.
    }
}

/// A run of failed attempts.
struct Outage {
    since: Instant,
    attempts: u32,
}

/// One message handed to the client library: the task waiting for its
/// confirmation (aborted if dropped).
struct InFlight(JoinHandle<Result<String, PublishError>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The task that publishes queued messages.
struct Worker {
    connection: Connection,
    topic_path: String,
    /// Holds messages back as the real service would; tests only.
    model: Option<ServiceModelState>,
    meter: ThroughputMeter,
    /// `None` after a stalled attempt: rebuilt before the next one.
    publisher: Option<Publisher>,
    receiver: mpsc::UnboundedReceiver<Bytes>,
    shared: Arc<Shared>,
    options: PubSubSinkOptions,
    /// Messages not yet confirmed, oldest first.
    unconfirmed: VecDeque<Bytes>,
    /// Publishing the first `in_flight.len()` messages of `unconfirmed`,
    /// all at once; they are confirmed oldest first.
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: usize,
    outage: Option<Outage>,
    /// Publishing failed: the next attempt waits until the topic has a
    /// subscriber. After an emulator restart the topic is gone until the
    /// viewer recreates it and then subscribes; messages published in
    /// between would reach nobody.
    awaiting_subscriber: bool,
    /// The queue is closed: stop once everything is settled.
    closed: bool,
}

/// How an attempt to publish the front message ended.
enum Attempt {
    Published,
    Failed(String),
}

impl Worker {
    async fn run(mut self) {
        loop {
            if self.unconfirmed.is_empty() {
                if self.closed {
                    break;
                }
                match self.receiver.recv().await {
                    Some(message) => self.unconfirmed.push_back(message),
                    None => break,
                }
            }
            while let Ok(message) = self.receiver.try_recv() {
                self.unconfirmed.push_back(message);
            }
            if self.awaiting_subscriber {
                match self.subscriber_ready().await {
                    // `None`: these credentials cannot tell; publish.
                    Ok(Some(true) | None) => self.awaiting_subscriber = false,
                    Ok(Some(false)) => {
                        let reason = format!("topic {} has no subscriber yet", self.topic_path);
                        self.failed(reason).await;
                        continue;
                    }
                    Err(err) => {
                        self.failed(err.to_string()).await;
                        continue;
                    }
                }
            }
            match self.attempt().await {
                Attempt::Failed(reason) => {
                    self.awaiting_subscriber = true;
                    self.failed(reason).await;
                }
                Attempt::Published => {
                    if let Some(outage) = self.outage.take() {
                        log::info!(
                            "publishing to {} resumed after {:.1} s",
                            self.topic_path,
                            outage.since.elapsed().as_secs_f64()
                        );
                    }
                }
            }
        }
        self.shared.update(|p| p.worker_done = true);
    }

    /// Hands unconfirmed messages to the client library up to the
    /// in-flight window (always at least one). Without an ordering key the
    /// library sends them in concurrent requests.
    fn fill_window(&mut self) {
        let Some(publisher) = &self.publisher else {
            return;
        };
        while self.in_flight.len() < self.unconfirmed.len()
            && (self.in_flight.is_empty() || self.in_flight_bytes < self.options.max_in_flight_bytes)
        {
            let data = self.unconfirmed[self.in_flight.len()].clone();
            self.in_flight_bytes += data.len();
            let schedule = self
                .model
                .as_mut()
                .map(|model| model.schedule("", data.len(), std::time::Instant::now()));
            let message = Message::new().set_data(data);
            let task = match schedule {
                None => tokio::spawn(publisher.publish(message)),
                Some(schedule) => {
                    let publisher = publisher.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(schedule.delay).await;
                        let copies: Vec<_> = (0..schedule.copies)
                            .map(|_| publisher.publish(message.clone()))
                            .collect();
                        let mut first = None;
                        for copy in copies {
                            let result = copy.await;
                            first = Some(match first {
                                Some(Ok(id)) => Ok(id),
                                _ => result,
                            });
                        }
                        first.unwrap_or_else(|| Ok(String::new()))
                    })
                }
            };
            self.in_flight.push_back(InFlight(task));
        }
    }

    /// Fills the window, then waits for the front message to be confirmed,
    /// taking in (and sending) new messages meanwhile.
    async fn attempt(&mut self) -> Attempt {
        if self.publisher.is_none() {
            match self.connection.publisher(&self.topic_path).await {
                Ok(publisher) => self.publisher = Some(publisher),
                Err(err) => return Attempt::Failed(err.to_string()),
            }
        }
        self.fill_window();
        let Some(front_len) = self.unconfirmed.front().map(Bytes::len) else {
            return Attempt::Published;
        };
        // Big messages take longer: allow a second per MiB (a slow uplink).
        let per_size = Duration::from_secs((front_len >> 20) as u64);
        let allowance = self.options.stall_timeout + per_size;
        let started = tokio::time::Instant::now();
        let deadline = started + allowance;
        let report_at = started + self.options.report_after + per_size;
        loop {
            let Some(front) = self.in_flight.front_mut() else {
                return Attempt::Failed("nothing in flight".into());
            };
            tokio::select! {
                joined = &mut front.0 => {
                    self.in_flight.pop_front();
                    let result = match joined {
                        Ok(result) => result,
                        Err(join) => return Attempt::Failed(format!("the publishing task failed: {join}")),
                    };
                    return match result {
                        Ok(_message_id) => {
                            self.confirm_front();
                            Attempt::Published
                        }
                        Err(PublishError::Rpc(source)) if pubsub_client::is_not_found(&source) => Attempt::Failed(
                            format!("topic {} does not exist (any more); waiting for the viewer to create it", self.topic_path),
                        ),
                        Err(err) => Attempt::Failed(describe_publish_error(&err, &self.topic_path)),
                    };
                }
                message = self.receiver.recv(), if !self.closed => match message {
                    Some(message) => {
                        self.unconfirmed.push_back(message);
                        self.fill_window();
                    }
                    // The sink is being dropped: finish what is queued.
                    None => self.closed = true,
                },
                _ = tokio::time::sleep_until(report_at), if self.outage.is_none() => {
                    log::warn!(
                        "publishing to {}: no confirmation for {:.0} s; still trying ({} messages waiting)",
                        self.topic_path,
                        started.elapsed().as_secs_f64(),
                        self.unconfirmed.len()
                    );
                    self.outage = Some(Outage {
                        since: Instant::now().checked_sub(started.elapsed()).unwrap_or_else(Instant::now),
                        attempts: 0,
                    });
                }
                _ = tokio::time::sleep_until(deadline) => {
                    // The client library retries some errors for minutes; a
                    // fresh publisher makes the next attempt start now.
                    self.publisher = None;
                    return Attempt::Failed(format!("no confirmation in {:.0} s", allowance.as_secs_f64()));
                }
            }
        }
    }

    /// Whether the topic is back and subscribed to.
    async fn subscriber_ready(&self) -> Result<Option<bool>, crate::pubsub_client::PubSubError> {
        let admin = self.connection.admin().await?;
        admin.topic_has_subscription(&self.topic_path).await
    }

    fn confirm_front(&mut self) {
        if let Some(message) = self.unconfirmed.pop_front() {
            self.in_flight_bytes = self.in_flight_bytes.saturating_sub(message.len());
            self.meter.add(1, message.len() as u64);
            self.meter.report_if_due(std::time::Instant::now());
            self.shared.update(|p| {
                p.settled += 1;
                p.queued_bytes = p.queued_bytes.saturating_sub(message.len());
                p.published_messages += 1;
                p.published_bytes += message.len() as u64;
            });
        }
    }

    /// Handles a failed attempt: warn on the first, back off, retry
    /// everything unconfirmed; give up after the configured time.
    async fn failed(&mut self, reason: String) {
        // Later messages may have been published, or may have failed too:
        // send them all again (the viewer drops what arrives twice).
        self.in_flight.clear();
        self.in_flight_bytes = 0;
        let outage = self.outage.get_or_insert_with(|| Outage {
            since: Instant::now(),
            attempts: 0,
        });
        if outage.attempts == 0 {
            log::warn!(
                "publishing to {} failed: {reason}; retrying ({} messages waiting)",
                self.topic_path,
                self.unconfirmed.len()
            );
        }
        outage.attempts += 1;
        log::debug!("publish attempt {} failed: {reason}", outage.attempts);
        if outage.since.elapsed() >= self.options.give_up_after {
            let dropped = self.unconfirmed.len();
            let bytes: usize = self.unconfirmed.iter().map(Bytes::len).sum();
            let message = format!(
                "gave up publishing {dropped} messages ({bytes} bytes) to {} after {:.0} s: {reason}",
                self.topic_path,
                outage.since.elapsed().as_secs_f64()
            );
            log::error!("{message}");
            self.unconfirmed.clear();
            self.outage = None;
            self.shared.update(|p| {
                p.settled += dropped as u64;
                p.queued_bytes = p.queued_bytes.saturating_sub(bytes);
                p.failure.get_or_insert(message);
            });
            return;
        }
        let backoff = Duration::from_millis(200)
            .saturating_mul(1 << outage.attempts.min(5))
            .min(Duration::from_secs(5));
        tokio::time::sleep(backoff).await;
    }
}

fn describe_publish_error(err: &PublishError, topic_path: &str) -> String {
    match err {
        PublishError::Rpc(source) if pubsub_client::is_not_found(source) => {
            format!("topic {topic_path} does not exist (any more); waiting for the viewer to create it")
        }
        PublishError::Rpc(source) => format!("{source}"),
        other => other.to_string(),
    }
}
