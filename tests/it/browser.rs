//! The web console driven by a real headless browser (Debian's `chromium` through
//! `chromedriver`, spoken to over the WebDriver protocol): log in through the form, see the
//! overview, re-send a delivery, cancel a window with a notice, a hostile message shown as
//! text and never run, log out. `.ci/run` installs both and sets
//! `WORKSPACE_NOTIFIER_TEST_BROWSER=1`, which makes a missing browser a failure; elsewhere the
//! test says it was skipped. With `WORKSPACE_NOTIFIER_SCREENSHOT=FILE` it also saves the
//! overview as a PNG (the one in docs/console.md).

use serde_json::{Value, json};
use std::time::Duration;

use crate::fake::JobPlan;
use crate::helpers::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// chromedriver and a headless Chromium session, or None (skipped) when they are not
    /// installed and the run does not require them.
    async fn start() -> Option<Browser> {
        let driver_bin = std::path::Path::new("/usr/bin/chromedriver");
        if !driver_bin.exists() {
            assert!(
                std::env::var_os("WORKSPACE_NOTIFIER_TEST_BROWSER").is_none(),
                "WORKSPACE_NOTIFIER_TEST_BROWSER is set but /usr/bin/chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipped: no /usr/bin/chromedriver (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = free_port();
        let driver = std::process::Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let ready = wait_for(20, || async {
            match client.get(format!("{base}/status")).send().await {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            }
        })
        .await;
        assert!(ready, "chromedriver did not answer");
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let answer = client
            .post(format!("{base}/session"))
            .body(caps.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        Some(Browser {
            driver,
            base,
            session,
            client,
            _profile: profile,
        })
    }

    /// One WebDriver command: its `value`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self
                .client
                .post(url)
                .body(body.unwrap_or(json!({})).to_string()),
        };
        let answer = request.send().await.unwrap().text().await.unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// The element `css` selects, waiting up to 10 s for it (a page loading after a click).
    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let found = self
                .call(
                    "POST",
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = self.call("GET", "/url", None).await;
        panic!("no element {css} on {url}");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/click"), None)
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        let v = self.call("GET", &format!("/element/{el}/text"), None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    async fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    async fn url(&self) -> String {
        let v = self.call("GET", "/url", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The page as a PNG.
    async fn screenshot(&self) -> Vec<u8> {
        let v = self.call("GET", "/screenshot", None).await;
        base64_decode(v.as_str().expect("a screenshot"))
    }
}

/// Standard base64 (the screenshot WebDriver returns).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

#[tokio::test]
async fn the_console_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 5,
        failed: 3,
        ..JobPlan::default()
    });
    let port = free_port();
    let start = (chrono::Utc::now() + chrono::TimeDelta::days(2)).to_rfc3339();
    let soon = (chrono::Utc::now() + chrono::TimeDelta::hours(3)).to_rfc3339();
    let config = listening(
        &env.write_config(&format!(
            "[jobs]\nfirst_poll = \"1s\"\npoll_interval = \"1s\"\ngive_up_after = \"10s\"\ndesktop_batch = 2\n\n\
             [api]\nenabled = true\n\n\
             {}\n{}\n\
             [[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\n\
             notify_before = [\"1h\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\n\n\
             [[maintenance_windows]]\nid = \"tonight\"\nstart = \"{soon}\"\nduration = \"30m\"\n\
             notify_before = [\"2h\", \"30m\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\n",
            schedule_toml("nightly", "cron = \"0 0 3 * * *\"", &[POOL], ""),
            schedule_toml("hourly-reminder", "cron = \"0 15 * * * *\"", &[POOL], ""),
        )),
        port,
    );
    let c = config.to_str().unwrap();
    // Delivery 1: a hostile text, 3 of its 5 desktops failed.
    let hostile = "<img src=x onerror=\"document.title='owned'\">patch tonight";
    let mut send = send_args(&config, POOL, hostile).to_vec();
    send.push("--wait");
    assert_eq!(env.run(&send).await.status.code(), Some(1));
    env.fake.plan_jobs(JobPlan::default());
    let token = token(&env, c, "shift-lead", "operator").await;
    let daemon = env.spawn_daemon(&config).await;
    let ui = format!("http://127.0.0.1:{port}/ui");

    // Log in through the form; the overview.
    browser.go(&format!("{ui}/")).await;
    assert!(browser.url().await.ends_with("/ui/login"));
    browser.type_into("#token", &token).await;
    browser.click("#login").await;
    browser.find("#timeline").await;
    assert!(browser.url().await.ends_with("/ui/"));
    let agenda = browser.text("#agenda").await;
    assert!(agenda.contains("tonight"), "{agenda}");
    let outcomes = browser.text("table.deliveries").await;
    assert!(outcomes.contains("2/5 desktops (partial)"), "{outcomes}");
    if let Some(path) = std::env::var_os("WORKSPACE_NOTIFIER_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await).unwrap();
    }

    // The hostile text is shown as text: no image element, nothing ran.
    browser.go(&format!("{ui}/deliveries/1")).await;
    assert_eq!(browser.text("#message").await, hostile);
    assert_eq!(browser.script("return document.images.length").await, 0);
    let title = browser.script("return document.title").await;
    assert_eq!(title, "Delivery 1 — workspace-notifier");

    // Re-send to the desktops that did not get it.
    browser
        .type_into("#resend-form input[name=note]", "user called")
        .await;
    browser.click("#resend").await;
    let done = browser.text("#done").await;
    assert!(done.contains("re-sent as delivery 2, 3"), "{done}");
    assert_eq!(
        desktop_sends(&env),
        vec![
            vec!["desk-0002".to_owned(), "desk-0003".to_owned()],
            vec!["desk-0004".to_owned()]
        ]
    );

    // Cancel a window's next occurrence with a notice.
    browser.go(&format!("{ui}/maintenance")).await;
    browser
        .type_into("#window-patch input[name=notice]", "patching called off")
        .await;
    browser
        .type_into("#window-patch input[name=note]", "CHG-77 withdrawn")
        .await;
    browser.click("#window-patch button.cancel").await;
    let done = browser.text("#done").await;
    assert!(done.contains("cancelled patch"), "{done}");
    assert!(done.contains("1 notice(s) sent"), "{done}");
    let windows = maintenance_list(&env, c).await;
    let patch = windows.iter().find(|w| w["id"] == "patch").unwrap();
    assert_eq!(patch["upcoming"][0]["cancelled"], true, "{patch}");
    let actions = audit_rows(&env, c, &[]).await;
    let has = |row: [&str; 3]| actions.iter().any(|r| *r == row);
    assert!(
        has(["window.cancel", "shift-lead", "CHG-77 withdrawn"]),
        "{actions:?}"
    );
    assert!(has(["resend", "shift-lead", "user called"]), "{actions:?}");

    // Log out: back at the form, the console closed.
    browser.click("#logout").await;
    browser.find("#token").await;
    browser.go(&format!("{ui}/audit")).await;
    assert!(browser.url().await.ends_with("/ui/login"));
    browser.call("DELETE", "", None).await;
    assert_eq!(daemon.stop(10).await, Some(0));
}
