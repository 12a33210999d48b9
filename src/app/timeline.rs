//! The timeline strip along the bottom of the window: which step is shown,
//! moving to another, and playing the run again.
//!
//! The window shows either the live end of the log (following it as it
//! grows) or the state right after one step, taken from the store's step
//! index ([`crate::store::Timeline`]): moving costs a snapshot and the
//! upload of what differs (see [`crate::store`]), never a pass over the log.
//! While a step is shown, records keep arriving and the strip grows; the
//! plots stay at that step.

use std::time::{Duration, Instant};

use crate::layout::{Rect, Style};
use crate::render::{Anchor, Label, Overlay, SolidRect, linear_rgba_of};
use crate::store::Store;

/// Play speeds: the run's own pace times 2^k for k in this range.
const SPEED_STEPS: std::ops::RangeInclusive<i32> = -6..=10;

/// The longest a played step stays up, whatever the run's pace: a run that
/// paused for an hour plays on after this.
const MAX_STEP_WAIT: Duration = Duration::from_secs(2);

/// Playing the run again from a step at its own pace times the speed.
#[derive(Clone, Copy, Debug)]
struct Play {
    /// The step the pace is measured from, its wall time, and when it was
    /// shown.
    from_step: u64,
    from_wall_ns: i64,
    started: Instant,
}

/// Where the window is on the run's timeline.
#[derive(Debug, Default)]
pub struct TimelineState {
    /// The step shown, or `None` for the live end.
    pub shown: Option<u64>,
    play: Option<Play>,
    /// Speed as a power of two.
    speed_exp: i32,
    /// A press on the strip is being dragged.
    pub dragging: bool,
}

/// Where the strip and its parts are in the window.
#[derive(Clone, Copy, Debug)]
pub struct StripGeometry {
    pub strip: Rect,
    /// The track steps are placed along: step 0 at its left end, the last
    /// step at its right end.
    pub track: Rect,
    /// The "live" button right of the track.
    pub live: Rect,
}

impl StripGeometry {
    /// The strip's height for `style`.
    pub fn height(style: &Style) -> f32 {
        (style.font_size * 3.8).round()
    }

    /// The strip at the bottom of a `width` x `height` window.
    pub fn new(width: f32, height: f32, style: &Style) -> Self {
        let h = Self::height(style).min(height);
        let strip = Rect::new(0.0, height - h, width, h);
        let pad = style.font_size;
        let live_w = style.font_size * 4.0;
        let live = Rect::new(
            width - pad - live_w,
            strip.y + h * 0.5,
            live_w,
            (h * 0.5 - 4.0).max(1.0),
        );
        let track = Rect::new(
            pad,
            strip.y + h * 0.55,
            (live.x - 2.0 * pad).max(1.0),
            (h * 0.4 - 4.0).max(1.0),
        );
        Self { strip, track, live }
    }

    /// The step under window x coordinate `x`, of `steps` steps.
    pub fn step_at(&self, x: f32, steps: u64) -> Option<u64> {
        let last = steps.checked_sub(1)?;
        let t = ((x - self.track.x) / self.track.width).clamp(0.0, 1.0) as f64;
        Some((t * last as f64).round() as u64)
    }

    /// The x coordinate of step `k` of `steps`.
    pub fn x_of(&self, k: u64, steps: u64) -> f32 {
        let last = steps.saturating_sub(1).max(1);
        self.track.x + self.track.width * (k.min(last) as f64 / last as f64) as f32
    }
}

impl TimelineState {
    pub fn speed(&self) -> f64 {
        2f64.powi(self.speed_exp)
    }

    pub fn is_playing(&self) -> bool {
        self.play.is_some()
    }

    /// The step a move starts from: the one shown, or live, the last one.
    fn current(&self, store: &Store) -> Option<u64> {
        match self.shown {
            Some(k) => Some(k),
            None => {
                let last = store.steps().checked_sub(1)?;
                // Live data past the last step's end counts as one step on.
                let past = store.step(last).is_some_and(|m| m.end < store.records());
                Some(if past { last + 1 } else { last })
            }
        }
    }

    /// Shows the step `delta` steps from the current one, clamped to the
    /// run's steps. Stops playing.
    pub fn move_by(&mut self, store: &Store, delta: i64) {
        let steps = store.steps();
        let Some(current) = self.current(store) else { return };
        let Some(last) = steps.checked_sub(1) else { return };
        let to = current.saturating_add_signed(delta).min(last);
        self.show(Some(to));
    }

    /// Shows step `k` (clamped to the steps there are), or live.
    pub fn show(&mut self, k: Option<u64>) {
        self.play = None;
        self.shown = k;
    }

