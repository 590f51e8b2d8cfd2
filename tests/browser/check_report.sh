#!/bin/sh
# The HTML report in a real browser (issue 10): headless Chromium loads a
# report made from real result files (ckbench bench on a tiny model) and
#   1. logs nothing to its console — the page has no script and a
#      Content-Security-Policy that forbids every fetch, so any console line
#      (an error, a blocked load) is a fault; a control page that does log
#      proves the check can see it;
#   2. has one SVG point per kernel in the DOM the browser built, as counted
#      from the result files (measured rows with flops);
#   3. lays every point out inside its plot area (a probe copy of the page
#      with one inline script measures the rendered boxes);
# and keeps a screenshot at a laptop size as BUILD/test-report-browser/report.png.
#
# usage: check_report.sh [BUILD_DIR]   (CK_CKBENCH, CK_PLUGIN_PATH, CK_SOURCE_DIR
# as make sets them). Without Chromium it says so and skips (exit 0): Debian's
# `chromium` package is installed by scripts/deps.sh.
set -eu

B=${1:-build}
CKBENCH=${CK_CKBENCH:-$B/bin/ckbench}
SRC=${CK_SOURCE_DIR:-.}
export CK_PLUGIN_PATH="${CK_PLUGIN_PATH:-$B/plugins}"

fail() { echo "check_report: FAIL: $*" >&2; exit 1; }

browser=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then browser=$c; break; fi
done
if [ -z "$browser" ]; then
    echo "check_report: SKIPPED: no Chromium found (Debian: 'apt-get install chromium', or 'make deps' as root)"
    exit 0
fi

out=$B/test-report-browser
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Headless, no network, no first-run work, a throw-away profile; console
# messages go to stderr as "...:CONSOLE:<line>] ...".
run_browser() {
    profile=$(mktemp -d)
    status=0
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" || status=$?
    rm -rf "$profile"
    return $status
}

# ---- real results and the report --------------------------------------------------
model=$(ls "$SRC"/ir/models/tiny*.json | head -n 1)
# roofs first (quick), so the roofline has its roofs and rows their % of roof
CK_RESULTS_DIR=$out "$CKBENCH" calibrate --quick >"$out/calibrate.log" 2>&1 ||
    fail "ckbench calibrate failed (see $out/calibrate.log)"
# exit 1 when avx2 cannot run on this CPU: scalar's file is written anyway
CK_RESULTS_DIR=$out "$CKBENCH" bench --plugin scalar,avx2 --model "$model" --min-time 0.002 \
    --out "$out/run.json" >"$out/bench.log" 2>&1 || true
ls "$out"/run-*.json >/dev/null 2>&1 || fail "ckbench bench wrote no result file (see $out/bench.log)"
"$CKBENCH" report "$out"/run-*.json -o "$out/report.html" --md "$out/report.md" >/dev/null ||
    fail "ckbench report failed"

# measured kernels with flops: every "gflop_per_s" that is not 0
expected=$(grep -h '"gflop_per_s":' "$out"/run-*.json | grep -Evc ':[[:space:]]*0(\.0*)?,?[[:space:]]*$' || true)
[ "$expected" -gt 0 ] || fail "no measured kernel with flops in $out/run-*.json"

# ---- 1. the console check can see an error ------------------------------------------
printf '<!DOCTYPE html><html><head><title>control</title></head><body><script>console.error("ckbench-control")</script></body></html>\n' \
    >"$out/control.html"
run_browser --dump-dom "file://$out/control.html" >/dev/null 2>"$out/control.log" || true
grep -q ':CONSOLE.*ckbench-control' "$out/control.log" ||
    fail "the console check saw nothing on a page that logs an error (see $out/control.log): it cannot be trusted"

# ---- 1, 2. the report: no console line, one point per kernel ------------------------
run_browser --dump-dom "file://$out/report.html" >"$out/dom.html" 2>"$out/console.log" ||
    fail "$browser could not load the report (see $out/console.log)"
if grep ':CONSOLE' "$out/console.log" >&2; then
    fail "the report logged to the browser console (above)"
fi
points=$(grep -o 'class="kernel-point"' "$out/dom.html" | wc -l)
[ "$points" -eq "$expected" ] || fail "the browser's DOM has $points roofline points, the result files $expected kernels"

# ---- 3. the rendered points lie inside their plot ------------------------------------
probe='<script>(function () {
  var total = 0, inside = 0;
  document.querySelectorAll("svg.roofline").forEach(function (svg) {
    var a = svg.querySelector(".plot-area").getBoundingClientRect();
    svg.querySelectorAll(".kernel-point").forEach(function (p) {
      var b = p.getBoundingClientRect(), x = (b.left + b.right) / 2, y = (b.top + b.bottom) / 2;
      total++;
      if (b.width > 0 && x > a.left && x < a.right && y > a.top && y < a.bottom) inside++;
    });
  });
  var bars = 0;
  document.querySelectorAll(".speedup-bar").forEach(function (r) { if (r.getBoundingClientRect().width > 0) bars++; });
  document.title = "probe points=" + total + " inside=" + inside + " bars=" + bars;
})();</script>'
sed -e "s/style-src 'unsafe-inline'/style-src 'unsafe-inline'; script-src 'unsafe-inline'/" \
    -e "s#</body>#$(printf '%s' "$probe" | tr '\n' ' ' | sed 's/[&#]/\\&/g')</body>#" \
    "$out/report.html" >"$out/probe.html"
run_browser --dump-dom "file://$out/probe.html" >"$out/probe-dom.html" 2>"$out/probe.log" || true
result=$(grep -o 'probe points=[0-9]* inside=[0-9]* bars=[0-9]*' "$out/probe-dom.html" || true)
[ -n "$result" ] || fail "the probe did not run (see $out/probe.log)"
[ "$result" = "probe points=$expected inside=$expected bars=$(grep -o 'class="speedup-bar"' "$out/report.html" | wc -l)" ] ||
    fail "rendered: $result; expected $expected points, all inside the plot, every bar drawn"

# ---- the screenshot ------------------------------------------------------------------
run_browser --screenshot="$out/report.png" --window-size=1280,900 "file://$out/report.html" \
    >/dev/null 2>"$out/screenshot.log" || true
[ -s "$out/report.png" ] || fail "no screenshot (see $out/screenshot.log)"

echo "check_report: ok: $expected kernels, each a point inside its roofline; no console message;" \
    "screenshot $out/report.png"
