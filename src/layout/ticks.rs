//! "Nice" tick values (1, 2 or 5 times a power of ten) and their labels.

/// A tick: its value (in plot space: log10 of the data on a log axis) and
/// label. Minor ticks have no label, a shorter mark and no grid line.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
    pub minor: bool,
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
                minor: false,
            }
        })
        .collect()
}

/// Ticks of a log axis showing 10^min to 10^max, about `target` labelled:
/// values are exponents (log10 of the data).
///
/// Over a decade or more, labelled ticks sit at powers of ten (every
/// decade, or every few when they crowd), with minor ticks at 2..9 times
/// each power while a decade has room for them; when fewer than two powers
/// of ten are in view, 2x and 5x are labelled too. Within less than a
/// decade, the data's own nice ticks, placed at their logarithms.
pub fn log_ticks(min: f64, max: f64, target: usize) -> Vec<Tick> {
    let decades = max - min;
    if decades.is_nan() || decades <= 0.0 || !decades.is_finite() || target == 0 {
        return Vec::new();
    }
    if decades < 1.0 {
        return nice_ticks(10f64.powf(min), 10f64.powf(max), target)
            .into_iter()
            .filter(|t| t.value > 0.0)
            .map(|t| Tick {
                value: t.value.log10(),
                ..t
            })
            .collect();
    }
    let every = (decades / target as f64).ceil().max(1.0) as i64;
    let (first, last) = (min.floor() as i64, max.ceil() as i64);
    // Minor ticks while a decade spans about two labels' room or more.
    let minor = decades <= 2.0 * target as f64;
    let powers_in_view = (first..=last).filter(|k| (min..=max).contains(&(*k as f64))).count();
    let mut ticks = Vec::new();
    for k in first..=last {
        let power = k as f64;
        if k.rem_euclid(every) == 0 && (min..=max).contains(&power) {
            ticks.push(Tick {
                value: power,
                label: format_power(k, 1),
                minor: false,
            });
        }
        if !minor {
            continue;
        }
        for m in 2..=9u32 {
            let value = power + f64::from(m).log10();
            if !(min..=max).contains(&value) {
                continue;
            }
            let labelled = powers_in_view < 2 && (m == 2 || m == 5);
            ticks.push(Tick {
                value,
                label: if labelled { format_power(k, m) } else { String::new() },
                minor: !labelled,
            });
        }
    }
    ticks
}

/// `m` times 10^k as a label: plain from 0.01 to 100, `me-k` or `mek`
/// beyond.
fn format_power(k: i64, m: u32) -> String {
    match k {
        -2..=-1 => format!("{:.*}", k.unsigned_abs() as usize, f64::from(m) * 10f64.powi(k as i32)),
        0..=2 => format!("{}", u64::from(m) * 10u64.pow(k as u32)),
        _ => format!("{m}e{k}"),
    }
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
