//! Host names in free text: env values, args, config files. A candidate is a maximal run of
//! DNS characters that is a valid lowercase DNS name, not a URL scheme (`redis://`), not
//! userinfo (`user@`), not a path segment (`/api/backend`), with the port that follows it
//! (`host:6379`). Which candidates are Services is decided by [`service_name`], which knows every
//! DNS form of a Service: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` (any
//! cluster domain), and a StatefulSet pod behind a headless Service, `pod.svc.ns.svc...`.

/// A host named in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRef {
    pub host: String,
    pub port: Option<i32>,
    /// The host is the authority of a URL (`scheme://host`).
    pub in_url: bool,
}

fn is_run_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// True for a lowercase DNS name (RFC 1123 labels) with at least one letter.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Every host candidate in `text`, in order.
pub fn hosts(text: &str) -> Vec<HostRef> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_run_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_run_char(b[i]) {
            i += 1;
        }
        let mut end = i;
        // A sentence's full stop or an FQDN's root dot is not part of the name.
        while end > start && b[end - 1] == b'.' {
            end -= 1;
        }
        let token = &text[start..end];
        let rest = &b[i..];
        let before = |n: usize| start.checked_sub(n).map(|k| b[k]);
        let after_slashes = before(1) == Some(b'/') && before(2) == Some(b'/');
        let path_segment = before(1) == Some(b'/') && !after_slashes;
        let scheme = rest.starts_with(b"://");
        let userinfo = rest.first() == Some(&b'@')
            || (rest.first() == Some(&b':') && has_at_before_slash(rest));
        // `--secret-namespace=cert-manager` names a namespace, which may share its name with
        // a Service (cert-manager's webhook flags do): not a host.
        let namespace_value = text[..start].to_ascii_lowercase().ends_with("namespace=");
        if path_segment || scheme || userinfo || namespace_value || !is_dns_name(token) {
            continue;
        }
        let port = rest
            .strip_prefix(b":")
            .map(|r| r.iter().take_while(|c| c.is_ascii_digit()).count())
            .filter(|&n| n > 0 && n <= 5)
            .and_then(|n| std::str::from_utf8(&rest[1..=n]).ok()?.parse().ok());
        out.push(HostRef {
            host: token.to_string(),
            port,
            in_url: after_slashes || before(1) == Some(b'@'),
        });
    }
    out
}

/// `user:password@host`: the `:` after `user` opens a password, not a port.
fn has_at_before_slash(rest: &[u8]) -> bool {
    rest.iter()
        .take_while(|&&c| c != b'/' && !c.is_ascii_whitespace())
        .any(|&c| c == b'@')
}

/// The (namespace, Service name) a host names, `namespace` being the referring pod's one.
/// Hosts that cannot be a Service (e.g. `api.openai.com`) give None.
pub fn service_name(host: &str, namespace: &str) -> Option<(String, String)> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [svc] => Some((namespace.to_string(), svc.to_string())),
        [svc, ns] => Some((ns.to_string(), svc.to_string())),
        [svc, ns, "svc", ..] => Some((ns.to_string(), svc.to_string())),
        [_pod, svc, ns, "svc", ..] => Some((ns.to_string(), svc.to_string())),
        _ => None,
    }
}

/// A host that names something inside the cluster: one label (not `localhost`), a `.svc` name,
/// or `name.namespace` for a namespace the input knows. Unknown ones of these are worth a
/// warning; `api.example.com` is not.
pub fn looks_in_cluster(host: &str, known_namespace: impl Fn(&str) -> bool) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [one] => *one != "localhost",
        [_, ns] => known_namespace(ns),
        more => more.contains(&"svc"),
    }
}

/// Env var names whose values are namespace names (`POD_NAMESPACE`), never hosts.
pub fn is_namespace_key(key: &str) -> bool {
    key.to_ascii_uppercase().ends_with("NAMESPACE")
}

/// Env var names whose values are host names or URLs by convention.
pub fn is_address_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "_HOST",
        "_HOSTNAME",
        "_URL",
        "_URI",
        "_ENDPOINT",
        "_ADDR",
        "_ADDRESS",
        "_SERVER",
    ]
    .iter()
    .any(|s| k.ends_with(s))
        || matches!(k.as_str(), "HOST" | "URL" | "ENDPOINT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_flag_values_are_not_hosts() {
        assert!(hosts("--dynamic-serving-ca-secret-namespace=cert-manager").is_empty());
        assert_eq!(hosts("--redis=redis:6379")[0].host, "redis");
        assert!(is_namespace_key("POD_NAMESPACE") && !is_namespace_key("REDIS_HOST"));
    }

    fn names(text: &str) -> Vec<(String, Option<i32>)> {
        hosts(text).into_iter().map(|h| (h.host, h.port)).collect()
    }

    #[test]
    fn urls_userinfo_and_paths() {
        assert_eq!(
            names("redis://ai-interviewer-redis:6379/0"),
            [("ai-interviewer-redis".into(), Some(6379))]
        );
        assert_eq!(
            names("postgres://app:s3cret@db.data.svc.cluster.local:5432/app"),
            [("db.data.svc.cluster.local".into(), Some(5432))]
        );
        assert_eq!(
            names("http://gateway/api/backend"),
            [("gateway".into(), None)]
        );
        let h = hosts("proxy_pass http://backend:8080;");
        assert_eq!(h.last().unwrap().host, "backend");
        assert!(h.last().unwrap().in_url);
    }

    #[test]
    fn plain_hosts_and_noise() {
        assert_eq!(
            names("ai-interviewer-minio:9000"),
            [("ai-interviewer-minio".into(), Some(9000))]
        );
        assert_eq!(names("10.0.0.5:80 8080"), []);
        assert_eq!(
            names("Connect to redis."),
            [("to".into(), None), ("redis".into(), None)]
        );
        assert_eq!(names("MY_VAR=x_y"), []);
    }

    #[test]
    fn dns_forms() {
        for h in [
            "redis",
            "redis.data",
            "redis.data.svc",
            "redis.data.svc.cluster.local",
            "redis-0.redis.data.svc.cluster.local",
        ] {
            let want = if h == "redis" { "app" } else { "data" };
            assert_eq!(
                service_name(h, "app"),
                Some((want.into(), "redis".into())),
                "{h}"
            );
        }
        assert_eq!(service_name("api.openai.com", "app"), None);
    }

    #[test]
    fn cluster_looking() {
        let ns = |n: &str| n == "data";
        assert!(looks_in_cluster("postgres", ns));
        assert!(looks_in_cluster("x.data", ns));
        assert!(looks_in_cluster("x.other.svc.cluster.local", ns));
        assert!(!looks_in_cluster("localhost", ns));
        assert!(!looks_in_cluster("example.com", ns));
        assert!(!looks_in_cluster("api.openai.com", ns));
    }
}
