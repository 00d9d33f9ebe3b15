#!/usr/bin/env bash
# Supply-chain check with cargo-deny, offline: advisories from the dated RustSec snapshot
# kept beside this script, the license allow-list, banned sources, and duplicate versions
# (reported as warnings). The rules are in deny.toml at the repository root.
#
# cargo-deny reads its advisory database as a git checkout at a path derived from the
# database URL in deny.toml; the snapshot is a plain tarball, so it is unpacked there and
# committed once, dated as the snapshot is.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot=supply-chain/rustsec-advisory-db-2026-08-21.tar.gz
date=2026-08-21T00:00:00Z
db=target/advisory-db/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
tar -xzf "$snapshot" -C "$db"
(
  cd "$db"
  git init -q
  git add -A
  GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date \
    git -c user.name=snapshot -c user.email=snapshot@localhost commit -qm "RustSec advisory database snapshot"
)
echo "advisories: $(find "$db/crates" -name 'RUSTSEC-*.md' | wc -l) from the snapshot of ${date%%T*}"
cargo deny --offline check --show-stats 2>&1
