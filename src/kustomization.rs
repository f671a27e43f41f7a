//! A kustomize directory run through kpt (`kpt fn eval` on it hands over its
//! `kustomization.yaml` as an item): the files this run generates are listed in the
//! Kustomization's `resources`, or the next `kustomize build` of the directory loses them.

use serde_json::Value;

use crate::generated;
use crate::krm::{FnResult, annotations};

/// The file names kustomize reads a directory's Kustomization from.
const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The directory (`""` or ending in `/`) of a Kustomization item read from its own file.
/// kustomize does not need `apiVersion` and `kind` in a kustomization file, and many have
/// neither: an item from such a file with neither counts too.
fn kustomization_dir(item: &Value) -> Option<String> {
    let typed = item["kind"] == "Kustomization"
        && item["apiVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("kustomize.config.k8s.io/"));
    let bare = item.is_object() && item.get("kind").is_none() && item.get("apiVersion").is_none();
    if !typed && !bare {
        return None;
    }
    let file = annotations::source_file(item)?;
    let (dir, name) = match file.path.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name.to_string()),
        None => (String::new(), file.path.clone()),
    };
    FILE_NAMES.contains(&name.as_str()).then_some(dir)
}

/// True for a kustomization file's item: not a Kubernetes object, so the function neither
/// changes it (but for [`list_generated`]) nor calls its missing `apiVersion` an error.
pub fn is_kustomization_file(item: &Value) -> bool {
    kustomization_dir(item).is_some()
}

/// True when the items hold a Kustomization read from a directory's kustomization file.
pub fn present(items: &[Value]) -> bool {
    items.iter().any(|i| kustomization_dir(i).is_some())
}

/// Adds each generated resource's file to the `resources` of the Kustomization nearest above
/// it (the one whose build reads that directory; a nearer one is what an outer one lists), and
/// says so in one info result per Kustomization changed. Files already listed are left, so a
/// second run changes nothing.
pub fn list_generated(items: &mut [Value]) -> Vec<FnResult> {
    let dirs: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| kustomization_dir(item).map(|d| (i, d)))
        .collect();
    if dirs.is_empty() {
        return Vec::new();
    }
    let mut files: Vec<String> = Vec::new();
    for item in items.iter().filter(|i| generated::is_generated(i)) {
        if let Some(f) = annotations::source_file(item) {
            if !files.contains(&f.path) {
                files.push(f.path);
            }
        }
    }
    let mut added: Vec<Vec<String>> = vec![Vec::new(); dirs.len()];
    for file in &files {
        let Some((k, (_, dir))) = dirs
            .iter()
            .enumerate()
            .filter(|(_, (_, dir))| file.starts_with(dir.as_str()))
            .max_by_key(|(_, (_, dir))| dir.len())
        else {
            continue;
        };
        added[k].push(file[dir.len()..].to_string());
    }
    let mut results = Vec::new();
    for ((i, dir), new) in dirs.into_iter().zip(added) {
        if new.is_empty() {
            continue;
        }
        let item = &mut items[i];
        let resources = item
            .as_object_mut()
            .expect("a Kustomization is a mapping")
            .entry("resources")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(list) = resources.as_array_mut() else {
            results.push(
                FnResult::warning(
                    "`resources` is not a list, so the generated files could not be added; `kustomize build` will leave them out",
                )
                .about(item)
                .at("resources"),
            );
            continue;
        };
        let new: Vec<String> = new
            .into_iter()
            .filter(|f| !list.iter().any(|r| r == f.as_str()))
            .collect();
        if new.is_empty() {
            continue;
        }
        list.extend(new.iter().cloned().map(Value::String));
        let root = if dir.is_empty() {
            "the package root".to_string()
        } else {
            dir.trim_end_matches('/').to_string()
        };
        results.push(
            FnResult::info(format!(
                "listed the generated {} in `resources`, so `kustomize build` of {root} keeps {}: {}",
                if new.len() == 1 { "file" } else { "files" },
                if new.len() == 1 { "it" } else { "them" },
                new.join(", ")
            ))
            .about(item)
            .at("resources"),
        );
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(path: &str, mut v: Value) -> Value {
        v["metadata"]["annotations"][annotations::PATH] = path.into();
        v
    }

    fn kustomization(path: &str, resources: Value) -> Value {
        at(
            path,
            json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                   "metadata": {}, "resources": resources}),
        )
    }

    fn generated(path: &str) -> Value {
        let mut v = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "x"}});
        generated::mark_generated(&mut v, path);
        v
    }

    #[test]
    fn lists_new_files_once_in_the_nearest_kustomization() {
        let mut items = vec![
            kustomization("kustomization.yaml", json!(["app"])),
            kustomization("app/kustomization.yaml", json!(["deployment.yaml"])),
            generated("app/poddisruptionbudget_web.yaml"),
            generated("app/poddisruptionbudget_web.yaml"),
            generated("other/networkpolicy_x.yaml"),
        ];
        let results = list_generated(&mut items);
        assert_eq!(
            items[0]["resources"],
            json!(["app", "other/networkpolicy_x.yaml"])
        );
        assert_eq!(
            items[1]["resources"],
            json!(["deployment.yaml", "poddisruptionbudget_web.yaml"])
        );
        assert_eq!(results.len(), 2);
        assert!(
            results[1].message.contains("of app keeps it"),
            "{}",
            results[1].message
        );
        // Again: nothing more to add, nothing said.
        assert!(list_generated(&mut items).is_empty());
        assert_eq!(
            items[0]["resources"],
            json!(["app", "other/networkpolicy_x.yaml"])
        );
    }

    #[test]
    fn a_kustomization_file_without_apiversion_and_kind_counts() {
        let bare = at(
            "kustomization.yaml",
            json!({"resources": ["deployment.yaml"]}),
        );
        assert!(is_kustomization_file(&bare));
        let mut items = vec![bare, generated("poddisruptionbudget_web.yaml")];
        list_generated(&mut items);
        assert_eq!(
            items[0]["resources"],
            json!(["deployment.yaml", "poddisruptionbudget_web.yaml"])
        );
        // A kind-less item from any other file is not one.
        assert!(!is_kustomization_file(&at("deployment.yaml", json!({}))));
    }

    #[test]
    fn leaves_what_is_not_a_kustomization_file() {
        let mut items = vec![
            kustomization("notes/kustomization-example.yaml", json!([])),
            generated("poddisruptionbudget_web.yaml"),
        ];
        assert!(!present(&items));
        assert!(list_generated(&mut items).is_empty());
        assert_eq!(items[0]["resources"], json!([]));
    }

    #[test]
    fn a_missing_list_is_created_and_a_bad_one_is_warned_about() {
        let mut k = kustomization("kustomization.yaml", json!(null));
        k.as_object_mut().unwrap().remove("resources");
        let mut items = vec![k, generated("poddisruptionbudget_web.yaml")];
        list_generated(&mut items);
        assert_eq!(
            items[0]["resources"],
            json!(["poddisruptionbudget_web.yaml"])
        );

        let mut items = vec![
            kustomization("kustomization.yaml", json!("deployment.yaml")),
            generated("poddisruptionbudget_web.yaml"),
        ];
        let results = list_generated(&mut items);
        assert_eq!(results[0].severity, crate::krm::Severity::Warning);
    }
}
