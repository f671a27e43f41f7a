//! The only module that knows which YAML crate the project uses.
//!
//! serde-saphyr reads into `serde_json::Value` with go-yaml v3's scalar rules (the reader
//! kustomize and kpt use): YAML 1.1 booleans such as `on`/`yes` stay strings, `0644` is the
//! octal integer 420. On output it quotes every string that a YAML 1.1 reader (kubectl's
//! `sigs.k8s.io/yaml`) would take for a boolean, number, null or timestamp. serde_yaml and its
//! forks fail exactly that test, which is why they are not used.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Hard bounds on what one input may cost, stated in errors so users know which bound they hit.
///
/// Chosen so that any input within them is processed in well under 2 GiB of address space
/// (a 13.7 MB ResourceList of 10,000 Deployments and Services peaks at about 260 MB, so
/// roughly 20x the input size): a 64 MiB ResourceList holds some 45,000 such workloads.
pub mod limits {
    /// Largest input accepted, in bytes.
    pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
    /// Deepest nesting of mappings and sequences.
    pub const MAX_DEPTH: usize = 128;
    /// Most YAML nodes (mappings, sequences and scalars) in one input, aliases expanded. The
    /// 10,000-Deployment ResourceList above has 1.3 million.
    pub const MAX_NODES: usize = 5_000_000;
    /// Most parser events in one input.
    pub const MAX_EVENTS: usize = 15_000_000;
    /// Most items (resources) in one input: every item may cost a result or two, so this
    /// bounds the output as well.
    pub const MAX_ITEMS: usize = 100_000;
    /// Most events replayed through aliases: a "billion laughs" document hits this quickly.
    pub const MAX_ALIAS_REPLAY: usize = 250_000;
    /// Most alias uses (`*name`) and most anchors (`&name`) in one input.
    pub const MAX_ALIASES: usize = 100_000;
    /// Most bytes of scalar text in one input, aliases expanded.
    pub const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;
    /// Most documents in one multi-document stream.
    pub const MAX_DOCUMENTS: usize = MAX_ITEMS;
}

/// A YAML input that could not be read, with the position the parser reported.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The text is not YAML.
    #[error("failed to parse YAML: {0}")]
    Parse(String),
    /// The input breaks one of the bounds in [`limits`]; the message names the bound.
    #[error("input refused: {0}")]
    Limit(String),
    /// The value could not be written as YAML.
    #[error("failed to write YAML: {0}")]
    Write(String),
    /// The input is larger than [`limits::MAX_INPUT_BYTES`] (it holds at least this many bytes:
    /// a reader stops one byte past the bound).
    #[error(
        "input refused: it is larger than the limit of {max} bytes (limits::MAX_INPUT_BYTES)",
        max = limits::MAX_INPUT_BYTES
    )]
    TooLarge(usize),
}

