//! A model of the real Pub/Sub service's limits, applied in front of the
//! emulator, which enforces none of them.
//!
//! With a [`ServiceModel`] in its options, the Pub/Sub sink holds each
//! message back before handing it to the client library:
//!
//! * **Per ordering key**: messages under one ordering key go out at most at
//!   [`ServiceModel::per_key_bytes_per_sec`] (the service's 1 MB/s). Messages
//!   without a key, as the sink publishes them, are not limited by it.
//! * **Per topic**: optionally, all messages together at most at
//!   [`ServiceModel::topic_bytes_per_sec`], a slow link or quota: what
//!   back-pressure is tested against.
//! * **Out of order**: each message waits a random extra delay of up to
//!   [`ServiceModel::max_extra_delay`], so messages reach the topic in
//!   another order than they were published.
//! * **Twice**: every [`ServiceModel::duplicate_every`]-th message is
//!   published a second time, as at-least-once delivery may do.
//!
//! It exists for tests and benchmarks; a real topic needs none of it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The documented publish limit per ordering key: 1 MB/s.
pub const PER_KEY_BYTES_PER_SEC: f64 = 1e6;

/// What the sink simulates; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct ServiceModel {
    /// The most bytes per second under one ordering key.
    pub per_key_bytes_per_sec: f64,
    /// The most bytes per second of the whole topic; `None`: unlimited.
    pub topic_bytes_per_sec: Option<f64>,
    /// The longest random delay added to a message.
    pub max_extra_delay: Duration,
    /// Publish every n-th message twice; `None`: never.
    pub duplicate_every: Option<u64>,
    /// Seeds the random delays.
    pub seed: u64,
}

impl Default for ServiceModel {
    fn default() -> Self {
        Self {
            per_key_bytes_per_sec: PER_KEY_BYTES_PER_SEC,
            topic_bytes_per_sec: None,
            max_extra_delay: Duration::from_millis(200),
            duplicate_every: None,
            seed: 1,
        }
    }
}

/// When one message may go, and how many times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// How long to hold it back from now.
    pub delay: Duration,
    /// Publish it this many times (1 or 2).
    pub copies: u32,
}

/// The model's state: when each ordering key (and the topic) is free again.
#[derive(Debug)]
pub struct ServiceModelState {
    model: ServiceModel,
    rng: fastrand::Rng,
    key_free_at: HashMap<String, Instant>,
    topic_free_at: Option<Instant>,
    messages: u64,
}

impl ServiceModelState {
    pub fn new(model: ServiceModel) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(model.seed),
            model,
            key_free_at: HashMap::new(),
            topic_free_at: None,
            messages: 0,
        }
    }

    /// Schedules a message of `len_bytes` under `ordering_key` (empty: none)
    /// handed over at `now`.
    pub fn schedule(&mut self, ordering_key: &str, len_bytes: usize, now: Instant) -> Schedule {
        self.messages += 1;
        let mut start = now;
        if let Some(rate) = self.model.topic_bytes_per_sec {
            let free_at = self.topic_free_at.map_or(now, |t| t.max(now));
            start = start.max(free_at);
            self.topic_free_at = Some(free_at + transfer_time(len_bytes, rate));
        }
        if !ordering_key.is_empty() {
            let free_at = self.key_free_at.get(ordering_key).map_or(now, |t| (*t).max(now));
            start = start.max(free_at);
            let busy_until = start + transfer_time(len_bytes, self.model.per_key_bytes_per_sec);
            self.key_free_at.insert(ordering_key.to_owned(), busy_until);
        }
        let max_extra = self.model.max_extra_delay.as_micros() as u64;
        let extra = Duration::from_micros(if max_extra == 0 { 0 } else { self.rng.u64(..=max_extra) });
        let twice = self
            .model
            .duplicate_every
            .is_some_and(|n| n > 0 && self.messages.is_multiple_of(n));
        Schedule {
            delay: start.saturating_duration_since(now) + extra,
            copies: if twice { 2 } else { 1 },
        }
    }
}

fn transfer_time(len_bytes: usize, bytes_per_sec: f64) -> Duration {
    Duration::from_secs_f64(len_bytes as f64 / bytes_per_sec.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ServiceModel {
        ServiceModel {
            max_extra_delay: Duration::ZERO,
            ..ServiceModel::default()
        }
    }

    #[test]
    fn one_ordering_key_goes_at_one_megabyte_a_second() {
        let mut state = ServiceModelState::new(model());
        let now = Instant::now();
        // Ten 1 MB messages handed over at once under one key: the last
        // may leave only after nine seconds.
        let delays: Vec<Duration> = (0..10).map(|_| state.schedule("key", 1_000_000, now).delay).collect();
        for (i, delay) in delays.iter().enumerate() {
            assert_eq!(delay.as_secs_f64().round() as usize, i, "{delays:?}");
        }
        // Another key is not held up by the first.
        assert_eq!(state.schedule("other", 1_000_000, now).delay, Duration::ZERO);
    }

    #[test]
    fn messages_without_a_key_are_not_limited_per_key() {
        let mut state = ServiceModelState::new(model());
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(state.schedule("", 9 << 20, now).delay, Duration::ZERO);
        }
    }

    #[test]
    fn the_topic_rate_holds_every_message() {
        let mut state = ServiceModelState::new(ServiceModel {
            topic_bytes_per_sec: Some(2e6),
            ..model()
        });
        let now = Instant::now();
        let last = (0..5).map(|_| state.schedule("", 1_000_000, now).delay).last();
        assert_eq!(last, Some(Duration::from_secs(2)));
        // Once the topic is idle again, nothing waits.
        assert_eq!(
            state.schedule("", 10, now + Duration::from_secs(10)).delay,
            Duration::ZERO
        );
    }

    #[test]
    fn extra_delays_reorder_and_every_nth_message_goes_twice() {
        let mut state = ServiceModelState::new(ServiceModel {
            duplicate_every: Some(4),
            ..ServiceModel::default()
        });
        let now = Instant::now();
        let schedules: Vec<Schedule> = (0..40).map(|_| state.schedule("", 100, now)).collect();
        assert!(schedules.iter().all(|s| s.delay <= Duration::from_millis(200)));
        assert!(
            schedules.windows(2).any(|w| w[0].delay > w[1].delay),
            "some overtake others"
        );
        let twice: Vec<usize> = (0..40).filter(|&i| schedules[i].copies == 2).collect();
        assert_eq!(twice, (3..40).step_by(4).collect::<Vec<_>>());
    }
}
