#!/usr/bin/env bash
# Sends tricky messages and pool ids with the real binary to a server that verifies every
# signature with Huawei's official Python SDK (huaweicloudsdkcore from PyPI). Fails if any
# signature differs. Skips (exit 0, with a message) only if the SDK cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! python3 -c 'import huaweicloudsdkcore' 2>/dev/null; then
  if ! timeout 300 python3 -m pip install --quiet --disable-pip-version-check huaweicloudsdkcore >/dev/null 2>&1; then
    echo "sdk check: SKIPPED (cannot install huaweicloudsdkcore from PyPI)"; exit 0
  fi
fi
cargo build --quiet
bin="$(pwd)/target/debug/workspace-notifier"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 tests/sdk/verify_server.py "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
printf 'HPUAEXAMPLEAK0123456' > "$work/ak"
printf 'ExampleSecretKey0123456789abcdefghijklmn' > "$work/sk"
printf 'gQpjbi1ub3J0aC00EXAMPLESECURITYTOKEN+/==' > "$work/token"
chmod 600 "$work"/ak "$work"/sk "$work"/token
config() { # $1: extra credentials line
  cat > "$work/c.toml" <<TOML
[daemon]
database = "$work/state.db"
[workspace]
endpoint = "http://127.0.0.1:$port"
project_id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
[workspace.credentials]
access_key_file = "$work/ak"
secret_key_file = "$work/sk"
$1
[retry]
max_attempts = 1
TOML
}
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null && break; sleep 0.1; done
sent=0
send() { "$bin" send --config "$work/c.toml" --pool "$1" --message "$2" > /dev/null 2>> "$work/send.log" || true; sent=$((sent + 1)); }
config ""
pool=a130ab3a-72bf-4b71-baa9-af4987c8e338
for msg in '系统维护：今晚 22:00 重启，请保存文件' '🚧🔧 emoji 👩‍💻 ok' 'quotes "double" and '"'"'single'"'" \
           'back\slash \\ two' "$(printf 'tab\there')" "$(printf 'new\nline\r\n')" '<b>&amp;</b> %41 + = ? #' '   padded   '; do
  send "$pool" "$msg"
done
for p in 'pool with space' 'pool/slash' 'pool%25pct' 'pool+plus~tilde' '池子' "pool'quote"; do
  send "$p" 'hi'
done
config "security_token_file = \"$work/token\""
send "$pool" 'temporary credentials'
bad=$(grep -c '"ok": false' "$work/server.log" || true)
good=$(grep -c '"ok": true' "$work/server.log" || true)
echo "sdk check: $good of $sent signatures verified by huaweicloudsdkcore, $bad rejected"
if [ "$bad" -ne 0 ] || [ "$good" -ne "$sent" ]; then
  cat "$work/server.log" "$work/send.log"; exit 1
fi
