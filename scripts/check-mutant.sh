#!/usr/bin/env bash
# Applies mutants by hand, one at a time, and says whether a test file kills each: the check
# behind "each new test fails with its mutant" when a Stryker run cannot finish (docs/testing.md).
#   scripts/check-mutant.sh <copy-of-the-tree> <file> <test-file> '<perl substitution>'...
# Run it on a copy (git archive HEAD | tar -x -C <copy>; ln -s "$PWD/node_modules" <copy>/), never
# on the working tree: the file is mutated in place and restored after each substitution.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 <copy-of-the-tree> <file> <test-file> '<perl substitution>'..." >&2
  exit 2
fi
copy=$1 file=$2 test=$3
shift 3
cd "$copy"
[ -f "$file" ] || { echo "$copy/$file: no such file" >&2; exit 2; }
original=$(mktemp)
trap 'cp "$original" "$file"; rm -f "$original"' EXIT
cp "$file" "$original"
for substitution in "$@"; do
  cp "$original" "$file"
  perl -0pi -e "$substitution" "$file"
  if cmp -s "$original" "$file"; then
    echo "NO CHANGE  $substitution"
  elif ! npx esbuild "$file" --loader:.ts=ts >/dev/null 2>&1; then
    # A substitution that breaks the syntax fails every test: that is no kill.
    echo "NOT VALID  $substitution"
  elif FSTORE_CLI_SOURCES=1 npx vitest run "$test" >/dev/null 2>&1; then
    echo "SURVIVED   $substitution"
  else
    echo "KILLED     $substitution"
  fi
done
