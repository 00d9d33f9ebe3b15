//! The `workspace-notifier` binary: all the work is in the library.

fn main() -> std::process::ExitCode {
    workspace_notifier::cli::main()
}
