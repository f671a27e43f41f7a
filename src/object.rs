//! Identity and metadata of a raw object, read one way everywhere: every module that asks
//! "which object is this" (the model's indexes, results, the upserts, generated names) reads it
//! here, so an absent namespace or a non-string name means the same thing in all of them.

use serde_json::Value;

/// Identity of an item: (group, kind, namespace, name).
pub type Key = (String, String, String, String);

/// The group part of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The item's group (from its apiVersion).
pub fn group(item: &Value) -> &str {
    group_of(item["apiVersion"].as_str().unwrap_or_default())
}

/// The item's kind (empty when absent or not a string).
pub fn kind(item: &Value) -> &str {
    item["kind"].as_str().unwrap_or_default()
}

/// `metadata.name` (empty when absent or not a string).
pub fn name(item: &Value) -> &str {
    item["metadata"]["name"].as_str().unwrap_or_default()
}

/// `metadata.namespace` (empty when unset: the namespace the orchestrator applies it to).
pub fn namespace(item: &Value) -> &str {
    item["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// Namespace (empty when unset) and name of an item.
pub fn identity(item: &Value) -> (&str, &str) {
    (namespace(item), name(item))
}

/// The item is of this group and kind.
pub fn is(item: &Value, group: &str, kind: &str) -> bool {
    item["kind"] == kind && self::group(item) == group
}

/// The key of an item.
pub fn key_of(item: &Value) -> Key {
    (
        group(item).to_string(),
        kind(item).to_string(),
        namespace(item).to_string(),
        name(item).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_of_partial_objects() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}});
        assert_eq!(
            key_of(&d),
            (
                "apps".into(),
                "Deployment".into(),
                String::new(),
                "a".into()
            )
        );
        assert_eq!(identity(&json!({"metadata": {"name": 3}})), ("", ""));
        assert!(is(
            &json!({"apiVersion": "v1", "kind": "Service"}),
            "",
            "Service"
        ));
        assert_eq!(group_of("v1"), "");
    }
}
