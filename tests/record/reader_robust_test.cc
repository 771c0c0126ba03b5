// The reader on damaged traces: a real trace cut at many byte offsets and
// with bytes flipped at many offsets. Each damaged copy is either refused
// with a message or read up to the damage with cut() set and a reason; the
// events read are then a prefix of the intact trace's, per thread. Never a
// crash (this runs under ASan/UBSan in CI). The corpus files are read too.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "trace_util.h"

namespace rec = sled::rec;
using sled::reader::Event;
using sled::reader::Trace;

namespace {

// A trace with two threads, small chunks (many records), symbols, a section.
std::string make_trace(const std::string &dir) {
  rec::Options o;
  o.dir = dir;
  o.buffer_bytes = 8192;  // 1 KiB chunks
  if (rec::start(o) != 0) return "";
  auto body = [](uint64_t salt) {
    rec::Writer *w = rec::thread_writer();
    for (uint64_t i = 0; i < 300; i++) {
      rec::entry(w, i * 10, 0x400000 + salt + i % 7, 0x400100);
      uint64_t v[2] = {i, salt};
      rec::args(w, v, 2);
      rec::exit(w, i * 10 + 3, 0x400000 + salt + i % 7, false);
      rec::retval(w, i);
      if (i % 50 == 0) {
        uintptr_t ips[3] = {0x400010, 0x400020, 0x400030};
        rec::stack(w, i * 10 + 4, ips, 3);
        rec::marker(w, i * 10 + 5, 0x400000, rec::Marker::snapshot, i);
      }
      // Slow enough for the writer thread: nothing dropped.
      if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  };
  std::thread t(body, 0x1000);
  body(0);
  t.join();
  rec::add_section("profile", "abc");
  if (rec::stop() != 0) return "";
  return rectest::read_file(dir + "/trace.sled");
}

// The size of the first record (the header) of a trace file.
size_t fmt_header_bytes(const std::string &bytes) {
  uint32_t len = 0;
  if (bytes.size() >= 12) memcpy(&len, bytes.data() + 8, 4);
  return std::min(bytes.size(), static_cast<size_t>(16 + len));
}

bool is_prefix(const std::vector<Event> &part, const std::vector<Event> &whole) {
  if (part.size() > whole.size()) return false;
  for (size_t i = 0; i < part.size(); i++)
    if (!(part[i] == whole[i])) return false;
  return true;
}

using Expected = std::map<uint32_t, std::vector<Event>>;

// The intact trace's events per thread, ns zeroed (a damaged copy converts
// with the calibration pairs it still has): computed once.
Expected events_by_thread(const Trace &t) {
  Expected out;
  for (uint32_t tid : t.thread_ids()) {
    auto ev = t.events(tid);
    EXPECT_TRUE(ev.ok()) << ev.error;
    for (Event &e : *ev.value) e.ns = 0;
    out[tid] = std::move(*ev.value);
  }
  return out;
}

// Checks one damaged copy; returns true if it was read (not refused).
bool check_damaged(const std::string &bytes, const Expected &whole, const std::string &what) {
  auto r = Trace::from_bytes(bytes);
  if (!r.ok()) {
    EXPECT_FALSE(r.error.empty()) << what;
    return false;
  }
  EXPECT_TRUE(r->cut()) << what;
  EXPECT_FALSE(r->cut_reason().empty()) << what;
  for (uint32_t tid : r->thread_ids()) {
    auto part = r->events(tid);
    EXPECT_TRUE(part.ok()) << what << ": " << part.error;
    if (!part.ok()) continue;
    for (Event &e : *part.value) e.ns = 0;
    auto it = whole.find(tid);
    EXPECT_TRUE(it != whole.end()) << what << ": thread " << tid;
    if (it != whole.end())
      EXPECT_TRUE(is_prefix(*part.value, it->second)) << what << ": thread " << tid;
  }
  auto strict = Trace::from_bytes(bytes, {.strict = true});
  EXPECT_FALSE(strict.ok()) << what;
  return true;
}

class DamagedTrace : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new rectest::TempDir;
    bytes_ = new std::string(make_trace(dir_->path));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete bytes_;
  }
  static rectest::TempDir *dir_;
  static std::string *bytes_;
};
rectest::TempDir *DamagedTrace::dir_;
std::string *DamagedTrace::bytes_;

TEST_F(DamagedTrace, IntactTraceReads) {
  ASSERT_GT(bytes_->size(), 10000u);
  auto r = Trace::from_bytes(*bytes_, {.strict = true});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r->thread_ids().size(), 2u);
  EXPECT_EQ(r->total_lost(), 0u);
  for (uint32_t tid : r->thread_ids()) EXPECT_EQ(r->events(tid)->size(), 300u * 4 + 6 * 2);
  ASSERT_NE(r->section("profile"), nullptr);
}

