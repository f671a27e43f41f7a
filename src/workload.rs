//! One way to reach the pod template of every workload kind, so no default needs a `match`
//! over kinds.

use serde_json::{Map, Value};

use crate::config::WorkloadKindSpec;

/// A kind that carries a pod template, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadKind {
    pub group: String,
    pub kind: String,
    /// Path of the pod template (empty for a Pod, whose template is the object itself).
    pub template_path: Vec<String>,
    /// Path of the replica count, for kinds that have one.
    pub replicas_path: Option<Vec<String>>,
}

impl WorkloadKind {
    fn builtin(group: &str, kind: &str, template: &str, replicas: Option<&str>) -> Self {
        WorkloadKind {
            group: group.into(),
            kind: kind.into(),
            template_path: split_path(template),
            replicas_path: replicas.map(split_path),
        }
    }

    /// Jobs and CronJobs run to completion: no probes, replicas, HPAs or PDBs.
    pub fn runs_to_completion(&self) -> bool {
        self.group == "batch" && (self.kind == "Job" || self.kind == "CronJob")
    }

    pub fn is_pod(&self) -> bool {
        self.template_path.is_empty()
    }

    /// Dotted path prefix of the pod spec, e.g. `spec.template.spec`.
    pub fn pod_spec_path(&self) -> String {
        let mut parts = self.template_path.clone();
        parts.push("spec".into());
        parts.join(".")
    }
}

fn split_path(p: &str) -> Vec<String> {
    p.split(['.', '/'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The group part of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The workload kind of an item, if it has a pod template.
pub fn kind_of(item: &Value, extra: &[WorkloadKindSpec]) -> Option<WorkloadKind> {
    let kind = item.get("kind")?.as_str()?;
    let group = group_of(item.get("apiVersion")?.as_str()?);
    if let Some(x) = extra.iter().find(|x| x.kind == kind && x.group == group) {
        return Some(WorkloadKind {
            group: x.group.clone(),
            kind: x.kind.clone(),
            template_path: split_path(&x.pod_template_path),
            replicas_path: x.replicas_path.as_deref().map(split_path),
        });
    }
    let k = match (group, kind) {
        ("apps", "Deployment") => {
            WorkloadKind::builtin("apps", kind, "spec.template", Some("spec.replicas"))
        }
        ("apps", "StatefulSet") => {
            WorkloadKind::builtin("apps", kind, "spec.template", Some("spec.replicas"))
        }
        ("apps", "ReplicaSet") => {
            WorkloadKind::builtin("apps", kind, "spec.template", Some("spec.replicas"))
        }
        ("apps", "DaemonSet") => WorkloadKind::builtin("apps", kind, "spec.template", None),
        ("batch", "Job") => WorkloadKind::builtin("batch", kind, "spec.template", None),
        ("batch", "CronJob") => {
            WorkloadKind::builtin("batch", kind, "spec.jobTemplate.spec.template", None)
        }
        ("", "Pod") => WorkloadKind::builtin("", kind, "", None),
        ("", "ReplicationController") => {
            WorkloadKind::builtin("", kind, "spec.template", Some("spec.replicas"))
        }
        _ => return None,
    };
    Some(k)
}

/// Follows a path of mapping keys.
pub fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k.as_str()))
}

/// Follows a path of mapping keys, creating empty mappings where keys are missing. Returns
/// None when a step exists but is not a mapping (the user's data is never overwritten).
pub fn get_path_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for k in path {
        let obj = cur.as_object_mut()?;
        cur = obj
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if cur.is_object() { Some(cur) } else { None }
}

/// The pod template (`metadata` + `spec`) of a workload.
pub fn pod_template<'a>(item: &'a Value, kind: &WorkloadKind) -> Option<&'a Value> {
    get_path(item, &kind.template_path).filter(|t| t.is_object())
}

pub fn pod_template_mut<'a>(item: &'a mut Value, kind: &WorkloadKind) -> Option<&'a mut Value> {
    if kind.is_pod() {
        return item.is_object().then_some(item);
    }
    // Only descend into templates that exist: a workload without one is left as it is.
    get_path(item, &kind.template_path)?;
    get_path_mut(item, &kind.template_path)
}

/// The pod spec of a workload.
pub fn pod_spec<'a>(item: &'a Value, kind: &WorkloadKind) -> Option<&'a Value> {
    pod_template(item, kind)?
        .get("spec")
        .filter(|s| s.is_object())
}

/// The pod spec of a workload, for writing. `null` fields are dropped first: Helm renders an
/// empty list as `volumes: null` and the API server reads `null` as unset, so every default
/// sees (and writes) a list it can extend instead of a value it must not overwrite. Without
/// this a container could get a mount for a volume the pod never got.
pub fn pod_spec_mut<'a>(item: &'a mut Value, kind: &WorkloadKind) -> Option<&'a mut Value> {
    let spec = pod_template_mut(item, kind)?
        .get_mut("spec")
        .filter(|s| s.is_object())?;
    drop_nulls(spec);
    Some(spec)
}

/// Removes `null` fields of a pod spec, its securityContext, and each container with its
/// securityContext and capabilities (idempotent: a second call finds none).
fn drop_nulls(spec: &mut Value) {
    fn retain(v: &mut Value) {
        if let Some(m) = v.as_object_mut() {
            m.retain(|_, x| !x.is_null());
        }
    }
    retain(spec);
    if let Some(sc) = spec.get_mut("securityContext") {
        retain(sc);
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            retain(c);
            if let Some(sc) = c.get_mut("securityContext") {
                retain(sc);
                if let Some(caps) = sc.get_mut("capabilities") {
                    retain(caps);
                }
            }
        }
    }
}

