//! Command-line conveniences: shell completions.

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
