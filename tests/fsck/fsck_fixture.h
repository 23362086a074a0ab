// Helpers for the `coss fsck` tests: real stores made by the engine in /var/tmp
// (64 KiB stripes, a few MiB), byte-level damage, and runs of the built `coss`
// binary (COSS_TOOL) with its exit status, stdout and stderr. JSON output is
// read with /usr/bin/python3's json module.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/format.h"
#include "support/engine_fixture.h"
#include "util/hash.h"

namespace coss::testing {

inline constexpr uint32_t kStripe = 64u << 10;
inline const uint64_t kData = format::kSuperblockSize + format::JournalBytesFor(kStripe);

struct FsckRun {
  int rc = -1;
  std::string out, err;
};

// Where a record sits: its run's first stripe and its offset in the run.
struct RecordAt {
  uint32_t stripe = 0;
  uint64_t seq = 0;
  format::DirEntry e{};
};

class FsckTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name = "store0") const { return dir_.file(name); }

  EngineOptions Opts(const std::string& name = "store0", uint64_t bytes = 4u << 20) const {
    EngineOptions o = SmallStore(dir_, IoKind::kThreads, bytes, kStripe);
    o.devices[0].path = Path(name);
    return o;
  }

  static std::string Val(int i) {
    return std::string(600 + i % 400, static_cast<char>('a' + i % 26)) + std::to_string(i);
  }

  // Opens the engine so that it rebuilds from the stripes' metadata (what fsck
  // models): an index checkpoint left by an earlier clean stop is removed first.
  std::unique_ptr<Engine> Rebuilt(const EngineOptions& o) const {
    for (const DeviceSpec& d : o.devices) std::remove((d.path + ".ckpt").c_str());
    return MustOpen(o);
  }

  // Puts k0..k{n-1} and closes the engine.
  void MakeStore(int n, const std::string& name = "store0") {
    auto e = MustOpen(Opts(name));
    ASSERT_NE(e, nullptr);
    for (int i = 0; i < n; i++)
      ASSERT_TRUE(PutStr(*e, "k" + std::to_string(i), Val(i)).status.ok());
    ASSERT_TRUE(e->Close().ok());
  }

  // Runs `coss fsck ARGS`.
  FsckRun Fsck(const std::string& args) const {
    FsckRun r;
    const std::string out = dir_.file("fsck.out"), err = dir_.file("fsck.err");
    const std::string cmd = std::string(COSS_TOOL) + " fsck " + args + " >" + out + " 2>" + err;
    const int st = std::system(cmd.c_str());
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  // Evaluates a Python expression over `d`, the JSON document in `json_text`.
  std::string Py(const std::string& json_text, const std::string& expr) const {
    const std::string in = dir_.file("doc.json"), code = dir_.file("expr.py"),
                      out = dir_.file("py.out");
    std::ofstream(in) << json_text;
    std::ofstream(code) << expr;
    const std::string cmd =
        "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
        "print(eval(open(sys.argv[2]).read()))' " +
        in + " " + code + " >" + out + " 2>&1";
    const int st = std::system(cmd.c_str());
    std::string s = Slurp(out);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0) << "python: " << s;
    return s;
  }
  uint64_t PyU(const std::string& json_text, const std::string& expr) const {
    const std::string s = Py(json_text, expr);
    return s.empty() || s.find_first_not_of("0123456789") != std::string::npos ? ~0ull
                                                                               : std::stoull(s);
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  static uint64_t StripeOff(uint32_t s) { return kData + uint64_t{s} * kStripe; }

  format::StripeHeader Header(uint32_t s, const std::string& name = "store0") const {
    format::StripeHeader h{};
    Pread(name, StripeOff(s), &h, sizeof h);
    return h;
  }
  format::Superblock Super(const std::string& name = "store0") const {
    format::Superblock sb{};
    Pread(name, 0, &sb, sizeof sb);
    return sb;
  }
  // Stripes whose header is a data run with records (the file's view, no checks).
  std::vector<uint32_t> DataStripes(const std::string& name = "store0") const {
    std::vector<uint32_t> out;
    const uint32_t n = static_cast<uint32_t>(Super(name).stripe_count);
    for (uint32_t s = 0; s < n; s++) {
      const format::StripeHeader h = Header(s, name);
      if (h.magic == format::kStripeMagic && h.kind == format::StripeKind::kData &&
          h.record_count > 0)
        out.push_back(s);
    }
    return out;
  }
  // The newest directory entry of `key` (value or tombstone) on disk.
  RecordAt Find(const std::string& key, const std::string& name = "store0") const {
    RecordAt best;
    const uint64_t hash = KeyHash(key, Super(name).key_seed);
    for (uint32_t s : DataStripes(name)) {
      const format::StripeHeader h = Header(s, name);
      const uint64_t run = uint64_t{h.span} * kStripe;
      for (uint32_t i = 0; i < h.record_count; i++) {
        format::DirEntry e;
        Pread(name, StripeOff(s) + format::DirEntryOffset(run, i), &e, sizeof e);
        if (e.key_hash == hash && h.seq >= best.seq) best = RecordAt{s, h.seq, e};
      }
    }
    return best;
  }

  void Pread(const std::string& name, uint64_t off, void* buf, size_t len) const {
    const int fd = ::open(Path(name).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pread(fd, buf, len, static_cast<off_t>(off)), static_cast<ssize_t>(len));
    ::close(fd);
  }
  void Pwrite(const std::string& name, uint64_t off, const void* buf, size_t len) const {
    const int fd = ::open(Path(name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, buf, len, static_cast<off_t>(off)), static_cast<ssize_t>(len));
    ::close(fd);
  }
  void Flip(uint64_t off, const std::string& name = "store0") const {
    char c;
    Pread(name, off, &c, 1);
    c ^= 0x20;
    Pwrite(name, off, &c, 1);
  }
  std::string FileBytes(const std::string& name = "store0") const { return Slurp(Path(name)); }

  TempDir dir_;
};

}  // namespace coss::testing
