//! `--utc` and `--local` on every command that prints times; without them each command's own
//! zone (a schedule's zone, UTC for the recorded history, this machine's for the agenda), and
//! always with the offset.

use crate::helpers::*;

#[tokio::test]
async fn every_command_printing_times_takes_utc_and_local() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "ny",
        "cron = \"0 0 9 * * *\"\ntimezone = \"America/New_York\"",
        &[POOL],
        "",
    ));
    let c = config.to_str().unwrap();
    let sent = env.send(&config, "hello").await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let shanghai = [("TZ", "Asia/Shanghai")];
    let printed = |args: Vec<&'static str>| {
        let env = &env;
        async move {
            let mut all = args.clone();
            all.extend(["--config", c]);
            let out = env.run_env(&all, &shanghai).await;
            assert!(
                out.status.code().is_some_and(|c| c <= 1),
                "{all:?}: {}",
                stderr(&out)
            );
            stdout(&out)
        }
    };
    // (command, the offset it shows by itself)
    let commands: [(Vec<&'static str>, &str); 6] = [
        (vec!["check", "--next", "1"], "-05:00"),
        (vec!["schedule", "list"], "-05:00"),
        (vec!["status"], "-05:00"),
        (vec!["history"], "+00:00"),
        (vec!["show", "1"], "+00:00"),
        (vec!["agenda", "--until", "+2d"], "+08:00"),
    ];
    for (args, natural) in commands {
        let own = printed(args.clone()).await;
        assert!(own.contains(natural), "{args:?}: {own}");
        let mut utc = args.clone();
        utc.push("--utc");
        let text = printed(utc).await;
        assert!(text.contains("+00:00"), "{args:?} --utc: {text}");
        assert!(
            !text.contains("-05:00") && !text.contains("+08:00"),
            "{args:?} --utc: {text}"
        );
        let mut local = args.clone();
        local.push("--local");
        let text = printed(local).await;
        assert!(text.contains("+08:00"), "{args:?} --local: {text}");
        assert!(!text.contains("-05:00"), "{args:?} --local: {text}");
    }
    let both = env
        .run(&["history", "--utc", "--local", "--config", c])
        .await;
    assert_eq!(both.status.code(), Some(2));
}
