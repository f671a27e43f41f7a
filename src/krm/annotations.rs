//! Orchestrator annotations: which ones matter, and how new resources get their own file.

use serde_json::{Map, Value};

use super::result::File;

pub const PATH: &str = "internal.config.kubernetes.io/path";
pub const INDEX: &str = "internal.config.kubernetes.io/index";
pub const LEGACY_PATH: &str = "config.kubernetes.io/path";
pub const LEGACY_INDEX: &str = "config.kubernetes.io/index";
pub const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";
pub const FUNCTION: &str = "config.kubernetes.io/function";

fn annotation<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    item.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// The file an item was read from (new or legacy annotation), for results.
pub fn source_file(item: &Value) -> Option<File> {
    let path = annotation(item, PATH).or_else(|| annotation(item, LEGACY_PATH))?;
    let index = annotation(item, INDEX)
        .or_else(|| annotation(item, LEGACY_INDEX))
        .and_then(|i| i.parse().ok());
    Some(File {
        path: path.to_string(),
        index,
    })
}

/// True for config-only objects (the Kptfile, function configs) that must never be changed.
pub fn is_local_config(item: &Value) -> bool {
    annotation(item, LOCAL_CONFIG).is_some_and(|v| v != "false")
}

/// Sets the path annotations of a generated resource so kpt writes it to a file of its own.
///
/// Both the internal and the legacy key are written: kpt fails a pipeline whose two forms
/// disagree, and older orchestrators read only the legacy one.
pub fn set_generated_path(resource: &mut Value, path: &str) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let metadata = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(PATH.into(), Value::String(path.into()));
        a.insert(LEGACY_PATH.into(), Value::String(path.into()));
    }
}

/// The directory part of the item's source path (`""` when it sits at the package root).
pub fn source_dir(item: &Value) -> Option<String> {
    let file = source_file(item)?;
    Some(match file.path.rfind('/') {
        Some(i) => file.path[..=i].to_string(),
        None => String::new(),
    })
}

/// Annotations that belong to the orchestrator, not to the resource's content.
pub fn is_orchestrator_annotation(key: &str) -> bool {
    key.starts_with("internal.config.kubernetes.io/")
        || key.starts_with("kustomize.config.k8s.io/")
        || key.starts_with("config.k8s.io/")
        || key == LEGACY_PATH
        || key == LEGACY_INDEX
}

/// Annotations an orchestrator reads or writes (`config.kubernetes.io/*` included): what a
/// plain stream must not gain, since whatever reads it (a Helm post-renderer, `kubectl apply`)
/// sends them on to the cluster.
fn is_orchestrator_key(key: &str) -> bool {
    is_orchestrator_annotation(key) || key.starts_with("config.kubernetes.io/")
}

/// The orchestrator annotations an item carries, by key.
pub fn orchestrator_keys(item: &Value) -> Vec<String> {
    item["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| is_orchestrator_key(k))
        .cloned()
        .collect()
}

/// Drops every orchestrator annotation not in `keep`, and the annotations map when that
/// leaves it empty (an empty map would be a change the input did not have).
pub fn retain_orchestrator_keys(item: &mut Value, keep: &[String]) {
    let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) else {
        return;
    };
    let before = a.len();
    a.retain(|k, _| !is_orchestrator_key(k) || keep.contains(k));
    if a.is_empty() && a.len() < before {
        meta.remove("annotations");
    }
}

/// A copy of a resource without the orchestrator's annotations: what two copies of one
/// resource are compared by.
pub fn without_orchestrator_annotations(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(a) = v
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.retain(|k, _| !is_orchestrator_annotation(k));
    }
    v
}
