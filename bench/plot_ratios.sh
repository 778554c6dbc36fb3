#!/usr/bin/env bash
# Draws the benchmark's ratios (cthreading / pthread twin) as a horizontal bar
# chart in SVG, one bar per row of cthreading-bench's Markdown table, or from
# the CSV of the workload matrices (cthreading-bench --matrix=... --csv=FILE):
# one bar per lock/rlock cell (ct / best peer), the uncontended rows
# (ct / pthread) and one per hand-off cell (ct p90 / pthread p50).
#
#   build/release/bench/cthreading-bench | bench/plot_ratios.sh -o docs/bench-ratios.svg
#   bench/plot_ratios.sh -o chart.svg -t "my machine" table.md
#   bench/plot_ratios.sh -o matrix.svg matrix.csv
#
# Bars start at parity (1.0) on a logarithmic axis and end at the row's ratio.
# Green: cthreading is better (a rate, unit "…/s", above 1; a time or a size
# below 1); red: worse.  Rows without a ratio (notes) are skipped.  Needs
# gnuplot (gnuplot-nox is enough).
#
# SPDX-License-Identifier: MIT
set -euo pipefail
out=bench-ratios.svg
title="cthreading / pthread twin"
usage() { echo "usage: $0 [-o OUT.svg] [-t TITLE] [TABLE.md]   (table on stdin if no file)" >&2; exit 2; }
while getopts "o:t:h" opt; do
  case $opt in
    o) out=$OPTARG ;;
    t) title=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
input=${1:--}
command -v gnuplot >/dev/null || { echo "$0: gnuplot is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The matrix CSV (matrix,case,param,impl,stat,value) becomes table rows.
cat -- "$input" >"$tmp/in"
input=$tmp/in
if head -n 1 "$input" | grep -q '^matrix,case,param,impl,stat,value'; then
  awk -F, '
    $5 != "ratio" { next }
    ($1 == "lock" || $1 == "rlock") && $4 == "ct/best" {
      printf "| %s | %s, %s thr, vs best peer | | | acq/s | %.3f | | |\n",
             ($1 == "lock" ? "Lock" : "RLock"), $2, $3, $6
    }
    ($1 == "lock" || $1 == "rlock") && $2 == "uncontended" && $4 == "ct/pthread" {
      printf "| %s | uncontended vs pthread | | | ns/op | %.3f | | |\n",
             ($1 == "lock" ? "Lock" : "RLock"), $6
    }
    $1 == "handoff" && $4 == "ct_p90/pthread_p50" {
      printf "| %s | %s, ct p90 / pthread p50 | | | us/rt | %.3f | | |\n", $2, $3, $6
    }' "$input" >"$tmp/table"
  input=$tmp/table
fi

# Table rows -> "index ratio colour" lines + a ytics list of the labels.
# Columns: | group | benchmark | cthreading | pthread twin | unit | ratio | goal | notes |
awk -F'|' -v data="$tmp/data" -v tics="$tmp/tics" -v range="$tmp/range" '
  function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
  NF >= 9 {
    group = trim($2); name = trim($3); unit = trim($6); ratio = trim($7)
    if (group == "group" || group ~ /^-+$/ || ratio !~ /^[0-9]*\.?[0-9]+$/ || ratio + 0 <= 0)
      next
    better = (unit ~ /\/s$/) ? (ratio >= 1) : (ratio <= 1)
    colour = better ? 2924588 : 14034728     # 0x2ca02c green, 0xd62728 red
    label = group ": " name " (" unit ")"
    gsub(/"/, "\\\"", label)
    printf "%d %s %d\n", n, ratio, colour > data
    printf "%s\"%s\" %d", (n ? ", " : ""), label, n > tics
    if (n == 0 || ratio + 0 < lo) lo = ratio + 0
    if (n == 0 || ratio + 0 > hi) hi = ratio + 0
    n++
  }
  END {
    if (lo > 1) lo = 1
    if (hi < 1) hi = 1
    printf "%d %g %g\n", n, lo / 1.6, hi * 1.9 > range
  }' "$input"

read -r n lo hi <"$tmp/range"
if [ "$n" -eq 0 ]; then
  echo "$0: no rows with a ratio in the table" >&2
  exit 1
fi
height=$((120 + 28 * n))

gnuplot <<GP
set terminal svg size 960,$height dynamic font "sans,12" background "white"
set output "$out"
set title "$title" noenhanced
set xlabel "ratio = cthreading / pthread  (log scale; green: cthreading better, red: worse)" noenhanced
set logscale x
set xrange [$lo:$hi]
set yrange [$n - 0.4:-0.6]
set ytics ($(cat "$tmp/tics")) noenhanced
set xtics (0.1, 0.2, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20)
set grid xtics lc rgb "#dddddd"
set key off
set lmargin 52
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "#444444"
set style fill solid 0.85 noborder
plot "$tmp/data" using (\$2 < 1 ? \$2 : 1):1:(\$2 < 1 ? \$2 : 1):(\$2 < 1 ? 1 : \$2):(\$1 - 0.35):(\$1 + 0.35):3 \
       with boxxyerror lc rgb variable, \
     "$tmp/data" using ((\$2 > 1 ? \$2 : 1) * 1.04):1:(sprintf("%.2f", \$2)) with labels left
GP
grep -q '<svg' "$out" || { echo "$0: gnuplot wrote no SVG to $out" >&2; exit 1; }
echo "wrote $out: $n bars"
