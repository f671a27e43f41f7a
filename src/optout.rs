//! Opt-out annotations: a resource or a single container can refuse any default.
//!
//! - `apply-defaults.dev/skip: "true"` (or `all`) leaves the resource alone;
//!   `apply-defaults.dev/skip: "probes,resources"` skips just those defaults.
//! - `apply-defaults.dev/skip-containers: "istio-proxy; migrate=probes,resources"` skips every
//!   default for `istio-proxy` and the named ones for `migrate`.
//! - `apply-defaults.dev/class: NAME` picks the workload's class explicitly.
//!
//! They are read from the resource's metadata and, for workloads, from the pod template's
//! metadata too (Helm charts often let users set only pod annotations).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::DefaultKind;

pub const SKIP: &str = "apply-defaults.dev/skip";
pub const SKIP_CONTAINERS: &str = "apply-defaults.dev/skip-containers";
pub const CLASS: &str = "apply-defaults.dev/class";
/// The function's own annotation group: a key in it that is none of [`KNOWN`] is a typo.
pub const GROUP: &str = "apply-defaults.dev/";
/// Every annotation in [`GROUP`] the function reads or writes.
pub const KNOWN: [&str; 4] = [SKIP, SKIP_CONTAINERS, CLASS, crate::generated::GENERATED];

/// Problems in the opt-out annotations of one workload, each with the field path of the
/// annotation the user wrote: `maps` pairs each annotations path (`metadata.annotations`, the
/// pod template's) with its map; `containers` are the pod's container names. A typo in the
/// function's own annotations would otherwise be ignored silently (kubectl warns on unknown
/// fields the same way).
pub fn problems(maps: &[(String, Option<&Value>)], containers: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, ann) in maps {
        let Some(ann) = ann.and_then(Value::as_object) else {
            continue;
        };
        for key in ann.keys().filter(|k| k.starts_with(GROUP)) {
            if KNOWN.contains(&key.as_str()) {
                continue;
            }
            let mut valid = crate::suggest::closest(key, KNOWN);
            let rest: Vec<&str> = KNOWN.into_iter().filter(|k| !valid.contains(k)).collect();
            valid.extend(rest);
            out.push((
                format!("{at}.{key}"),
                format!(
                    "unknown annotation `{key}` is ignored; valid annotations: {}",
                    valid.join(", ")
                ),
            ));
        }
        for key in [SKIP, SKIP_CONTAINERS] {
            let Some(v) = ann.get(key).and_then(Value::as_str) else {
                continue;
            };
            let mut one = OptOut::default();
            if key == SKIP {
                one.add_defaults(v);
            } else {
                one.add_containers(v);
            }
            for name in &one.unknown {
                let names: Vec<&str> = DefaultKind::ALL.iter().map(|d| d.name()).collect();
                out.push((
                    format!("{at}.{key}"),
                    format!(
                        "`{key}` names unknown default `{name}`{}; known: {}",
                        crate::suggest::did_you_mean(&crate::suggest::closest(name, names)),
                        DefaultKind::names()
                    ),
                ));
            }
            for c in one
                .containers
                .keys()
                .filter(|c| !containers.contains(&c.as_str()))
            {
                out.push((
                    format!("{at}.{key}"),
                    format!(
                        "`{key}` names container `{c}`, which the pod does not have{}; the pod's \
                         containers: {}",
                        crate::suggest::did_you_mean(&crate::suggest::closest(
                            c,
                            containers.iter().copied()
                        )),
                        containers.join(", ")
                    ),
                ));
            }
        }
    }
    out
}

/// What a resource opted out of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptOut {
    /// Skip everything.
    pub all: bool,
    pub defaults: BTreeSet<DefaultKind>,
    /// Per container name: `None` skips every default, `Some(set)` only those.
    pub containers: BTreeMap<String, Option<BTreeSet<DefaultKind>>>,
    /// Names in the annotations that are not defaults (reported as warnings).
    pub unknown: Vec<String>,
}

impl OptOut {
    /// Reads the opt-outs from the annotations of the resource and of its pod template.
    pub fn read(annotation_maps: &[Option<&Value>]) -> OptOut {
        let mut out = OptOut::default();
        for ann in annotation_maps.iter().flatten() {
            if let Some(v) = ann.get(SKIP).and_then(Value::as_str) {
                out.add_defaults(v);
            }
            if let Some(v) = ann.get(SKIP_CONTAINERS).and_then(Value::as_str) {
                out.add_containers(v);
            }
        }
        out
    }

    fn parse_list(&mut self, list: &str) -> Option<BTreeSet<DefaultKind>> {
        let mut set = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "true" | "all" | "*" => return None,
                _ => match DefaultKind::parse(name) {
                    Some(d) => {
                        set.insert(d);
                    }
                    None => self.unknown.push(name.to_string()),
                },
            }
        }
        Some(set)
    }

    fn add_defaults(&mut self, v: &str) {
        if v.trim() == "false" {
            return;
        }
        match self.parse_list(v) {
            None => self.all = true,
            Some(set) => self.defaults.extend(set),
        }
    }

    fn add_containers(&mut self, v: &str) {
        for entry in v
            .split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (name, list) = match entry.split_once('=') {
                Some((n, l)) => (n.trim(), Some(l)),
                None => (entry, None),
            };
            let parsed = match list {
                None => None,
                Some(l) => self.parse_list(l),
            };
            let slot = self
                .containers
                .entry(name.to_string())
                .or_insert(Some(BTreeSet::new()));
            match (slot.as_mut(), parsed) {
                (Some(existing), Some(new)) => existing.extend(new),
                _ => *slot = None,
            }
        }
    }

    /// True when the resource skips this default entirely.
    pub fn skips(&self, d: DefaultKind) -> bool {
        self.all || self.defaults.contains(&d)
    }

    /// True when this container skips this default.
    pub fn skips_container(&self, container: &str, d: DefaultKind) -> bool {
        self.skips(d)
            || match self.containers.get(container) {
                Some(None) => true,
                Some(Some(set)) => set.contains(&d),
                None => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_and_container_opt_outs() {
        let ann =
            json!({SKIP: "probes", SKIP_CONTAINERS: "istio-proxy; migrate=resources,security"});
        let o = OptOut::read(&[Some(&ann)]);
        assert!(o.skips(DefaultKind::Probes));
        assert!(!o.skips(DefaultKind::Resources));
        assert!(o.skips_container("istio-proxy", DefaultKind::Resources));
        assert!(o.skips_container("migrate", DefaultKind::Security));
        assert!(!o.skips_container("migrate", DefaultKind::Replicas));
        assert!(!o.skips_container("app", DefaultKind::Resources));
    }

    #[test]
    fn true_skips_all_and_unknown_names_are_kept() {
        let o = OptOut::read(&[Some(&json!({SKIP: "true"}))]);
        assert!(o.skips(DefaultKind::NetworkPolicy));
        let o = OptOut::read(&[Some(&json!({SKIP: "probez"}))]);
        assert_eq!(o.unknown, ["probez"]);
    }
}
