#!/usr/bin/env bash
# End-to-end check of the quire CLI's data-directory commands: what a user
# imports comes back out of export, verify passes, compact keeps the text,
# and errors come back with the documented exit codes.
# usage: cli_test.sh QUIRE_BINARY TRACES_DIR
set -u
quire=$1
traces=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'caf\xc3\xa9 \xf0\x9f\x98\x80\nsecond line\n' > "$dir/in.txt"
"$quire" import --data "$dir/db" notes "$dir/in.txt" > /dev/null || fail "import of a text file"
"$quire" export --data "$dir/db" notes > "$dir/out.txt" || fail "export"
cmp -s "$dir/in.txt" "$dir/out.txt" || fail "export differs from what was imported"

"$quire" import --data "$dir/db" ff "$traces/concurrent/friendsforever.json.gz" > /dev/null \
  || fail "import of a concurrent trace"
"$quire" import --data "$dir/db" ff "$dir/in.txt" 2> /dev/null
[ $? -eq 2 ] || fail "importing over an existing document must fail with 2"
"$quire" verify --data "$dir/db" > "$dir/verify.txt" || fail "verify: $(cat "$dir/verify.txt")"
grep -q '^2 document(s), .* OK$' "$dir/verify.txt" || fail "verify summary: $(cat "$dir/verify.txt")"

before=$("$quire" export --data "$dir/db" ff | md5sum)
"$quire" compact --data "$dir/db" ff > /dev/null || fail "compact"
after=$("$quire" export --data "$dir/db" ff | md5sum)
[ "$before" = "$after" ] || fail "compact changed the text"
"$quire" inspect --data "$dir/db" ff | grep -q '^ff: epoch' || fail "inspect"
"$quire" export --data "$dir/db" notes --at 1 > /dev/null || fail "export --at"

"$quire" export --data "$dir/db" missing 2> /dev/null
[ $? -eq 2 ] || fail "export of a missing document must fail with 2"
"$quire" verify --data "$dir/nowhere" 2> /dev/null
[ $? -eq 2 ] || fail "verify of a missing directory must fail with 2"
"$quire" export --data "$dir/db" notes --at x 2> /dev/null
[ $? -eq 2 ] || fail "a bad --at must fail with 2"
echo "cli_test: 1 passed, 0 failed"
