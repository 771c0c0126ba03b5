#!/usr/bin/env bash
# flamegraph_check.sh SLED PROG — `sled flamegraph` seen the way a user sees
# it: the page opened in headless Chromium (Debian's chromium, from
# tools/deps.sh) with its script running; a probe appended to the page
# reports, in the DOM that Chromium dumps, which frames rendered with a
# width, how many frames a search highlights, and what a click zooms to.
set -uo pipefail
sled=$(realpath "$1") prog=$(realpath "$2")
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "flamegraph_check: chromium not installed (bash tools/deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
"$sled" record -o t -- "$prog" 0 >/dev/null 2>&1 || { echo "record failed" >&2; exit 1; }
"$sled" flamegraph -d t -o fg.html || exit 1
grep -q '<script' fg.html && ! grep -Eq 'src=|href=|url\(|fetch\(|XMLHttpRequest|@import' fg.html ||
  { echo "flamegraph_check: the page must be self-contained (no src, href, url(), fetch)" >&2; exit 1; }
cat > probe.js <<'JS'
<script>
var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
var shown = frames.filter(function (f) { return +f.querySelector('rect').getAttribute('width') > 0; })
  .map(function (f) { return f.getAttribute('data-n'); });
document.body.setAttribute('data-rendered', shown.sort().join(','));
/* Frames under half a pixel are drawn with no width (as flame graphs do); a
   preempted call elsewhere can make a short one that narrow, so the rule is
   checked, not the timing: every frame of half a pixel or more is drawn. */
var wide = frames.filter(function (f) { return +f.getAttribute('data-w') >= 0.5; })
  .map(function (f) { return f.getAttribute('data-n'); });
document.body.setAttribute('data-wide', wide.sort().join(','));
document.body.setAttribute('data-all', frames.map(function (f) { return f.getAttribute('data-n'); }).sort().join(','));
document.body.setAttribute('data-hits', window.sledSearch('^depth$'));
var middle = frames.filter(function (f) { return f.getAttribute('data-n') === 'middle'; })[0];
middle.dispatchEvent(new MouseEvent('click', {bubbles: true}));
var visible = frames.filter(function (f) { return f.style.display !== 'none'; })
  .map(function (f) { return f.getAttribute('data-n'); });
document.body.setAttribute('data-zoomed', visible.sort().join(','));
document.body.setAttribute('data-zoom-width', middle.querySelector('rect').getAttribute('width'));
</script>
JS
sed -i 's#</body>#'"$(tr -d '\n' <probe.js | sed 's/[&#]/\\&/g')"'</body>#' fg.html
dom=$(timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom "file://$tmp/fg.html" 2>/dev/null)
attr() { grep -o "$1=\"[^\"]*\"" <<<"$dom" | head -1 | cut -d'"' -f2; }
fails=0
expect() {
  if [[ $2 != "$3" ]]; then
    echo "flamegraph_check: $1: expected '$3', got '$2'" >&2
    fails=$((fails + 1))
  fi
}
expect "frames in the page" "$(attr data-all)" "add3,all,depth,depth,depth,depth,leaf,main,middle"
expect "frames rendered (all of half a pixel or more)" "$(attr data-rendered)" "$(attr data-wide)"
[[ $(attr data-rendered) == *main,middle ]] ||
  { echo "flamegraph_check: main and middle not rendered: '$(attr data-rendered)'" >&2; fails=$((fails + 1)); }
expect "search ^depth\$ highlights" "$(attr data-hits)" "4"
expect "zoom on middle keeps" "$(attr data-zoomed)" "all,leaf,main,middle"
expect "zoomed middle's width" "$(attr data-zoom-width)" "1199.5"
exit $((fails > 0))
