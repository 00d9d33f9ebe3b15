//! Strict typing of the config file as written. The layered loader (file, then environment)
//! converts between types on its own (`"yes"` becomes `true`, `42` becomes `"42"`); the file is
//! therefore first read into the same structs by `toml` alone, and a type error is reported
//! with the key path it occurred at, e.g. `schedules[1].message: invalid type: ...`. The path
//! comes from the deserializer itself (`serde_path_to_error`), never from reading lines, so a
//! `[Header]` line inside a multi-line string cannot mislead it.

use super::raw::RawConfig;

/// The file read into the raw structs, if every key of `text` has the type the program
/// expects (unknown keys are errors too).
#[cfg(test)]
pub(super) fn parse(text: &str) -> Result<RawConfig, String> {
    let (mut raw, entries) = parse_settings(text)?;
    for part in entries.parts() {
        let part = part?;
        raw.schedules.extend(part.schedules);
        raw.maintenance_windows.extend(part.maintenance_windows);
    }
    Ok(raw)
}

/// The `[[schedules]]` and `[[maintenance_windows]]` entries of a file, each read only when
/// iterated (see [`parse_settings`]).
pub(super) struct Entries<'a> {
    text: &'a str,
    entries: Vec<Entry>,
}

/// One entry: where it is in the file, which list it belongs to and its index there.
struct Entry {
    range: std::ops::Range<usize>,
    list: &'static str,
    index: usize,
}

impl<'a> Entries<'a> {
    /// Each entry, in file order, as a `RawConfig` holding that one schedule or window.
    pub(super) fn parts(&self) -> impl Iterator<Item = Result<RawConfig, String>> + '_ {
        self.entries.iter().map(|entry| {
            let at = entry.range.start;
            parse_mapped(
                self.text,
                &self.text[entry.range.clone()],
                &|offset| at + offset,
                Some((entry.list, entry.index)),
            )
        })
    }
}

/// The settings of the file (everything but the `[[schedules]]` and `[[maintenance_windows]]`
/// entries, with lists written inline included), and the entries, to be read one at a time.
///
/// A whole-document parse holds a tree of the entire file, about 3.5 KB per schedule: 350 MB
/// at once for 100,000 schedules. Read one by one, each entry's tree is dropped before the
/// next is read, and validation keeps only what it produced. The settings are read once
/// with the entries blanked out, so offsets stay those of the file and errors name the same
/// key and line either way.
pub(super) fn parse_settings(text: &str) -> Result<(RawConfig, Entries<'_>), String> {
    let entries = list_entries(text);
    let no_entries = |raw| {
        Ok((
            raw,
            Entries {
                text,
                entries: Vec::new(),
            },
        ))
    };
    if entries.is_empty() {
        return no_entries(parse_part(text, text, 0)?);
    }
    // The settings without the entries: each entry is replaced by its line breaks alone, so
    // lines keep their numbers; `original` maps an offset back into the file.
    let mut settings = String::new();
    let mut cuts: Vec<(usize, usize)> = Vec::with_capacity(entries.len());
    let mut kept = 0;
    for Entry { range, .. } in &entries {
        settings.push_str(&text[kept..range.start]);
        settings.extend(std::iter::repeat_n(
            '\n',
            text[range.clone()].matches('\n').count(),
        ));
        cuts.push((settings.len(), range.end));
        kept = range.end;
    }
    settings.push_str(&text[kept..]);
    let original = |at: usize| match cuts.iter().rev().find(|(from, _)| *from <= at) {
        Some((from, to)) => to + (at - from),
        None => at,
    };
    let raw = parse_mapped(text, &settings, &original, None)?;
    drop(settings);
    if !raw.schedules.is_empty() || !raw.maintenance_windows.is_empty() {
        // The lists are also written another way (`schedules = [...]`): let the whole
        // document's parse judge the mix.
        return no_entries(parse_part(text, text, 0)?);
    }
    Ok((raw, Entries { text, entries }))
}

/// `part` (which starts at byte `offset` of `text`) read into the raw structs; an error names
/// the key path and the line in `text`.
fn parse_part(text: &str, part: &str, offset: usize) -> Result<RawConfig, String> {
    parse_mapped(text, part, &|at| offset + at, None)
}

/// `part` read into the raw structs; `original` maps an offset in `part` to one in `text`.
/// `entry` is the list and index of the one entry `part` holds, if it is one: its errors are
/// named `schedules[7]...`, not `schedules[0]...`.
fn parse_mapped(
    text: &str,
    part: &str,
    original: &dyn Fn(usize) -> usize,
    entry: Option<(&str, usize)>,
) -> Result<RawConfig, String> {
    let located = |path: String, err: &toml::de::Error| {
        let message = err.message().trim_end();
        let line = err.span().map(|span| {
            let at = original(span.start).min(text.len());
            text[..at].matches('\n').count() + 1
        });
        match (path.is_empty(), line) {
            (false, Some(line)) => format!("{path}: {message} (line {line})"),
            (false, None) => format!("{path}: {message}"),
            (true, Some(line)) => format!("line {line}: {message}"),
            (true, None) => message.to_owned(),
        }
    };
    let document = toml::Deserializer::parse(part).map_err(|err| located(String::new(), &err))?;
    serde_path_to_error::deserialize::<_, RawConfig>(document)
        .map_err(|err| located(key_path(err.path(), entry), err.inner()))
}

