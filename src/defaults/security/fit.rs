//! Whether an image can run hardened as configured: the warnings for what a read-only root or a
//! non-root UID may stop, and the sysctl that lets non-root containers bind ports below 1024.

use super::*;

impl Hardening<'_> {
    /// Says what a read-only root may stop: paths a known image writes over files it ships
    /// (no emptyDir fits), or, for an image the table does not know, every path but the ones
    /// made writable here. The unknown-image warning is given when this run made the root
    /// read-only (a root the manifest made read-only is the user's own choice).
    pub(super) fn warn_read_only(
        &self,
        c: &Value,
        known: Option<&KnownImage>,
        ro_as_written: bool,
        cpath: &str,
        out: &mut Outcome,
    ) {
        let mounts: Vec<&str> = c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        let opt_out = format!(
            "set {cpath}.securityContext.readOnlyRootFilesystem: false, or annotate the workload \
             {}: security",
            crate::optout::SKIP
        );
        match known {
            Some(k) => {
                for p in k.writes_shipped {
                    if mounts.iter().any(|m| covers(m, p)) {
                        continue;
                    }
                    out.warn(format!(
                        "{cpath}: {} writes to {p} at start, which holds files the image ships, so no \
                         emptyDir can go there and readOnlyRootFilesystem: true stops it; mount a volume \
                         seeded with those files at {p} (an init container can copy them), or {opt_out}",
                        k.name
                    ));
                }
            }
            None if !ro_as_written => {
                let writable: Vec<&str> = mounts.clone();
                out.warn(format!(
                    "{cpath}: readOnlyRootFilesystem: true on an image the function does not know ({}); \
                     only {} {} writable (emptyDir or the manifest's volumes), so a program that writes \
                     anywhere else fails; add its paths to the class's security.writablePaths or mount \
                     volumes there, or {opt_out}",
                    c["image"].as_str().unwrap_or("no image"),
                    writable.join(", "),
                    if writable.len() == 1 { "is" } else { "are" }
                ));
            }
            None => {}
        }
    }

    /// Lets non-root containers bind the ports below 1024 they listen on: the namespaced sysctl
    /// `net.ipv4.ip_unprivileged_port_start` (a "safe" sysctl that Pod Security restricted
    /// allows) set to the lowest such port, instead of NET_BIND_SERVICE or root.
    pub(super) fn unprivileged_ports(&self, spec: &mut Value, port: i64, out: &mut Outcome) {
        const SYSCTL: &str = "net.ipv4.ip_unprivileged_port_start";
        let path = format!("{}.securityContext.sysctls", self.base);
        let Some(sc) = spec
            .get_mut("securityContext")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        let list = sc
            .entry("sysctls")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(list) = list.as_array_mut() else {
            out.warn(format!("{path} is not a list; {SYSCTL} not set"));
            return;
        };
        if let Some(have) = list.iter().find(|s| s["name"] == SYSCTL) {
            let value = have["value"]
                .as_str()
                .and_then(|v| v.trim().parse::<i64>().ok());
            if value.is_none_or(|v| v > port) {
                out.warn(format!(
                    "{path}: {SYSCTL} is {} as written, above port {port} a non-root container listens on; \
                     kept as written, so the program cannot bind it",
                    have["value"]
                ));
            }
            return;
        }
        let v = name_first(to_map(&k8s_openapi::api::core::v1::Sysctl {
            name: SYSCTL.into(),
            value: port.to_string(),
        }));
        list.push(v.clone());
        out.set(D, format!("{path}[name={SYSCTL}]"), v);
        out.results.push(crate::krm::FnResult::info(format!(
            "{path}: set {SYSCTL}={port} so the non-root containers can bind port {port} (a safe sysctl Pod \
             Security \"restricted\" allows; needs Kubernetes 1.22 or later); no NET_BIND_SERVICE or root needed"
        )));
    }

    /// What stops an image from running as a non-root UID: ports below 1024, mounts under /root.
    pub(super) fn check_non_root_fit(
        &self,
        c: &Value,
        known: Option<&KnownImage>,
        sysctl_covers: bool,
        cpath: &str,
        out: &mut Outcome,
    ) {
        let low: Vec<i64> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["containerPort"].as_i64())
            .filter(|p| *p < 1024)
            .collect();
        let note = known.and_then(|k| k.hardening_note);
        let default_low = known.and_then(|k| k.port).is_some_and(|p| p < 1024)
            && c["ports"].as_array().is_none_or(Vec::is_empty);
        if sysctl_covers {
            // The pod's net.ipv4.ip_unprivileged_port_start lets a non-root UID bind them.
        } else if !low.is_empty() || default_low {
            let ports = if low.is_empty() {
                "a port below 1024 by default".to_string()
            } else {
                format!(
                    "port {}",
                    low.iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.warn(format!(
                "{cpath} listens on {ports}: a non-root UID cannot bind ports below 1024 unless the runtime \
                 allows unprivileged ports; {}",
                note.unwrap_or("configure the program to listen on a port above 1024 and update the containerPort and Service targetPort")
            ));
            return;
        }
        let under_root: Vec<&str> = c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .filter(|mp| covers("/root", mp))
            .collect();
        if !under_root.is_empty() {
            out.warn(format!(
                "{cpath} mounts {} under /root, which is mode 0700 and owned by root in most images: a non-root UID \
                 cannot reach it; {}",
                under_root.join(", "),
                note.unwrap_or("mount it outside /root")
            ));
        }
    }
}

/// The ports below 1024 a container listens on: the ones it declares, else the known image's
/// default port when it declares none.
pub(super) fn low_ports(c: &Value, known: Option<&KnownImage>) -> Vec<i64> {
    let declared: Vec<i64> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    if declared.is_empty() {
        return known
            .and_then(|k| k.port)
            .map(i64::from)
            .filter(|p| *p < 1024)
            .into_iter()
            .collect();
    }
    declared.into_iter().filter(|p| *p < 1024).collect()
}