    pub fn first(&mut self, store: &Store) {
        if store.steps() > 0 {
            self.show(Some(0));
        }
    }

    /// Back to the live end, following new data.
    pub fn live(&mut self) {
        self.show(None);
    }

    /// Starts playing from the step shown (from step 0 when at the end), or
    /// stops.
    pub fn toggle_play(&mut self, store: &Store, now: Instant) {
        if self.play.take().is_some() {
            return;
        }
        let steps = store.steps();
        let Some(last) = steps.checked_sub(1) else { return };
        let from = match self.shown {
            Some(k) if k < last => k,
            _ => 0,
        };
        let Some(mark) = store.step(from) else { return };
        self.shown = Some(from);
        self.play = Some(Play {
            from_step: from,
            from_wall_ns: mark.wall_time_ns,
            started: now,
        });
    }

    /// Faster (`up`) or slower play; playing goes on from where it is.
    pub fn change_speed(&mut self, store: &Store, up: bool, now: Instant) {
        let exp = self.speed_exp + if up { 1 } else { -1 };
        if !SPEED_STEPS.contains(&exp) {
            return;
        }
        self.speed_exp = exp;
        if let (Some(play), Some(k)) = (&mut self.play, self.shown)
            && let Some(mark) = store.step(k)
        {
            play.from_step = k;
            play.from_wall_ns = mark.wall_time_ns;
            play.started = now;
        }
    }

    /// Advances a playing timeline to the step whose time has come; returns
    /// when the next step is due (`None` when not playing).
    pub fn advance(&mut self, store: &Store, now: Instant) -> Option<Instant> {
        let play = self.play.as_mut()?;
        let speed = 2f64.powi(self.speed_exp);
        let mut k = self.shown.unwrap_or(play.from_step);
        loop {
            let Some(next) = store.step(k + 1) else {
                // At the last step: wait for the run to make more.
                self.shown = Some(k);
                return Some(now + Duration::from_millis(250));
            };
            let run_ns = (next.wall_time_ns.saturating_sub(play.from_wall_ns)).max(0) as f64;
            let due = play.started + Duration::from_secs_f64(run_ns / 1e9 / speed);
            if due <= now {
                k += 1;
                continue;
            }
            self.shown = Some(k);
            if due > now + MAX_STEP_WAIT {
                // A long pause in the run: go on after a while, measuring
                // the pace from the next step (fixed, so that redraws in
                // between do not put it off).
                play.from_step = k + 1;
                play.from_wall_ns = next.wall_time_ns;
                play.started = now + MAX_STEP_WAIT;
                return Some(play.started);
            }
            return Some(due);
        }
    }

    /// The strip: track, step ticks, the shown step, the live button and a
    /// line of text about the step.
    /// `extra` is appended to the strip's line of text (view settings).
    pub fn overlay(
        &self,
        store: &Store,
        geometry: &StripGeometry,
        style: &Style,
        paused: bool,
        extra: &str,
        overlay: &mut Overlay,
    ) {
        let StripGeometry { strip, track, live } = *geometry;
        let rect = |overlay: &mut Overlay, r: Rect, color: [u8; 3], alpha: f32| {
            overlay.rects.push(SolidRect {
                min: [r.x, r.y],
                max: [r.right(), r.bottom()],
                color: linear_rgba_of(color, alpha),
            });
        };
        rect(overlay, strip, [0xf2, 0xf2, 0xee], 1.0);
        rect(
            overlay,
            Rect::new(strip.x, strip.y, strip.width, 1.0),
            [0xcc, 0xcc, 0xcc],
            1.0,
        );
        let mid = track.y + track.height / 2.0;
        rect(
            overlay,
            Rect::new(track.x, mid - 1.0, track.width, 2.0),
            [0xbb, 0xbb, 0xbb],
            1.0,
        );
        let steps = store.steps();
        // Ticks: every step while they are 4 px apart, else every 10^n-th
        // (or 2, 5 times that).
        if steps > 0 {
            let per_px = steps as f64 / track.width.max(1.0) as f64;
            let every = nice_step((per_px * 4.0).max(1.0));
            let mut k = 0;
            while k < steps {
                let major = (k / every).is_multiple_of(5);
                let h = if major { track.height } else { track.height * 0.5 };
                let x = geometry.x_of(k, steps);
                rect(
                    overlay,
                    Rect::new(x - 0.5, mid - h / 2.0, 1.0, h),
                    [0x99, 0x99, 0x99],
                    1.0,
                );
                k += every;
            }
        }
        let following = self.shown.is_none();
        let live_color = if following {
            [0xd6, 0x27, 0x28]
        } else {
            [0xaa, 0xaa, 0xaa]
        };
        rect(overlay, live, live_color, 1.0);
        let label = |text: String, anchor: [f32; 2], placement, color| Label {
            text,
            size: style.font_size,
            anchor,
            placement,
            color,
            clip: strip,
        };
        overlay.labels.push(label(
            "live".to_owned(),
            [
                live.x + live.width / 2.0,
                live.y + (live.height - style.font_size * 1.25) / 2.0,
            ],
            Anchor::TopCenter,
            [0xff, 0xff, 0xff],
        ));
        let shown = match self.shown {
            Some(k) => Some(k),
            None => steps.checked_sub(1),
        };
        if let Some(k) = shown {
            let x = geometry.x_of(k, steps);
            let color = if following {
                [0xd6, 0x27, 0x28]
            } else {
                [0x1f, 0x77, 0xb4]
            };
            rect(
                overlay,
                Rect::new(x - 2.0, track.y - 2.0, 4.0, track.height + 4.0),
                color,
                1.0,
            );
        }
        overlay.labels.push(label(
            if extra.is_empty() {
                self.describe(store, paused)
            } else {
                format!("{}  |  {extra}", self.describe(store, paused))
            },
            [track.x, strip.y + style.font_size * 0.45],
            Anchor::TopLeft,
            [0x22, 0x22, 0x22],
        ));
    }

