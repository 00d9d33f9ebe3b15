//! `cargo xtask`: build steps that need the compiled clap definition.
//!
//! - `cargo xtask assets [DIR]` writes the man pages (`man/*.1`, one per command and
//!   subcommand, from `clap_mangen`) and the bash/zsh/fish completions (`completions/`,
//!   from `clap_complete`) into DIR (default `target/assets`).
//! - `cargo xtask deb [ARGS…]` writes the assets, then runs `cargo deb ARGS…`, whose asset
//!   list in Cargo.toml picks them up from `target/assets`.

mod man;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::CommandFactory;
use clap_complete::Shell;
use workspace_notifier::cli::Cli;

const BIN: &str = "workspace-notifier";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("assets") => {
            let dir = args.next().map_or_else(default_dir, PathBuf::from);
            assets(&dir)
        }
        Some("deb") => assets(&default_dir()).and_then(|()| deb(args.collect())),
        _ => Err("usage: cargo xtask assets [DIR] | cargo xtask deb [CARGO-DEB ARGS…]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate), wherever the command runs from.
fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// `target/assets` under the workspace root.
fn default_dir() -> PathBuf {
    root().join("target/assets")
}

fn assets(dir: &Path) -> Result<(), String> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(|e| format!("cannot clear {}: {e}", d.display()))?;
        }
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man)
        .map_err(|e| format!("cannot write man pages to {}: {e}", man.display()))?;
    for page in
        std::fs::read_dir(&man).map_err(|e| format!("cannot list {}: {e}", man.display()))?
    {
        let path = page.map_err(|e| e.to_string())?.path();
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        text.push_str(man::COMMON);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let config_page = man.join(format!("{BIN}.toml.5"));
    std::fs::write(&config_page, man::config_page(env!("CARGO_PKG_VERSION")))
        .map_err(|e| format!("cannot write {}: {e}", config_page.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let name = match shell {
            Shell::Bash => format!("{BIN}.bash"),
            Shell::Zsh => format!("_{BIN}"),
            _ => format!("{BIN}.fish"),
        };
        std::fs::write(
            completions.join(name),
            workspace_notifier::cli::completions(shell),
        )
        .map_err(|e| format!("cannot write {shell} completions: {e}"))?;
    }
    let pages = std::fs::read_dir(&man).map(Iterator::count).unwrap_or(0);
    println!(
        "xtask: {pages} man pages and 3 completion files in {}",
        dir.display()
    );
    Ok(())
}

fn deb(extra: Vec<String>) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .arg("deb")
        .args(extra)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo deb (install it: cargo install cargo-deb): {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo deb failed: {status}"))
    }
}