// Every offset of the first 200 bytes (the header record and the first
// thread and chunk records), about 500 spread over the rest, the last 40.
TEST_F(DamagedTrace, CutAtManyOffsets) {
  auto whole = Trace::from_bytes(*bytes_);
  ASSERT_TRUE(whole.ok());
  Expected expected = events_by_thread(*whole);
  size_t n = bytes_->size(), read = 0, refused = 0;
  std::vector<size_t> cuts;
  for (size_t i = 0; i < 200 && i < n; i++) cuts.push_back(i);
  for (size_t i = 200; i < n; i += 1 + n / 500) cuts.push_back(i);
  for (size_t i = n - 40; i < n; i++) cuts.push_back(i);
  for (size_t cut : cuts) {
    if (check_damaged(bytes_->substr(0, cut), expected, "cut at " + std::to_string(cut)))
      read++;
    else
      refused++;
  }
  // Cuts inside the header record are refused; later ones read a prefix.
  EXPECT_GT(read, cuts.size() / 2);
  EXPECT_GT(refused, 0u);
  auto empty = Trace::from_bytes("");
  EXPECT_FALSE(empty.ok());
  EXPECT_NE(empty.error.find("empty"), std::string::npos);
}

// One bit, the top bit or the whole byte flipped at about 600 offsets:
// every record is covered by its checksum, so each copy is refused (the
// header) or read up to the damaged record.
TEST_F(DamagedTrace, FlippedBytesAreDetected) {
  auto whole = Trace::from_bytes(*bytes_);
  ASSERT_TRUE(whole.ok());
  Expected expected = events_by_thread(*whole);
  size_t n = bytes_->size();
  for (size_t i = 0; i < n; i += 1 + n / 600) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string copy = *bytes_;
      copy[i] = static_cast<char>(copy[i] ^ mask);
      check_damaged(copy, expected, "flip " + std::to_string(mask) + " at " + std::to_string(i));
    }
  }
}

TEST_F(DamagedTrace, OpenReportsMissingAndForeignFiles) {
  auto none = Trace::open("/nonexistent-sled-trace-dir");
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.error.find("No such file"), std::string::npos) << none.error;
  auto foreign = Trace::from_bytes(std::string(4096, 'x'));
  EXPECT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error.find("not a sled trace"), std::string::npos) << foreign.error;
}

// The seed corpus of the fuzzer: each file is read or refused, no crash.
TEST(ReaderCorpus, EveryFileReadOrRefused) {
  size_t files = 0;
  for (const auto &e : std::filesystem::directory_iterator(RECORD_CORPUS_DIR)) {
    std::string bytes = rectest::read_file(e.path());
    auto r = Trace::from_bytes(bytes);
    if (r.ok())
      for (uint32_t tid : r->thread_ids()) (void)r->events(tid);
    else
      EXPECT_FALSE(r.error.empty());
    files++;
  }
  EXPECT_GT(files, 0u);
}

}  // namespace

namespace {

// Regenerates tests/record/corpus (run with --gtest_also_run_disabled_tests
// --gtest_filter='*WriteCorpus*'): a few small traces of each shape.
TEST(ReaderCorpus, DISABLED_WriteCorpus) {
  auto write = [](const std::string &name, const std::string &bytes) {
    std::ofstream(std::string(RECORD_CORPUS_DIR) + "/" + name, std::ios::binary) << bytes;
  };
  auto small = [](rec::Mode mode, bool snapshot) {
    rectest::TempDir dir;
    rec::Options o;
    o.dir = dir.path;
    o.buffer_bytes = 4096;
    o.mode = mode;
    EXPECT_EQ(rec::start(o), 0);
    rec::Writer *w = rec::thread_writer();
    for (uint64_t i = 0; i < 40; i++) {
      rec::entry(w, 100 + i * 9, 0x401000 + i % 3 * 0x40, 0x402000);
      uint64_t v[3] = {i, ~i, 1};
      rec::args(w, v, 3);
      if (i % 10 == 0) {
        uintptr_t ips[2] = {0x401010, 0x402020};
        rec::stack(w, 101 + i * 9, ips, 2);
      }
      rec::exit(w, 105 + i * 9, 0x401000 + i % 3 * 0x40, i == 7);
      rec::retval(w, i * 3);
    }
    rec::marker(w, 1000, 0x401000, rec::Marker::inject_return, 7);
    if (snapshot) rec::snapshot();
    rec::add_section("profile", "f 1 2 3\n");
    EXPECT_EQ(rec::stop(), 0);
    return rectest::read_file(dir.path + "/trace.sled");
  };
  std::string drop = small(rec::Mode::drop_newest, false);
  write("drop.sled", drop);
  write("overwrite_snapshot.sled", small(rec::Mode::overwrite_oldest, true));
  write("cut.sled", drop.substr(0, drop.size() * 2 / 3));
  write("header_only.sled", drop.substr(0, fmt_header_bytes(drop)));
}

}  // namespace
