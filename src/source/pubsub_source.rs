//! Reading records from a Google Pub/Sub topic: the viewer's side of "train
//! on one machine, watch on another".
//!
//! # Lifecycle
//!
//! [`PubSubSource::open`] creates the topic if it is missing (and remembers
//! that it did), then a subscription of its own, uniquely named, without
//! message ordering (loggers publish without ordering keys, since the service
//! limits each key to 1 MB/s), and starts receiving on a background tokio
//! runtime through [`PubSubOptions::streams`] streaming pulls at once (one
//! stream is said to carry about 10 MB/s on the real service).
//! Dropping the source (window closed, Ctrl-C, export done) stops receiving,
//! releases what is held, deletes the subscription, and deletes the topic if
//! this source created it.
//!
//! # From messages to records
//!
//! The background task hands every message to a pipeline: its frames are
//! decoded in place (tensors borrow the message's bytes), Fragment records
//! are joined back into their frame, duplicates are dropped and each logger
//! session's records are put back in sequence order (delivery is at least
//! once, possibly reordered). A gap that persists for
//! [`PubSubOptions::gap_timeout`] is reported and skipped. Released records
//! are appended, in release order, to the optional local log (with the same
//! file code as the logger, so it can be viewed later with `--file`), then
//! queued for [`RecordSource::next_event`]; only then is the message acked.
//! The rates received are logged (at info level) every
//! [`THROUGHPUT_LOG_INTERVAL`].
//!
//! # Memory
//!
//! A burst of large messages cannot take the viewer's memory: every part of
//! the way in is bounded in bytes.
//!
//! * Messages received and not yet acked: at most
//!   [`PubSubOptions::max_outstanding_bytes`] per stream (the service stops
//!   sending past it; the client library calls it flow control).
//! * Records released and not yet taken by [`RecordSource::next_event`]:
//!   at most [`PubSubOptions::max_queued_bytes`] (past it, receiving waits,
//!   so nothing is acked and the flow control above holds the rest).
//! * Records held for a gap before them: at most 1 GiB (the sequencer's
//!   `max_held_bytes`); past it the oldest gap is skipped.
//! * Pieces of incomplete fragmented records: at most 1 GiB (the
//!   reassembler's `max_held_bytes`); past it the oldest set is dropped (the
//!   set being completed is kept whatever its size).
//!
//! With the defaults: 4 x 64 MiB + 256 MiB + 1 GiB + 1 GiB, about 2.5 GiB,
//! plus one record larger than that, if one is sent.
//!
//! [`THROUGHPUT_LOG_INTERVAL`]: crate::pubsub_client::THROUGHPUT_LOG_INTERVAL
//!
//! # Faults
//!
//! The client library retries a broken stream quietly, so a second task
//! checks on the subscription every few seconds: it warns once when the
//! service stops answering, recreates the topic and subscription when they
//! vanish (an emulator restart loses all its state), says when the service is
//! back and restarts the stream at once rather than after the library's
//! backoff. A stream that fails for good is reopened with backoff, once the
//! subscription is known to exist. A stream opened after the health check
//! noticed the problem is kept: replacing a stream that has just opened can
//! leave a message leased to the one dropped, which then arrives only after
//! the lease runs out (and its session's later records wait for it). The
//! streams are one group: when one fails, all are reopened. Records
//! already received stay in the view and the local log; records published
//! while no subscription existed are lost, and show up as a skipped gap.

mod pipeline;
mod reassembly;
mod sequencer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use google_cloud_pubsub::client::Subscriber;
use google_cloud_pubsub::model::Message;
use google_cloud_pubsub::subscriber::handler::Handler;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};

use self::pipeline::Pipeline;
use self::reassembly::ReassemblyOptions;
use self::sequencer::SequencerOptions;
use super::{RecordSource, SourceError, SourceEvent};
use crate::log_file::LogFileWriter;
use crate::pubsub_client::{
    self, Admin, BackgroundRuntime, Connection, Endpoint, PubSubError, THROUGHPUT_LOG_INTERVAL, ThroughputMeter,
};