/// The dotted key path serde walked to the error, e.g. `schedules[2].resend_failed.after`;
/// the first index is the entry's own when `part` held one entry.
fn key_path(path: &serde_path_to_error::Path, entry: Option<(&str, usize)>) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    let mut list: Option<&str> = None;
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let index = match (entry, list) {
                    (Some((name, at)), Some(current)) if name == current => at,
                    _ => *index,
                };
                out.push_str(&format!("[{index}]"));
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
        list = match segment {
            Segment::Map { key } if out == *key => Some(key.as_str()),
            _ => None,
        };
    }
    out
}

/// The byte ranges of the `[[schedules]]` and `[[maintenance_windows]]` entries: from an
/// entry's header to the next header that is not one of its own sub-tables. Headers are found
/// with TOML's lexer (a `[` inside a string, comment or multi-line array is not one).
fn list_entries(text: &str) -> Vec<Entry> {
    use toml_parser::lexer::TokenKind;
    const LISTS: [&str; 2] = ["schedules", "maintenance_windows"];
    let mut headers: Vec<(usize, String)> = Vec::new();
    let (mut depth, mut line_start, mut in_header) = (0usize, true, false);
    for token in toml_parser::Source::new(text).lex() {
        let span = token.span();
        match token.kind() {
            TokenKind::Newline => {
                line_start = true;
                in_header = false;
                continue;
            }
            TokenKind::Whitespace | TokenKind::Comment => continue,
            _ if in_header => {}
            TokenKind::LeftSquareBracket if depth == 0 && line_start => {
                in_header = true;
                let line = &text[span.start()..];
                let line = line.split(['\n', '#']).next().unwrap_or("");
                headers.push((span.start(), line.trim().to_owned()));
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        line_start = false;
    }
    let name = |header: &str| -> (bool, String) {
        let array = header.starts_with("[[");
        let inner = header.trim_matches(|c| c == '[' || c == ']');
        (array, inner.replace(['"', '\'', ' ', '\t'], ""))
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut counts = [0usize; 2];
    let mut open: Option<(usize, usize)> = None;
    let mut close = |begun: usize, which: usize, end: usize, entries: &mut Vec<Entry>| {
        entries.push(Entry {
            range: begun..end,
            list: LISTS[which],
            index: counts[which],
        });
        counts[which] += 1;
    };
    for (start, header) in &headers {
        let (array, name) = name(header);
        if let Some((begun, which)) = open {
            if name.starts_with(&format!("{}.", LISTS[which])) {
                continue;
            }
            close(begun, which, *start, &mut entries);
            open = None;
        }
        if array && let Some(which) = LISTS.iter().position(|l| *l == name) {
            open = Some((*start, which));
        }
    }
    if let Some((begun, which)) = open {
        close(begun, which, text.len(), &mut entries);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_are_named_by_key_path() {
        let err = parse("[daemon]\ndry_run = \"yes\"\n").unwrap_err();
        assert!(err.starts_with("daemon.dry_run:"), "{err}");
        let text = "[[schedules]]\nid = \"a\"\nmessage = \"m\"\n\n[[schedules]]\nid = \"b\"\nmessage = 42\n";
        let err = parse(text).unwrap_err();
        assert!(err.starts_with("schedules[1].message:"), "{err}");
        let err = parse("[workspace.credentials]\naccess_key_file = 7\n").unwrap_err();
        assert!(
            err.starts_with("workspace.credentials.access_key_file:"),
            "{err}"
        );
    }

    /// A `[Notice]` line inside a multi-line message is text, not a table header.
    #[test]
    fn a_header_line_inside_a_multi_line_string_does_not_change_the_key_path() {
        let text = "[[schedules]]\nid = \"a\"\ncron = \"0 0 * * *\"\npools = [\"p\"]\nmessage = \"\"\"\n[Notice] restart tonight\n\"\"\"\nmisfire_grace = 5\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with("schedules[0].misfire_grace: invalid type"),
            "{err}"
        );
        assert!(err.ends_with("(line 8)"), "{err}");
    }

    /// An unknown table written after `[retry]` is reported as itself, at the top level.
    #[test]
    fn an_unknown_table_after_retry_is_not_reported_under_retry() {
        for (table, name) in [
            ("[[tenants]]\nname = \"eu\"\n", "tenants"),
            ("[console]\nlisten = \"127.0.0.1:1\"\n", "console"),
        ] {
            let text = format!("[retry]\nmax_attempts = 3\n\n{table}");
            let err = parse(&text).unwrap_err();
            assert!(!err.starts_with("retry"), "{err}");
            assert!(err.contains(&format!("unknown field `{name}`")), "{err}");
            assert!(err.starts_with(&format!("{name}: unknown field")), "{err}");
            assert!(err.ends_with("(line 4)"), "{err}");
        }
    }

    /// Entries read one at a time keep their index within their own list.
    #[test]
    fn an_error_in_a_later_entry_names_its_index_in_its_own_list() {
        let text = "[[schedules]]\nid = \"a\"\n[[maintenance_windows]]\nid = \"w\"\n[[schedules]]\nid = \"b\"\n[[maintenance_windows]]\nid = \"v\"\nduration = 3\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with("maintenance_windows[1].duration: invalid type"),
            "{err}"
        );
        let err = parse(&text.replace("id = \"b\"", "id = \"b\"\nmessage = 1")).unwrap_err();
        assert!(err.starts_with("schedules[1].message:"), "{err}");
    }

    #[test]
    fn valid_files_and_unknown_keys() {
        assert!(parse("[daemon]\ndry_run = true\n").is_ok());
        let err = parse("[daemon]\ndry_runn = true\n").unwrap_err();
        assert!(err.contains("dry_runn"), "{err}");
    }

    /// Every prefix of a sample file, and the sample with a bracket, quote, newline or comment
    /// sign inserted anywhere: reading the entries one by one accepts exactly what the whole
    /// document's parse accepts, with the same result.
    #[test]
    fn entry_by_entry_reading_agrees_with_the_whole_document_on_mangled_files() {
        let text = "[daemon]\ndry_run = true\n\n[[schedules]]\nid = \"a\" # c\ncron = \"0 0 * * *\"\npools = [\n  \"p\",\n]\nmessage = \"\"\"x\n[y]\"\"\"\n[schedules.resend_failed]\nattempts = 1\nafter = \"1m\"\n[[maintenance_windows]]\nid = \"w\"\n[jobs]\nenabled = false\n[[schedules]]\nid = \"b\"\n";
        let mut variants: Vec<String> = (0..=text.len()).map(|i| text[..i].to_owned()).collect();
        for i in 0..=text.len() {
            for insert in ["[", "]", "\"", "\n", "#", "[[schedules]]\n"] {
                variants.push(format!("{}{insert}{}", &text[..i], &text[i..]));
            }
        }
        for variant in &variants {
            let ours = parse(variant).map(|raw| format!("{raw:?}"));
            let whole = toml::from_str::<RawConfig>(variant).map(|raw| format!("{raw:?}"));
            match (&ours, &whole) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{variant:?}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{variant:?}: entries {ours:?}, whole {whole:?}"),
            }
        }
    }

    #[test]
    fn entries_read_one_by_one_match_the_whole_document() {
        let text = "# [[schedules]] in a comment\n[daemon]\ndry_run = true\n\n[[schedules]]\nid = \"a\"\nmessage = \"\"\"\n[[schedules]]\n\"\"\"\npools = [\n  \"p\",\n]\n[schedules.resend_failed]\nattempts = 1\nafter = \"1m\"\n\n[jobs]\nenabled = false\n\n[[maintenance_windows]]\nid = \"w\"\n\n[[schedules]]\nid = \"b\"\n";
        let raw = parse(text).unwrap();
        let whole: RawConfig = toml::from_str(text).unwrap();
        assert_eq!(list_entries(text).len(), 3);
        assert_eq!(format!("{raw:?}"), format!("{whole:?}"));
        assert_eq!(raw.schedules[0].message, "[[schedules]]\n");
        assert!(raw.schedules[0].resend_failed.is_some());
        assert!(!raw.jobs.enabled);
        // An error in the last entry names the key and line as the whole parse would.
        let bad = text.replace("id = \"b\"", "id = 7");
        let err = parse(&bad).unwrap_err();
        assert_eq!(err, parse_part(&bad, &bad, 0).unwrap_err());
        assert!(
            err.contains("].id: invalid type") && err.contains("(line 24)"),
            "{err}"
        );
        // So does an error in the settings after the entries (offsets mapped back).
        let bad = text.replace("enabled = false", "enabled = 3");
        let err = parse(&bad).unwrap_err();
        assert_eq!(err, parse_part(&bad, &bad, 0).unwrap_err());
        assert!(err.starts_with("jobs.enabled: invalid type"), "{err}");
        // The lists written inline instead still parse, and a mix is the document's call.
        let inline = "schedules = [{ id = \"x\" }]\n";
        assert_eq!(parse(inline).unwrap().schedules[0].id, "x");
        assert!(parse("schedules = [{ id = \"x\" }]\n[[schedules]]\nid = \"y\"\n").is_err());
    }
}