fn read_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(limits::MAX_INPUT_BYTES);
    budget.max_depth = limits::MAX_DEPTH;
    budget.max_nodes = limits::MAX_NODES;
    budget.max_events = limits::MAX_EVENTS;
    budget.max_total_scalar_bytes = limits::MAX_SCALAR_BYTES;
    budget.max_documents = limits::MAX_DOCUMENTS;
    budget.max_anchors = limits::MAX_ALIASES;
    budget.max_aliases = limits::MAX_ALIASES;
    budget.max_recorded_anchor_events = limits::MAX_ALIAS_REPLAY;
    let mut alias = serde_saphyr::options::AliasLimits::default();
    alias.max_total_replayed_events = limits::MAX_ALIAS_REPLAY;
    serde_saphyr::options! {
        budget: Some(budget),
        alias_limits: alias,
        legacy_octal_numbers: true,
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// Turns a parser error into one that names the bound that was hit, or the syntax problem
/// and where it is, without the parser's internal type names.
fn read_error(e: serde_saphyr::Error) -> YamlError {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    // A bound hit while expanding an alias comes wrapped with the alias's locations.
    let (e, used_at) = match e {
        E::AliasError {
            error, locations, ..
        } => (*error, Some(locations.reference_location)),
        E::WithSnippet { error, .. } => (*error, None),
        e => (e, None),
    };
    let at = used_at
        .or_else(|| e.location())
        .filter(|l| l.line() > 0)
        .map(|l| format!(" (at line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    let limit = |what: &str, max: usize| {
        YamlError::Limit(format!("the input exceeds the limit of {max} {what}{at}"))
    };
    match &e {
        E::Budget { breach, .. } => match breach {
            B::Depth { .. } => limit("levels of nesting (limits::MAX_DEPTH)", limits::MAX_DEPTH),
            B::Nodes { .. } => limit(
                "YAML nodes, aliases expanded (limits::MAX_NODES)",
                limits::MAX_NODES,
            ),
            B::Events { .. } => limit("parser events (limits::MAX_EVENTS)", limits::MAX_EVENTS),
            B::ScalarBytes { .. } => limit(
                "bytes of scalar text, aliases expanded (limits::MAX_SCALAR_BYTES)",
                limits::MAX_SCALAR_BYTES,
            ),
            B::Documents { .. } => {
                limit("documents (limits::MAX_DOCUMENTS)", limits::MAX_DOCUMENTS)
            }
            B::Aliases { .. } => limit("aliases (limits::MAX_ALIASES)", limits::MAX_ALIASES),
            B::Anchors { .. } => limit("anchors (limits::MAX_ALIASES)", limits::MAX_ALIASES),
            B::InputBytes { .. } => limit(
                "input bytes (limits::MAX_INPUT_BYTES)",
                limits::MAX_INPUT_BYTES,
            ),
            B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => limit(
                "events recorded for anchors, a \"billion laughs\" guard (limits::MAX_ALIAS_REPLAY)",
                limits::MAX_ALIAS_REPLAY,
            ),
            B::AliasAnchorRatio { aliases, anchors } => YamlError::Limit(format!(
                "{aliases} aliases for {anchors} anchors is more than 10 uses per anchor, \
                 a \"billion laughs\" guard{at}"
            )),
            _ => YamlError::Limit(format!("the input exceeds a parser bound{at}: {e}")),
        },
        E::AliasReplayLimitExceeded { .. } | E::AliasExpansionLimitExceeded { .. } => limit(
            "events replayed through aliases, a \"billion laughs\" guard (limits::MAX_ALIAS_REPLAY)",
            limits::MAX_ALIAS_REPLAY,
        ),
        E::AliasReplayStackDepthExceeded { max_depth, .. } => {
            limit("nested alias expansions", *max_depth)
        }
        E::DuplicateMappingKey { .. } => {
            // The crate's text suggests changing its options; users cannot, so say what it is.
            let text = e.to_string();
            let key = text
                .strip_prefix("duplicate mapping key: ")
                .and_then(|r| r.split(',').next())
                .unwrap_or("?");
            YamlError::Parse(format!("duplicate mapping key `{key}`{at}"))
        }
        // The flow-collection parser has its own nesting guard; it is the same bound to users.
        _ if e.to_string().starts_with("recursion limit exceeded") => {
            limit("levels of nesting (limits::MAX_DEPTH)", limits::MAX_DEPTH)
        }
        _ => YamlError::Parse(e.to_string()),
    }
}

/// Refuses more items than [`limits::MAX_ITEMS`].
pub fn check_items(count: usize) -> Result<(), YamlError> {
    if count > limits::MAX_ITEMS {
        return Err(YamlError::Limit(format!(
            "the input holds {count} items, more than the limit of {} items (limits::MAX_ITEMS)",
            limits::MAX_ITEMS
        )));
    }
    Ok(())
}

/// A JSON error from serde_json, with its bound named when it hit its nesting limit.
fn json_error(e: &serde_json::Error) -> YamlError {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        return YamlError::Limit(format!(
            "the input exceeds the limit of {} levels of nesting (limits::MAX_DEPTH) at line {}, column {}",
            limits::MAX_DEPTH,
            e.line(),
            e.column()
        ));
    }
    YamlError::Parse(text)
}

fn write_options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! {
        indent_step: 2,
        compact_list_indent: true,
        prefer_block_scalars: true,
        // Long single-line strings (last-applied JSON, descriptions) stay on one line: a
        // folded scalar would be correct but makes diffs of rendered output noisy.
        folded_wrap_chars: usize::MAX / 2,
    }
}

