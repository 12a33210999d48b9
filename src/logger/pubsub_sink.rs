//! The Pub/Sub sink: publishes the logger's frames to a topic, in order.
//!
//! # Messages
//!
//! Each batch of frames the logger hands over is packed by the format's
//! [`pack_messages`]: whole frames, at most [`MESSAGE_MAX_BYTES`] per
//! message; a frame larger than that becomes Fragment records, one per
//! message, which the viewer joins back together. Every message is
//! published under one ordering key, the session id as 16 lowercase hex
//! digits, so a subscription with message ordering delivers them in order.
//!
//! # Delivery
//!
//! [`Sink::write_frames`] only queues the messages; a worker task on this
//! sink's own tokio runtime publishes them in order, keeping a window of
//! messages in flight. [`Sink::sync`] (called by `DataLogger::flush` and on
//! drop) waits until everything queued is published. When publishing fails
//! (the service is unreachable, or the topic vanished because an emulator
//! restarted and the viewer has yet to recreate it) the worker warns once,
//! then retries everything not yet confirmed, in order, with backoff, and
//! says when publishing resumes. Retries wait until the topic has a
//! subscriber again (where the credentials allow listing them), so nothing
//! is published into a recreated topic before the viewer's subscription is
//! back; the client library's own retries are off for that reason. A retry may publish a message twice; the
//! viewer drops duplicates by session and sequence number. Only after
//! [`PubSubSinkOptions::give_up_after`] of failures does it drop the queued
//! messages and report an error from the next write or flush.
//!
//! The queue is bounded ([`PubSubSinkOptions::max_queued_bytes`]): a logger
//! faster than the network waits in `write_frames`.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use google_cloud_pubsub::client::Publisher;
use google_cloud_pubsub::error::PublishError;
use google_cloud_pubsub::model::Message;
use google_cloud_pubsub::publisher::PublishFuture;
use tokio::sync::mpsc;

use super::{LoggerError, Sink};
use crate::format::{MESSAGE_MAX_BYTES, pack_messages};
use crate::pubsub_client::{self, BackgroundRuntime, Connection, Endpoint, PubSubError};

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
}

impl Default for PubSubSinkOptions {
    fn default() -> Self {
        Self {
            max_queued_bytes: 256 << 20,
            max_in_flight_bytes: 32 << 20,
            give_up_after: Duration::from_secs(120),
            report_after: Duration::from_secs(2),
            stall_timeout: Duration::from_secs(10),
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
    /// creates it); messages go out under `ordering_key`.
    pub fn open(
        endpoint: Endpoint,
        project: &str,
        topic: &str,
        ordering_key: String,
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
            ordering_key,
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

/// The task that publishes queued messages in order.
struct Worker {
    connection: Connection,
    topic_path: String,
    ordering_key: String,
    /// `None` after a stalled attempt: rebuilt before the next one.
    publisher: Option<Publisher>,
    receiver: mpsc::UnboundedReceiver<Bytes>,
    shared: Arc<Shared>,
    options: PubSubSinkOptions,
    /// Messages not yet confirmed, oldest first.
    unconfirmed: VecDeque<Bytes>,
    /// Futures for the first `in_flight.len()` messages of `unconfirmed`.
    in_flight: VecDeque<PublishFuture>,
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

    /// Hands unconfirmed messages to the client library, in order, up to
    /// the in-flight window (always at least one).
    fn fill_window(&mut self) {
        let Some(publisher) = &self.publisher else {
            return;
        };
        while self.in_flight.len() < self.unconfirmed.len()
            && (self.in_flight.is_empty() || self.in_flight_bytes < self.options.max_in_flight_bytes)
        {
            let data = self.unconfirmed[self.in_flight.len()].clone();
            self.in_flight_bytes += data.len();
            let message = Message::new()
                .set_data(data)
                .set_ordering_key(self.ordering_key.clone());
            self.in_flight.push_back(publisher.publish(message));
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
                result = front => {
                    self.in_flight.pop_front();
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
            self.shared.update(|p| {
                p.settled += 1;
                p.queued_bytes = p.queued_bytes.saturating_sub(message.len());
            });
        }
    }

    /// Handles a failed attempt: warn on the first, back off, retry
    /// everything unconfirmed; give up after the configured time.
    async fn failed(&mut self, reason: String) {
        // Later messages were published after the failed one, or failed
        // too (publishing pauses the key): send them all again, in order.
        self.in_flight.clear();
        self.in_flight_bytes = 0;
        if let Some(publisher) = &self.publisher {
            publisher.resume_publish(self.ordering_key.clone());
        }
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
