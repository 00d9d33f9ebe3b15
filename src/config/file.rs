//! Reading the config file, bounded: a FIFO, a device or a file over [`MAX_CONFIG_BYTES`] is
//! refused before it can block the process or fill its memory, and an empty file is refused
//! (a file truncated by accident must not become "no schedules").

use std::io::Read;
use std::path::Path;

/// The largest config file read: 64 MiB (100,000 schedules take about 15 MiB).
pub(super) const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// The file's text, or why it cannot be the config.
pub(crate) fn read_bounded(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the config file: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read the config file: not a regular file ({})",
            kind_of(&meta.file_type())
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read the config file: {e}"))?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the config file: {e}"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the config file: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    if text.trim().is_empty() {
        return Err(
            "the config file is empty (truncated?): refused, so that no schedule is dropped by accident"
                .to_owned(),
        );
    }
    Ok(text)
}

fn too_large() -> String {
    format!("cannot read the config file: larger than {MAX_CONFIG_BYTES} bytes (64 MiB)")
}

fn kind_of(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if kind.is_dir() => "a directory",
        _ if kind.is_fifo() => "a FIFO",
        _ if kind.is_char_device() => "a character device",
        _ if kind.is_block_device() => "a block device",
        _ if kind.is_socket() => "a socket",
        _ => "not a file",
    }
}

/// An error text as it is shown: each line cut at 300 characters, at most 40 lines, so a huge
/// value in the file is not echoed whole.
pub(super) fn cut(text: &str) -> String {
    const LINE: usize = 300;
    const LINES: usize = 40;
    let mut out: Vec<String> = text
        .lines()
        .take(LINES)
        .map(|line| match line.char_indices().nth(LINE) {
            Some((at, _)) => format!(
                "{}… ({} more characters)",
                &line[..at],
                line[at..].chars().count()
            ),
            None => line.to_owned(),
        })
        .collect();
    let total = text.lines().count();
    if total > LINES {
        out.push(format!("… ({} more lines)", total - LINES));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_empty_and_huge_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert!(
            read_bounded(&fifo)
                .unwrap_err()
                .contains("not a regular file (a FIFO)")
        );
        assert!(
            read_bounded(Path::new("/dev/zero"))
                .unwrap_err()
                .contains("not a regular file (a character device)")
        );
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "\n  \n").unwrap();
        assert!(
            read_bounded(&empty)
                .unwrap_err()
                .contains("the config file is empty")
        );
        let huge = dir.path().join("huge.toml");
        let file = std::fs::File::create(&huge).unwrap();
        file.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        assert!(read_bounded(&huge).unwrap_err().contains("larger than"));
    }

    #[test]
    fn long_values_are_cut_in_errors() {
        let long = format!("message: invalid type \"{}\"", "x".repeat(1_000_000));
        let shown = cut(&long);
        assert!(shown.len() < 400, "{}", shown.len());
        assert!(shown.ends_with("more characters)"));
        assert_eq!(cut("short\nlines"), "short\nlines");
    }
}