/// Refuses input over [`limits::MAX_INPUT_BYTES`] before any other work (UTF-8 checks included).
pub fn check_size(input: &[u8]) -> Result<(), YamlError> {
    if input.len() > limits::MAX_INPUT_BYTES {
        return Err(YamlError::TooLarge(input.len()));
    }
    Ok(())
}

/// True when the text is a JSON document (serde_json is several times faster than any YAML
/// parser, and kpt can send JSON).
pub fn looks_like_json(input: &str) -> bool {
    input.trim_start().starts_with('{')
}

/// An upper bound on the nodes of a JSON text, counted in one pass over its bytes.
fn json_node_bound(input: &str) -> usize {
    1 + input
        .bytes()
        .filter(|b| matches!(b, b',' | b':' | b'[' | b'{'))
        .count()
}

/// Reads one document (YAML or JSON) into an order-preserving tree.
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, YamlError> {
    check_size(input.as_bytes())?;
    spelling::record(input);
    // serde_json has no node budget: take the fast path only when the input cannot hold more
    // nodes than the bound (every node but the first needs a `,`, `:`, `[` or `{`).
    if looks_like_json(input) && json_node_bound(input) <= limits::MAX_NODES {
        match serde_json::from_str(input) {
            Ok(v) => return Ok(v),
            // Deep nesting is refused by both parsers; say which bound, not "not YAML".
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                return Err(json_error(&e));
            }
            // Flow-style YAML also starts with `{`: let the YAML parser have it.
            Err(_) => {}
        }
    }
    serde_saphyr::from_str_with_options(input, read_options()).map_err(read_error)
}

