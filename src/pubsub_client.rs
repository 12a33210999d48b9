//! Google Pub/Sub plumbing shared by the logger's
//! [`PubSubSink`](crate::logger::PubSubSink) and the viewer's
//! [`PubSubSource`](crate::source::PubSubSource): where to connect, with
//! which credentials, and the few admin calls both need.
//!
//! # How it connects
//!
//! * **Emulator** ([`Endpoint::Emulator`]): chosen by `PUBSUB_EMULATOR_HOST`
//!   or an explicit `HOST:PORT`. The `google-cloud-pubsub` crate does not
//!   read that variable itself, so every client is given the endpoint
//!   (`http://HOST:PORT`) and anonymous credentials here.
//! * **Google** ([`Endpoint::Google`]): Application Default Credentials. With
//!   none, the client would retry silently for minutes; [`Connection::open`]
//!   fetches an access token first, under a timeout, so a missing login is a
//!   clear error at once.
//!
//! The crate's builders are lazy: building a client succeeds with nothing
//! listening. So every admin call here runs under [`CALL_TIMEOUT`], and its
//! error names the endpoint.
//!
//! # Resources
//!
//! The viewer owns the topic (it creates it when missing) and one
//! subscription per viewer, without message ordering: the service limits
//! publishing to 1 MB/s per ordering key, so loggers publish without one and
//! the viewer restores each session's order from the records' sequence
//! numbers.

use std::time::Duration;

use google_cloud_auth::credentials::Credentials;
use google_cloud_pubsub::client::{Publisher, Subscriber, SubscriptionAdmin, TopicAdmin};

/// The environment variable naming the emulator's `HOST:PORT`.
pub const EMULATOR_ENV: &str = "PUBSUB_EMULATOR_HOST";

/// The longest an admin call (get, create, delete) may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest fetching an access token for Application Default Credentials
/// may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest connecting to the emulator may take.
const EMULATOR_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The most bytes the client library puts in one publish request: the
/// service's limit is 10 MB per request; this leaves room for the request's
/// own framing.
pub const REQUEST_MAX_BYTES: u32 = 9_500_000;

/// The most messages in one publish request (the service's limit).
pub const REQUEST_MAX_MESSAGES: u32 = 1000;

/// The service's endpoint when not using the emulator.
const GOOGLE_ENDPOINT: &str = "https://pubsub.googleapis.com";

/// Why a Pub/Sub operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    #[error("invalid Pub/Sub {what} {name:?}: {why}")]
    InvalidName {
        what: &'static str,
        name: String,
        why: &'static str,
    },

    #[error("invalid emulator address {address:?}: expected HOST:PORT, e.g. 127.0.0.1:8085")]
    InvalidEmulator { address: String },

    #[error(
        "no Google Cloud credentials for Pub/Sub ({detail}); set up Application Default Credentials \
         (`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS), or use the emulator \
         ({EMULATOR_ENV}=HOST:PORT or --emulator HOST:PORT)"
    )]
    Credentials { detail: String },

    #[error("Pub/Sub topic {topic} does not exist: start the viewer first (it creates the topic)")]
    TopicMissing { topic: String },

    #[error("cannot connect to the emulator at {host_port} (is it running?)")]
    Unreachable {
        host_port: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{action}: no answer from {endpoint} in {secs} s (is Pub/Sub reachable?)")]
    Timeout {
        action: String,
        endpoint: String,
        secs: u64,
    },

    #[error("{action} at {endpoint}")]
    Api {
        action: String,
        endpoint: String,
        #[source]
        source: google_cloud_pubsub::Error,
    },

    #[error("building a Pub/Sub client for {endpoint}")]
    Client {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("starting the Pub/Sub runtime")]
    Runtime(#[source] std::io::Error),

    #[error("the Pub/Sub {what} stopped unexpectedly")]
    Stopped { what: &'static str },
}

/// Where the Pub/Sub service is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Google's service, with Application Default Credentials.
    Google,
    /// The local emulator at `host:port`, with anonymous credentials.
    Emulator { host_port: String },
}

impl Endpoint {
    /// The emulator at `HOST:PORT` (no scheme).
    pub fn emulator(host_port: &str) -> Result<Self, PubSubError> {
        let bad = || PubSubError::InvalidEmulator {
            address: host_port.to_owned(),
        };
        let (host, port) = host_port.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || host.contains('/') || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        Ok(Self::Emulator {
            host_port: host_port.to_owned(),
        })
    }

    /// The emulator named by `PUBSUB_EMULATOR_HOST` when it is set and not
    /// empty, else Google's service.
    pub fn from_env() -> Result<Self, PubSubError> {
        match std::env::var(EMULATOR_ENV) {
            Ok(host_port) if !host_port.trim().is_empty() => Self::emulator(host_port.trim()),
            _ => Ok(Self::Google),
        }
    }

    /// `explicit` (`HOST:PORT`) if given, else [`Endpoint::from_env`].
    pub fn emulator_or_env(explicit: Option<&str>) -> Result<Self, PubSubError> {
        match explicit {
            Some(host_port) => Self::emulator(host_port),
            None => Self::from_env(),
        }
    }

    /// The URL clients are given.
    pub fn url(&self) -> String {
        match self {
            Self::Google => GOOGLE_ENDPOINT.to_owned(),
            // The client needs the scheme; the emulator speaks plain HTTP/2.
            Self::Emulator { host_port } => format!("http://{host_port}"),
        }
    }

    pub fn is_emulator(&self) -> bool {
        matches!(self, Self::Emulator { .. })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Google => write!(f, "{GOOGLE_ENDPOINT}"),
            Self::Emulator { host_port } => write!(f, "the emulator at {host_port}"),
        }
    }
}

