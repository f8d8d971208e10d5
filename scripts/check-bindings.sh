#!/usr/bin/env bash
# Checks the bindings `npx projen bindings` generated (dist/bindings, jsii-pacmak --code-only):
#  1. the docs carry translated examples, not the TypeScript originals: no TypeScript `import {` /
#     `import * as` line and no `new X(this` construct call in the Python package's docstrings
#     (a TypeScript example is copied verbatim when the rosetta tablet, .jsii.tabl.json, is missing
#     or does not cover the snippet), and no TypeScript import in the Java, C# and Go sources;
#  2. every generated Python file compiles (python3 -m py_compile).
# Usage: scripts/check-bindings.sh [bindings dir, default dist/bindings]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-dist/bindings}"
py="$dir/python"
if [ ! -d "$py" ]; then
  echo "check-bindings: $py not found (run 'npx projen bindings' first)" >&2
  exit 1
fi
failed=0

# 1. TypeScript left in the docs.
ts_import="^[[:space:]]*(\*[[:space:]]*|///?[[:space:]]*)?import (\{|\* as |[A-Za-z_]+ from )"
mapfile -t inits < <(find "$py" -name '__init__.py' -not -path '*/_jsii/*' | sort)
if [ "${#inits[@]}" -eq 0 ]; then
  echo "check-bindings: no __init__.py under $py" >&2
  exit 1
fi
if hits=$(grep -nE "$ts_import|new [A-Z][A-Za-z0-9_.]*\(this\b" "${inits[@]}"); then
  echo "TypeScript examples in the Python docs (is .jsii.tabl.json present and complete? run 'npx projen rosetta'):" >&2
  head -n 20 <<<"$hits" >&2
  echo "($(wc -l <<<"$hits") line(s))" >&2
  failed=1
fi
# Known and not ours: jsii-pacmak's Go generator translates @example only and copies fenced blocks of a
# doc's remarks verbatim; ManagedInstanceLambdaProps inherits aws-cdk-lib's FunctionOptions.logRetention doc,
# whose remarks hold a TypeScript block (Python, Java and C# get it translated).
inherited="ManagedInstanceLambdaProps\.go:[0-9]+:[[:space:]]*// import \* as logs from 'aws-cdk-lib/aws-logs';$"
for lang in java dotnet go; do
  [ -d "$dir/$lang" ] || continue
  if hits=$(grep -rnE --include='*.java' --include='*.cs' --include='*.go' "$ts_import" "$dir/$lang" | grep -vE "$inherited"); then
    echo "TypeScript imports in the $lang sources:" >&2
    head -n 10 <<<"$hits" >&2
    failed=1
  fi
done

# 2. Every generated .py compiles (byte code goes to a temporary directory, not into the package).
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
count=0
while IFS= read -r -d '' f; do
  count=$((count + 1))
  if ! PYTHONPYCACHEPREFIX="$cache" python3 -m py_compile "$f"; then
    echo "does not compile: $f" >&2
    failed=1
  fi
done < <(find "$py" -name '*.py' -print0)

if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "bindings ok: ${#inits[@]} Python module(s) with translated examples, $count .py file(s) compile"
