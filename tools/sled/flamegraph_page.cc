// Lays out the flame graph in C++ (every frame is a <g> with a <title>,
// a <rect> and a <text>, so it renders without the script), and adds a
// small script for interaction: click a frame to zoom to it (click the
// background to reset), type in the search box to highlight frames whose
// name matches (with the matched share of the time), hover for details.
#include "flamegraph_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace sled::cli {
namespace {

struct Node {
  std::string name;
  uint64_t self = 0, total = 0, calls = 0;
  std::map<std::string, std::unique_ptr<Node>> children;
};

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  return out;
}

uint64_t sum(Node &n) {
  n.total = n.self;
  for (auto &[k, c] : n.children) n.total += sum(*c);
  return n.total;
}

constexpr double kWidth = 1200, kRow = 17, kTop = 40;

// Colour from the name, warm like classic flame graphs, stable per name.
std::string colour(const std::string &name) {
  unsigned h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return fmt::format("rgb({},{},{})", 205 + h % 50, 80 + (h >> 8) % 130, 40 + (h >> 16) % 50);
}

void emit(const Node &n, double x, unsigned depth, unsigned max_depth, uint64_t root_total,
          std::string &out) {
  double w = root_total ? kWidth * static_cast<double>(n.total) / root_total : 0;
  double y = kTop + (max_depth - depth) * kRow;
  std::string label =
      n.name.size() * 7 < w - 6
          ? n.name
          : (w > 30 ? n.name.substr(0, static_cast<size_t>((w - 6) / 7)) + ".." : "");
  out += fmt::format(
      "<g class=\"f\" data-x=\"{:.3f}\" data-w=\"{:.3f}\" data-d=\"{}\" data-n=\"{}\">"
      "<title>{} ({} calls, {:.3f} ms, {:.2f}%)</title>"
      "<rect x=\"{:.3f}\" y=\"{:.1f}\" width=\"{:.3f}\" height=\"{}\" fill=\"{}\" rx=\"2\"/>"
      "<text x=\"{:.3f}\" y=\"{:.1f}\">{}</text></g>\n",
      x, w, depth, escape(n.name), escape(n.name), n.calls, n.total / 1e6,
      root_total ? 100.0 * n.total / root_total : 0.0, x, y, std::max(w - 0.5, 0.0), kRow - 1,
      colour(n.name), x + 3, y + kRow - 5, escape(label));
  double cx = x;
  std::vector<const Node *> kids;
  for (auto &[k, c] : n.children) kids.push_back(c.get());
  for (const Node *c : kids) {
    emit(*c, cx, depth + 1, max_depth, root_total, out);
    cx += root_total ? kWidth * static_cast<double>(c->total) / root_total : 0;
  }
}

unsigned max_depth_of(const Node &n, unsigned d) {
  unsigned m = d;
  for (auto &[k, c] : n.children) m = std::max(m, max_depth_of(*c, d + 1));
  return m;
}