/// Checks a project id: not empty, no `/` (the emulator accepts any such
/// name; the service is stricter and says so itself).
pub fn check_project(project: &str) -> Result<(), PubSubError> {
    let bad = |why| PubSubError::InvalidName {
        what: "project",
        name: project.to_owned(),
        why,
    };
    if project.is_empty() {
        return Err(bad("it is empty"));
    }
    if !project.chars().all(|c| c.is_ascii_alphanumeric() || "-.:_".contains(c)) {
        return Err(bad("use letters, digits, '-', '.', ':' and '_'"));
    }
    Ok(())
}

/// Checks a topic or subscription id against the service's rules: 3 to 255
/// characters from `[A-Za-z0-9-_.~+%]`, starting with a letter, not starting
/// with `goog`.
pub fn check_resource_id(what: &'static str, id: &str) -> Result<(), PubSubError> {
    let bad = |why| PubSubError::InvalidName {
        what,
        name: id.to_owned(),
        why,
    };
    if !(3..=255).contains(&id.len()) {
        return Err(bad("it must be 3 to 255 characters long"));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("it must start with a letter"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c)) {
        return Err(bad("use letters, digits and '-', '_', '.', '~', '+', '%'"));
    }
    if id.to_ascii_lowercase().starts_with("goog") {
        return Err(bad("it must not start with \"goog\""));
    }
    Ok(())
}

/// `projects/PROJECT/topics/TOPIC`, after checking both names.
pub fn topic_path(project: &str, topic: &str) -> Result<String, PubSubError> {
    check_project(project)?;
    check_resource_id("topic", topic)?;
    Ok(format!("projects/{project}/topics/{topic}"))
}

/// `projects/PROJECT/subscriptions/SUBSCRIPTION`, after checking both names.
pub fn subscription_path(project: &str, subscription: &str) -> Result<String, PubSubError> {
    check_project(project)?;
    check_resource_id("subscription", subscription)?;
    Ok(format!("projects/{project}/subscriptions/{subscription}"))
}

/// True when the error says the resource does not exist.
pub fn is_not_found(err: &google_cloud_pubsub::Error) -> bool {
    err.status().is_some_and(|s| s.code.name() == "NOT_FOUND") || err.http_status_code() == Some(404)
}

/// True when the caller may not make the call.
pub fn is_permission_denied(err: &google_cloud_pubsub::Error) -> bool {
    err.status().is_some_and(|s| s.code.name() == "PERMISSION_DENIED") || err.http_status_code() == Some(403)
}

