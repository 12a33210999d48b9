//! The reader thread: pulls records from the source and hands them to the
//! event loop, waking it in batches while catching up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use winit::event_loop::EventLoopProxy;

use crate::source::{POLL_INTERVAL, Poll, Reader, Update};

/// What the reader thread sends the window: records and restarts, each
/// with the part of the source (the log of several) it came from, and the
/// name of each part before its first update.
#[allow(clippy::large_enum_variant)] // records move through once, like `Update`
pub(super) enum Feed {
    Part(usize, String),
    Update(usize, Update),
}

/// What the reader thread tells the event loop.
#[derive(Debug)]
pub(super) enum AppEvent {
    /// Records are waiting in the channel.
    Data,
    /// The source reached its end and is not followed.
    SourceDone,
    /// The source failed.
    SourceError(String),
    /// Ctrl-C or SIGTERM.
    Quit,
}

/// Pulls records from the source on its own thread.
pub(super) fn spawn_reader(
    mut reader: Reader<'static>,
    sender: Sender<Feed>,
    proxy: EventLoopProxy<AppEvent>,
    quit: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let thread = std::thread::Builder::new()
        .name("streamvis-reader".into())
        .spawn(move || {
            let mut pending = 0usize;
            let mut parts = 0;
            let wake = |pending: &mut usize| {
                if *pending > 0 {
                    let _ = proxy.send_event(AppEvent::Data);
                    *pending = 0;
                }
            };
            while !quit.load(Ordering::Relaxed) {
                match reader.poll() {
                    Ok(Poll::Update(update)) => {
                        let part = reader.part();
                        while parts <= part {
                            if sender.send(Feed::Part(parts, reader.part_name(parts))).is_err() {
                                return;
                            }
                            parts += 1;
                        }
                        if sender.send(Feed::Update(part, update)).is_err() {
                            return;
                        }
                        pending += 1;
                        // Wake the window in batches while catching up.
                        if pending >= 1024 {
                            wake(&mut pending);
                        }
                    }
                    Ok(Poll::Waiting) => {
                        wake(&mut pending);
                        std::thread::sleep(POLL_INTERVAL);
                    }
                    Ok(Poll::Finished) => {
                        wake(&mut pending);
                        let _ = proxy.send_event(if reader.is_stopped() {
                            AppEvent::Quit
                        } else {
                            AppEvent::SourceDone
                        });
                        // Keep the source (and a demo's writer) alive until
                        // the window closes.
                        while !quit.load(Ordering::Relaxed) && !reader.is_stopped() {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        if reader.is_stopped() {
                            let _ = proxy.send_event(AppEvent::Quit);
                        }
                        return;
                    }
                    Err(err) => {
                        wake(&mut pending);
                        let _ = proxy.send_event(AppEvent::SourceError(format!("{err:#}")));
                        return;
                    }
                }
            }
        })?;
    Ok(thread)
}
