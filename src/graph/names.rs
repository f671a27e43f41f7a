//! Names resolved the way the cluster resolves them (issue 14, item 7).
//!
//! - `$(VAR)` in env values, commands and args is expanded by the kubelet before the program
//!   sees it, so host names hide behind it (`$(PG_HOST).$(PG_NS).svc`): [`expand`] applies
//!   Kubernetes' own rules.
//! - `helm template` prints most objects without a namespace (they land in the release
//!   namespace) and those whose template writes `namespace: {{ .Release.Namespace }}` with it:
//!   [`crate::model::release_namespace`] tells which namespace the namespace-less ones share with the others.
//! - A `.svc` name into a namespace the stream does not hold is a call into another app's
//!   namespace: [`outside_namespace`] gives that namespace, so egress to it is allowed (its
//!   pods are unknown, the namespace is not) instead of being dropped.

/// Kubernetes' `$(VAR)` expansion (`third_party/forked/golang/expansion`): `$(NAME)` of a known
/// variable is its value, an unknown one stays as written, `$$` is a literal `$`, any other `$`
/// stays. `lookup` gives a variable's value. Returns the text and whether a variable was used.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> (String, bool) {
    if !input.contains('$') {
        return (input.to_string(), false);
    }
    let mut out = String::with_capacity(input.len());
    let mut used = false;
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.as_bytes().first() {
            Some(b'$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some(b'(') => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match lookup(name) {
                        Some(v) => {
                            out.push_str(&v);
                            used = true;
                        }
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            Some(_) => {
                out.push('$');
                rest = after;
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, used)
}

/// The namespace of a `.svc` name (`svc.ns.svc`, the FQDN, a StatefulSet pod's name) when the
/// stream holds nothing of that namespace.
pub fn outside_namespace(host: &str, known: impl Fn(&str) -> bool) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    let ns = match labels.as_slice() {
        [_, ns, "svc", ..] | [_, _, ns, "svc", ..] => *ns,
        _ => return None,
    };
    (!known(ns)).then(|| ns.to_string())
}

/// The port a URL of `host` without a port reaches: its scheme's default (`http` 80, `https`
/// 443, and their WebSocket and gRPC cousins).
pub fn scheme_port(text: &str, host: &str) -> Option<i32> {
    let at = text.find(host)?;
    let prefix = &text[..at];
    let start = prefix
        .rfind(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ','))
        .map_or(0, |i| i + 1);
    // `scheme://` or `scheme://user@` right before the host.
    let (scheme, authority) = prefix[start..].split_once("://")?;
    if authority.contains('/') {
        return None;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" | "grpc" | "h2c" => Some(80),
        "https" | "wss" | "grpcs" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::release_namespace;

    fn vars(name: &str) -> Option<String> {
        match name {
            "PG_NAME" => Some("orders-db".into()),
            "PG_NS" => Some("data".into()),
            _ => None,
        }
    }

    #[test]
    fn kubernetes_expansion_rules() {
        assert_eq!(
            expand("postgresql://app@$(PG_NAME).$(PG_NS).svc:5432/orders", vars),
            (
                "postgresql://app@orders-db.data.svc:5432/orders".into(),
                true
            )
        );
        assert_eq!(expand("$$(PG_NAME)", vars), ("$(PG_NAME)".into(), false));
        assert_eq!(expand("$(UNKNOWN)x", vars), ("$(UNKNOWN)x".into(), false));
        assert_eq!(expand("a$b$", vars), ("a$b$".into(), false));
        assert_eq!(expand("$(PG_NAME", vars), ("$(PG_NAME".into(), false));
        assert_eq!(expand("$$$$", vars), ("$$".into(), false));
    }

    #[test]
    fn release_namespace_of_a_helm_stream() {
        assert_eq!(release_namespace(["", "shop", "shop"]), Some("shop".into()));
        assert_eq!(release_namespace(["shop", "shop"]), None);
        assert_eq!(release_namespace(["", "a", "b"]), None);
        assert_eq!(release_namespace(["", ""]), None);
    }

    #[test]
    fn outside_namespaces_and_scheme_ports() {
        let known = |ns: &str| ns == "data";
        assert_eq!(
            outside_namespace("billing.payments.svc.cluster.local", known),
            Some("payments".into())
        );
        assert_eq!(
            outside_namespace("db-0.db.payments.svc", known),
            Some("payments".into())
        );
        assert_eq!(outside_namespace("queue.data.svc", known), None);
        assert_eq!(outside_namespace("billing.payments", known), None);
        assert_eq!(outside_namespace("api.example.com", known), None);
        assert_eq!(scheme_port("http://b.p.svc/v1", "b.p.svc"), Some(80));
        assert_eq!(scheme_port("x https://u@b.p.svc", "b.p.svc"), Some(443));
        assert_eq!(scheme_port("b.p.svc", "b.p.svc"), None);
    }
}
