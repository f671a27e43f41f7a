//! The human change report (stderr): a compact table per resource, and a diff view.

use serde_json::Value;

use crate::pipeline::{ChangedResource, Summary, describe};

/// A table of what was added per resource.
pub fn table(summary: &Summary) -> String {
    if summary.changed.is_empty() {
        return "apply-defaults: nothing to change\n".to_string();
    }
    let rows: Vec<(String, String)> = summary
        .changed
        .iter()
        .map(|c| (c.resource.display(), row_text(c)))
        .collect();
    let width = rows.iter().map(|(r, _)| r.len()).max().unwrap_or(0);
    let mut out = format!("{:width$}  CHANGES\n", "RESOURCE");
    for (r, t) in rows {
        out.push_str(&format!("{r:width$}  {t}\n"));
    }
    out
}

fn row_text(c: &ChangedResource) -> String {
    if c.generated {
        "generated".to_string()
    } else {
        describe(c).trim_start_matches("applied ").to_string()
    }
}

/// A unified-style diff of each changed item, by YAML lines.
pub fn diff(before: &[Value], after: &[Value]) -> String {
    let mut out = String::new();
    // The pipeline keeps every item in place and appends what it generates, so items pair up
    // by position (by identity, two nameless items would be diffed against each other).
    for (i, item) in after.iter().enumerate().filter(|(_, v)| v.is_object()) {
        let key = crate::inventory::key_of(item);
        let old = before.get(i).filter(|v| v.is_object());
        if old == Some(item) {
            continue;
        }
        let name = format!("{}/{}", key.1, key.3);
        let old_text = old.map(|v| crate::krm::yaml::to_string(&redacted(v)).unwrap_or_default()).unwrap_or_default();
        let new_text = crate::krm::yaml::to_string(&redacted(item)).unwrap_or_default();
        out.push_str(&format!("--- a/{name}\n+++ b/{name}\n"));
        out.push_str(&line_diff(&old_text, &new_text));
    }
    out
}

/// The item with a Secret's values masked: stderr ends up in CI logs, and the keys are enough
/// to see what changed.
fn redacted(item: &Value) -> std::borrow::Cow<'_, Value> {
    if item["kind"] != "Secret" {
        return std::borrow::Cow::Borrowed(item);
    }
    let mut item = item.clone();
    for field in ["data", "stringData"] {
        match item.get_mut(field) {
            Some(Value::Object(map)) => map.values_mut().for_each(|v| *v = Value::String("<redacted>".into())),
            Some(other) => *other = Value::String("<redacted>".into()),
            None => {}
        }
    }
    std::borrow::Cow::Owned(item)
}

/// Minimal LCS line diff; items are small, so quadratic per item is fine.
fn line_diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        }
    }
    out
}