/// Records queued for the consumer before the receiver waits (the bytes are
/// bounded too: [`PubSubOptions::max_queued_bytes`]).
const EVENT_QUEUE_LEN: usize = 4096;
/// The unit in which queued bytes are counted (semaphore permits are u32).
const QUEUE_UNIT_BYTES: usize = 1024;
/// How often held gaps and fragment sets are checked for timeouts.
const TICK_INTERVAL: Duration = Duration::from_millis(250);
/// How long a health check may take before the service counts as down.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long closing waits for the receiver to finish.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// What to subscribe to, and how patient to be.
#[derive(Clone, Debug)]
pub struct PubSubOptions {
    pub endpoint: Endpoint,
    pub project: String,
    pub topic: String,
    /// Append every released record's frame to this log.
    pub log_file: Option<PathBuf>,
    /// How long a gap in a session's sequence numbers may stay open before
    /// the records after it are released without it.
    pub gap_timeout: Duration,
    /// How long an incomplete set of fragments is kept without progress.
    pub fragment_timeout: Duration,
    /// How often the subscription is checked on (`None`: 2 s with the
    /// emulator, 10 s with Google's service).
    pub health_interval: Option<Duration>,
    /// Streaming pulls open at once.
    pub streams: usize,
    /// Bytes of messages received but not yet acked, per stream, before the
    /// service stops sending on that stream.
    pub max_outstanding_bytes: usize,
    /// Bytes of released records waiting for [`RecordSource::next_event`]
    /// before receiving waits.
    pub max_queued_bytes: usize,
}

impl PubSubOptions {
    pub fn new(endpoint: Endpoint, project: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            endpoint,
            project: project.into(),
            topic: topic.into(),
            log_file: None,
            gap_timeout: Duration::from_secs(10),
            fragment_timeout: Duration::from_secs(120),
            health_interval: None,
            streams: 4,
            max_outstanding_bytes: 64 << 20,
            max_queued_bytes: 256 << 20,
        }
    }
}

/// The topic and subscription this source depends on.
struct Resources {
    name: String,
    endpoint: String,
    admin: Admin,
    topic_path: String,
    subscription_path: String,
    /// This source created the topic (at open, or after it vanished): it
    /// deletes it when closing.
    created_topic: AtomicBool,
    /// Serialises recreation between the receiver and the health check.
    ensuring: tokio::sync::Mutex<()>,
}

impl Resources {
    /// Creates the topic if missing, then the subscription.
    async fn create(&self) -> Result<(), PubSubError> {
        if !self.admin.topic_exists(&self.topic_path).await? && self.admin.create_topic(&self.topic_path).await? {
            self.created_topic.store(true, Ordering::Relaxed);
            log::info!("{}: created topic {}", self.name, self.topic_path);
        }
        self.admin
            .create_subscription(&self.subscription_path, &self.topic_path)
            .await?;
        Ok(())
    }

    /// Recreates the subscription (and the topic) if they vanished; returns
    /// whether it did.
    async fn ensure(&self) -> Result<bool, PubSubError> {
        let _one_at_a_time = self.ensuring.lock().await;
        if self.admin.subscription_exists(&self.subscription_path).await? {
            return Ok(false);
        }
        log::warn!(
            "{}: subscription {} is gone (did the emulator restart?); recreating it",
            self.name,
            self.subscription_path
        );
        self.create().await?;
        Ok(true)
    }

    /// Deletes the subscription, and the topic if this source created it.
    async fn delete(&self) {
        match self.admin.delete_subscription(&self.subscription_path).await {
            Ok(_) => log::info!("{}: deleted subscription {}", self.name, self.subscription_path),
            Err(err) => log::warn!("{}: {err}", self.name),
        }
        self.delete_topic_if_created().await;
    }

    async fn delete_topic_if_created(&self) {
        if self.created_topic.load(Ordering::Relaxed) {
            match self.admin.delete_topic(&self.topic_path).await {
                Ok(_) => log::info!("{}: deleted topic {}", self.name, self.topic_path),
                Err(err) => log::warn!("{}: {err}", self.name),
            }
        }
    }
}

