#!/bin/sh
# bso_table.sh - The table of `zeus bso simulate` in bench/README.md: every workload of the
# NSDI'23 traces on the four GPUs, Zeus's cumulative energy and time against the baseline
# (default batch size at the largest power limit) over the default recurrences, seed 1, and the
# spread of the savings over seeds 1 to 5.
#
#   bench/bso_table.sh [ZEUS_BINARY] [--update]
#
# Prints the Markdown table; with --update, also replaces the table between the bso-table
# markers in bench/README.md. Needs python3 (standard library only) to read the JSON.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
zeus=${1:-$here/../build/zeus}
update=${2:-}
seeds="1 2 3 4 5"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for seed in $seeds; do
    "$zeus" bso simulate --gpu all --seed "$seed" --json > "$tmp/seed$seed.json"
done

python3 - "$tmp" $seeds > "$tmp/table.md" <<'PY'
import json, sys
tmp, seeds = sys.argv[1], sys.argv[2:]
runs = {s: json.load(open(f"{tmp}/seed{s}.json")) for s in seeds}
first = runs[seeds[0]]
def key(w): return (w["gpu"], w["dataset"])
by = {s: {key(w): w for w in runs[s]} for s in seeds}
def spread(k, field):
    v = [by[s][k][field] for s in seeds]
    return f"{min(v):.1f} to {max(v):.1f}"
print("| GPU | workload | b0 | recurrences | Zeus energy (MJ) | baseline energy (MJ) "
      "| energy saved % | energy saved %, seeds 1-5 | Zeus time (h) | baseline time (h) "
      "| time saved % | time saved %, seeds 1-5 | batch size at the end |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for w in first:
    k = key(w)
    print(f"| {w['gpu']} | {w['dataset']}/{w['network']} | {w['default_batch_size']} "
          f"| {w['recurrences']} | {w['zeus']['energy'] / 1e6:.1f} "
          f"| {w['baseline']['energy'] / 1e6:.1f} | {w['energy_saving_percent']:.1f} "
          f"| {spread(k, 'energy_saving_percent')} | {w['zeus']['time'] / 3600:.0f} "
          f"| {w['baseline']['time'] / 3600:.0f} | {w['time_saving_percent']:.1f} "
          f"| {spread(k, 'time_saving_percent')} | {w['zeus']['last_batch_size']} |")
PY
cat "$tmp/table.md"

if [ "$update" = "--update" ]; then
    python3 - "$here/README.md" "$tmp/table.md" <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- bso-table:begin -->\n", "<!-- bso-table:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:a] + table + text[b:])
PY
fi
