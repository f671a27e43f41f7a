//! Kubernetes resource quantities (`500m`, `1Gi`, `1.5`, `2e3`), parsed so the config can be
//! validated and a limit compared with its request.

use std::fmt;

/// A parsed quantity, kept as its original spelling plus its value in base units.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    text: String,
    value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Kubernetes quantity (examples: 250m, 0.5, 512Mi, 2Gi, 1e3)")]
pub struct QuantityError(pub String);

const SUFFIXES: &[(&str, f64)] = &[
    ("Ki", 1024.0),
    ("Mi", 1024.0 * 1024.0),
    ("Gi", 1024.0 * 1024.0 * 1024.0),
    ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("Ei", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

impl Quantity {
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let err = || QuantityError(text.to_string());
        let t = text.trim();
        if t.is_empty() || t != text {
            return Err(err());
        }
        let (number, multiplier) = split_suffix(t).ok_or_else(err)?;
        if !is_decimal(number) {
            return Err(err());
        }
        let n: f64 = number.parse().map_err(|_| err())?;
        if !n.is_finite() || n < 0.0 {
            return Err(err());
        }
        Ok(Quantity {
            text: text.to_string(),
            value: n * multiplier,
        })
    }

    /// Reads a quantity from a manifest value: a string, or a bare number as YAML allows.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::String(s) => Self::parse(s).ok(),
            serde_json::Value::Number(n) => Self::parse(&n.to_string()).ok(),
            _ => None,
        }
    }

    /// The value in base units (cores, bytes).
    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn split_suffix(t: &str) -> Option<(&str, f64)> {
    // Exponent form: 1e3, 1.5E-2 (only when the tail is a valid signed integer).
    if let Some(i) = t.find(['e', 'E']) {
        let (mant, exp) = (&t[..i], &t[i + 1..]);
        if !exp.is_empty()
            && exp
                .trim_start_matches(['+', '-'])
                .chars()
                .all(|c| c.is_ascii_digit())
        {
            let e: i32 = exp.parse().ok()?;
            return Some((mant, 10f64.powi(e)));
        }
    }
    for (suffix, mult) in SUFFIXES {
        if let Some(number) = t.strip_suffix(suffix) {
            return Some((number, *mult));
        }
    }
    Some((t, 1.0))
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => (!int.is_empty() || !f.is_empty()) && digits(int) && digits(f),
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!(Quantity::parse("500m").unwrap().value(), 0.5);
        assert_eq!(Quantity::parse("1").unwrap().value(), 1.0);
        assert_eq!(Quantity::parse("1Gi").unwrap().value(), 1073741824.0);
        assert_eq!(Quantity::parse("1e3").unwrap().value(), 1000.0);
        assert_eq!(Quantity::parse("0.5").unwrap().value(), 0.5);
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["1.5.0Gi", "", "Gi", "1GB", "-1", "abc", " 1"] {
            assert!(Quantity::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