/// Inputs smaller than this are read on one thread: below it, starting threads costs more
/// than it saves.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The parallel fast path for a ResourceList document: a large one whose `items:` is a plain
/// block sequence has its items parsed on several threads (YAML parsing is most of a run's time).
/// None for anything unusual, any error or any piece over its share of the bounds: the caller
/// then reads the input the ordinary way, so results, bounds and error messages are the same.
pub fn resource_list_parallel(input: &str) -> Option<Value> {
    if input.len() < PARALLEL_MIN_BYTES
        || input.len() > limits::MAX_INPUT_BYTES
        || looks_like_json(input)
    {
        return None;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 {
        return None;
    }
    // The pieces are parsed on other threads; the spellings are this thread's to write.
    spelling::record(input);
    parallel::read(input, threads)
}

/// Reads a ResourceList document: the parallel fast path, else [`from_str`].
pub fn resource_list_from_str(input: &str) -> Result<Value, YamlError> {
    check_size(input.as_bytes())?;
    match resource_list_parallel(input) {
        Some(v) => Ok(v),
        None => from_str(input),
    }
}

/// Splitting one YAML document into pieces that parse alone. Only done when the text makes the
/// split unambiguous: no anchors or aliases (an alias may point into another piece), no
/// directives or document markers, exactly one `items:` line at column 0 followed by a block
/// sequence. A cut inside a multi-line quoted scalar or flow collection leaves the piece
/// before it unterminated, which fails to parse and sends the whole input to [`from_str`].
pub(crate) mod parallel {
    use serde_json::Value;

    fn indentation(line: &str) -> usize {
        line.len() - line.trim_start_matches(' ').len()
    }

    fn is_entry(line: &str, indent: usize) -> bool {
        indentation(line) == indent && {
            let rest = line[indent..].trim_end();
            rest == "-" || line[indent..].starts_with("- ")
        }
    }

    /// An `&anchor` or `*alias` could start here (conservative: `a & b` also counts).
    fn may_have_anchors(input: &str) -> bool {
        let b = input.as_bytes();
        b.iter().enumerate().any(|(i, &c)| {
            (c == b'&' || c == b'*')
                && (i == 0
                    || matches!(
                        b[i - 1],
                        b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b'-' | b':'
                    ))
        })
    }

    /// The envelope with `items: []` and the item pieces (each a block sequence), or None.
    pub(crate) fn split(input: &str, pieces: usize) -> Option<(String, Vec<&str>)> {
        if input.starts_with('%') || may_have_anchors(input) {
            return None;
        }
        let mut items_line = None;
        let mut offset = 0;
        for line in input.split_inclusive('\n') {
            if line.starts_with("---") || line.starts_with("...") {
                return None;
            }
            if line.trim_end() == "items:" {
                if items_line.is_some() {
                    return None;
                }
                items_line = Some((offset, offset + line.len()));
            }
            offset += line.len();
        }
        let (items_start, block_start) = items_line?;
        // The block: entries at one indentation and everything indented deeper, blank lines
        // and comments; it ends at the first other line.
        let mut indent = None;
        let mut starts = Vec::new();
        let mut block_end = input.len();
        let mut offset = block_start;
        for line in input[block_start..].split_inclusive('\n') {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                offset += line.len();
                continue;
            }
            if line.starts_with('\t') {
                return None;
            }
            let ind = *indent.get_or_insert_with(|| indentation(line));
            if is_entry(line, ind) {
                starts.push(offset);
            } else if indentation(line) <= ind {
                block_end = offset;
                break;
            }
            if starts.is_empty() {
                return None;
            }
            offset += line.len();
        }
        if starts.len() < 2 {
            return None;
        }
        // Pieces of about equal size, cut at entry starts.
        let per_piece = (block_end - starts[0]).div_ceil(pieces);
        let mut cuts = vec![starts[0]];
        for &s in &starts[1..] {
            if s - cuts[cuts.len() - 1] >= per_piece {
                cuts.push(s);
            }
        }
        cuts.push(block_end);
        let chunks = cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect();
        let envelope = format!(
            "{}items: []\n{}",
            &input[..items_start],
            &input[block_end..]
        );
        Some((envelope, chunks))
    }

    pub(crate) fn read(input: &str, threads: usize) -> Option<Value> {
        let (envelope, chunks) = split(input, threads)?;
        // Each piece gets its share of the node and event bounds, so the pieces together
        // never exceed what one reader allows.
        let pieces = chunks.len().max(1);
        let parse = |text: &str| {
            let mut options = super::read_options();
            if let Some(b) = options.budget.as_mut() {
                b.max_nodes = super::limits::MAX_NODES / pieces;
                b.max_events = super::limits::MAX_EVENTS / pieces;
            }
            serde_saphyr::from_str_with_options::<Vec<Value>>(text, options).ok()
        };
        let parsed: Vec<Option<Vec<Value>>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks[1..]
                .iter()
                .map(|c| s.spawn(move || parse(c)))
                .collect();
            let mut out = vec![parse(chunks[0])];
            out.extend(handles.into_iter().map(|h| h.join().ok().flatten()));
            out
        });
        let mut value: Value = super::from_str(&envelope).ok()?;
        let slot = value.as_object_mut()?.get_mut("items")?;
        if slot.as_array().is_none_or(|a| !a.is_empty()) {
            return None;
        }
        let mut items = Vec::new();
        for p in parsed {
            items.extend(p?);
        }
        *slot = Value::Array(items);
        Some(value)
    }
}

/// Reads every document of a multi-document stream; empty documents are dropped, as kubectl does.
pub fn documents_from_str(input: &str) -> Result<Vec<Value>, YamlError> {
    check_size(input.as_bytes())?;
    spelling::record(input);
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options(input, read_options()).map_err(read_error)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Writes one document, without a leading `---`.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    let mut out = String::new();
    write_to(&mut out, value)?;
    Ok(out)
}

/// Appends one document to `out`.
pub fn write_to<T: Serialize>(out: &mut String, value: &T) -> Result<(), YamlError> {
    if spelling::any() {
        if let Ok(tree) = serde_json::to_value(value) {
            return spelling::write(out, &tree);
        }
    }
    write_plain(out, value)
}

fn write_plain<T: Serialize>(out: &mut String, value: &T) -> Result<(), YamlError> {
    serde_saphyr::to_fmt_writer_with_options(out, value, write_options())
        .map_err(|e| YamlError::Write(e.to_string()))
}

