//! A securityContext that passes Pod Security "restricted" and the usual checkers (non-root
//! with UID/GID >= 10000, fsGroup for volumes, seccomp RuntimeDefault, no privilege escalation,
//! all capabilities dropped, read-only root filesystem), plus what keeps real images running
//! that way: an emptyDir for every path the program writes (/tmp always, the class's paths,
//! the known paths of well-known images), PostgreSQL's data directory moved off the volume
//! root, and warnings where an image cannot run hardened as configured. The service-account
//! token is not mounted unless the class says the workload talks to the API.
//!
//! Fill, never fight: a field the manifest set is kept (unless `enforce: [security]`), with a
//! warning when it fails the restricted profile.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, EnvVar, PodSecurityContext, SeccompProfile, SecurityContext, Volume,
    VolumeMount,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Outcome, WorkloadCtx};
use crate::config::{DefaultKind, SecuritySettings};
use crate::images::{self, KnownImage};
use crate::workload::{self, ContainerRole};

mod fit;
mod volumes;

use fit::low_ports;
use volumes::covers;

const D: DefaultKind = DefaultKind::Security;
/// UID, GID and fsGroup when the class sets none.
pub const DEFAULT_ID: i64 = 10001;
/// kube-score and Checkov (CKV_K8S_40) want IDs at or above this, clear of host users.
pub const MIN_ID: i64 = 10000;

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    if !ctx.wants(D) {
        return;
    }
    let kind = ctx.kind();
    // A StatefulSet's claim templates name pod volumes too.
    let claims: Vec<String> = if kind.group == "apps" && kind.kind == "StatefulSet" {
        item["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    } else {
        Vec::new()
    };
    let Some(spec) = workload::pod_spec_mut(item, kind) else {
        return;
    };
    let keeps_token = token_keeper(ctx, spec);
    let image_user = image_user(ctx, spec);
    let h = Hardening {
        keeps_token,
        image_user,
        settings: &ctx.class.spec.security,
        enforce: ctx.enforces(D),
        base: kind.pod_spec_path(),
        container_path: &|role, c| workload::container_path(kind, role, c),
        wants: &|c| ctx.wants_container(D, c),
    };
    h.harden(spec, &claims, out);
}

/// Why the pod keeps its ServiceAccount token, if it does: the class says it talks to the API,
/// a binding in the input grants its account a role, or the account asks for the token itself.
/// A token taken from an API client stops it (cert-manager's controllers, operators).
fn token_keeper(ctx: &WorkloadCtx, spec: &Value) -> Option<String> {
    if ctx
        .class
        .spec
        .security
        .needs_kubernetes_api
        .unwrap_or(false)
    {
        return Some(format!(
            "class {} sets security.needsKubernetesApi",
            ctx.class.name
        ));
    }
    // kube-webhook-certgen writes its Secret and patches webhook configurations.
    if let Some(image) = workload::containers(spec)
        .into_iter()
        .filter_map(|(_, _, c)| c["image"].as_str())
        .find(|i| crate::graph::precision::is_cert_generator(i))
    {
        return Some(format!(
            "image {} generates webhook certificates through the API server",
            workload::image_repository(image)
        ));
    }
    let crate::model::PodAccount { name, account } = ctx.workload.account.as_ref()?;
    if !account.bindings.is_empty() {
        let bindings: Vec<String> = account.bindings.iter().map(|b| b.display()).collect();
        return Some(format!(
            "ServiceAccount {name} is bound by {}, so the pod calls the API server",
            bindings.join(", ")
        ));
    }
    if account.automount == Some(true) {
        return Some(format!(
            "ServiceAccount {name} sets automountServiceAccountToken: true itself"
        ));
    }
    None
}

/// The user the pod's first known image is built for, when the class sets no IDs and that
/// container none of its own: files the image ships and writes belong to that user, so any
/// other UID fails where the image's own docs and Bitnami's presets run it fine.
fn image_user(ctx: &WorkloadCtx, spec: &Value) -> Option<images::ImageUser> {
    if ctx.class.spec.security.run_as_user.is_some() {
        return None;
    }
    let mut list = workload::containers(spec);
    // App containers first: the pod is theirs, init containers prepare it.
    list.sort_by_key(|(role, _, _)| *role != ContainerRole::App);
    list.into_iter()
        .filter(|(_, _, c)| ctx.wants_container(D, c) && int(c, "runAsUser").is_none())
        .find_map(|(_, _, c)| {
            let image = c.get("image")?.as_str()?;
            images::lookup(image)?.user_for(image)
        })
}