const char *kScript = R"JS(
(function () {
  var svg = document.currentScript ? document.currentScript.ownerSVGElement || document.querySelector('svg.sled-flame') : document.querySelector('svg.sled-flame');
  if (!svg) svg = document.querySelector('svg.sled-flame');
  var W = 1200, frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  var detail = svg.querySelector('#detail'), matched = svg.querySelector('#matched');
  function fit(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text'), n = g.getAttribute('data-n');
    r.setAttribute('x', x); r.setAttribute('width', Math.max(w - 0.5, 0));
    t.setAttribute('x', x + 3);
    var chars = Math.floor((w - 6) / 7);
    t.textContent = n.length <= chars ? n : (chars > 3 ? n.substr(0, chars - 2) + '..' : '');
  }
  function zoom(g) {
    var x0 = +g.getAttribute('data-x'), w0 = +g.getAttribute('data-w'), d0 = +g.getAttribute('data-d');
    frames.forEach(function (f) {
      var x = +f.getAttribute('data-x'), w = +f.getAttribute('data-w'), d = +f.getAttribute('data-d');
      var inside = x >= x0 - 1e-6 && x + w <= x0 + w0 + 1e-6;
      if (d < d0) inside = x <= x0 + 1e-6 && x + w >= x0 + w0 - 1e-6;
      f.style.display = inside ? '' : 'none';
      if (inside) fit(f, d < d0 ? 0 : (x - x0) * W / w0, d < d0 ? W : w * W / w0);
    });
  }
  function reset() { frames.forEach(function (f) { f.style.display = ''; fit(f, +f.getAttribute('data-x'), +f.getAttribute('data-w')); }); }
  frames.forEach(function (f) {
    f.addEventListener('click', function (e) { e.stopPropagation(); zoom(f); });
    f.addEventListener('mouseover', function () { detail.textContent = f.querySelector('title').textContent; });
  });
  svg.querySelector('#background').addEventListener('click', reset);
  window.sledSearch = function (text) {
    var re = null, total = 0, hit = 0;
    try { re = text ? new RegExp(text) : null; } catch (e) { re = null; }
    frames.forEach(function (f) {
      var r = f.querySelector('rect'), n = f.getAttribute('data-n'), d = +f.getAttribute('data-d');
      if (d === 0) total = +f.getAttribute('data-w');
      var on = re && re.test(n);
      f.classList.toggle('hit', !!on);
      if (on) hit += +f.getAttribute('data-w');
    });
    matched.textContent = re ? 'matched ' + (total ? (100 * Math.min(hit, total) / total).toFixed(1) : 0) + '%' : '';
    return svg.querySelectorAll('g.f.hit').length;
  };
  var box = document.getElementById('search');
  if (box) box.addEventListener('input', function () { window.sledSearch(box.value); });
})();
)JS";

}  // namespace

std::string flamegraph(const std::map<std::string, StackValue> &stacks, const std::string &title,
                       bool html) {
  Node root;
  root.name = "all";
  for (const auto &[stack, v] : stacks) {
    Node *n = &root;
    size_t pos = 0;
    while (pos <= stack.size()) {
      size_t semi = stack.find(';', pos);
      std::string part =
          stack.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
      auto &child = n->children[part];
      if (!child) {
        child = std::make_unique<Node>();
        child->name = part;
      }
      n = child.get();
      if (semi == std::string::npos) break;
      pos = semi + 1;
    }
    n->self += v.self_ns;
    n->calls += v.calls;
  }
  sum(root);
  for (auto &[k, c] : root.children) root.calls += c->calls;
  unsigned depth = max_depth_of(root, 0);
  double height = kTop + (depth + 1) * kRow + 30;
  std::string frames;
  emit(root, 0, 0, depth, root.total, frames);
  std::string svg = fmt::format(
      "<svg class=\"sled-flame\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
      "height=\"{:.0f}\" "
      "viewBox=\"0 0 {} {:.0f}\" font-family=\"monospace\" font-size=\"11\">\n"
      "<style>g.f:hover rect{{stroke:#000;stroke-width:0.5}} g.f.hit rect{{fill:#c080ff}} "
      "g.f text{{pointer-events:none}}</style>\n"
      "<rect id=\"background\" x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#fdf6e8\"/>\n"
      "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n"
      "<text id=\"matched\" x=\"{}\" y=\"{:.0f}\" text-anchor=\"end\"></text>\n"
      "<text id=\"detail\" x=\"4\" "
      "y=\"{:.0f}\"></text>\n{}<script><![CDATA[{}]]></script>\n</svg>\n",
      kWidth, height, kWidth, height, kWidth / 2, escape(title), kWidth - 4, height - 10,
      height - 10, frames, kScript);
  if (!html) return svg;
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n"
      "<body style=\"margin:8px;background:#fff\">\n<div>search (regex): <input id=\"search\" "
      "size=\"40\"></div>\n{}</body></html>\n",
      escape(title), svg);
}

}  // namespace sled::cli
