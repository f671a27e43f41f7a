//! Which class a workload belongs to. Order: the `apply-defaults.dev/class` annotation; the
//! `app.kubernetes.io/component` label (equal to a class name, or listed in its `components`);
//! class `labels`; `names`; `images`; the fallback class. Within names and images the most
//! specific pattern (the longest literal text) wins, ties broken by class name.

use serde_json::Value;

use crate::config::selector::{glob_match, map_contains};
use crate::config::{Class, Config};
use crate::workload::{self, WorkloadKind};

pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// How the class was decided, for results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Annotation,
    Component,
    Labels,
    Name,
    Image,
    Fallback,
}

/// The class of a workload, or an error naming an unknown class in the annotation.
pub fn classify<'c>(
    config: &'c Config,
    item: &Value,
    kind: &WorkloadKind,
) -> Result<(&'c Class, Reason), String> {
    let meta = &item["metadata"];
    let template_meta = workload::pod_template(item, kind).map(|t| &t["metadata"]);
    let annotated = meta["annotations"][crate::optout::CLASS]
        .as_str()
        .or_else(|| template_meta.and_then(|m| m["annotations"][crate::optout::CLASS].as_str()));
    if let Some(name) = annotated {
        return config
            .class(name)
            .map(|c| (c, Reason::Annotation))
            .ok_or_else(|| {
                format!(
                    "annotation {} names unknown class `{name}`; defined classes: {}",
                    crate::optout::CLASS,
                    config
                        .classes
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
    }
    let labels = |key: &str| {
        meta["labels"][key]
            .as_str()
            .or_else(|| template_meta.and_then(|m| m["labels"][key].as_str()))
    };
    if let Some(component) = labels(COMPONENT_LABEL) {
        if let Some(c) = config.class(component) {
            return Ok((c, Reason::Component));
        }
        if let Some(c) = config
            .classes
            .values()
            .find(|c| c.spec.matches.components.iter().any(|x| x == component))
        {
            return Ok((c, Reason::Component));
        }
    }
    let pod_labels = template_meta.map(|m| &m["labels"]).unwrap_or(&Value::Null);
    if let Some(c) = config.classes.values().find(|c| {
        !c.spec.matches.labels.is_empty() && map_contains(pod_labels, &c.spec.matches.labels)
    }) {
        return Ok((c, Reason::Labels));
    }
    let name = meta["name"].as_str().unwrap_or_default();
    if let Some(c) = most_specific(config, |c| &c.spec.matches.names, |p| glob_match(p, name)) {
        return Ok((c, Reason::Name));
    }
    let images = workload::pod_spec(item, kind)
        .map(workload::image_repositories)
        .unwrap_or_default();
    if let Some(c) = most_specific(
        config,
        |c| &c.spec.matches.images,
        |p| images.iter().any(|i| glob_match(p, i)),
    ) {
        return Ok((c, Reason::Image));
    }
    Ok((config.fallback(), Reason::Fallback))
}

fn most_specific(
    config: &Config,
    patterns: impl Fn(&Class) -> &Vec<String>,
    hit: impl Fn(&str) -> bool,
) -> Option<&Class> {
    config
        .classes
        .values()
        .flat_map(|c| {
            patterns(c)
                .iter()
                .filter(|p| hit(p))
                .map(move |p| (p.replace('*', "").len(), c))
        })
        .max_by(|(la, ca), (lb, cb)| la.cmp(lb).then_with(|| cb.name.cmp(&ca.name)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(name: &str, labels: Value, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    fn class_of(item: &Value) -> String {
        let c = Config::shipped();
        let k = workload::kind_of(item, &[]).unwrap();
        classify(&c, item, &k).unwrap().0.name.clone()
    }

    #[test]
    fn component_label_first() {
        assert_eq!(
            class_of(&deploy("x-agent", json!({COMPONENT_LABEL: "backend"}), "x")),
            "backend"
        );
    }

    #[test]
    fn names_then_images_then_fallback() {
        // Issue 15: no name globs in the shipped profile (a chart's `datadog-agent` is not an
        // MCP agent); exact names still match.
        assert_eq!(class_of(&deploy("pdf-agent", json!({}), "x")), "default");
        assert_eq!(class_of(&deploy("backend", json!({}), "x")), "backend");
        assert_eq!(
            class_of(&deploy("db", json!({}), "docker.io/library/postgres:16")),
            "postgres"
        );
        assert_eq!(class_of(&deploy("thing", json!({}), "busybox")), "default");
    }

    #[test]
    fn unknown_annotated_class_is_an_error() {
        let mut d = deploy("x", json!({}), "x");
        d["metadata"]["annotations"] = json!({crate::optout::CLASS: "nope"});
        let c = Config::shipped();
        let k = workload::kind_of(&d, &[]).unwrap();
        assert!(
            classify(&c, &d, &k)
                .unwrap_err()
                .contains("unknown class `nope`")
        );
    }
}
