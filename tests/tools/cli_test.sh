#!/usr/bin/env bash
# End-to-end check of the quire CLI's data-directory commands: what a user
# imports comes back out of export (also as of a seq), verify passes,
# compact keeps the text, read-only commands create nothing, input past the
# size limit writes nothing, and errors come back with the documented exit
# codes.
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

# A history with known text at each seq: one change per edit (a replace is
# a remove, then an insert).
cat > "$dir/edits.json" <<'JSON'
{"startContent": "", "endContent": "hi world!", "txns": [
  {"patches": [[0, 0, "hello"]]},
  {"patches": [[5, 0, " world"]]},
  {"patches": [[0, 5, "hi"], [8, 0, "!"]]}]}
JSON
"$quire" import --data "$dir/db" edits "$dir/edits.json" > /dev/null || fail "import of a trace"
expect_at() {
  local got
  got=$("$quire" export --data "$dir/db" edits --at "$1") || fail "export --at $1"
  [ "$got" = "$2" ] || fail "export --at $1 gave '$got', want '$2'"
}
expect_at 1 "hello"
expect_at 2 "hello world"
expect_at 3 " world"
expect_at 4 "hi world"
expect_at 5 "hi world!"
"$quire" export --data "$dir/db" edits --at 6 2> /dev/null
[ $? -eq 1 ] || fail "export --at past the head must fail with 1"

"$quire" export --data "$dir/db" missing 2> /dev/null
[ $? -eq 2 ] || fail "export of a missing document must fail with 2"
for command in "verify" "inspect" "export notes"; do
  "$quire" $command --data "$dir/nowhere" 2> /dev/null
  [ $? -eq 2 ] || fail "$command of a missing directory must fail with 2"
  [ ! -e "$dir/nowhere" ] || fail "$command created the missing directory"
done

# Past the document size limit (64 MiB): refused before anything is written.
head -c $((64 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$dir/big.txt"
"$quire" import --data "$dir/new" big "$dir/big.txt" 2> "$dir/err.txt"
[ $? -eq 2 ] || fail "importing a text past the size limit must fail with 2"
grep -q 'larger than a document may be' "$dir/err.txt" || fail "size error: $(cat "$dir/err.txt")"
[ ! -e "$dir/new" ] || fail "a refused import created the data directory"
"$quire" import --data "$dir/db" big "$dir/big.txt" 2> /dev/null
"$quire" inspect --data "$dir/db" | grep -q '^big:' && fail "a refused import wrote a document"
rm "$dir/big.txt"
"$quire" export --data "$dir/db" notes --at x 2> /dev/null
[ $? -eq 2 ] || fail "a bad --at must fail with 2"
echo "cli_test: 1 passed, 0 failed"
