//! Strict typing of the config file as written. The layered loader (file, then environment)
//! converts between types on its own (`"yes"` becomes `true`, `42` becomes `"42"`); the file is
//! therefore first read into the same structs by `toml` alone, and a type error is reported
//! with the key path it occurred at, e.g. `schedules[1].message: invalid type: ...`.

use super::raw::RawConfig;

/// The file read into the raw structs, if every key of `text` has the type the program
/// expects (unknown keys are errors too).
pub fn parse(text: &str) -> Result<RawConfig, String> {
    match toml::from_str::<RawConfig>(text) {
        Ok(raw) => Ok(raw),
        Err(err) => {
            let message = err.message().trim_end().to_owned();
            Err(match err.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    let at = key_path_at(text, span.start);
                    match at {
                        Some(key) => format!("{key}: {message} (line {line})"),
                        None => format!("line {line}: {message}"),
                    }
                }
                None => message,
            })
        }
    }
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
}
