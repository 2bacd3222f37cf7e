#!/usr/bin/env bash
# quire type and quire cat against a real quire-server on 127.0.0.1, as a
# user would run them: the text typed in is the text read back, exactly.
# Usage: net_cli_test.sh QUIRE_BIN QUIRE_SERVER_BIN
set -euo pipefail
quire=$1
server=$2
dir=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$server" --port 0 --port-file "$dir/port" --data "$dir/data" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [[ -s "$dir/port" ]] && break; sleep 0.05; done
port=$(cat "$dir/port")

printf 'Hello, world!\nÉmoji: 😀, CJK: 漢字\n' >"$dir/in.txt"
"$quire" type "ws://127.0.0.1:$port/notes/a%20b" --file "$dir/in.txt"
"$quire" cat "ws://127.0.0.1:$port/notes/a%20b" >"$dir/out.txt"
cmp "$dir/in.txt" "$dir/out.txt"

# Typing slowly, a character at a time, appends to what is there.
printf 'xyz' >"$dir/more.txt"
"$quire" type "ws://127.0.0.1:$port" notes/other --file "$dir/more.txt" --delay-ms 1
"$quire" type "ws://127.0.0.1:$port" notes/other --file "$dir/more.txt"
[[ "$("$quire" cat "ws://127.0.0.1:$port" notes/other)" == "xyzxyz" ]]

# Bad input: a clear error and exit status 2.
set +e
"$quire" cat "http://127.0.0.1:$port/x" 2>"$dir/err"; code=$?
set -e
[[ $code -eq 2 ]] && grep -q "expected ws://" "$dir/err"

# SIGTERM: the server exits 0 and says so.
kill -TERM "$pid"
wait "$pid"
pid=
grep -q "stopped" "$dir/server.log"
echo "net_cli_test: ok"
