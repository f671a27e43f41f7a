//! What the input says about ServiceAccounts: the RoleBindings and ClusterRoleBindings whose
//! subjects name each account, and the account's own `automountServiceAccountToken`. Built once
//! per run inside [`crate::model::Model`] (each workload's view carries its account); read by
//! the token default (a bound account is an API client and keeps its token) and by the
//! NetworkPolicies (an API client needs egress to the API server), so both always agree about
//! which workloads talk to the API server.
//!
//! Namespaces follow the layouts real renders have: `helm template` leaves `metadata.namespace`
//! off most objects while ClusterRoleBinding subjects name one. An account is looked up under
//! its namespace, and a side with no namespace matches any namespace, so a chart's binding to
//! `cert-manager/cert-manager` still finds the namespace-less Deployment that runs as it.

use std::collections::HashMap;

use serde_json::Value;

/// One binding that names a ServiceAccount among its subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: String,
    /// `namespace/name` for a RoleBinding, `name` for a ClusterRoleBinding.
    pub name: String,
    /// The role it grants, as `Kind/name`.
    pub role: String,
}

impl Binding {
    /// `ClusterRoleBinding cert-manager-controller (ClusterRole/cert-manager-controller)`.
    pub fn display(&self) -> String {
        format!("{} {} ({})", self.kind, self.name, self.role)
    }
}

/// What the input says about one ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Bindings in the input whose subjects name this account.
    pub bindings: Vec<Binding>,
    /// The ServiceAccount object's own `automountServiceAccountToken`, when it is in the input.
    pub automount: Option<bool>,
}

/// ServiceAccounts by name, each with the namespaces it was seen in ("" = none written).
#[derive(Debug, Default)]
pub struct ServiceAccounts {
    by_name: HashMap<String, Vec<(String, Account)>>,
}

impl ServiceAccounts {
    /// Reads one input item; items of other kinds are ignored.
    pub fn add(&mut self, item: &Value) {
        let ns = crate::object::namespace(item);
        let name = crate::object::name(item);
        match item["kind"].as_str() {
            Some("ServiceAccount") if !name.is_empty() => {
                self.entry(ns, name).automount = item["automountServiceAccountToken"].as_bool();
            }
            Some(kind @ ("RoleBinding" | "ClusterRoleBinding")) => {
                let role = format!(
                    "{}/{}",
                    item["roleRef"]["kind"].as_str().unwrap_or("Role"),
                    item["roleRef"]["name"].as_str().unwrap_or_default()
                );
                let binding = Binding {
                    kind: kind.to_string(),
                    name: if kind == "RoleBinding" && !ns.is_empty() {
                        format!("{ns}/{name}")
                    } else {
                        name.to_string()
                    },
                    role,
                };
                for subject in item["subjects"].as_array().into_iter().flatten() {
                    if subject["kind"] != "ServiceAccount" {
                        continue;
                    }
                    let Some(account) = subject["name"].as_str().filter(|n| !n.is_empty()) else {
                        continue;
                    };
                    // A RoleBinding's subject without a namespace is in the binding's own.
                    let subject_ns = subject["namespace"]
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .unwrap_or(if kind == "RoleBinding" { ns } else { "" });
                    let entry = self.entry(subject_ns, account);
                    if !entry.bindings.contains(&binding) {
                        entry.bindings.push(binding.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn entry(&mut self, ns: &str, name: &str) -> &mut Account {
        let seen = self.by_name.entry(name.to_string()).or_default();
        let i = match seen.iter().position(|(n, _)| n == ns) {
            Some(i) => i,
            None => {
                seen.push((ns.to_string(), Account::default()));
                seen.len() - 1
            }
        };
        &mut seen[i].1
    }

    /// What the input says about the account `name` that a pod in `namespace` runs as
    /// (`default` when the pod names none), merged over every entry whose namespace matches.
    pub fn account(&self, namespace: &str, name: &str) -> Account {
        let mut out = Account::default();
        for (ns, account) in self.by_name.get(name).into_iter().flatten() {
            if !(ns.is_empty() || namespace.is_empty() || ns == namespace) {
                continue;
            }
            for b in &account.bindings {
                if !out.bindings.contains(b) {
                    out.bindings.push(b.clone());
                }
            }
            out.automount = out.automount.or(account.automount);
        }
        out
    }
}

/// The ServiceAccount a pod spec runs as: `serviceAccountName`, the deprecated
/// `serviceAccount`, or `default`.
pub fn account_name(pod_spec: &Value) -> &str {
    pod_spec["serviceAccountName"]
        .as_str()
        .or_else(|| pod_spec["serviceAccount"].as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index(items: &[Value]) -> ServiceAccounts {
        let mut s = ServiceAccounts::default();
        items.iter().for_each(|i| s.add(i));
        s
    }

    #[test]
    fn cluster_role_binding_subject_finds_a_namespace_less_account() {
        let s = index(&[
            json!({"kind": "ServiceAccount", "metadata": {"name": "cm"}, "automountServiceAccountToken": true}),
            json!({"kind": "ClusterRoleBinding", "metadata": {"name": "cm-controller"},
                "roleRef": {"kind": "ClusterRole", "name": "cm-controller"},
                "subjects": [{"kind": "ServiceAccount", "name": "cm", "namespace": "cert-manager"}]}),
        ]);
        let a = s.account("", "cm");
        assert_eq!(a.automount, Some(true));
        assert_eq!(
            a.bindings[0].display(),
            "ClusterRoleBinding cm-controller (ClusterRole/cm-controller)"
        );
        assert_eq!(s.account("cert-manager", "cm").bindings.len(), 1);
        assert!(s.account("other", "cm").bindings.is_empty());
    }

    #[test]
    fn role_binding_subject_defaults_to_the_bindings_namespace() {
        let s = index(&[
            json!({"kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "a"},
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "x"}, {"kind": "User", "name": "x"}]}),
        ]);
        assert_eq!(s.account("a", "x").bindings[0].name, "a/rb");
        assert!(s.account("b", "x").bindings.is_empty());
        assert_eq!(account_name(&json!({})), "default");
        assert_eq!(account_name(&json!({"serviceAccount": "old"})), "old");
    }
}