struct Hardening<'a> {
    /// The rule that keeps the ServiceAccount token, when one does.
    keeps_token: Option<String>,
    /// The user a known image is built for, used for the pod's IDs the class leaves unset.
    image_user: Option<images::ImageUser>,
    settings: &'a SecuritySettings,
    enforce: bool,
    /// Dotted path of the pod spec.
    base: String,
    container_path: &'a dyn Fn(ContainerRole, &Value) -> String,
    wants: &'a dyn Fn(&Value) -> bool,
}

fn to_map<T: Serialize>(v: &T) -> Map<String, Value> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// The same object with `name` first, as people write volumes and mounts.
fn name_first(mut m: Map<String, Value>) -> Value {
    let mut out = Map::new();
    if let Some(n) = m.remove("name") {
        out.insert("name".into(), n);
    }
    out.extend(m);
    Value::Object(out)
}

/// Fills `wanted` into the mapping at `parent[key]` field by field (recursing into mappings),
/// keeping what is there unless enforcing; records every field set.
fn merge(
    parent: &mut Map<String, Value>,
    key: &str,
    wanted: Map<String, Value>,
    enforce: bool,
    path: &str,
    out: &mut Outcome,
) {
    let slot = parent
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(have) = slot.as_object_mut() else {
        out.warn(format!("{path} is not a mapping; left as it is"));
        return;
    };
    for (k, v) in wanted {
        let p = format!("{path}.{k}");
        match (have.get(&k), v) {
            (Some(Value::Object(_)), Value::Object(inner)) => {
                merge(have, &k, inner, enforce, &p, out)
            }
            (Some(cur), v) if !enforce || *cur == v => {}
            (_, v) => {
                have.insert(k, v.clone());
                out.set(D, p, v);
            }
        }
    }
    if have.is_empty() {
        parent.remove(key);
    }
}

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get("securityContext")?.get(k)?.as_i64()
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