    /// "step 12 of 40 | 2026-11-29 10:01:02 UTC | +0:01:40 | playing x2".
    pub fn describe(&self, store: &Store, paused: bool) -> String {
        let steps = store.steps();
        let mut parts = Vec::new();
        let k = match self.shown {
            Some(k) => Some(k),
            None => steps.checked_sub(1),
        };
        match (k.and_then(|k| store.step(k).map(|m| (k, m))), self.shown) {
            (Some((k, mark)), _) => {
                let mut text = format!("step {k} of {steps}");
                if mark.number != k {
                    text.push_str(&format!(" (logged as {})", mark.number));
                }
                if self.shown.is_none() {
                    text.push_str(if paused { ", live (paused)" } else { ", live" });
                }
                parts.push(text);
                parts.push(format_wall_time(mark.wall_time_ns));
                if let Some(start) = store.timeline().start_wall_time_ns() {
                    parts.push(format!("+{}", format_duration(mark.wall_time_ns.saturating_sub(start))));
                }
            }
            (None, _) => parts.push("no steps yet".to_owned()),
        }
        let speed = format_speed(self.speed());
        parts.push(if self.is_playing() {
            format!("playing {speed}")
        } else {
            format!("p plays at {speed}")
        });
        parts.join("  |  ")
    }
}

/// 1, 2 or 5 times a power of ten, at least `at_least`.
fn nice_step(at_least: f64) -> u64 {
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = base.saturating_mul(m);
            if step as f64 >= at_least || step == u64::MAX {
                return step;
            }
        }
        base = base.saturating_mul(10);
    }
}

fn format_speed(speed: f64) -> String {
    if speed >= 1.0 {
        format!("x{speed:.0}")
    } else {
        format!("x1/{:.0}", 1.0 / speed)
    }
}

/// `2026-11-29 10:01:02 UTC` for nanoseconds since the Unix epoch.
pub fn format_wall_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// `1:02:03`, `2:03` or `4.5 s` for a duration in nanoseconds.
pub fn format_duration(ns: i64) -> String {
    let secs = ns.max(0) as f64 / 1e9;
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let whole = secs as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_read_as_utc_dates() {
        assert_eq!(format_wall_time(0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(
            format_wall_time(1_709_210_096 * 1_000_000_000),
            "2024-02-29 12:34:56 UTC"
        );
        assert_eq!(format_duration(4_500_000_000), "4.5 s");
        assert_eq!(format_duration(3_723_000_000_000), "1:02:03");
    }

    #[test]
    fn steps_map_to_the_track_and_back() {
        let g = StripGeometry::new(1000.0, 800.0, &Style::default());
        for steps in [1u64, 2, 7, 10_000] {
            for k in [0, steps / 3, steps - 1] {
                assert_eq!(g.step_at(g.x_of(k, steps), steps), Some(k), "{k} of {steps}");
            }
        }
        assert_eq!(g.step_at(500.0, 0), None);
        assert!(g.strip.bottom() == 800.0 && g.live.right() < 1000.0);
        assert_eq!(nice_step(1.0), 1);
        assert_eq!(nice_step(3.0), 5);
        assert_eq!(nice_step(11.0), 20);
    }
}