/// Numbers as written. serde-saphyr hands a reader only the value of a float (`1e3` arrives as
/// 1000.0, an integer wider than 64 bits as the nearest float) and writes floats in one
/// canonical form, so a plain `1e3` came out as `1000.0`: the same value to a Go reader, but not
/// the text the user wrote, which kyaml (kpt) keeps.
///
/// The reader therefore also scans the input text for number spellings that become floats, and
/// remembers, per float value, the one spelling the input used for it; the writer writes a
/// float with a remembered spelling as that text. Keyed by value, not by place: a value the
/// input spells two ways (`1e3` and `1000.0`), or that only a string or a comment spells, is
/// written in the canonical form, as before. Every remembered spelling is a YAML float (or
/// integer) that Go's readers (go-yaml v2 and v3) read as exactly that value, so the output
/// always means what the tree holds. The table belongs to the thread that read the input
/// ([`spelling::snapshot`] hands it to a writer thread).
pub mod spelling {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
    use serde_json::Value;

    use super::YamlError;

    /// What the input spelt a float value as: one text, or several (then the canonical form).
    #[derive(Debug, Clone, PartialEq)]
    pub enum Spelt {
        One(String),
        Several,
    }

    /// Float values (by their bits) and their spellings.
    pub type Table = HashMap<u64, Spelt>;

    thread_local! {
        static TABLE: RefCell<Rc<Table>> = RefCell::new(Rc::new(Table::new()));
    }

    /// Marks a remembered spelling in the serializer's output: a private-use character no
    /// YAML writer quotes, removed again once the text is written.
    const MARK: char = '\u{E000}';

    /// True when this thread has remembered spellings to write.
    pub fn any() -> bool {
        TABLE.with(|t| !t.borrow().is_empty())
    }

    /// This thread's table, for a writer thread to [`install`].
    pub fn snapshot() -> Table {
        TABLE.with(|t| (**t.borrow()).clone())
    }

    /// Makes `table` this thread's.
    pub fn install(table: Table) {
        TABLE.with(|t| *t.borrow_mut() = Rc::new(table));
    }

    /// Forgets every spelling (a new input on a reused thread).
    pub fn clear() {
        install(Table::new());
    }

