// peers_main.cc — sled-bench-peers: sled (callops) next to LLVM XRay and
// uftrace on the same workload, one markdown table with the ratios. sled
// and XRay are measured here, in one process; uftrace runs the program
// under `uftrace record`, so bench/peers/run.sh measures it first and
// passes the figures in. Owns options and the table.
//
//   sled-bench-peers [--reps=N] [--ms=MS]
//                    [--uftrace-pg=WITH,PLAIN,WITHOUT] [--uftrace-pfe=WITH,PLAIN,WITHOUT]
//                    [--uftrace-version=TEXT]
// WITH: ns/call of the instrumented tiny function under `uftrace record`;
// PLAIN: the uninstrumented one in the same runs; WITHOUT: the instrumented
// one without uftrace. pg: built -pg; pfe: -fpatchable-function-entry=5
// and `uftrace record -P .`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "machine.h"
#include "peers.h"
#include "table.h"
#include "timing.h"
#include "tiny_fn.h"

namespace {

struct UftraceFigures {
  bool given = false;
  double with = 0, plain = 0, without = 0;
};

struct Options {
  int reps = 7;
  double target_ms = 20;
  UftraceFigures pg, pfe;
  std::string uftrace_version = "uftrace";
};

bool parse_uftrace(const char* text, UftraceFigures* out) {
  out->given = std::sscanf(text, "%lf,%lf,%lf", &out->with, &out->plain, &out->without) == 3;
  return out->given;
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    bool ok = true;
    if (std::strncmp(a, "--reps=", 7) == 0) {
      o->reps = std::atoi(a + 7);
    } else if (std::strncmp(a, "--ms=", 5) == 0) {
      o->target_ms = std::atof(a + 5);
    } else if (std::strncmp(a, "--uftrace-pg=", 13) == 0) {
      ok = parse_uftrace(a + 13, &o->pg);
    } else if (std::strncmp(a, "--uftrace-pfe=", 14) == 0) {
      ok = parse_uftrace(a + 14, &o->pfe);
    } else if (std::strncmp(a, "--uftrace-version=", 18) == 0) {
      o->uftrace_version = a + 18;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "sled-bench-peers: bad argument '%s' (see the file's header)\n", a);
      return false;
    }
  }
  return o->reps > 0 && o->target_ms > 0;
}

std::string ratio(double sled, double other) {
  return other > 0 ? bench::strf("%.2f×", sled / other) : "—";
}

std::string per_function(const peers::PatchCost& p, double ns) {
  return bench::duration_text(ns) +
         bench::strf(" (%.1f ns/fn)", ns / static_cast<double>(p.functions));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) return 2;
  std::printf("## sled-bench-peers\n\n- date: %s\n- machine: %s; load average at start %s\n",
              bench::date_text().c_str(), bench::machine_text().c_str(),
              bench::load_text().c_str());
  std::printf(
      "- compiler: clang %s\n- each figure: median of %d repetitions (call loops: ~%.0f "
      "ms of thread CPU time each), sled and XRay in this process\n",
      __clang_version__, o.reps, o.target_ms);
  std::fflush(stdout);

  constexpr bench::CallLoop plain_loop = bench::call_loop<dispatch_tiny_plain>;
  double plain = bench::ns_per_call(plain_loop, o.reps, o.target_ms);
  std::fprintf(stderr, "sled-bench-peers: sled\n");
  peers::SledFigures sled = peers::measure_sled(o.reps, o.target_ms);
  std::fprintf(stderr, "sled-bench-peers: XRay\n");
  peers::XRayFigures xray = peers::measure_xray(o.reps, o.target_ms);
  if (!sled.error.empty()) std::fprintf(stderr, "sled: %s\n", sled.error.c_str());
  if (!xray.error.empty()) std::fprintf(stderr, "XRay: %s\n", xray.error.c_str());

  bench::Table t("sled next to LLVM XRay and uftrace: tiny(), empty handlers",
                 {"tracer", "ns/call off → on", "overhead ns/call", "sled ÷ this (overhead)",
                  "patch all, first", "patch all, later", "sled ÷ this (per fn, later)",
                  "unpatch all", "one function"});
  t.add_row({"uninstrumented", bench::strf("%.2f", plain), "—", "—", "—", "—", "—", "—", "—"});
  double sled_over = sled.call.on - plain;
  double sled_per_fn = sled.patch.later_ns / static_cast<double>(sled.patch.functions);
  auto call_row = [&](const char* name, const peers::CallCost& c, const peers::PatchCost* p,
                      const std::string& error) {
    if (!error.empty()) {
      t.add_row({name, "err", "err", "err", "err", "err", "err", "err", "err"});
      return;
    }
    double over = c.on - plain;
    std::vector<std::string> row{name, bench::strf("%.2f → %.2f", c.off, c.on),
                                 bench::strf("%.2f", over), ratio(sled_over, over)};
    if (p) {
      double fn = p->later_ns / static_cast<double>(p->functions);
      row.insert(row.end(), {per_function(*p, p->first_ns), per_function(*p, p->later_ns),
                             ratio(sled_per_fn, fn), bench::duration_text(p->unpatch_ns),
                             bench::duration_text(p->one_ns)});
    } else {
      row.insert(row.end(), {"—", "—", "—", "—", "—"});
    }
    t.add_row(std::move(row));
  };
  call_row("sled callops, empty callback", sled.call, &sled.patch, sled.error);
  call_row("XRay, entry+exit sleds (default), empty handler", xray.entry_exit, &xray.patch,
           xray.error);
  call_row("XRay, entry sled only, empty handler", xray.entry_only, nullptr, xray.error);
  auto uftrace_row = [&](const std::string& name, const UftraceFigures& u) {
    if (!u.given) {
      t.add_row({name, "n/a (bench/peers/run.sh)", "n/a", "n/a", "—", "—", "—", "—", "—"});
      return;
    }
    double over = u.with - u.plain;
    t.add_row({name, bench::strf("%.2f → %.2f", u.without, u.with), bench::strf("%.2f", over),
               ratio(sled_over, over), "—", "—", "—", "—", "—"});
  };
  uftrace_row(o.uftrace_version + " record, -pg", o.pg);
  uftrace_row(o.uftrace_version + " record -P ., -fpatchable-function-entry=5", o.pfe);

  t.add_note(bench::strf(
      "Overhead: ns/call tracing minus the uninstrumented call (uftrace: minus the uninstrumented "
      "call measured in the same uftrace runs). Patch all: sled_register_ops of an ops whose "
      "filter selects the %zu functions of libsled-gen-100k.so, vs __xray_patch() of this "
      "program's %zu XRay functions (100,000 generated + the tiny ones); first: one sample, the "
      "first in this process; later: median after unpatching. Unpatch all: sled_unregister_ops "
      "(grace period included) vs __xray_unpatch(). One function: sled_set_filter moving a "
      "registered ops from one function to another (disable one, enable one, grace period) vs "
      "__xray_patch_function(id) (enable one).",
      sled.patch.functions, xray.patch.functions));
  if (o.pg.given)
    t.add_note(bench::strf(
        "uftrace -pg: without uftrace the -pg function costs %.2f ns/call (glibc's mcount); "
        "(with − without) = %.2f ns/call.",
        o.pg.without, o.pg.with - o.pg.without));
  t.print();
  return sled.error.empty() && xray.error.empty() ? 0 : 1;
}
