#!/usr/bin/env bash
# Checks the unit file: `systemd-analyze verify` must print nothing, and
# `systemd-analyze security --offline=yes` must rate it 2.0 or lower.
# verify needs ExecStart's binary to exist, so a copy of the unit points at a built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin="$(pwd)/target/debug/workspace-notifier"
sed "s|/usr/bin/workspace-notifier|$bin|" systemd/workspace-notifier.service > "$tmp/workspace-notifier.service"

out=$(systemd-analyze verify "$tmp/workspace-notifier.service" 2>&1 || true)
if [ -n "$out" ]; then
  echo "systemd-analyze verify complained:"; echo "$out"; exit 1
fi
score_line=$(systemd-analyze security --offline=yes "$tmp/workspace-notifier.service" 2>&1 | grep -E "Overall exposure level" || true)
echo "unit: verify clean; $score_line"
score=$(echo "$score_line" | grep -oE '[0-9]+\.[0-9]+' | head -1)
if [ -z "$score" ] || awk -v s="$score" 'BEGIN { exit !(s > 2.0) }'; then
  echo "security exposure ${score:-unknown} is above 2.0"; exit 1
fi
