//! Reading records from a Google Pub/Sub topic: the viewer's side of "train
//! on one machine, watch on another".
//!
//! # Lifecycle
//!
//! [`PubSubSource::open`] creates the topic if it is missing (and remembers
//! that it did), then a subscription of its own, uniquely named, with message
//! ordering enabled, and starts receiving on a background tokio runtime.
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
//! leave a message leased to the one dropped, and with ordering that holds
//! back every later message until the lease runs out. Records
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
use tokio::sync::{Notify, mpsc, watch};

use self::pipeline::Pipeline;
use self::reassembly::ReassemblyOptions;
use self::sequencer::SequencerOptions;
use super::{RecordSource, SourceError, SourceEvent};
use crate::log_file::LogFileWriter;
use crate::pubsub_client::{self, Admin, BackgroundRuntime, Connection, Endpoint, PubSubError};

/// Records queued for the consumer before the receiver waits.
const EVENT_QUEUE_LEN: usize = 4096;
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
    events: mpsc::Receiver<SourceEvent>,
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
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done_tx, receiver_done) = std::sync::mpsc::sync_channel(1);
        let reconnect = Arc::new(Reconnect::default());
        let received_bytes = Arc::new(AtomicU64::new(0));
        let receiver = Receiver {
            received_bytes: received_bytes.clone(),
            resources: resources.clone(),
            subscriber,
            pipeline,
            events: events_tx,
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

    /// Whether this source created the topic (and will delete it).
    pub fn created_topic(&self) -> bool {
        self.resources.created_topic.load(Ordering::Relaxed)
    }
}

impl RecordSource for PubSubSource {
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        match self.events.try_recv() {
            Ok(event) => Ok(Some(event)),
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

/// The task that receives messages and feeds the pipeline.
struct Receiver {
    received_bytes: Arc<AtomicU64>,
    resources: Arc<Resources>,
    subscriber: Subscriber,
    pipeline: Pipeline,
    events: mpsc::Sender<SourceEvent>,
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

/// A task reading one stream. `MessageStream::next` must not be cancelled
/// (a stream still opening is torn down), so it runs on its own task and
/// hands messages over a channel, which may be polled in a `select!`.
struct StreamTask {
    /// Its number from [`Reconnect::open`].
    number: u64,
    messages: mpsc::Receiver<Pulled>,
    task: tokio::task::JoinHandle<()>,
}

impl StreamTask {
    fn start(subscriber: &Subscriber, subscription_path: &str, reconnect: &Reconnect) -> Self {
        let number = reconnect.open();
        let mut stream = subscriber.subscribe(subscription_path.to_owned()).build();
        let (tx, messages) = mpsc::channel(16);
        let task = tokio::spawn(async move {
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
        });
        Self { number, messages, task }
    }
}

impl Drop for StreamTask {
    fn drop(&mut self) {
        self.task.abort();
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
                    let events = self.pipeline.tick(Instant::now());
                    if !self.deliver(events).await {
                        break;
                    }
                }
                pulled = stream.messages.recv() => match pulled {
                    Some(Pulled::Message(pulled)) => {
                        let (message, handler) = *pulled;
                        failures = 0;
                        self.received_bytes.fetch_add(message.data.len() as u64, Ordering::Relaxed);
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

    fn start_stream(&self) -> StreamTask {
        StreamTask::start(&self.subscriber, &self.resources.subscription_path, &self.reconnect)
    }

    /// Queues events for the consumer; false when closing.
    async fn deliver(&mut self, events: Vec<SourceEvent>) -> bool {
        for event in events {
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                _ = shutdown.changed() => return false,
                sent = self.events.send(event) => {
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