impl Hardening<'_> {
    fn id(&self, v: Option<i64>) -> i64 {
        v.unwrap_or(DEFAULT_ID)
    }

    fn uid(&self) -> i64 {
        self.id(self.settings.run_as_user.or(self.image_user.map(|u| u.uid)))
    }

    fn gid(&self, v: Option<i64>) -> i64 {
        self.id(v.or(self.image_user.map(|u| u.gid)))
    }

    fn harden(&self, spec: &mut Value, claims: &[String], out: &mut Outcome) {
        // Under enforce the pod user is about to become ours: decide runAsNonRoot from that,
        // or a second run would add it (not idempotent).
        let pod_user = if self.enforce {
            Some(self.uid())
        } else {
            int(spec, "runAsUser")
        };
        // A container the manifest runs as root keeps its capabilities (a root entrypoint
        // usually needs them to chown and switch users) and rules out a pod-wide runAsNonRoot.
        let runs_as_root = |c: &Value| int(c, "runAsUser").or(pod_user) == Some(0);
        let any_root = workload::containers(spec)
            .iter()
            .any(|(_, _, c)| runs_as_root(c));
        let Some(obj) = spec.as_object_mut() else {
            return;
        };

        let pod_sc = PodSecurityContext {
            run_as_non_root: (!any_root).then_some(true),
            run_as_user: Some(self.uid()),
            run_as_group: Some(self.gid(self.settings.run_as_group)),
            fs_group: Some(self.gid(self.settings.fs_group)),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..Default::default()
        };
        let sc_path = format!("{}.securityContext", self.base);
        merge(
            obj,
            "securityContext",
            to_map(&pod_sc),
            self.enforce,
            &sc_path,
            out,
        );
        self.check_pod(
            obj.get("securityContext").unwrap_or(&Value::Null),
            any_root,
            &sc_path,
            out,
        );

        self.token(obj, out);

        let effective_user = obj
            .get("securityContext")
            .and_then(|s| s.get("runAsUser"))
            .and_then(Value::as_i64);
        let mut names: HashSet<String> = obj
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(str::to_string))
            .chain(claims.iter().cloned())
            .collect();
        // A pod on the host's network shares the host's sysctls: none may be set for it.
        let host_network = obj.get("hostNetwork") == Some(&Value::Bool(true));
        // The lowest port below 1024 a non-root container listens on.
        let mut lowest_port: Option<i64> = None;
        // Paths given an emptyDir in this run, shared by the containers that need them.
        let mut added: HashMap<String, String> = HashMap::new();
        let mut new_volumes: Vec<Value> = Vec::new();

        workload::for_each_container_mut(spec, |role, c| {
            if !(self.wants)(c) {
                return;
            }
            let root = int(c, "runAsUser").or(effective_user) == Some(0);
            let cpath = (self.container_path)(role, c);
            let ro_as_written = c["securityContext"].get("readOnlyRootFilesystem").is_some();
            self.harden_container(c, root, &cpath, out);
            let user = int(c, "runAsUser").or(effective_user);
            // A command override runs another program from the image (pg_dump in a backup
            // job), so the server's paths and data directory do not apply.
            let known = c
                .get("image")
                .and_then(Value::as_str)
                .and_then(images::lookup)
                .filter(|_| c.get("command").is_none());
            let read_only = c["securityContext"]["readOnlyRootFilesystem"] == Value::Bool(true);
            if read_only {
                self.writable_paths(
                    c,
                    known,
                    &cpath,
                    &mut names,
                    &mut added,
                    &mut new_volumes,
                    out,
                );
                self.warn_read_only(c, known, ro_as_written, &cpath, out);
            }
            if !root {
                if let Some(k) = known {
                    self.data_dir(c, k, user, &cpath, out);
                }
                let low = low_ports(c, known);
                if let (Some(p), false) = (low.iter().min(), host_network) {
                    lowest_port = Some(lowest_port.map_or(*p, |l: i64| l.min(*p)));
                }
                self.check_non_root_fit(c, known, !host_network && !low.is_empty(), &cpath, out);
            }
        });
        if let Some(port) = lowest_port {
            self.unprivileged_ports(spec, port, out);
        }
        self.add_volumes(spec, new_volumes, out);
    }

    /// The ServiceAccount token: kept (with an info result saying why) for an API client, else
    /// not mounted.
    fn token(&self, obj: &mut Map<String, Value>, out: &mut Outcome) {
        let key = "automountServiceAccountToken";
        match &self.keeps_token {
            // Kept even under enforce: the token is how this pod reaches the API server.
            Some(why) => out.results.push(crate::krm::FnResult::info(format!(
                "{}.{key} left as it is (the token stays mounted): {why}; set it to false yourself if the \
                 program never calls the Kubernetes API",
                self.base
            ))),
            None => {
                // A null is an unset field (the API server treats it so).
                let unset = obj.get(key).is_none_or(Value::is_null);
                if unset || (self.enforce && obj[key] != Value::Bool(false)) {
                    obj.insert(key.into(), Value::Bool(false));
                    out.set(D, format!("{}.{key}", self.base), Value::Bool(false));
                }
            }
        }
    }

    /// Warns about pod-level values that fail the restricted profile or the UID checks.
    fn check_pod(&self, sc: &Value, any_root: bool, path: &str, out: &mut Outcome) {
        let chosen = [
            ("runAsUser", self.uid()),
            ("runAsGroup", self.gid(self.settings.run_as_group)),
        ];
        for (field, what) in [("runAsUser", "UID"), ("runAsGroup", "GID")] {
            if let Some(id) = sc.get(field).and_then(Value::as_i64) {
                // The image's own user, chosen here: the image needs it (not a user's typo).
                if self.image_user.is_some() && chosen.contains(&(field, id)) {
                    continue;
                }
                if id == 0 {
                    out.warn(format!(
                        "{path}.{field} is 0 (root) as written: fails Pod Security \"restricted\""
                    ));
                } else if id < MIN_ID {
                    out.warn(format!(
                        "{path}.{field} is {id}: a {what} below {MIN_ID} may collide with a host account \
                         (kube-score, Checkov CKV_K8S_40); kept as written"
                    ));
                }
            }
        }
        if any_root {
            out.warn(format!(
                "{path}: a container runs as root (runAsUser 0) as written, so runAsNonRoot is not set: fails \
                 Pod Security \"restricted\""
            ));
        } else if sc.get("runAsNonRoot") == Some(&Value::Bool(false)) {
            out.warn(format!(
                "{path}.runAsNonRoot is false as written: fails Pod Security \"restricted\""
            ));
        }
        if let Some(t) = sc["seccompProfile"]["type"]
            .as_str()
            .filter(|t| *t != "RuntimeDefault")
        {
            out.warn(format!(
                "{path}.seccompProfile.type is {t} as written: {}",
                if t == "Unconfined" {
                    "fails Pod Security \"restricted\""
                } else {
                    "Checkov CKV_K8S_31 accepts only RuntimeDefault"
                }
            ));
        }
    }

    fn harden_container(&self, c: &mut Value, root: bool, path: &str, out: &mut Outcome) {
        let Some(obj) = c.as_object_mut() else { return };
        let sc = obj.get("securityContext").cloned().unwrap_or(Value::Null);
        let caps = &sc["capabilities"];
        let adds = str_list(caps.get("add"));
        let privileged = sc["privileged"] == Value::Bool(true);
        let sys_admin = adds
            .iter()
            .any(|a| a.trim_start_matches("CAP_") == "SYS_ADMIN");
        // The API refuses allowPrivilegeEscalation: false next to privileged or CAP_SYS_ADMIN.
        let no_escalation = !(privileged || sys_admin);
        let wanted = SecurityContext {
            allow_privilege_escalation: no_escalation.then_some(false),
            read_only_root_filesystem: Some(
                self.settings.read_only_root_filesystem.unwrap_or(true),
            ),
            ..Default::default()
        };
        let sc_path = format!("{path}.securityContext");
        merge(
            obj,
            "securityContext",
            to_map(&wanted),
            self.enforce,
            &sc_path,
            out,
        );

        if !root {
            // Drop ALL is added to what the manifest drops; what it adds is kept.
            let drops = str_list(caps.get("drop"));
            if !drops.iter().any(|d| d.eq_ignore_ascii_case("ALL")) {
                // A list is appended to, so this is not a field-by-field merge.
                let mut list: Vec<Value> = caps
                    .get("drop")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                list.push(Value::String("ALL".into()));
                if let Some(sc) = obj
                    .get_mut("securityContext")
                    .and_then(Value::as_object_mut)
                {
                    let caps = sc
                        .entry("capabilities")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(caps) = caps.as_object_mut() {
                        caps.insert("drop".into(), Value::Array(list.clone()));
                        out.set(
                            D,
                            format!("{sc_path}.capabilities.drop"),
                            Value::Array(list),
                        );
                    } else {
                        out.warn(format!(
                            "{sc_path}.capabilities is not a mapping; left as it is"
                        ));
                    }
                }
            }
        }
        let others: Vec<&String> = adds
            .iter()
            .filter(|a| a.trim_start_matches("CAP_") != "NET_BIND_SERVICE")
            .collect();
        if !others.is_empty() {
            out.warn(format!(
                "{sc_path}.capabilities.add keeps {} as written: Pod Security \"restricted\" allows only NET_BIND_SERVICE",
                others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if privileged {
            out.warn(format!("{sc_path}.privileged is true as written: fails Pod Security \"baseline\" and \"restricted\""));
        }
        let sc = &obj["securityContext"];
        if sc["allowPrivilegeEscalation"] == Value::Bool(true) {
            out.warn(format!("{sc_path}.allowPrivilegeEscalation is true as written: fails Pod Security \"restricted\""));
        }
        if let Some(id) = sc["runAsUser"]
            .as_i64()
            .filter(|id| *id != 0 && *id < MIN_ID)
        {
            out.warn(format!(
                "{sc_path}.runAsUser is {id}: a UID below {MIN_ID} may collide with a host account (kube-score, \
                 Checkov CKV_K8S_40); kept as written"
            ));
        }
        if root {
            out.warn(format!(
                "{path} runs as root (runAsUser 0) as written: fails Pod Security \"restricted\"; its capabilities \
                 are left as they are because a root entrypoint usually needs them"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::volumes::slug;
    use super::*;
    use serde_json::json;

    fn run_with(
        spec: &mut Value,
        settings: &SecuritySettings,
        enforce: bool,
        claims: &[&str],
    ) -> Outcome {
        let mut out = Outcome::default();
        let h = Hardening {
            image_user: None,
            keeps_token: settings
                .needs_kubernetes_api
                .unwrap_or(false)
                .then(|| "needsKubernetesApi".to_string()),
            settings,
            enforce,
            base: "spec".into(),
            container_path: &|role, c| {
                format!(
                    "spec.{}[name={}]",
                    role.field(),
                    c["name"].as_str().unwrap_or("?")
                )
            },
            wants: &|c| c["name"] != "skipped",
        };
        let claims: Vec<String> = claims.iter().map(|s| s.to_string()).collect();
        h.harden(spec, &claims, &mut out);
        out
    }

    fn run(spec: &mut Value) -> Outcome {
        run_with(spec, &SecuritySettings::default(), false, &[])
    }

    #[test]
    fn fresh_pod_gets_the_restricted_profile() {
        let mut spec = json!({"containers": [{"name": "app", "image": "acme/app:1"}]});
        let out = run(&mut spec);
        assert_eq!(
            spec["securityContext"],
            json!({"fsGroup": 10001, "runAsGroup": 10001, "runAsNonRoot": true, "runAsUser": 10001,
                   "seccompProfile": {"type": "RuntimeDefault"}})
        );
        assert_eq!(spec["automountServiceAccountToken"], false);
        let c = &spec["containers"][0];
        assert_eq!(
            c["securityContext"],
            json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}})
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "tmp", "mountPath": "/tmp"}])
        );
        assert_eq!(spec["volumes"], json!([{"name": "tmp", "emptyDir": {}}]));
        // The one thing said: an unknown image under a read-only root may write elsewhere.
        assert_eq!(out.results.len(), 1, "{:?}", out.results);
        assert!(out.results[0].message.contains("only /tmp is writable"));
    }

    #[test]
    fn user_values_win_with_warnings() {
        let mut spec = json!({"securityContext": {"runAsUser": 999},
            "containers": [{"name": "app", "image": "acme/app:1",
              "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["NET_RAW"]}, "readOnlyRootFilesystem": false}}]});
        let out = run(&mut spec);
        assert_eq!(spec["securityContext"]["runAsUser"], 999);
        let sc = &spec["containers"][0]["securityContext"];
        assert_eq!(
            sc["capabilities"],
            json!({"add": ["NET_BIND_SERVICE"], "drop": ["NET_RAW", "ALL"]})
        );
        assert_eq!(sc["readOnlyRootFilesystem"], false);
        // A writable root filesystem needs no emptyDirs.
        assert!(spec["containers"][0].get("volumeMounts").is_none());
        assert_eq!(out.results.len(), 1, "{:?}", out.results);
        assert!(out.results[0].message.contains("999"));
    }

    #[test]
    fn enforce_overwrites() {
        let mut spec = json!({"securityContext": {"runAsUser": 999}, "automountServiceAccountToken": true,
            "containers": [{"name": "app", "securityContext": {"readOnlyRootFilesystem": false}}]});
        run_with(&mut spec, &SecuritySettings::default(), true, &[]);
        assert_eq!(spec["securityContext"]["runAsUser"], 10001);
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(
            spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
            true
        );
    }

    #[test]
    fn root_containers_keep_capabilities_and_block_run_as_non_root() {
        let mut spec =
            json!({"containers": [{"name": "app", "securityContext": {"runAsUser": 0}}]});
        let out = run(&mut spec);
        assert!(spec["securityContext"].get("runAsNonRoot").is_none());
        assert!(
            spec["containers"][0]["securityContext"]
                .get("capabilities")
                .is_none()
        );
        assert!(out.results.len() >= 2);
    }

    #[test]
    fn privileged_gets_no_conflicting_allow_privilege_escalation() {
        let mut spec =
            json!({"containers": [{"name": "app", "securityContext": {"privileged": true}}]});
        let out = run(&mut spec);
        assert!(
            spec["containers"][0]["securityContext"]
                .get("allowPrivilegeEscalation")
                .is_none()
        );
        assert!(out.results.iter().any(|r| r.message.contains("privileged")));
    }

    #[test]
    fn emptydirs_skip_mounted_paths_and_avoid_name_collisions() {
        let mut spec = json!({
            "volumes": [{"name": "tmp", "configMap": {"name": "x"}}],
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "db", "image": "postgres:16-alpine",
                "volumeMounts": [{"name": "cfg", "mountPath": "/tmp/conf"}, {"name": "data", "mountPath": "/var/lib/postgresql/data"}]}]});
        run_with(
            &mut spec,
            &SecuritySettings::default(),
            false,
            &["data", "var-run-postgresql"],
        );
        let names: Vec<_> = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["tmp", "tmp-2", "var-run-postgresql-2"]);
        let mounts = &spec["containers"][0]["volumeMounts"];
        let paths: Vec<_> = mounts
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "/tmp/conf",
                "/var/lib/postgresql/data",
                "/tmp",
                "/var/run/postgresql"
            ]
        );
        // The init container shares the pod's /tmp emptyDir.
        assert_eq!(
            spec["initContainers"][0]["volumeMounts"][0]["name"],
            "tmp-2"
        );
    }

    #[test]
    fn postgres_data_moves_off_the_volume_root() {
        let mut spec = json!({"containers": [{"name": "db", "image": "postgres:16-alpine",
            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data/"}]}]});
        let out = run_with(&mut spec, &SecuritySettings::default(), false, &["data"]);
        assert_eq!(
            spec["containers"][0]["env"],
            json!([{"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}])
        );
        assert!(out.results.iter().any(|r| r.message.contains("PGDATA")));
        // A PGDATA the user set is theirs.
        let mut spec = json!({"containers": [{"name": "db", "image": "postgres:16", "env": [{"name": "PGDATA", "value": "/var/lib/postgresql/data"}],
            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]}]});
        run(&mut spec);
        assert_eq!(spec["containers"][0]["env"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn nginx_on_port_80_and_ollama_under_root_get_warnings() {
        let mut spec = json!({"containers": [{"name": "gw", "image": "openresty/openresty:1.25", "ports": [{"containerPort": 80}]}]});
        let out = run(&mut spec);
        // Port 80 as non-root: the pod's unprivileged-port sysctl, not a warning.
        assert_eq!(
            spec["securityContext"]["sysctls"],
            json!([{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}])
        );
        assert!(
            out.results
                .iter()
                .any(|r| r.message.contains("ip_unprivileged_port_start=80")),
            "{:?}",
            out.results
        );
        let mut spec = json!({"containers": [{"name": "ollama", "image": "ollama/ollama", "ports": [{"containerPort": 11434}],
            "volumeMounts": [{"name": "models", "mountPath": "/root/.ollama"}]}]});
        let out = run(&mut spec);
        assert!(
            out.results.iter().any(|r| r.message.contains("/.ollama")),
            "{:?}",
            out.results
        );
    }

    #[test]
    fn needs_kubernetes_api_keeps_the_token_and_opted_out_containers_are_untouched() {
        let s = SecuritySettings {
            needs_kubernetes_api: Some(true),
            ..Default::default()
        };
        let mut spec = json!({"containers": [{"name": "skipped"}]});
        run_with(&mut spec, &s, false, &[]);
        assert!(spec.get("automountServiceAccountToken").is_none());
        assert!(spec["containers"][0].get("securityContext").is_none());
        assert!(spec.get("volumes").is_none());
    }

    #[test]
    fn second_run_changes_nothing() {
        let mut spec = json!({"containers": [{"name": "db", "image": "postgres:16", "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]},
            {"name": "app", "image": "grafana/grafana", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]});
        run(&mut spec);
        let again = run(&mut spec);
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        let enforced = run_with(&mut spec, &SecuritySettings::default(), true, &[]);
        assert!(enforced.changes.is_empty(), "{:?}", enforced.changes);
    }

    #[test]
    fn slugs_are_dns_labels() {
        assert_eq!(slug("/var/run/postgresql"), "var-run-postgresql");
        assert_eq!(slug("/.minio"), "minio");
        assert_eq!(slug("/"), "root");
        assert!(slug(&"/a".repeat(80)).len() <= 56);
    }
}
