//! Which items the function may touch. Every field must match; an empty selector matches all.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Selects resources. Every non-empty field must match; within a list any entry may match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    /// Kinds, e.g. `[Deployment, StatefulSet]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Names; `*` matches any run of characters, e.g. `ai-interviewer-*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Namespaces (an item without a namespace matches the empty string).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        *self == Selector::default()
    }

    pub fn matches(&self, item: &Value) -> bool {
        let meta = &item["metadata"];
        let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
        (self.kinds.is_empty() || self.kinds.iter().any(|k| *k == str_of(&item["kind"])))
            && (self.names.is_empty()
                || self
                    .names
                    .iter()
                    .any(|n| glob_match(n, meta["name"].as_str().unwrap_or_default())))
            && (self.namespaces.is_empty()
                || self
                    .namespaces
                    .iter()
                    .any(|n| *n == str_of(&meta["namespace"])))
            && map_contains(&meta["labels"], &self.labels)
            && map_contains(&meta["annotations"], &self.annotations)
    }
}

/// True when every `(k, v)` of `wanted` is in the mapping `actual`.
pub fn map_contains(actual: &Value, wanted: &BTreeMap<String, String>) -> bool {
    wanted
        .iter()
        .all(|(k, v)| actual.get(k).and_then(Value::as_str) == Some(v.as_str()))
}

/// Shell-style matching where `*` is any run of characters (no other metacharacters).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        assert!(glob_match("*-agent", "pdf-agent"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b", "ab-c"));
        assert!(glob_match("postgres", "postgres"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn empty_selects_all_and_fields_are_anded() {
        let item = json!({"kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}}});
        assert!(Selector::default().matches(&item));
        let s = Selector {
            kinds: vec!["Deployment".into()],
            labels: [("a".into(), "1".into())].into(),
            ..Default::default()
        };
        assert!(s.matches(&item));
        let s = Selector {
            kinds: vec!["Deployment".into()],
            names: vec!["api".into()],
            ..Default::default()
        };
        assert!(!s.matches(&item));
    }
}