    /// A plain-scalar token that YAML reads as a float: a YAML 1.2 float, or a decimal integer
    /// too wide for 64 bits (readers fall back to a float). Tokens that fit an integer are
    /// integers to every reader and are left out.
    fn float_of(token: &str) -> Option<f64> {
        let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
        if digits.is_empty() {
            return None;
        }
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            if token.parse::<i64>().is_ok() || digits.parse::<u64>().is_ok() {
                return None;
            }
            return token.parse::<f64>().ok().filter(|f| f.is_finite());
        }
        // [0-9]+(\.[0-9]*)? | \.[0-9]+, then an optional exponent.
        let (mantissa, exponent) = match digits.find(['e', 'E']) {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let mantissa_ok = match frac {
            Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
            None => !int.is_empty() && all_digits(int),
        };
        let exponent_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        });
        if !(mantissa_ok && exponent_ok) || (frac.is_none() && exponent.is_none()) {
            return None;
        }
        token.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// The text the writer gives a float when it has no spelling for it.
    fn canonical(f: f64) -> String {
        let mut out = String::new();
        let _ = super::write_plain(&mut out, &f);
        out.trim_end().to_string()
    }

    /// Scans `input` for number spellings and adds them to this thread's table. A cheap
    /// lexical pass: a token found in a string or a comment may add a spelling too, which is
    /// harmless (it is still a spelling of that value) or makes the value ambiguous (written
    /// canonically, as before).
    pub fn record(input: &str) {
        let mut found: Vec<(u64, &str)> = Vec::new();
        let bytes = input.as_bytes();
        // Bytes that end a token, as a table: the scan touches every byte of the input.
        const BOUNDARY: [bool; 256] = {
            let mut t = [false; 256];
            let ends = b" \t\r\n\x0c,[]{}:#\"'";
            let mut k = 0;
            while k < ends.len() {
                t[ends[k] as usize] = true;
                k += 1;
            }
            t
        };
        let starts_number = |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.');
        let mut i = 0;
        while i < bytes.len() {
            if BOUNDARY[bytes[i] as usize] {
                i += 1;
                continue;
            }
            let start = i;
            let candidate = starts_number(bytes[start]);
            while i < bytes.len() && !BOUNDARY[bytes[i] as usize] {
                i += 1;
            }
            if !candidate {
                continue;
            }
            let token = &input[start..i];
            if let Some(f) = float_of(token) {
                found.push((f.to_bits(), token));
            }
        }
        if found.is_empty() {
            return;
        }
        let mut spelt: HashMap<u64, Spelt> = HashMap::new();
        for (bits, token) in found {
            let s = spelt
                .entry(bits)
                .or_insert_with(|| Spelt::One(token.to_string()));
            if *s != Spelt::One(token.to_string()) {
                *s = Spelt::Several;
            }
        }
        // Only values spelt otherwise than the writer would write them are remembered (most
        // inputs have none, and then the writer takes its usual path).
        spelt.retain(|bits, s| match s {
            Spelt::One(text) => *text != canonical(f64::from_bits(*bits)),
            Spelt::Several => true,
        });
        if spelt.is_empty() {
            return;
        }
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let table = Rc::make_mut(&mut t);
            for (bits, new) in spelt {
                let s = table.entry(bits).or_insert_with(|| new.clone());
                if *s != new {
                    *s = Spelt::Several;
                }
            }
        });
    }

    /// A tree serialized with remembered spellings (marked) for its floats.
    struct Spelled<'a> {
        value: &'a Value,
        table: &'a Table,
        /// Set when a string of the tree holds [`MARK`] itself: then marks cannot be told apart.
        clash: &'a Cell<bool>,
    }

    impl Spelled<'_> {
        fn of<'b>(&'b self, value: &'b Value) -> Spelled<'b> {
            Spelled {
                value,
                table: self.table,
                clash: self.clash,
            }
        }
    }

    impl Serialize for Spelled<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.value {
                Value::Number(n) if n.is_f64() => {
                    let f = n.as_f64().unwrap_or_default();
                    match self.table.get(&f.to_bits()) {
                        Some(Spelt::One(text)) => s.serialize_str(&format!("{MARK}{text}")),
                        _ => self.value.serialize(s),
                    }
                }
                Value::String(text) => {
                    if text.contains(MARK) {
                        self.clash.set(true);
                    }
                    s.serialize_str(text)
                }
                Value::Array(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(&self.of(item))?;
                    }
                    seq.end()
                }
                Value::Object(map) => {
                    let mut m = s.serialize_map(Some(map.len()))?;
                    for (k, v) in map {
                        if k.contains(MARK) {
                            self.clash.set(true);
                        }
                        m.serialize_entry(k, &self.of(v))?;
                    }
                    m.end()
                }
                other => other.serialize(s),
            }
        }
    }

    /// Appends `tree` to `out` with this thread's spellings.
    pub fn write(out: &mut String, tree: &Value) -> Result<(), YamlError> {
        let table = TABLE.with(|t| Rc::clone(&t.borrow()));
        let clash = Cell::new(false);
        let mut text = String::new();
        super::write_plain(
            &mut text,
            &Spelled {
                value: tree,
                table: &table,
                clash: &clash,
            },
        )?;
        // A mark written anywhere but at the start of a plain scalar (quoted, escaped) or a
        // string that holds one already: write the canonical forms instead.
        let marks = text.matches(MARK).count();
        let plain_marks =
            text.matches(&format!(": {MARK}")).count() + text.matches(&format!("- {MARK}")).count();
        if clash.get() || marks != plain_marks {
            return super::write_plain(out, tree);
        }
        out.push_str(&text.replace(MARK, ""));
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn float_spellings_and_not_integers() {
            assert_eq!(float_of("1e3"), Some(1000.0));
            assert_eq!(float_of("1.50"), Some(1.5));
            assert_eq!(float_of(".5"), Some(0.5));
            assert_eq!(float_of("-2.5E-3"), Some(-0.0025));
            assert!(float_of("12345678901234567890123").is_some());
            for not in [
                "42", "-7", "0644", "1.2.3", "1e", "e3", ".", "1_000", "0x1F", "1e999", "+",
                "1.5Gi",
            ] {
                assert_eq!(float_of(not), None, "{not}");
            }
        }

        fn round_trip(input: &str) -> String {
            clear();
            let v: Value = super::super::from_str(input).unwrap();
            let out = super::super::to_string(&v).unwrap();
            clear();
            out
        }

        #[test]
        fn numbers_keep_their_spelling() {
            let input =
                "a: 1e3\nb: 12345678901234567890123\nc: 1.50\nd: [2.50, .5]\ne: 0.25\nf: 7\n";
            assert_eq!(
                round_trip(input),
                "a: 1e3\nb: 12345678901234567890123\nc: 1.50\nd:\n- 2.50\n- .5\ne: 0.25\nf: 7\n"
            );
        }

        #[test]
        fn a_value_spelt_two_ways_is_written_canonically() {
            assert_eq!(round_trip("a: 1e3\nb: 1000.0\n"), "a: 1000.0\nb: 1000.0\n");
        }

        #[test]
        fn strings_that_look_like_numbers_stay_strings() {
            let out = round_trip("a: '1e3'\nb: |\n  x 1.50 y\nc: 1.50\n");
            let back: Value = super::super::from_str(&out).unwrap();
            assert_eq!(back["a"], "1e3");
            assert_eq!(back["b"], "x 1.50 y\n");
            assert!(out.contains("c: 1.50\n"), "{out}");
        }

        #[test]
        fn a_string_holding_the_mark_falls_back_to_canonical_numbers() {
            let out = round_trip("a: \"\u{E000}x\"\nc: 1.50\n");
            assert!(out.contains("c: 1.5\n"), "{out}");
            let back: Value = super::super::from_str(&out).unwrap();
            assert_eq!(back["a"], "\u{E000}x");
        }

        #[test]
        fn without_spellings_nothing_changes() {
            clear();
            assert!(!any());
            let v: Value = super::super::from_str("a: 1.5\nb: image:1.25\n").unwrap();
            assert!(!any(), "canonical spellings are not remembered");
            assert_eq!(
                super::super::to_string(&v).unwrap(),
                "a: 1.5\nb: image:1.25\n"
            );
        }
    }
}

