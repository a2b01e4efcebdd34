#!/usr/bin/env bash
# Proves that a change to the CUDA sources did not change what the existing kernels compile to: compiles
# kernels.cu as it is at REV (default HEAD) and as it is in the working tree to PTX with compile-ptx.sh's flags
# minus -lineinfo (line numbers are all a pure move may change), then
#   scripts/ptx-same.sh [REV]            compares the two files byte for byte (a pure move: identical PTX);
#   scripts/ptx-same.sh --entries [REV]  compares entry point by entry point, with the numbering the compiler gives
#                                        by position (basic-block labels, local depots), its "demoted" comments and
#                                        a defaulted trailing bool template argument (Lb0E) left out and shared
#                                        variables compared by name (not by their body template's mangled
#                                        arguments): lists the entries added and removed, fails if any other changed
#                                        (new kernels added without touching the existing ones).
# Needs nvcc; exit 0 = unchanged.
set -euo pipefail
mode=bytes
if [ "${1:-}" = "--entries" ]; then mode=entries; shift; fi
rev="${1:-HEAD}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive "$rev" gpu-runtime/src/main/cuda | tar -x -C "$tmp"
flags=(-ptx -arch=compute_90 -O3 -std=c++17)
nvcc "${flags[@]}" -o "$tmp/before.ptx" "$tmp/gpu-runtime/src/main/cuda/kernels.cu"
nvcc "${flags[@]}" -o "$tmp/after.ptx" "$root/gpu-runtime/src/main/cuda/kernels.cu"
if [ "$mode" = entries ]; then
  python3 - "$tmp/before.ptx" "$tmp/after.ptx" "$rev" <<'PY'
import re, sys
def entries(path):
    text = open(path).read()
    text = re.sub(r'// \S+ has been demoted\n', '', text)
    text = re.sub(r'\$L__BB\d+_', '$L__BB_', text)
    text = re.sub(r'__local_depot\d+', '__local_depot', text)
    # a body template's shared variables are named after its mangled arguments: a trailing `bool ... = false`
    # parameter added to it (Lb0E before the function type's Ev) renames them and nothing else
    text = re.sub(r'Lb0E(Ev)', r'\1', text)
    # the same for any change to a body template's parameter list (a parameter added, a width split in two):
    # a shared variable _ZZ<function>E<length><name> is compared by its name; declarations, sizes and every use of
    # it are still compared
    def shared_name(m):
        tok = m.group(0)
        for i in range(len(tok) - 1, 2, -1):
            k = re.match(r'E(\d+)', tok[i:])
            if tok[i] == 'E' and k and len(tok) - i - len(k.group(0)) == int(k.group(1)):
                return '_ZZ' + tok[i + len(k.group(0)):]
        return tok
    text = re.sub(r'_ZZ[A-Za-z0-9_]+', shared_name, text)
    parts = re.split(r'(?=\t// \.globl\t)', text)
    # rstrip: the last entry's text ends with the file, so entries appended after it must not count as its change
    return {re.match(r'\t// \.globl\t(\S+)', p).group(1): p.rstrip() for p in parts[1:]}
a, b = entries(sys.argv[1]), entries(sys.argv[2])
changed = sorted(n for n in a if n in b and a[n] != b[n])
print(f"entry points at {sys.argv[3]}: {len(a)}, in the working tree: {len(b)}; added: {sorted(set(b) - set(a))}; "
      f"removed: {sorted(set(a) - set(b))}; changed: {changed}")
sys.exit(1 if changed else 0)
PY
elif cmp -s "$tmp/before.ptx" "$tmp/after.ptx"; then
  echo "identical PTX ($(grep -c '^\.visible \.entry' "$tmp/after.ptx") entry points, $(wc -c < "$tmp/after.ptx") bytes) at $rev and in the working tree"
else
  echo "PTX differs between $rev and the working tree:" >&2
  diff "$tmp/before.ptx" "$tmp/after.ptx" | head -40 >&2
  exit 1
fi
