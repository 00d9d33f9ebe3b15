//! The web console over plain HTTP (the browser test drives the same pages in Chromium): the
//! login form and its cookie, pages behind it, the CSRF refusal, roles, escaping, the security
//! headers, logout, and a revoked token ending its sessions.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::*;

struct Web {
    port: u16,
    client: reqwest::Client,
}

impl Web {
    fn new(port: u16) -> Self {
        Web {
            port,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Logs in with `token`: the session cookie (`name=value`) and the whole Set-Cookie.
    async fn login(&self, token: &str) -> (String, String) {
        let answer = self
            .client
            .post(self.url("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("token", token)]))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()[LOCATION], "/ui/");
        let set = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        (set.split(';').next().unwrap().to_owned(), set)
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let answer = self
            .client
            .get(self.url(path))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (answer.status(), answer.text().await.unwrap())
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header(COOKIE, cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .unwrap()
    }
}

/// A form, encoded as a browser sends it.
pub(crate) fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    body.finish()
}

/// The CSRF token of a page's forms.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn the_console_logs_in_refuses_forms_without_csrf_and_escapes_what_it_shows() {
    let env = TestEnv::new().await;
    let port = free_port();
    let hostile = "<img src=x onerror=\"document.title='owned'\"> & <script>alert(1)</script>";
    let config = listening(
        &env.write_config(&format!(
            "[jobs]\nenabled = false\n\n[api]\nenabled = true\nsession_ttl = \"2h\"\n\n{}",
            schedule_toml(
                "nightly",
                "cron = \"0 0 3 * * *\"",
                &[POOL],
                &format!("message = {hostile:?}\n")
            )
            .replace("message = \"message of nightly\"\n", "")
        )),
        port,
    );
    let c = config.to_str().unwrap();
    env.create_database(&config).await;
    let viewer = token(&env, c, "helpdesk", "viewer").await;
    let operator = token(&env, c, "shift-lead", "operator").await;
    let daemon = env.spawn_daemon(&config).await;
    let web = Web::new(port);

    // Without a session every page sends to the login form; a bad token is refused there.
    let (status, _) = web.get("/ui/", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let refused = web
        .client
        .post(web.url("/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("token", "wn_nonsense")]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(SET_COOKIE).is_none());

    // The session cookie: HttpOnly, SameSite=Strict, the configured life, not Secure on
    // plain HTTP.
    let (session, set) = web.login(&operator).await;
    for part in ["HttpOnly", "SameSite=Strict", "Max-Age=7200", "Path=/ui"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    assert!(!set.contains(&operator[3..]), "the cookie is not the token");

    // Pages: the overview, with security headers; user text escaped.
    let answer = web
        .client
        .get(web.url("/ui/"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let csp = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = answer.text().await.unwrap();
    assert!(page.contains("Next 24 hours"), "{page}");
    assert!(page.contains("shift-lead (operator)"));
    assert!(
        page.contains(
            "&lt;img src=x onerror=&quot;document.title='owned'&quot;&gt; &amp; &lt;script&gt;"
        ),
        "{page}"
    );
    assert!(!page.contains("<img") && !page.contains("<script"));
    for path in [
        "/ui/schedules",
        "/ui/maintenance",
        "/ui/deliveries",
        "/ui/audit",
    ] {
        let (status, page) = web.get(path, &session).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("<img"), "{path}");
    }

    // A POST with the session but without (or with a wrong) CSRF token is 403 and changes
    // nothing; with it the pause is made, audited with the token's name and the note.
    let (_, page) = web.get("/ui/schedules", &session).await;
    let csrf = csrf_of(&page);
    for form in [
        vec![("note", "no csrf")],
        vec![("note", "wrong"), ("csrf", "wn_0000")],
    ] {
        let answer = web
            .post("/ui/schedules/nightly/pause", &session, &form)
            .await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    }
    let status_out = stdout(&env.run(&["status", "--config", c]).await);
    assert!(!status_out.contains("paused nightly"), "{status_out}");
    let answer = web
        .post(
            "/ui/schedules/nightly/pause",
            &session,
            &[("csrf", &csrf), ("note", "freeze CHG-12")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let status_out = stdout(&env.run(&["status", "--config", c]).await);
    assert!(status_out.contains("paused nightly"), "{status_out}");
    let trail = stdout(&env.run(&["audit", "--config", c]).await);
    assert!(
        trail.contains("shift-lead") && trail.contains("freeze CHG-12"),
        "{trail}"
    );

    // A viewer sees the pages but not the forms, and a forged form is refused.
    let (viewer_session, _) = web.login(&viewer).await;
    let (_, page) = web.get("/ui/schedules", &viewer_session).await;
    assert!(!page.contains("/resume\""), "{page}");
    let viewer_csrf = csrf_of(&page); // the logout form's
    let answer = web
        .post(
            "/ui/schedules/nightly/resume",
            &viewer_session,
            &[("csrf", &viewer_csrf)],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);

    // Logout ends the session; revoking a token ends its other sessions.
    let answer = web
        .post("/ui/logout", &viewer_session, &[("csrf", &viewer_csrf)])
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(
        answer.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = web.get("/ui/", &viewer_session).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let out = env
        .run(&["token", "revoke", "shift-lead", "--config", c])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let (status, _) = web.get("/ui/", &session).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(daemon.stop(10).await, Some(0));
}

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert.pem, key.pem) written in
/// the test's directory, and the certificate's PEM.
fn self_signed(env: &TestEnv) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert, key) = (env.path("cert.pem"), env.path("key.pem"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    write_secret(&key, &made.signing_key.serialize_pem());
    (cert, key, pem)
}

#[tokio::test]
async fn on_a_public_address_the_listener_speaks_tls_and_cookies_are_secure() {
    let env = TestEnv::new().await;
    let port = free_port();
    let (cert, key, pem) = self_signed(&env);
    let base = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n[api]\nenabled = true\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    ));
    let public = env.path("public.toml");
    std::fs::write(
        &public,
        std::fs::read_to_string(&base).unwrap().replace(
            "shutdown_grace = \"2s\"",
            &format!("shutdown_grace = \"2s\"\nlisten = \"0.0.0.0:{port}\""),
        ),
    )
    .unwrap();
    let c = public.to_str().unwrap();
    let check = env.run(&["check", "--config", c]).await;
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    env.create_database(&public).await;
    let token = token(&env, c, "ops", "viewer").await;
    let daemon = env.spawn_daemon(&public).await;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let ready = wait_for(10, || async {
        client
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(ready, "{}", daemon.logs());
    // The API and the console over HTTPS; the session cookie is Secure.
    let answer = client
        .get(format!("https://localhost:{port}/api/v1/status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let login = client
        .post(format!("https://localhost:{port}/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("token", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let set = login.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    // Plain HTTP on the same port gets no answer.
    let (status, _) = http_get(port, "/readyz").await;
    assert_eq!(status, 0);
    assert_eq!(daemon.stop(10).await, Some(0));

    // A key that does not go with the certificate, a file that is not PEM, one of the two
    // files alone: `check` exits 78 naming the key.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    write_secret(&key, &other.signing_key.serialize_pem());
    let check = env.run(&["check", "--config", c]).await;
    assert_eq!(check.status.code(), Some(78));
    assert!(
        stderr(&check).contains("api.tls_key_file"),
        "{}",
        stderr(&check)
    );
    assert!(!stderr(&check).contains("PRIVATE KEY"));
    std::fs::write(&cert, "not a certificate").unwrap();
    let check = env.run(&["check", "--config", c]).await;
    assert_eq!(check.status.code(), Some(78));
    assert!(
        stderr(&check).contains("api.tls_cert_file"),
        "{}",
        stderr(&check)
    );
    let text = std::fs::read_to_string(&public).unwrap();
    let alone: String = text
        .lines()
        .filter(|l| !l.starts_with("tls_key_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&public, alone).unwrap();
    let check = env.run(&["check", "--config", c]).await;
    assert_eq!(check.status.code(), Some(78));
    assert!(
        stderr(&check).contains("api.tls_key_file"),
        "{}",
        stderr(&check)
    );
}