/// Writes one value as an entry of a block list (`- ` and the value indented under it), exactly
/// as it appears inside a list written whole: entries written one by one and joined are the
/// list.
pub fn list_entry_to_string(value: &Value) -> Result<String, YamlError> {
    to_string(&std::slice::from_ref(value))
}

/// Writes a multi-document stream, each document introduced by `---`.
pub fn documents_to_string(docs: &[Value]) -> Result<String, YamlError> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        write_to(&mut out, doc)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_traps_stay_strings_and_are_quoted_on_output() {
        let input =
            "a: on\nb: yes\nc: y\nd: 1_000\ne: 2024-01-01\nf: '0644'\ng: 0644\nh: \"on\"\non: x\n";
        let v: Value = from_str(input).unwrap();
        assert_eq!(v["a"], json!("on"));
        assert_eq!(v["b"], json!("yes"));
        assert_eq!(v["c"], json!("y"));
        assert_eq!(v["e"], json!("2024-01-01"));
        assert_eq!(v["f"], json!("0644"));
        assert_eq!(v["g"], json!(420));
        assert_eq!(v["on"], json!("x"));
        let out = to_string(&v).unwrap();
        for trap in ["on", "yes", "y", "2024-01-01", "0644"] {
            assert!(
                !out.contains(&format!(": {trap}\n")),
                "{trap} written unquoted in:\n{out}"
            );
        }
        let back: Value = from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn multi_line_strings_are_block_scalars() {
        let v = json!({"conf": "server {\n  listen 8080;\n}\n"});
        let out = to_string(&v).unwrap();
        assert!(out.contains("conf: |"), "{out}");
    }

    #[test]
    fn long_single_line_strings_stay_on_one_line() {
        let long = "word ".repeat(40);
        let v = json!({ "s": long.trim_end() });
        let out = to_string(&v).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert_eq!(from_str::<Value>(&out).unwrap(), v);
    }

    #[test]
    fn key_order_is_preserved() {
        let v: Value = from_str("z: 1\na: 2\nm: 3\n").unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(from_str::<Value>("a: 1\na: 2\n").is_err());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            doc.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = name;
        }
        let err = from_str::<Value>(&doc).unwrap_err();
        assert!(
            err.to_string().contains("alias")
                || err.to_string().contains("limit")
                || err.to_string().contains("budget"),
            "{err}"
        );
    }

    #[test]
    fn json_input_is_accepted() {
        let v: Value = from_str("{\"kind\": \"ResourceList\", \"items\": []}").unwrap();
        assert_eq!(v["kind"], json!("ResourceList"));
    }

    /// The parallel reader must give exactly what the one-thread reader gives.
    fn same_as_sequential(input: &str) -> Option<Value> {
        let par = parallel::read(input, 3);
        if let Some(p) = &par {
            assert_eq!(p, &from_str::<Value>(input).unwrap(), "{input}");
            // Key order too, not just equality of maps.
            assert_eq!(
                serde_json::to_string(p).unwrap(),
                serde_json::to_string(&from_str::<Value>(input).unwrap()).unwrap()
            );
        }
        par
    }

    fn items(n: usize, wide: bool) -> String {
        let (d, p) = if wide { ("  - ", "    ") } else { ("- ", "  ") };
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&format!(
                "{d}apiVersion: v1\n{p}kind: ConfigMap\n{p}metadata:\n{p}  name: c{i}\n\n# a comment\n{p}data:\n{p}  script: |\n{p}    - not an item\n{p}    echo {i}\n{p}  flag: on\n{p}  mode: 0644\n"
            ));
        }
        s
    }

    #[test]
    fn parallel_items_match_the_sequential_reader() {
        for wide in [false, true] {
            let body = items(7, wide);
            let fc = "functionConfig:\n  kind: X\n  data: {a: 1}\n";
            for input in [
                format!("apiVersion: v1\nkind: ResourceList\nitems:\n{body}{fc}"),
                format!("kind: ResourceList\n{fc}items:\n{body}"),
                format!("kind: ResourceList\nitems:\n{body}# trailing\nresults: []\n"),
            ] {
                let v = same_as_sequential(&input).expect("plain input is split");
                assert_eq!(v["items"].as_array().unwrap().len(), 7);
            }
        }
    }

    #[test]
    fn doubtful_input_is_left_to_the_sequential_reader() {
        let body = items(4, false);
        for input in [
            // Anchors and aliases can cross pieces.
            format!("kind: ResourceList\nitems:\n- &a {{kind: A}}\n- *a\n{body}"),
            // A second document.
            format!("kind: ResourceList\nitems:\n{body}---\nkind: B\n"),
            // A flow sequence.
            "kind: ResourceList\nitems: [{kind: A}, {kind: B}]\n".to_string(),
            // Duplicate top-level key.
            format!("kind: ResourceList\nitems:\n{body}items:\n{body}"),
        ] {
            assert!(same_as_sequential(&input).is_none(), "{input}");
        }
    }

    #[test]
    fn a_cut_inside_a_quoted_scalar_fails_safe() {
        // The line `- b` inside the quoted string looks like an item start at column 0.
        let input = "kind: ResourceList\nitems:\n- a: 1\n- s: \"one\n- b: two\"\n- c: 3\n- d: 4\n";
        let seq = from_str::<Value>(input);
        // None means it fell back: the sequential reader decides, with its own error.
        if let Some(v) = parallel::read(input, 4) {
            assert_eq!(v, seq.unwrap());
        }
    }

    #[test]
    fn resource_list_reader_agrees_on_large_input() {
        let input = format!("kind: ResourceList\nitems:\n{}", items(10_000, false));
        assert!(input.len() > PARALLEL_MIN_BYTES);
        assert_eq!(
            resource_list_from_str(&input).unwrap(),
            from_str::<Value>(&input).unwrap()
        );
    }

    #[test]
    fn streams_drop_empty_documents() {
        let docs = documents_from_str("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
