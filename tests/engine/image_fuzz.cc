// libFuzzer target for recovery's walk over a whole store image: superblock,
// journal region, every stripe header and directory, the records they point
// to, and the checkpoint that may come with them. Startup builds two real
// images with the engine (a clean stop, and a crash with a journal tail whose
// records never reached their stripe); each input picks one, with or without
// its checkpoint, and damages it with a list of patches (bytes overwritten, a
// 4 KiB block zeroed as a lost write leaves it, a block copied from elsewhere
// as a stale lap leaves it, bits flipped). The engine must then either refuse
// to open with an error, or open and serve, for every key, a miss or a value
// that was once written for that key byte for byte, and accept and serve a new
// write. Nothing may crash, hang or trip ASan/UBSan.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "coss/engine.h"

using namespace coss;

namespace {

constexpr uint32_t kKeys = 96;
constexpr uint32_t kStripe = 64u << 10;
constexpr uint32_t kBlock = 4096;

void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_image: %s\n", what);
    __builtin_trap();
  }
}

std::string KeyName(uint32_t id) {
  return "key-" + std::to_string(id);
}

// "<id> <serial> " then bytes derived from both, `len` bytes in all: a value
// proves which key and which write it came from.
std::string MakeValue(uint32_t id, uint64_t serial, uint32_t len) {
  std::string v = std::to_string(id) + " " + std::to_string(serial) + " ";
  uint64_t x = (uint64_t{id} << 32) ^ serial;
  while (v.size() < len) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    v.push_back(static_cast<char>('a' + (x >> 59)));
  }
  return v;
}

bool IsValueOf(uint32_t id, const std::string& v) {
  unsigned long long got_id = 0, serial = 0;
  int used = 0;
  if (std::sscanf(v.c_str(), "%llu %llu %n", &got_id, &serial, &used) != 2 || used == 0)
    return false;
  return got_id == id && v == MakeValue(id, serial, static_cast<uint32_t>(v.size()));
}

struct Image {
  std::string store;
  std::string checkpoint;  // empty: none was written
};

struct Setup {
  std::string dir;
  Image clean;
  Image crashed;
};

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.devices.push_back({dir + "/store", 2u << 20});
  o.stripe_size = kStripe;
  o.max_value_size = 16u << 10;
  o.membufs = 3;
  o.io = IoKind::kThreads;
  o.io_threads = 2;
  o.relocation = "never";
  o.checkpoint_interval_s = 0;
  o.max_buffer_age_s = 0;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Check(out.good(), "cannot write the image");
}

void WaitDurable(Engine& e, const WriteTicket& t) {
  std::promise<Status> done;
  e.WhenDurable(t, [&](const Status& s) { done.set_value(s); });
  Check(done.get_future().get().ok(), "a setup write did not become durable");
}

// Writes, deletes and one flush_all over more bytes than the ring holds, so
// the images hold wrapped laps, tombstones and shadowed copies.
void Workload(Engine& e, std::mt19937_64& rng, uint64_t* serial, int ops) {
  for (int i = 0; i < ops; i++) {
    const auto id = static_cast<uint32_t>(rng() % kKeys);
    const int op = static_cast<int>(rng() % 100);
    if (op < 80) {
      const auto len = static_cast<uint32_t>(24 + rng() % (rng() % 8 == 0 ? 12000 : 1500));
      PutRequest r;
      const std::string k = KeyName(id), v = MakeValue(id, ++*serial, len);
      r.key = k;
      r.value = v;
      Check(e.Put(r).status.ok(), "a setup put failed");
    } else if (op < 98) {
      (void)e.Remove(KeyName(id));
    } else if (op == 98) {
      Check(e.Checkpoint().ok(), "a setup checkpoint failed");
    } else if (rng() % 8 == 0) {
      Check(e.Clear().ok(), "a setup flush_all failed");
    }
  }
}

