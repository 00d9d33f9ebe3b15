use super::*;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn secret_of(c: &Credentials) -> (String, String, Option<String>) {
    match c {
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => (
            access_key.clone(),
            secret_key.expose_secret().to_owned(),
            security_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
        ),
        Credentials::Token { .. } => panic!("expected AK/SK"),
    }
}

#[test]
fn config_paths_win_over_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let paths = CredentialPaths {
        access_key_file: Some(write(dir.path(), "ak", "AKFILE\n", 0o600)),
        secret_key_file: Some(write(dir.path(), "sk", "  SKFILE \n", 0o600)),
        security_token_file: Some(write(dir.path(), "tok", "TOKEN", 0o600)),
        token_file: None,
        service_dir: None,
        workspace: None,
    };
    let env = env_of(&[
        ("HUAWEICLOUD_SDK_AK", "ENVAK"),
        ("HUAWEICLOUD_SDK_SK", "ENVSK"),
    ]);
    let resolved = resolve(&paths, &env).unwrap();
    assert_eq!(
        secret_of(&resolved.credentials),
        ("AKFILE".into(), "SKFILE".into(), Some("TOKEN".into()))
    );
    assert!(resolved.warnings.is_empty());
}

#[test]
fn systemd_credentials_directory_comes_before_the_sdk_variables() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ak", "CREDAK", 0o600);
    write(dir.path(), "sk", "CREDSK", 0o600);
    let env = env_of(&[
        ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
        ("HUAWEICLOUD_SDK_AK", "ENVAK"),
        ("HUAWEICLOUD_SDK_SK", "ENVSK"),
    ]);
    let resolved = resolve(&CredentialPaths::default(), &env).unwrap();
    assert_eq!(secret_of(&resolved.credentials).0, "CREDAK");
}

#[test]
fn sdk_variables_carry_the_security_token_and_project_id() {
    let env = env_of(&[
        ("HUAWEICLOUD_SDK_AK", "ENVAK"),
        ("HUAWEICLOUD_SDK_SK", "ENVSK"),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "ENVTOKEN"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "proj1"),
    ]);
    let resolved = resolve(&CredentialPaths::default(), &env).unwrap();
    assert_eq!(
        secret_of(&resolved.credentials),
        ("ENVAK".into(), "ENVSK".into(), Some("ENVTOKEN".into()))
    );
    assert_eq!(resolved.project_id.as_deref(), Some("proj1"));
}

#[test]
fn the_sdk_profile_basic_section_is_read_last() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(
        dir.path(),
        "credentials",
        "[other]\nak = NO\n\n[basic]\n# comment\nak = PROFAK\nsk = PROFSK\nproject_id = profproj\n",
        0o644,
    );
    let env = env_of(&[(
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        profile.to_str().unwrap(),
    )]);
    let resolved = resolve(&CredentialPaths::default(), &env).unwrap();
    assert_eq!(secret_of(&resolved.credentials).0, "PROFAK");
    assert_eq!(resolved.project_id.as_deref(), Some("profproj"));
    assert_eq!(resolved.warnings.len(), 1);
    assert!(resolved.warnings[0].contains(profile.to_str().unwrap()));
}

#[test]
fn nothing_found_lists_every_place_tried() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[("HOME", dir.path().to_str().unwrap())]);
    let err = resolve(&CredentialPaths::default(), &env)
        .unwrap_err()
        .to_string();
    for place in [
        "[workspace.credentials]",
        "CREDENTIALS_DIRECTORY",
        "HUAWEICLOUD_SDK_AK",
        ".huaweicloud/credentials",
    ] {
        assert!(err.contains(place), "{place} missing from: {err}");
    }
}

#[test]
fn a_group_readable_secret_file_is_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let paths = CredentialPaths {
        access_key_file: Some(write(dir.path(), "ak", "AK", 0o600)),
        secret_key_file: Some(write(dir.path(), "sk", "SUPERSECRET", 0o640)),
        ..Default::default()
    };
    let resolved = resolve(&paths, &env_of(&[])).unwrap();
    assert_eq!(resolved.warnings.len(), 1);
    assert!(resolved.warnings[0].contains("sk"));
    assert!(!resolved.warnings[0].contains("SUPERSECRET"));
}

