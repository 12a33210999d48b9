//! "Nice" tick values (1, 2 or 5 times a power of ten) and their labels.

/// A tick: its value and label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
}

/// Ticks inside `[min, max]`, about `target` of them, at a step of 1, 2 or
/// 5 times a power of ten; labels share one precision, enough to tell
/// neighbours apart.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<Tick> {
    let span = max - min;
    if span.is_nan() || span <= 0.0 || !span.is_finite() || target == 0 {
        return Vec::new();
    }
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    // The candidate step whose tick count is closest to the target.
    let multiple = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .min_by(|a, b| {
            let miss = |m: f64| (span / (m * magnitude) - target as f64).abs();
            miss(*a).total_cmp(&miss(*b))
        })
        .unwrap_or(1.0);
    let step = multiple * magnitude;
    // i * step, computed so that e.g. 3 * 0.1 comes out as 0.3: dividing
    // exact integers by a power of ten rounds once.
    let inverse = (1.0 / magnitude).round();
    let value_of = |i: i64| {
        if magnitude < 1.0 {
            i as f64 * multiple / inverse
        } else {
            i as f64 * step
        }
    };
    let first = (min / step).ceil() as i64;
    let last = (max / step).floor() as i64;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let largest = min.abs().max(max.abs());
    let scientific = largest >= 1e6 || (largest > 0.0 && largest < 1e-4 && step < 1e-4);
    (first..=last)
        .map(|i| {
            let value = value_of(i);
            let value = if value.abs() < step * 1e-9 { 0.0 } else { value };
            Tick {
                value,
                label: if scientific {
                    format_scientific(value, step)
                } else {
                    format!("{value:.decimals$}")
                },
            }
        })
        .collect()
}

/// Digits after the point in scientific labels: enough to show `step`.
fn format_scientific(value: f64, step: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let exponent = value.abs().log10().floor();
    let digits = (exponent - step.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{value:.digits$e}")
}

/// A value for a hover read-out: up to 6 significant digits.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.4e}");
    }
    let decimals = if magnitude == 0.0 {
        0
    } else {
        (5 - magnitude.log10().floor() as i32).clamp(0, 9) as usize
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A count for a status note: 1234 -> "1234", 1_234_567 -> "1.2M".
pub fn format_count(n: usize) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}
