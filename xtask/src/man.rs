//! What clap's man pages do not say: EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO on every
//! page, and `workspace-notifier.toml(5)`, the config file's page.

/// Appended to every page of the command and its subcommands.
pub const COMMON: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success.
.TP
.B 1
A failure: a send that failed, an unusable database, \fBstatus\fR when something is failing.
.TP
.B 2
Bad usage: an unknown flag, or a value of the wrong form.
.TP
.B 70
An internal error (a panic); the service manager restarts the daemon.
.TP
.B 78
Invalid configuration or input; every error names its key or argument.
.SH ENVIRONMENT
.TP
.B WORKSPACE_NOTIFIER_CONFIG
The configuration file when \fB\-\-config\fR is not given.
.TP
.B WORKSPACE_NOTIFIER__SECTION__KEY
Overrides one key of the single\-valued sections, e.g.
\fBWORKSPACE_NOTIFIER__DAEMON__DRY_RUN=true\fR.
.TP
.B WORKSPACE_NOTIFIER_LOG
The log filter, e.g. \fBdebug\fR.
.TP
.B CREDENTIALS_DIRECTORY
The systemd credentials (\fBak\fR, \fBsk\fR, ...) the unit loads.
.TP
.B HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_PROJECT_ID, HUAWEICLOUD_SDK_CREDENTIALS_FILE
Credentials, project and profile as Huawei's SDKs read them.
.TP
.B TZ
This machine's zone: times given on the command line and local times printed.
.SH FILES
.TP
.I /etc/workspace\-notifier/config.toml
The configuration; see \fBworkspace\-notifier.toml\fR(5).
.TP
.I /var/lib/workspace\-notifier/state.db
The SQLite database, unless \fBdaemon.database\fR names PostgreSQL.
.TP
.I /usr/share/doc/workspace\-notifier/
The documentation, the example configuration, the Prometheus alert rules and the Grafana
dashboard.
.SH "SEE ALSO"
\fBworkspace\-notifier.toml\fR(5), \fBsystemctl\fR(1), \fBjournalctl\fR(1)
"#;

/// `workspace-notifier.toml(5)`.
pub fn config_page(version: &str) -> String {
    format!(
        r#".TH WORKSPACE\-NOTIFIER.TOML 5 "" "workspace\-notifier {version}" "File Formats"
.SH NAME
workspace\-notifier.toml \- the configuration of workspace\-notifier
.SH DESCRIPTION
A TOML file. Every key may be left out unless said otherwise; defaults are in parentheses.
A file with an error is refused whole, every error naming its key (exit status 78), and a
running daemon keeps its schedules when a reload is refused. Durations are written
\fB90s\fR, \fB15m\fR, \fB1h\fR, \fB2d\fR. The full reference, with examples, is
\fI/usr/share/doc/workspace\-notifier/docs/configuration.md\fR.
.SH SECTIONS
.TP
.B [daemon]
database (a SQLite path or a postgres:// URL; /var/lib/workspace\-notifier/state.db),
database_password_file, database_pool_size (8), database_timeout (5s), instance_lease (15s),
timezone (UTC), dry_run (false), max_in_flight (16), shutdown_grace (10s), listen (host:port
of /metrics, /healthz and /readyz; none).
.TP
.B [workspace] \fRor\fB [[workspaces]]
region (cn\-north\-4), endpoint, project_id, request_timeout (15s), max_message_chars (0: no
limit), max_requests_per_second (0: no limit), throttle_pause_max (5s), and
[workspace.credentials] access_key_file, secret_key_file, security_token_file, token_file.
Each [[workspaces]] entry also has a name.
.TP
.B [retry]
max_attempts (8), initial_delay (2s), max_delay (2m), max_elapsed (30m).
.TP
.B [jobs]
enabled (true), first_poll (10s), poll_interval (15s), give_up_after (10m), desktop_batch
(100), reconcile_timeouts (true).
.TP
.B [targets]
resolve_ahead (2m), max_age (10m), max_audience (2000).
.TP
.B [history]
keep (none: everything is kept; at least 1d): deliveries older than that are pruned daily.
.TP
.B [api]
enabled (false): the console (the API under /api/v1, web pages under /ui/) on
daemon.listen, which it needs; tokens from `workspace-notifier token create`. session_ttl
(12h; 5m to 7d): how long a console login lasts. tls_cert_file, tls_key_file (PEM; both or
neither): the whole listener speaks HTTPS; required when daemon.listen is not a loopback
address.
.TP
.B [workspace_tasks]
poll_interval (5m; 5s to 1h): how often Workspace's scheduled tasks are read.
.TP
.B [[schedules]]
id; exactly one of cron, at and every (with start); timezone; pools, desktops, tags,
enterprise_project, users, all_desktops, audience (all), max_audience; message;
misfire_grace (5m); enabled (true); catch_up (latest, all or none); resend_failed (attempts
and after); workspace.
.TP
.B [[maintenance_windows]]
id; start or cron; duration; notify_before; timezone; the targets of a schedule; message,
start_message, end_message, templates of {{start}} {{end}} {{date}} {{time_left}}
{{minutes_left}} {{duration}} {{window}}; misfire_grace; resend_failed; maintenance_mode
(false).
.TP
.B [[task_warnings]]
id; task_types (REBOOT, STOP, HIBERNATE, REBUILD); task_name (a glob); notify_before;
message and cancel_message, which also know {{action}} and {{task_name}}; audience;
max_audience; timezone; misfire_grace; workspace.
.SH FILES
.TP
.I /etc/workspace\-notifier/config.toml
The file the service reads.
.TP
.I /usr/share/doc/workspace\-notifier/example.toml
An example with every section.
.SH "SEE ALSO"
\fBworkspace\-notifier\fR(1)
"#
    )
}
