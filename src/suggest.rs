//! "Did you mean" candidates for a word the user wrote that names nothing: the same word in
//! another case first, then the closest by edit distance, as kubectl and cargo suggest.

/// Candidates close to `word`, closest first: a case-insensitive match, then those within a
/// small edit distance (a third of the word's length, at least 2), then those that contain the
/// word or that the word contains (a name changed by kustomize's `namePrefix`/`nameSuffix`).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != word && !c.is_empty())
        .filter_map(|c| {
            let cl = c.to_lowercase();
            if cl == lower {
                return Some((0, c));
            }
            let d = distance(&lower, &cl);
            if d <= limit {
                Some((d, c))
            } else if !lower.is_empty() && (cl.contains(&lower) || lower.contains(&cl)) {
                Some((limit + 1, c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// `; did you mean `a` / `b``, or nothing when there is no candidate.
pub fn did_you_mean(candidates: &[&str]) -> String {
    if candidates.is_empty() {
        return String::new();
    }
    let list: Vec<String> = candidates
        .iter()
        .take(3)
        .map(|c| format!("`{c}`"))
        .collect();
    format!("; did you mean {}", list.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_then_distance_then_affix() {
        assert_eq!(
            closest("deployment", ["Service", "Deployment"]),
            ["Deployment"]
        );
        assert_eq!(closest("shpo", ["shop", "payments"]), ["shop"]);
        assert_eq!(closest("api", ["prod-api", "web"]), ["prod-api"]);
        assert!(closest("zzz", ["shop"]).is_empty());
        assert_eq!(
            closest("skip-container", ["skip-containers", "skip"]),
            ["skip-containers", "skip"]
        );
    }
}