/// A Pub/Sub subscription as a [`RecordSource`]; see the [module docs](self).
pub struct PubSubSource {
    description: String,
    /// Bytes of messages received so far.
    received_bytes: Arc<AtomicU64>,
    events: mpsc::Receiver<Queued>,
    /// The bytes the queued records may hold, in units, and all of it.
    queue_budget: Arc<Semaphore>,
    queue_units: u32,
    shutdown: watch::Sender<bool>,
    /// Fires when the receiver has finished (its pipeline drained).
    receiver_done: Option<std::sync::mpsc::Receiver<()>>,
    resources: Arc<Resources>,
    runtime: BackgroundRuntime,
}

impl PubSubSource {
    /// Connects, creates the topic if needed and a subscription, and starts
    /// receiving.
    pub fn open(options: PubSubOptions) -> Result<Self, SourceError> {
        let description = format!("pubsub {}/{}", options.project, options.topic);
        let topic_path = pubsub_client::topic_path(&options.project, &options.topic)?;
        let subscription_path = pubsub_client::subscription_path(&options.project, &subscription_id(&options.topic))?;
        let log = match &options.log_file {
            Some(path) => Some(LogFileWriter::open(path).map_err(|source| SourceError::LocalLog {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        let health_interval = options.health_interval.unwrap_or(if options.endpoint.is_emulator() {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        });
        let runtime = BackgroundRuntime::new("streamvis-pubsub")?;
        let setup = {
            let name = description.clone();
            let endpoint = options.endpoint.clone();
            async move {
                let connection = Connection::open(endpoint).await?;
                let subscriber = connection.subscriber().await?;
                let resources = Resources {
                    name,
                    endpoint: connection.endpoint().to_string(),
                    admin: connection.admin().await?,
                    topic_path,
                    subscription_path,
                    created_topic: AtomicBool::new(false),
                    ensuring: tokio::sync::Mutex::new(()),
                };
                if let Err(err) = resources.create().await {
                    // Leave nothing behind (the subscription is made last).
                    resources.delete_topic_if_created().await;
                    return Err(err);
                }
                Ok::<_, PubSubError>((resources, subscriber))
            }
        };
        let (resources, subscriber) = runtime.wait_for(setup)??;
        let resources = Arc::new(resources);
        log::info!(
            "{description}: receiving through subscription {} at {}",
            resources.subscription_path,
            resources.endpoint
        );

        let pipeline = Pipeline::new(
            description.clone(),
            SequencerOptions {
                gap_timeout: options.gap_timeout,
                ..SequencerOptions::default()
            },
            ReassemblyOptions {
                timeout: options.fragment_timeout,
                ..ReassemblyOptions::default()
            },
            log,
        );
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE_LEN);
        let queue_units = (options.max_queued_bytes / QUEUE_UNIT_BYTES).clamp(1, u32::MAX as usize);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done_tx, receiver_done) = std::sync::mpsc::sync_channel(1);
        let reconnect = Arc::new(Reconnect::default());
        let received_bytes = Arc::new(AtomicU64::new(0));
        let queue_budget = Arc::new(Semaphore::new(queue_units));
        let receiver = Receiver {
            received_bytes: received_bytes.clone(),
            meter: ThroughputMeter::new(format!("{description}: received"), THROUGHPUT_LOG_INTERVAL),
            resources: resources.clone(),
            subscriber,
            streams: options.streams.max(1),
            max_outstanding_bytes: options.max_outstanding_bytes,
            pipeline,
            events: events_tx,
            queue_budget: queue_budget.clone(),
            queue_units: queue_units as u32,
            shutdown: shutdown_rx.clone(),
            reconnect: reconnect.clone(),
        };
        runtime.spawn(async move {
            receiver.run().await;
            let _ = done_tx.send(());
        });
        runtime.spawn(watch_health(resources.clone(), health_interval, reconnect, shutdown_rx));
        Ok(Self {
            description,
            received_bytes,
            events,
            queue_budget,
            queue_units: queue_units as u32,
            shutdown,
            receiver_done: Some(receiver_done),
            resources,
            runtime,
        })
    }

    /// `projects/P/subscriptions/S` of this source's subscription.
    pub fn subscription_path(&self) -> &str {
        &self.resources.subscription_path
    }

    /// Bytes of the records queued for [`RecordSource::next_event`], as the
    /// bound [`PubSubOptions::max_queued_bytes`] counts them (in KiB units).
    pub fn queued_bytes(&self) -> u64 {
        let free = self.queue_budget.available_permits() as u64;
        (u64::from(self.queue_units) - free.min(u64::from(self.queue_units))) * QUEUE_UNIT_BYTES as u64
    }

    /// Bytes of messages received so far.
    pub fn received_bytes(&self) -> u64 {
        self.received_bytes.load(Ordering::Relaxed)
    }

    /// Whether this source created the topic (and will delete it).
    pub fn created_topic(&self) -> bool {
        self.resources.created_topic.load(Ordering::Relaxed)
    }
}

impl RecordSource for PubSubSource {
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        match self.events.try_recv() {
            // Dropping the permit frees the batch's bytes for receiving.
            Ok(Queued { event, .. }) => Ok(Some(event)),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => {
                Err(SourceError::PubSub(PubSubError::Stopped { what: "receiver" }))
            }
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// Bytes of messages received: a fragmented record arriving piece by
    /// piece is growth, not idleness.
    fn bytes_seen(&self) -> u64 {
        self.received_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for PubSubSource {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(done) = self.receiver_done.take()
            && done.recv_timeout(CLOSE_TIMEOUT).is_err()
        {
            log::warn!("{}: the receiver did not stop in time", self.description);
        }
        let resources = self.resources.clone();
        if self.runtime.wait_for(async move { resources.delete().await }).is_err() {
            log::warn!("{}: could not clean up the subscription", self.description);
        }
        // The runtime shuts down when dropped, after this.
    }
}

/// A subscription id that no other viewer uses: the topic's id (shortened
/// to fit) and 16 random hex digits.
fn subscription_id(topic: &str) -> String {
    let suffix = format!(
        "-view-{:016x}",
        fastrand::u64(..) ^ u64::from(std::process::id()).rotate_left(32)
    );
    let keep = topic
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|&end| end + suffix.len() <= 255)
        .last()
        .unwrap_or(0);
    format!("{}{suffix}", &topic[..keep])
}

/// An event on its way to the consumer. The last event of a batch carries
/// the permit for the batch's bytes.
struct Queued {
    event: SourceEvent,
    _permit: Option<OwnedSemaphorePermit>,
}

/// The task that receives messages and feeds the pipeline.
struct Receiver {
    received_bytes: Arc<AtomicU64>,
    meter: ThroughputMeter,
    resources: Arc<Resources>,
    subscriber: Subscriber,
    streams: usize,
    max_outstanding_bytes: usize,
    pipeline: Pipeline,
    events: mpsc::Sender<Queued>,
    /// Bytes (in [`QUEUE_UNIT_BYTES`]) the queue may still take.
    queue_budget: Arc<Semaphore>,
    queue_units: u32,
    shutdown: watch::Receiver<bool>,
    reconnect: Arc<Reconnect>,
}

/// How the health check asks the receiver for a fresh stream: only streams
/// opened before it noticed the problem are replaced.
#[derive(Default)]
struct Reconnect {
    /// Streams opened so far; the current one's number.
    opened: AtomicU64,
    /// Streams numbered up to this one should be replaced.
    stale_up_to: AtomicU64,
    notify: Notify,
}

impl Reconnect {
    /// Numbers a stream being opened.
    fn open(&self) -> u64 {
        self.opened.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The number of the stream open now.
    fn current(&self) -> u64 {
        self.opened.load(Ordering::SeqCst)
    }

    /// Asks for streams up to `number` to be replaced.
    fn request(&self, number: u64) {
        self.stale_up_to.fetch_max(number, Ordering::SeqCst);
        self.notify.notify_one();
    }

    fn is_stale(&self, number: u64) -> bool {
        number <= self.stale_up_to.load(Ordering::SeqCst)
    }
}

/// What the stream task passes on.
enum Pulled {
    Message(Box<(Message, Handler)>),
    Failed(String),
}

/// The streams open at once, each read by a task of its own.
/// `MessageStream::next` must not be cancelled (a stream still opening is
/// torn down), so each runs on its own task and hands messages over one
/// channel, which may be polled in a `select!`.
struct StreamGroup {
    /// Its number from [`Reconnect::open`].
    number: u64,
    messages: mpsc::Receiver<Pulled>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StreamGroup {
    fn start(
        subscriber: &Subscriber,
        subscription_path: &str,
        reconnect: &Reconnect,
        streams: usize,
        max_outstanding_bytes: usize,
    ) -> Self {
        let number = reconnect.open();
        let (tx, messages) = mpsc::channel(16);
        let tasks = (0..streams)
            .map(|_| {
                let mut stream = subscriber
                    .subscribe(subscription_path.to_owned())
                    .set_max_outstanding_bytes(i64::try_from(max_outstanding_bytes).unwrap_or(i64::MAX))
                    .build();
                let tx = tx.clone();
                tokio::spawn(async move {
                    loop {
                        let pulled = match stream.next().await {
                            Some(Ok(pulled)) => Pulled::Message(Box::new(pulled)),
                            Some(Err(err)) => Pulled::Failed(err.to_string()),
                            None => Pulled::Failed("the stream ended".into()),
                        };
                        let failed = matches!(pulled, Pulled::Failed(_));
                        if tx.send(pulled).await.is_err() || failed {
                            break;
                        }
                    }
                    // Let pending acks go out.
                    let token = stream.shutdown_token();
                    let _ = tokio::time::timeout(Duration::from_secs(5), token.shutdown()).await;
                })
            })
            .collect();
        Self {
            number,
            messages,
            tasks,
        }
    }
}

impl Drop for StreamGroup {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Receiver {
    async fn run(mut self) {
        let name = self.resources.name.clone();
        let mut stream = self.start_stream();
        let mut tick = tokio::time::interval(TICK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failures = 0u32;
        let mut shutdown = self.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = self.reconnect.notify.notified() => {
                    if self.reconnect.is_stale(stream.number) {
                        log::debug!("{name}: restarting the stream");
                        stream = self.start_stream();
                    } else {
                        log::debug!("{name}: the stream opened after the problem was noticed; keeping it");
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    self.meter.report_if_due(now);
                    let events = self.pipeline.tick(now);
                    if !self.deliver(events).await {
                        break;
                    }
                }
                pulled = stream.messages.recv() => match pulled {
                    Some(Pulled::Message(pulled)) => {
                        let (message, handler) = *pulled;
                        failures = 0;
                        self.received_bytes.fetch_add(message.data.len() as u64, Ordering::Relaxed);
                        self.meter.add(1, message.data.len() as u64);
                        let pipeline = &mut self.pipeline;
                        // The pipeline may write the local log.
                        let events = tokio::task::block_in_place(|| pipeline.push_message(&message.data, Instant::now()));
                        if !self.deliver(events).await {
                            break;
                        }
                        handler.ack();
                    }
                    failed => {
                        let why = match failed {
                            Some(Pulled::Failed(why)) => why,
                            _ => "the stream stopped".to_owned(),
                        };
                        if failures == 0 {
                            log::warn!("{name}: receiving failed: {why}; resubscribing");
                        } else {
                            log::debug!("{name}: receiving failed again: {why}");
                        }
                        // Reopen once the subscription is known to exist.
                        loop {
                            failures += 1;
                            let backoff = Duration::from_millis(250)
                                .saturating_mul(1 << failures.min(5))
                                .min(Duration::from_secs(8));
                            tokio::select! {
                                _ = shutdown.changed() => break,
                                _ = tokio::time::sleep(backoff) => {}
                                // The health check saw the service back.
                                _ = self.reconnect.notify.notified() => {}
                            }
                            match self.resources.ensure().await {
                                Ok(_) => break,
                                Err(err) => log::debug!("{name}: {err}"),
                            }
                        }
                        if *shutdown.borrow() {
                            break;
                        }
                        stream = self.start_stream();
                    }
                }
            }
        }
        drop(stream);
        // Release what is held (to the local log: nobody reads the events
        // any more).
        let pipeline = &mut self.pipeline;
        tokio::task::block_in_place(|| pipeline.finish(Instant::now()));
        let stats = self.pipeline.stats();
        log::info!(
            "{name}: {} messages ({:.1} MB), {} records released, {} duplicates dropped, {} fragments joined into \
             {} records, {} records lost, {} corrupt",
            stats.messages,
            stats.message_bytes as f64 / 1e6,
            stats.released,
            stats.duplicates,
            stats.fragments,
            stats.joined,
            stats.lost,
            stats.corrupt
        );
    }

    fn start_stream(&self) -> StreamGroup {
        StreamGroup::start(
            &self.subscriber,
            &self.resources.subscription_path,
            &self.reconnect,
            self.streams,
            self.max_outstanding_bytes,
        )
    }

    /// Queues events for the consumer, first waiting until the queue has
    /// room for their bytes; false when closing.
    async fn deliver(&mut self, events: Vec<SourceEvent>) -> bool {
        let bytes = self.pipeline.take_released_bytes();
        if events.is_empty() {
            return true;
        }
        // A batch larger than the whole budget takes all of it.
        let units = (bytes.div_ceil(QUEUE_UNIT_BYTES as u64)).clamp(1, u64::from(self.queue_units)) as u32;
        let mut shutdown = self.shutdown.clone();
        let permit = tokio::select! {
            _ = shutdown.changed() => return false,
            permit = self.queue_budget.clone().acquire_many_owned(units) => match permit {
                Ok(permit) => permit,
                Err(_) => return false,
            },
        };
        let mut permit = Some(permit);
        let last = events.len() - 1;
        for (i, event) in events.into_iter().enumerate() {
            let queued = Queued {
                event,
                _permit: if i == last { permit.take() } else { None },
            };
            tokio::select! {
                _ = shutdown.changed() => return false,
                sent = self.events.send(queued) => {
                    if sent.is_err() {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Checks on the subscription every `interval`: reports when the service
/// stops answering and when it is back, recreates what vanished, and tells
/// the receiver to restart its stream.
async fn watch_health(
    resources: Arc<Resources>,
    interval: Duration,
    reconnect: Arc<Reconnect>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = &resources.name;
    // Answer quickly or count as down.
    let admin = resources.admin.with_timeout(HEALTH_TIMEOUT);
    // Since when, and the stream open when the problem was noticed.
    let mut down_since: Option<(Instant, u64)> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let stream_at_check = reconnect.current();
        let checked = match admin.subscription_exists(&resources.subscription_path).await {
            Ok(true) => Ok(false),
            Ok(false) => resources.ensure().await,
            Err(err) => Err(err),
        };
        match checked {
            Ok(recreated) => {
                if let Some((since, stream_then)) = down_since.take() {
                    log::info!(
                        "{name}: {} answers again (after {:.1} s)",
                        resources.endpoint,
                        since.elapsed().as_secs_f64()
                    );
                    reconnect.request(if recreated { stream_at_check } else { stream_then });
                } else if recreated {
                    reconnect.request(stream_at_check);
                }
            }
            Err(err) => {
                if down_since.is_none() {
                    log::warn!("{name}: lost contact with Pub/Sub: {err}; retrying");
                    down_since = Some((Instant::now(), stream_at_check));
                } else {
                    log::debug!("{name}: {err}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_streams_opened_before_the_problem_are_replaced() {
        let reconnect = Reconnect::default();
        let first = reconnect.open();
        assert!(!reconnect.is_stale(first));
        // The health check notices a problem while the first stream is open;
        // meanwhile the receiver has opened a second one.
        let noticed_with = reconnect.current();
        let second = reconnect.open();
        reconnect.request(noticed_with);
        assert!(reconnect.is_stale(first));
        assert!(!reconnect.is_stale(second));
        // An older request does not undo a newer one.
        reconnect.request(second);
        reconnect.request(first);
        assert!(reconnect.is_stale(second));
        assert!(!reconnect.is_stale(reconnect.open()));
    }

    #[test]
    fn subscription_ids_are_unique_and_valid() {
        let a = subscription_id("topic");
        assert_ne!(a, subscription_id("topic"));
        assert!(pubsub_client::check_resource_id("subscription", &a).is_ok(), "{a}");
        let long = "t".repeat(255);
        let b = subscription_id(&long);
        assert_eq!(b.len(), 255);
        assert!(pubsub_client::check_resource_id("subscription", &b).is_ok());
    }
}
