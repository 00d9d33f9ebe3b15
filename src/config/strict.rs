//! Strict typing of the config file as written. The layered loader (file, then environment)
//! converts between types on its own (`"yes"` becomes `true`, `42` becomes `"42"`); the file is
//! therefore first read into the same structs by `toml` alone, and a type error is reported
//! with the key path it occurred at, e.g. `schedules[1].message: invalid type: ...`.

use super::raw::RawConfig;

/// The file read into the raw structs, if every key of `text` has the type the program
/// expects (unknown keys are errors too).
#[cfg(test)]
pub fn parse(text: &str) -> Result<RawConfig, String> {
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
pub struct Entries<'a> {
    text: &'a str,
    ranges: Vec<std::ops::Range<usize>>,
}

impl<'a> Entries<'a> {
    /// Each entry, in file order, as a `RawConfig` holding that one schedule or window.
    pub fn parts(&self) -> impl Iterator<Item = Result<RawConfig, String>> + '_ {
        self.ranges
            .iter()
            .map(|range| parse_part(self.text, &self.text[range.clone()], range.start))
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
pub fn parse_settings(text: &str) -> Result<(RawConfig, Entries<'_>), String> {
    let ranges = list_entries(text);
    let no_entries = |raw| {
        Ok((
            raw,
            Entries {
                text,
                ranges: Vec::new(),
            },
        ))
    };
    if ranges.is_empty() {
        return no_entries(parse_part(text, text, 0)?);
    }
    // The settings without the entries: each entry is replaced by its line breaks alone, so
    // lines keep their numbers; `original` maps an offset back into the file.
    let mut settings = String::new();
    let mut cuts: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    let mut kept = 0;
    for range in &ranges {
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
    let raw = parse_mapped(text, &settings, &original)?;
    drop(settings);
    if !raw.schedules.is_empty() || !raw.maintenance_windows.is_empty() {
        // The lists are also written another way (`schedules = [...]`): let the whole
        // document's parse judge the mix.
        return no_entries(parse_part(text, text, 0)?);
    }
    Ok((raw, Entries { text, ranges }))
}

/// `part` (which starts at byte `offset` of `text`) read into the raw structs; an error names
/// the key path and the line in `text`.
fn parse_part(text: &str, part: &str, offset: usize) -> Result<RawConfig, String> {
    parse_mapped(text, part, &|at| offset + at)
}

/// `part` read into the raw structs; `original` maps an offset in `part` to one in `text`.
fn parse_mapped(
    text: &str,
    part: &str,
    original: &dyn Fn(usize) -> usize,
) -> Result<RawConfig, String> {
    toml::from_str::<RawConfig>(part).map_err(|err| {
        let message = err.message().trim_end().to_owned();
        match err.span() {
            Some(span) => {
                let at = original(span.start).min(text.len());
                let line = text[..at].matches('\n').count() + 1;
                match key_path_at(text, at) {
                    Some(key) => format!("{key}: {message} (line {line})"),
                    None => format!("line {line}: {message}"),
                }
            }
            None => message,
        }
    })
}

/// The byte ranges of the `[[schedules]]` and `[[maintenance_windows]]` entries: from an
/// entry's header to the next header that is not one of its own sub-tables. Headers are found
/// with TOML's lexer (a `[` inside a string, comment or multi-line array is not one).
fn list_entries(text: &str) -> Vec<std::ops::Range<usize>> {
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
    let mut entries = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (start, header) in &headers {
        let (array, name) = name(header);
        if let Some((begun, list)) = open {
            if name.starts_with(&format!("{list}.")) {
                continue;
            }
            entries.push(begun..*start);
            open = None;
        }
        if array && let Some(list) = LISTS.iter().find(|l| **l == name) {
            open = Some((*start, list));
        }
    }
    if let Some((begun, _)) = open {
        entries.push(begun..text.len());
    }
    entries
}

/// The dotted key path of the value at byte `offset`: the table header above it (with the
/// index of an array-of-tables entry, counted from 0) and the key on its line.
fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let mut table: Option<String> = None;
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for header in text[..line_start].lines().map(str::trim) {
        if let Some(name) = header.strip_prefix("[[").and_then(|h| h.split("]]").next()) {
            let name = name.trim().to_owned();
            let n = counts.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{n}]"));
            *n += 1;
        } else if let Some(name) = header.strip_prefix('[').and_then(|h| h.split(']').next()) {
            let name = name.trim();
            // A sub-table of the latest array entry keeps its index.
            table = Some(match (&table, name.split_once('.')) {
                (Some(t), Some((parent, rest))) if t.starts_with(&format!("{parent}[")) => {
                    format!("{}.{rest}", t.split('.').next().unwrap_or(t))
                }
                _ => name.to_owned(),
            });
        }
    }
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
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
