//! Command-line conveniences and hygiene: shell completions, what is printed for people.

use crate::helpers::*;

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    let env = TestEnv::new().await;
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef workspace-notifier"),
        ("fish", "complete -c workspace-notifier"),
    ] {
        let out = env.run(&["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains(marker) && text.contains("schedule"),
            "{shell}: {}",
            &text[..200.min(text.len())]
        );
    }
}

#[tokio::test]
async fn control_sequences_in_messages_are_printed_escaped() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let text = "Restart\u{1b}]0;owned\u{7}\u{1b}[2J tonight";
    let out = env.send(&config, text).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config_arg = config.to_str().unwrap();
    for args in [
        vec!["show", "--config", config_arg, "1"],
        vec!["history", "--config", config_arg],
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let printed = stdout(&out);
        assert!(
            !printed.contains('\u{1b}') && !printed.contains('\u{7}'),
            "{args:?}: {printed:?}"
        );
        if args[0] == "show" {
            assert!(printed.contains("Restart\\u{1b}]0;owned"), "{printed}");
        }
    }
    // JSON keeps the text exact (escaped by JSON itself).
    let out = env
        .run(&["show", "--config", config_arg, "1", "--json"])
        .await;
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["message"], text);
}

/// bash completes past the first word: `history --<TAB>` offers `history`'s options (the
/// generated script once matched none of its own states for a hyphenated binary name).
#[tokio::test]
async fn bash_completes_a_subcommands_options() {
    let env = TestEnv::new().await;
    let out = env.run(&["completions", "bash"]).await;
    let script = env.path("completion.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str, cur: &str, prev: &str| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _workspace__notifier workspace-notifier '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let options = complete("workspace-notifier history --", "--", "history");
    assert!(options.lines().any(|l| l == "--since"), "{options}");
    let nested = complete("workspace-notifier maintenance cancel --", "--", "cancel");
    assert!(nested.lines().any(|l| l == "--notice"), "{nested}");
    let first = complete("workspace-notifier sta", "sta", "workspace-notifier");
    assert!(first.lines().any(|l| l == "status"), "{first}");
}
