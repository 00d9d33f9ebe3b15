#!/usr/bin/env bash
# Builds the .deb as docs/install.md says, holds it to lintian (no errors, no warnings),
# then installs, uses and purges it on this machine, and checks nothing is left behind.
# Needs root (apt-get install), cargo-deb, lintian, man-db and bash-completion; .ci/run
# provides them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo xtask deb
deb=$(ls target/debian/workspace-notifier_*.deb)
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
lintian --fail-on error,warning --display-level '>=warning' "$deb"
echo "lintian: no errors, no warnings"

fail() { echo "package check: $*" >&2; exit 1; }

# The maintainer scripts cargo-deb generated from `systemd-units`: daemon-reload, the unit
# never enabled nor started by installing, restarted on upgrade only if it was running,
# stopped on remove.
scripts=$(mktemp -d)
dpkg-deb -e "$deb" "$scripts"
grep -q 'deb-systemd-invoke try-restart workspace-notifier.service' "$scripts/postinst" \
  || fail "postinst does not try-restart the unit on upgrade"
if grep -Eq 'deb-systemd-invoke (start|restart) ' "$scripts/postinst"; then
  fail "postinst starts the unit, which has no credentials yet"
fi
grep -q 'deb-systemd-invoke stop workspace-notifier.service' "$scripts/prerm" \
  || fail "prerm does not stop the unit on remove"
grep -q 'rm -rf /var/lib/workspace-notifier /var/lib/private/workspace-notifier' "$scripts/postrm" \
  || fail "postrm does not remove the state directory on purge"
rm -rf "$scripts"
files=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -v '/$')

if dpkg -s workspace-notifier >/dev/null 2>&1; then
  fail "workspace-notifier is already installed; this check needs a machine without it"
fi
# Minimal images tell dpkg to skip man pages and docs (path-exclude); this check is about
# what the package ships, so those paths are included back.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  -o 'Dpkg::Options::=--path-include=/usr/share/man/*' \
  -o 'Dpkg::Options::=--path-include=/usr/share/doc/workspace-notifier/*' \
  "./$deb"
trap 'apt-get purge -y workspace-notifier >/dev/null 2>&1 || true' EXIT

workspace-notifier --version
man -w workspace-notifier
man -w workspace-notifier-schedule-add >/dev/null
man -w 5 workspace-notifier.toml >/dev/null
# Every page says how the program exits, what it reads from the environment and which files.
page=$(MANWIDTH=100 man workspace-notifier 2>/dev/null)
for section in "EXIT STATUS" ENVIRONMENT FILES; do
  grep -q "^$section" <<<"$page" || { echo "man page lacks $section" >&2; exit 1; }
done
# The packaged config is valid as installed (a dry run: no credentials needed yet).
workspace-notifier check
# bash-completion finds the completion on demand, the way an interactive shell does.
bash -c 'source /usr/share/bash-completion/bash_completion
         __load_completion workspace-notifier && complete -p workspace-notifier' \
  || fail "bash-completion does not find the completion"
for f in /usr/share/zsh/vendor-completions/_workspace-notifier \
         /usr/share/fish/vendor_completions.d/workspace-notifier.fish; do
  [ -s "$f" ] || fail "$f is missing"
done
# Read-only commands on a fresh install create nothing.
if err=$(workspace-notifier history 2>&1); then fail "history succeeded with no database"; fi
grep -q "no database yet" <<<"$err" || fail "history: $err"
[ ! -e /var/lib/workspace-notifier ] || fail "history created /var/lib/workspace-notifier"

# What the service leaves once it has run (DynamicUser=: a symlink into /var/lib/private,
# owned by the dynamic user), made here by a root-run writing command into that directory.
install -d -m 0700 /var/lib/private
install -d -o 61234 -g 61234 /var/lib/private/workspace-notifier
ln -s private/workspace-notifier /var/lib/workspace-notifier
# The fault injection of the test build is not in the package: the variable is ignored.
WORKSPACE_NOTIFIER_FAULT_PANIC=delivery \
  workspace-notifier send --pool a130ab3a-72bf-4b71-baa9-af4987c8e338 --message "package check"
owner=$(stat -c %u:%g /var/lib/private/workspace-notifier/state.db)
[ "$owner" = 61234:61234 ] || fail "state.db written by root is owned by $owner, not the service"
install -m 0600 /dev/null /etc/workspace-notifier/ak
install -m 0600 /dev/null /etc/workspace-notifier/sk
# A second workspace's credentials, as docs/configuration.md ("Several workspaces") has them.
install -m 0600 /dev/null /etc/workspace-notifier/ak.eu
install -m 0600 /dev/null /etc/workspace-notifier/sk.eu.cred
# The IAM token at the suggested path, the database's CA file as "High availability" has it.
install -m 0600 /dev/null /etc/workspace-notifier/iam_token
install -m 0644 /dev/null /etc/workspace-notifier/rds-ca.pem

DEBIAN_FRONTEND=noninteractive apt-get purge -y workspace-notifier
trap - EXIT
left=()
while read -r f; do [ -e "$f" ] && left+=("$f"); done <<<"$files"
for d in /etc/workspace-notifier /var/lib/workspace-notifier /var/lib/private/workspace-notifier; do
  [ -e "$d" ] || [ -L "$d" ] && left+=("$d")
done
if [ ${#left[@]} -gt 0 ]; then fail "left after purge: ${left[*]}"; fi
echo "package: installed, used and purged; nothing left"