/// True when the error says the resource exists already.
pub fn is_already_exists(err: &google_cloud_pubsub::Error) -> bool {
    err.status().is_some_and(|s| s.code.name() == "ALREADY_EXISTS") || err.http_status_code() == Some(409)
}

/// An endpoint with credentials that work for it: what every client is built
/// from.
#[derive(Clone, Debug)]
pub struct Connection {
    endpoint: Endpoint,
    credentials: Credentials,
}

impl Connection {
    /// Prepares credentials for `endpoint`: anonymous for the emulator
    /// (after checking that something listens there, since the clients
    /// would retry a refused connection quietly); for Google, Application
    /// Default Credentials, checked by fetching a token.
    pub async fn open(endpoint: Endpoint) -> Result<Self, PubSubError> {
        let credentials = match &endpoint {
            Endpoint::Emulator { host_port } => {
                probe(host_port).await?;
                google_cloud_auth::credentials::anonymous::Builder::new().build()
            }
            Endpoint::Google => {
                let adc = google_cloud_auth::credentials::Builder::default()
                    .build_access_token_credentials()
                    .map_err(|err| PubSubError::Credentials {
                        detail: err.to_string(),
                    })?;
                match tokio::time::timeout(TOKEN_TIMEOUT, adc.access_token()).await {
                    Ok(Ok(_token)) => {}
                    Ok(Err(err)) => {
                        return Err(PubSubError::Credentials {
                            detail: err.to_string(),
                        });
                    }
                    Err(_) => {
                        return Err(PubSubError::Credentials {
                            detail: format!("no access token after {} s", TOKEN_TIMEOUT.as_secs()),
                        });
                    }
                }
                Credentials::from(adc)
            }
        };
        Ok(Self { endpoint, credentials })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn client_error(&self, source: impl std::error::Error + Send + Sync + 'static) -> PubSubError {
        PubSubError::Client {
            endpoint: self.endpoint.to_string(),
            source: Box::new(source),
        }
    }

    pub async fn topic_admin(&self) -> Result<TopicAdmin, PubSubError> {
        TopicAdmin::builder()
            .with_endpoint(self.endpoint.url())
            .with_credentials(self.credentials.clone())
            .build()
            .await
            .map_err(|e| self.client_error(e))
    }

    pub async fn subscription_admin(&self) -> Result<SubscriptionAdmin, PubSubError> {
        SubscriptionAdmin::builder()
            .with_endpoint(self.endpoint.url())
            .with_credentials(self.credentials.clone())
            .build()
            .await
            .map_err(|e| self.client_error(e))
    }

    /// A publisher for `topic_path` that sends a request as soon as a
    /// message is there (batches still form while requests are in flight).
    pub async fn publisher(&self, topic_path: &str) -> Result<Publisher, PubSubError> {
        Publisher::builder(topic_path)
            .with_endpoint(self.endpoint.url())
            .with_credentials(self.credentials.clone())
            .set_delay_threshold(Duration::from_millis(1))
            // Without an ordering key, requests of up to these go out
            // concurrently.
            .set_byte_threshold(REQUEST_MAX_BYTES)
            .set_message_count_threshold(REQUEST_MAX_MESSAGES)
            // The sink retries, after checking that someone subscribes: a
            // retry inside the library could land while a restarted
            // emulator has the topic again but no subscription yet.
            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
            .build()
            .await
            .map_err(|e| self.client_error(e))
    }

    pub async fn subscriber(&self) -> Result<Subscriber, PubSubError> {
        Subscriber::builder()
            .with_endpoint(self.endpoint.url())
            .with_credentials(self.credentials.clone())
            .build()
            .await
            .map_err(|e| self.client_error(e))
    }

    /// Both admin clients.
    pub async fn admin(&self) -> Result<Admin, PubSubError> {
        Ok(Admin {
            endpoint: self.endpoint.to_string(),
            timeout: CALL_TIMEOUT,
            topics: self.topic_admin().await?,
            subscriptions: self.subscription_admin().await?,
        })
    }
}

/// The admin calls the logger and viewer make, each under a timeout
/// ([`CALL_TIMEOUT`] unless set with [`Admin::with_timeout`]).
#[derive(Clone, Debug)]
pub struct Admin {
    endpoint: String,
    timeout: Duration,
    topics: TopicAdmin,
    subscriptions: SubscriptionAdmin,
}

impl Admin {
    /// The same clients with another timeout per call (a health check wants
    /// to know quickly).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            timeout,
            ..self.clone()
        }
    }

    /// Runs one call under the timeout, naming the action in errors.
    async fn call<T>(
        &self,
        action: impl FnOnce() -> String,
        call: impl Future<Output = google_cloud_pubsub::Result<T>>,
    ) -> Result<google_cloud_pubsub::Result<T>, PubSubError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| PubSubError::Timeout {
                action: action(),
                endpoint: self.endpoint.clone(),
                secs: self.timeout.as_secs_f64().ceil() as u64,
            })
    }

    fn api_error(&self, action: String, source: google_cloud_pubsub::Error) -> PubSubError {
        PubSubError::Api {
            action,
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    pub async fn topic_exists(&self, topic_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("looking up topic {topic_path}");
        match self
            .call(action, self.topics.get_topic().set_topic(topic_path).send())
            .await?
        {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    /// Whether anyone subscribes to the topic (false if it does not exist):
    /// messages published to a topic without subscriptions are lost. `None`
    /// when the credentials may publish but not list subscriptions.
    pub async fn topic_has_subscription(&self, topic_path: &str) -> Result<Option<bool>, PubSubError> {
        let action = || format!("listing the subscriptions of {topic_path}");
        let request = self
            .topics
            .list_topic_subscriptions()
            .set_topic(topic_path)
            .set_page_size(1)
            .send();
        match self.call(action, request).await? {
            Ok(response) => Ok(Some(!response.subscriptions.is_empty())),
            Err(err) if is_not_found(&err) => Ok(Some(false)),
            Err(err) if is_permission_denied(&err) => Ok(None),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    /// Creates the topic; `Ok(false)` when it existed already.
    pub async fn create_topic(&self, topic_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("creating topic {topic_path}");
        match self
            .call(action, self.topics.create_topic().set_name(topic_path).send())
            .await?
        {
            Ok(_) => Ok(true),
            Err(err) if is_already_exists(&err) => Ok(false),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    /// Deletes the topic; `Ok(false)` when it was gone already.
    pub async fn delete_topic(&self, topic_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("deleting topic {topic_path}");
        match self
            .call(action, self.topics.delete_topic().set_topic(topic_path).send())
            .await?
        {
            Ok(()) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    pub async fn subscription_exists(&self, subscription_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("looking up subscription {subscription_path}");
        let call = self
            .subscriptions
            .get_subscription()
            .set_subscription(subscription_path)
            .send();
        match self.call(action, call).await? {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    /// Creates a subscription to `topic_path` (without message ordering);
    /// `Ok(false)` when it existed already.
    pub async fn create_subscription(&self, subscription_path: &str, topic_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("creating subscription {subscription_path} to {topic_path}");
        let call = self
            .subscriptions
            .create_subscription()
            .set_name(subscription_path)
            .set_topic(topic_path)
            .set_ack_deadline_seconds(60)
            .send();
        match self.call(action, call).await? {
            Ok(_) => Ok(true),
            Err(err) if is_already_exists(&err) => Ok(false),
            Err(err) if is_not_found(&err) => Err(PubSubError::TopicMissing {
                topic: topic_path.to_owned(),
            }),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }

    /// Deletes the subscription; `Ok(false)` when it was gone already.
    pub async fn delete_subscription(&self, subscription_path: &str) -> Result<bool, PubSubError> {
        let action = || format!("deleting subscription {subscription_path}");
        let call = self
            .subscriptions
            .delete_subscription()
            .set_subscription(subscription_path)
            .send();
        match self.call(action, call).await? {
            Ok(()) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(self.api_error(action(), err)),
        }
    }
}

/// Connects to `host_port` (and hangs up) to tell a stopped emulator from a
/// slow one.
async fn probe(host_port: &str) -> Result<(), PubSubError> {
    let target = host_port.to_owned();
    let connect = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::net::ToSocketAddrs;
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the host name resolves to nothing");
        for addr in target.to_socket_addrs()? {
            match std::net::TcpStream::connect_timeout(&addr, EMULATOR_CONNECT_TIMEOUT) {
                Ok(_) => return Ok(()),
                Err(err) => last = err,
            }
        }
        Err(last)
    });
    let unreachable = |source| PubSubError::Unreachable {
        host_port: host_port.to_owned(),
        source,
    };
    match connect.await {
        Ok(result) => result.map_err(unreachable),
        Err(join) => Err(unreachable(std::io::Error::other(join.to_string()))),
    }
}

/// How often the logger and the viewer log their throughput.
pub const THROUGHPUT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counts bytes and messages and logs their rates every `interval` (at info
/// level, and only when something went through).
#[derive(Debug)]
pub(crate) struct ThroughputMeter {
    what: String,
    interval: Duration,
    since: std::time::Instant,
    bytes: u64,
    messages: u64,
}

impl ThroughputMeter {
    /// `what` starts the line: "published to projects/p/topics/t".
    pub(crate) fn new(what: String, interval: Duration) -> Self {
        Self {
            what,
            interval,
            since: std::time::Instant::now(),
            bytes: 0,
            messages: 0,
        }
    }

    pub(crate) fn add(&mut self, messages: u64, bytes: u64) {
        self.messages += messages;
        self.bytes += bytes;
    }

    /// Logs the rates since the last report once `interval` has passed.
    pub(crate) fn report_if_due(&mut self, now: std::time::Instant) {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed < self.interval {
            return;
        }
        if self.messages > 0 {
            let secs = elapsed.as_secs_f64();
            log::info!(
                "{}: {:.1} MB/s, {:.0} messages/s over the last {secs:.0} s",
                self.what,
                self.bytes as f64 / secs / 1e6,
                self.messages as f64 / secs,
            );
        }
        self.since = now;
        self.bytes = 0;
        self.messages = 0;
    }
}

/// A multi-threaded tokio runtime for a transport's background work, used
/// from ordinary threads.
///
/// Unlike `Runtime::block_on` and `Runtime::drop`, nothing here panics when
/// the caller is itself inside an async context (a logger made in a
/// `#[tokio::main]`): waiting only blocks that thread, and dropping shuts the
/// runtime down in the background.
pub(crate) struct BackgroundRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundRuntime {
    pub(crate) fn new(name: &str) -> Result<Self, PubSubError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(PubSubError::Runtime)?;
        Ok(Self { runtime: Some(runtime) })
    }

    /// Starts a task.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if let Some(runtime) = &self.runtime {
            runtime.spawn(future);
        }
    }

    /// Runs `future` on the runtime and waits for it from this thread.
    pub(crate) fn wait_for<F>(&self, future: F) -> Result<F::Output, PubSubError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or(PubSubError::Stopped { what: "runtime" })?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().map_err(|_| PubSubError::Stopped { what: "runtime" })
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so it is safe inside another runtime too.
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::emulator("127.0.0.1:8085").unwrap().url(),
            "http://127.0.0.1:8085"
        );
        assert!(Endpoint::emulator("127.0.0.1").is_err());
        assert!(Endpoint::emulator("http://127.0.0.1:80").is_err());
        assert!(Endpoint::emulator(":80").is_err());
        assert_eq!(Endpoint::Google.url(), "https://pubsub.googleapis.com");
    }

    #[test]
    fn the_background_runtime_is_safe_inside_another_runtime() {
        let outer = tokio::runtime::Builder::new_current_thread().build().unwrap();
        outer.block_on(async {
            let runtime = BackgroundRuntime::new("test").unwrap();
            assert_eq!(runtime.wait_for(async { 7 }).unwrap(), 7);
            drop(runtime);
        });
    }

    #[test]
    fn names() {
        assert_eq!(topic_path("proj", "topic").unwrap(), "projects/proj/topics/topic");
        assert!(topic_path("proj", "ab").is_err());
        assert!(topic_path("proj", "1abc").is_err());
        assert!(topic_path("proj", "google").is_err());
        assert!(topic_path("proj", "a/bc").is_err());
        assert!(topic_path("", "abc").is_err());
        assert!(subscription_path("p", "sub-1").is_ok());
    }
}