Setup* MakeSetup() {
  auto* s = new Setup;
  char tmpl[] = "/dev/shm/coss-fuzz-image-XXXXXX";
  Check(::mkdtemp(tmpl) != nullptr, "mkdtemp failed");
  s->dir = tmpl;
  const EngineOptions o = Options(s->dir);
  std::mt19937_64 rng(7);
  uint64_t serial = 0;
  {
    auto e = Engine::Open(o);
    Check(e.ok(), "the setup store did not open");
    Workload(**e, rng, &serial, 3000);
    Check((*e)->Flush().ok(), "setup flush failed");
    // A journal tail: durable writes whose records are still in a membuf.
    WriteTicket last;
    for (int i = 0; i < 12; i++) {
      const auto id = static_cast<uint32_t>(rng() % kKeys);
      const std::string k = KeyName(id), v = MakeValue(id, ++serial, 300);
      PutRequest r;
      r.key = k;
      r.value = v;
      auto p = (*e)->Put(r);
      Check(p.status.ok(), "a setup put failed");
      WriteTicket t;
      if (i % 4 == 3) (void)(*e)->Remove(KeyName((id + 1) % kKeys), nullptr, &t);
      last = t.lsn > p.ticket.lsn ? t : p.ticket;
    }
    WaitDurable(**e, last);
    s->crashed = {ReadFile(o.devices[0].path), ReadFile(o.devices[0].path + ".ckpt")};
    Workload(**e, rng, &serial, 400);
    Check((*e)->Close().ok(), "setup close failed");
  }
  s->clean = {ReadFile(o.devices[0].path), ReadFile(o.devices[0].path + ".ckpt")};
  Check(s->clean.store.size() == s->crashed.store.size(), "the images differ in size");
  Check(!s->clean.checkpoint.empty(), "a clean stop wrote no checkpoint");
  return s;
}

Setup& TheSetup() {
  static Setup* s = MakeSetup();
  return *s;
}

// Applies the patch list in `in` to img. Each patch: kind (1 byte), a 64 KiB
// region of the file (1 byte, modulo their count), an offset in it (2 bytes),
// then its operands.
void Damage(std::string& img, const uint8_t* in, size_t n) {
  const size_t regions = img.size() / kStripe;
  size_t i = 0;
  while (i + 4 <= n) {
    const uint8_t kind = in[i] % 4;
    const size_t base = (in[i + 1] % regions) * kStripe;
    const size_t off = base + ((size_t{in[i + 2]} << 8 | in[i + 3]) % kStripe);
    i += 4;
    const size_t block = off / kBlock * kBlock;
    switch (kind) {
      case 0: {  // overwrite up to 16 bytes
        const size_t len = i < n ? std::min<size_t>(in[i] % 17, n - i - 1) : 0;
        if (i < n) i++;
        for (size_t j = 0; j < len && off + j < img.size(); j++) img[off + j] = char(in[i + j]);
        i += len;
        break;
      }
      case 1:  // a lost 4 KiB write over a zeroed (fallocated) block
        std::memset(img.data() + block, 0, kBlock);
        break;
      case 2: {  // a block of another lap where this one should be
        if (i >= n) return;
        const size_t from = (in[i++] % (img.size() / kBlock)) * kBlock;
        std::memmove(img.data() + block, img.data() + from, kBlock);
        break;
      }
      default:  // one bit flipped
        if (i >= n) return;
        img[off] = char(img[off] ^ (1u << (in[i++] % 8)));
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // recovery's reports of the damage, thousands a second
  (void)TheSetup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Setup& s = TheSetup();
  const Image& base = data[0] & 1 ? s.crashed : s.clean;
  const bool with_ckpt = (data[0] & 2) != 0 && !base.checkpoint.empty();
  std::string img = base.store;
  Damage(img, data + 1, size - 1);

  const EngineOptions o = Options(s.dir);
  const std::string& path = o.devices[0].path;
  WriteFile(path, img);
  std::error_code ec;
  std::filesystem::remove(path + ".ckpt", ec);
  if (with_ckpt) WriteFile(path + ".ckpt", base.checkpoint);

  auto e = Engine::Open(o);
  if (!e.ok()) return 0;  // refusing a damaged store with an error is allowed
  for (uint32_t id = 0; id < kKeys; id++) {
    const GetResult g = (*e)->GetSync(KeyName(id));
    if (g.status.ok()) Check(IsValueOf(id, g.item.value.str()), "served a value never written");
  }
  // The recovered store takes and serves a new write.
  const std::string k = KeyName(0), v = MakeValue(0, ~uint64_t{0} >> 1, 777);
  PutRequest r;
  r.key = k;
  r.value = v;
  const PutResult p = (*e)->Put(r);
  if (p.status.ok()) {
    const GetResult g = (*e)->GetSync(k);
    Check(g.status.ok() && g.item.value == v, "a write after recovery was not served");
  }
  (void)(*e)->Close();
  return 0;
}
