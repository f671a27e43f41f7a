//! Which names in a pod's texts are calls (issue 14, item 8). Config files hold prose, PromQL
//! (`up{job="node-exporter"}`), sed expressions and comments that name Services without
//! calling them; certificate tools list a Service's names as certificate SANs. Only values
//! that read as an address count.

use super::refs::{self, HostRef};

/// Host references in a config file a pod mounts. Comment lines and trailing comments are
/// dropped, and so are sed expressions; a name counts when it is a URL's authority, a
/// `host:port` standing as a value, the value of an address key (`host = db`, `DB_HOST: db`,
/// `brokers: kafka:9092`), or the whole file (a file holding one host name).
pub fn file_hosts(text: &str) -> Vec<HostRef> {
    let whole = text.trim();
    if !whole.is_empty() && !whole.contains(char::is_whitespace) {
        let hosts = refs::hosts(whole);
        if let [h] = hosts.as_slice()
            && (whole == h.host || h.port.is_some_and(|p| whole == format!("{}:{p}", h.host)))
        {
            return hosts;
        }
    }
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = strip_comment(raw);
        if line.trim().is_empty() {
            continue;
        }
        let line = strip_sed(line);
        if let Some(value) = address_value(&line) {
            out.extend(refs::hosts(value));
            continue;
        }
        for h in refs::hosts(&line) {
            if h.in_url || (h.port.is_some() && stands_alone(&line, &h)) {
                out.push(h);
            }
        }
    }
    out
}

/// The line without its comment: `#`, `;`, `//` and `--` lines, and ` # ...` at the end.
fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if ["#", ";", "//", "--", "<!--", "%"]
        .iter()
        .any(|c| t.starts_with(c))
    {
        return "";
    }
    let b = line.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && b[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

/// The line without sed substitutions (`s/a/b/g`, `s|a|b|`): their patterns are text.
fn strip_sed(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b's'
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'-'))
            && i + 1 < b.len()
            && matches!(b[i + 1], b'/' | b'|' | b'#' | b',' | b'@' | b':');
        if starts {
            let d = b[i + 1];
            // Two more delimiters close the pattern and the replacement.
            let mut seen = 0;
            let mut j = i + 2;
            while j < b.len() && seen < 2 {
                if b[j] == d && b[j - 1] != b'\\' {
                    seen += 1;
                }
                j += 1;
            }
            if seen == 2 {
                out.push(' ');
                i = j;
                continue;
            }
        }
        let c = line[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The value of `key = value` or `key: value` with an address key.
fn address_value(line: &str) -> Option<&str> {
    let at = line.find(['=', ':'])?;
    address_key(&line[..at]).then(|| &line[at + 1..])
}

fn address_key(key: &str) -> bool {
    let key = key
        .trim()
        .trim_start_matches(['-', ' '])
        .trim_matches(['"', '\''])
        .trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return false;
    }
    let k = key.to_ascii_lowercase();
    let last = k.rsplit(['.', '_', '-']).next().unwrap_or(&k);
    refs::is_address_key(key)
        || [
            "host",
            "hosts",
            "hostname",
            "server",
            "servers",
            "address",
            "addr",
            "endpoint",
            "endpoints",
            "url",
            "uri",
            "upstream",
            "brokers",
            "dsn",
        ]
        .contains(&last)
        || k.ends_with("host")
        || k.ends_with("url")
}

/// `host:port` delimited as a value (not inside a word, a path or an expression).
fn stands_alone(line: &str, h: &HostRef) -> bool {
    let Some(port) = h.port else { return false };
    let needle = format!("{}:{port}", h.host);
    line.match_indices(&needle).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace() || "\"'=,([>@".contains(c))
            && after.is_none_or(|c| c.is_whitespace() || "\"',;)]/<".contains(c))
    })
}

/// Images whose args list names as certificate SANs, never calls, and that talk to the API
/// server (they write the Secret and patch webhook configurations): ingress-nginx's and
/// others' `kube-webhook-certgen`.
pub fn is_cert_generator(image: &str) -> bool {
    let repo = crate::workload::image_repository(image);
    repo.ends_with("kube-webhook-certgen") || repo.ends_with("/certgen")
}

/// An argument that lists certificate SANs: a `--san`-like flag, or a comma-separated list
/// naming one Service in two DNS forms (`svc,svc.ns.svc`).
pub fn is_san_list(arg: &str, namespace: &str) -> bool {
    let (flag, value) = match arg.split_once('=') {
        Some((f, v)) if f.starts_with('-') => (f.trim_start_matches('-'), v),
        _ => ("", arg),
    };
    if [
        "san",
        "sans",
        "tls-san",
        "dns-name",
        "dns-names",
        "cert-san",
        "cert-sans",
    ]
    .contains(&flag)
    {
        return true;
    }
    let names: Vec<(String, String)> = value
        .split(',')
        .filter_map(|e| refs::service_name(e.trim().trim_end_matches('.'), namespace))
        .collect();
    names.len() > 1
        && names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        file_hosts(text).into_iter().map(|h| h.host).collect()
    }

    #[test]
    fn prose_promql_sed_and_comments_are_no_addresses() {
        assert!(names("expr: up{job=\"node-exporter\"} == 0").is_empty());
        assert!(names("The frontend never talks to the backend directly.").is_empty());
        assert!(
            names("sed -e 's/backend:8080/frontend:80/g' -e 's|archive|archive-v2|' f").is_empty()
        );
        assert!(names("# upstream legacy: http://archive:9000 (removed)").is_empty());
        assert!(names("; fallback = backend:8080").is_empty());
        assert!(names("listen = 0.0.0.0:8080 # was backend:8080").is_empty());
    }

    #[test]
    fn addresses_in_files() {
        assert_eq!(names("proxy_pass http://backend:8080;"), ["backend"]);
        assert_eq!(names("  server backend:8080;"), ["backend"]);
        assert_eq!(names("redis.host=redis"), ["redis"]);
        assert_eq!(
            names("brokers: kafka-0:9092,kafka-1:9092"),
            ["kafka-0", "kafka-1"]
        );
        assert_eq!(names("db.data.svc\n"), ["db.data.svc"]);
        assert_eq!(
            names("url = postgresql://db.data.svc:5432/app"),
            ["db.data.svc"]
        );
    }

    #[test]
    fn certificate_sans() {
        assert!(is_san_list("--host=hook,hook.edge.svc", "edge"));
        assert!(is_san_list("--tls-san=api", "x"));
        assert!(!is_san_list("--host=db", "x"));
        assert!(!is_san_list("--peers=a,b", "x"));
        assert!(is_cert_generator(
            "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.0"
        ));
        assert!(!is_cert_generator("docker.io/library/postgres:17"));
    }
}