#[test]
fn debug_output_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", "IAMTOKENSECRET", 0o600);
    let env = env_of(&[
        ("HUAWEICLOUD_SDK_AK", "ENVAK"),
        ("HUAWEICLOUD_SDK_SK", "SKSECRETVALUE"),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "STSSECRET"),
    ]);
    let aksk = resolve(&CredentialPaths::default(), &env).unwrap();
    let tok = resolve(
        &CredentialPaths {
            token_file: Some(token),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    let text = format!("{aksk:?} {tok:?}");
    for secret in ["SKSECRETVALUE", "STSSECRET", "IAMTOKENSECRET"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn an_iam_token_is_re_read_from_its_file_on_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "token", "OLD", 0o600);
    let resolved = resolve(
        &CredentialPaths {
            token_file: Some(path.clone()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap();
    assert_eq!(
        resolved
            .credentials
            .token_value()
            .as_deref()
            .map(String::as_str),
        Some("OLD")
    );
    std::fs::write(&path, "NEW\n").unwrap();
    assert!(resolved.credentials.refresh_token().unwrap());
    assert_eq!(
        resolved
            .credentials
            .token_value()
            .as_deref()
            .map(String::as_str),
        Some("NEW")
    );
}

#[test]
fn root_finds_the_services_files_next_to_the_config_last() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ak", "SERVICEAK\n", 0o600);
    write(dir.path(), "sk", "SERVICESK\n", 0o600);
    let paths = CredentialPaths {
        service_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let resolved = resolve(&paths, &env_of(&[])).unwrap();
    assert_eq!(
        secret_of(&resolved.credentials),
        ("SERVICEAK".into(), "SERVICESK".into(), None)
    );
    assert!(
        resolved.source.contains("the service's files in"),
        "{}",
        resolved.source
    );
    // Anything earlier in the chain wins.
    let env = env_of(&[("HUAWEICLOUD_SDK_AK", "E"), ("HUAWEICLOUD_SDK_SK", "F")]);
    assert_eq!(
        secret_of(&resolve(&paths, &env).unwrap().credentials).0,
        "E"
    );
    // Missing: the error lists the service's files among the places tried.
    let empty = tempfile::tempdir().unwrap();
    let err = resolve(
        &CredentialPaths {
            service_dir: Some(empty.path().to_owned()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("the service's credential files: ak, sk (or ak.cred, sk.cred)"),
        "{err}"
    );
}

#[test]
fn encrypted_service_files_are_decrypted_with_systemd_creds() {
    let dir = tempfile::tempdir().unwrap();
    let encrypt = |name: &str, value: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new("systemd-creds")
            .args(["encrypt", &format!("--name={name}"), "-"])
            .arg(dir.path().join(format!("{name}.cred")))
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(value.as_bytes()).ok()?;
        child.wait().ok()?.success().then_some(())
    };
    if encrypt("ak", "ENCAK").is_none() || encrypt("sk", "ENCSK").is_none() {
        eprintln!("skipped: systemd-creds cannot encrypt here (not root, or not installed)");
        return;
    }
    let paths = CredentialPaths {
        service_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let resolved = resolve(&paths, &env_of(&[])).unwrap();
    assert_eq!(
        secret_of(&resolved.credentials),
        ("ENCAK".into(), "ENCSK".into(), None)
    );
    // A file that does not decrypt names itself, not its content.
    std::fs::write(dir.path().join("sk.cred"), "garbage").unwrap();
    let err = resolve(&paths, &env_of(&[])).unwrap_err().to_string();
    assert!(
        err.contains("sk.cred") && err.contains("systemd-creds decrypt failed"),
        "{err}"
    );
}

#[test]
fn a_named_workspace_reads_its_own_systemd_credentials_and_never_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ak", "DEFAULTAK", 0o600);
    write(dir.path(), "sk", "DEFAULTSK", 0o600);
    write(dir.path(), "ak.eu", "EUAK", 0o600);
    write(dir.path(), "sk.eu", "EUSK", 0o600);
    write(dir.path(), "security_token.eu", "EUTOKEN", 0o600);
    let env = env_of(&[
        ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
        ("HUAWEICLOUD_SDK_AK", "ENVAK"),
        ("HUAWEICLOUD_SDK_SK", "ENVSK"),
        (
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "0123456789abcdef0123456789abcdef",
        ),
    ]);
    let named = |name: &str| CredentialPaths {
        workspace: Some(name.to_owned()),
        ..CredentialPaths::default()
    };
    let eu = resolve(&named("eu"), &env).unwrap();
    assert_eq!(
        secret_of(&eu.credentials),
        ("EUAK".into(), "EUSK".into(), Some("EUTOKEN".into()))
    );
    assert_eq!(
        eu.project_id, None,
        "the SDK's project id is the default workspace's"
    );
    let default = resolve(&CredentialPaths::default(), &env).unwrap();
    assert_eq!(secret_of(&default.credentials).0, "DEFAULTAK");
    // A workspace with no files of its own is refused, naming it and every place looked,
    // and the environment's AK/SK (another account's) are not taken for it.
    let err = resolve(&named("ap"), &env).unwrap_err().to_string();
    assert!(
        err.starts_with("workspace \"ap\": no Workspace credentials found"),
        "{err}"
    );
    assert!(err.contains("files ak.ap, sk.ap in"), "{err}");
    assert!(!err.contains("HUAWEICLOUD_SDK"), "{err}");
}