/// The labels of the pods a workload creates.
pub fn pod_labels<'a>(item: &'a Value, kind: &WorkloadKind) -> Option<&'a Map<String, Value>> {
    pod_template(item, kind)?
        .get("metadata")?
        .get("labels")?
        .as_object()
}

/// What a container is, for deciding which defaults apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRole {
    /// A regular container in `containers`.
    App,
    /// An init container that runs to completion before the app starts.
    Init,
    /// A restartable init container (`restartPolicy: Always`): a native sidecar.
    Sidecar,
}

impl ContainerRole {
    /// The list field that holds containers of this role.
    pub fn field(self) -> &'static str {
        match self {
            ContainerRole::App => "containers",
            ContainerRole::Init | ContainerRole::Sidecar => "initContainers",
        }
    }
}

/// Every container of a pod spec with its role and its index in its list.
pub fn containers(pod_spec: &Value) -> Vec<(ContainerRole, usize, &Value)> {
    let mut out = Vec::new();
    if let Some(list) = pod_spec.get("initContainers").and_then(Value::as_array) {
        for (i, c) in list.iter().enumerate() {
            let role = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
                ContainerRole::Sidecar
            } else {
                ContainerRole::Init
            };
            out.push((role, i, c));
        }
    }
    if let Some(list) = pod_spec.get("containers").and_then(Value::as_array) {
        for (i, c) in list.iter().enumerate() {
            out.push((ContainerRole::App, i, c));
        }
    }
    out
}

/// Calls `f` for every container (mutable) of a pod spec with its role.
pub fn for_each_container_mut(pod_spec: &mut Value, mut f: impl FnMut(ContainerRole, &mut Value)) {
    if let Some(list) = pod_spec
        .get_mut("initContainers")
        .and_then(Value::as_array_mut)
    {
        for c in list.iter_mut() {
            let role = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
                ContainerRole::Sidecar
            } else {
                ContainerRole::Init
            };
            f(role, c);
        }
    }
    if let Some(list) = pod_spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in list.iter_mut() {
            f(ContainerRole::App, c);
        }
    }
}

/// Field path of a container for results, e.g. `spec.template.spec.containers[name=app]`.
pub fn container_path(kind: &WorkloadKind, role: ContainerRole, container: &Value) -> String {
    format!(
        "{}.{}[name={}]",
        kind.pod_spec_path(),
        role.field(),
        container.get("name").and_then(Value::as_str).unwrap_or("?")
    )
}

/// The image repositories of all containers, normalised for matching (no registry
/// `docker.io/`, no `library/`, no tag or digest).
pub fn image_repositories(pod_spec: &Value) -> Vec<String> {
    containers(pod_spec)
        .into_iter()
        .filter_map(|(_, _, c)| c.get("image").and_then(Value::as_str))
        .map(image_repository)
        .collect()
}

/// `docker.io/library/postgres:15-alpine@sha256:...` -> `postgres`.
pub fn image_repository(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A tag is after the last ':' that comes after the last '/' (a registry port is before it).
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let repo = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let repo = repo.strip_prefix("docker.io/").unwrap_or(repo);
    let repo = repo.strip_prefix("index.docker.io/").unwrap_or(repo);
    repo.strip_prefix("library/").unwrap_or(repo).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cronjob_template_is_found() {
        let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        let k = kind_of(&cj, &[]).unwrap();
        assert!(k.runs_to_completion());
        assert!(pod_spec(&cj, &k).is_some());
        assert_eq!(k.pod_spec_path(), "spec.jobTemplate.spec.template.spec");
    }

    #[test]
    fn nulls_are_dropped_for_writing() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
            "volumes": null, "securityContext": null,
            "containers": [{"name": "a", "env": null, "securityContext": {"capabilities": null, "runAsUser": 5}}]}}}});
        let k = kind_of(&d, &[]).unwrap();
        let spec = pod_spec_mut(&mut d, &k).unwrap();
        assert_eq!(
            *spec,
            json!({"containers": [{"name": "a", "securityContext": {"runAsUser": 5}}]})
        );
    }

    #[test]
    fn pod_is_its_own_template() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}});
        let k = kind_of(&pod, &[]).unwrap();
        assert_eq!(pod_labels(&pod, &k).unwrap()["a"], "b");
        assert_eq!(k.pod_spec_path(), "spec");
    }

    #[test]
    fn extra_kinds() {
        let ro = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "spec": {"template": {"spec": {}}}});
        assert!(kind_of(&ro, &[]).is_none());
        let extra = [WorkloadKindSpec {
            group: "argoproj.io".into(),
            kind: "Rollout".into(),
            pod_template_path: "spec.template".into(),
            replicas_path: Some("spec.replicas".into()),
        }];
        assert!(kind_of(&ro, &extra).is_some());
    }

    #[test]
    fn sidecars_are_restartable_init_containers() {
        let spec = json!({"initContainers": [{"name": "migrate"}, {"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]});
        let roles: Vec<_> = containers(&spec).into_iter().map(|(r, _, _)| r).collect();
        assert_eq!(
            roles,
            [
                ContainerRole::Init,
                ContainerRole::Sidecar,
                ContainerRole::App
            ]
        );
    }

    #[test]
    fn image_repositories_are_normalised() {
        assert_eq!(
            image_repository("docker.io/library/postgres:15-alpine"),
            "postgres"
        );
        assert_eq!(
            image_repository("registry:5000/team/app:1.0@sha256:abc"),
            "registry:5000/team/app"
        );
        assert_eq!(image_repository("minio/minio:latest"), "minio/minio");
        assert_eq!(image_repository("redis"), "redis");
    }
}
