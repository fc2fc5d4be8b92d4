//! Numbers as a reader wants them: thousands grouped, milliseconds with the digits that mean
//! something, durations in the unit that fits.

/// `12345.6` → `12,346`.
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    if value.abs() < 10.0 && value.fract() != 0.0 {
        return format!("{value:.1}");
    }
    grouped(value.round() as i64)
}

pub fn count(value: u64) -> String {
    grouped(value as i64)
}

fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// Milliseconds with three significant digits: `0.0421`, `4.21`, `421`, `4,210`.
pub fn ms(value: f64) -> String {
    match value.abs() {
        v if !v.is_finite() => "—".into(),
        v if v >= 100.0 => grouped(value.round() as i64),
        v if v >= 10.0 => format!("{value:.1}"),
        v if v >= 1.0 => format!("{value:.2}"),
        v if v >= 0.1 => format!("{value:.3}"),
        _ => format!("{value:.4}"),
    }
}

/// `0.8` → `800 ms`, `75` → `1 min 15 s`.
pub fn seconds(secs: f64) -> String {
    match secs {
        s if !s.is_finite() || s <= 0.0 => "—".into(),
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s if s < 60.0 => format!("{s:.1} s"),
        s => format!("{} min {:.0} s", (s / 60.0).floor(), s % 60.0),
    }
}

/// Nanoseconds (Cucumber JSON's step durations) as a duration.
pub fn nanos(nanos: u64) -> String {
    seconds(nanos as f64 / 1e9)
}

/// Console colours in error messages and logs mean nothing in a page.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(rate(12345.6), "12,346");
        assert_eq!(rate(999.0), "999");
        assert_eq!(ms(0.04213), "0.0421");
        assert_eq!(ms(4.213), "4.21");
        assert_eq!(ms(4213.0), "4,213");
        assert_eq!(seconds(75.0), "1 min 15 s");
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[0m text"), "red text");
    }
}
