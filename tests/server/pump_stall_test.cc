// Connection::Pump and the output budget: a lost wakeup, provoked
// deterministically.
//
// A client pipelines more `get`s than the output budget (conn_output_limit)
// lets the server answer at once, and does not read yet. The server parses
// until the budget is full, then writes; when the socket takes nothing
// (EAGAIN), the connection waits for EPOLLOUT with the rest of the requests
// unparsed in its read buffer. If a write then still happened before the
// worker waited (Pump used to end with one) and the client had read in
// between, that write could empty the reply queue: no EPOLLOUT wanted, the
// socket already read (no EPOLLIN), the requests in the buffer never resumed,
// and the client waited for ever (test_robustness.py's slow reader hung so
// under load).
//
// This test makes that interleaving certain: it interposes writev (the
// executable's definition wins over libc's for the server library linked in).
// While armed, a write of a full output budget fails with EAGAIN although the
// socket has room, and the write after it goes through at once: each time the
// server stops for a full socket, the client has read by its next write. (The
// worker pumps a connection twice per event, from the event and then before it
// waits; the stall needs the race in the second one, hence every time, not
// once.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/server.h"

namespace {
std::atomic<uint64_t> g_budget{0};  // 0: disarmed; else the output budget, in bytes
std::atomic<bool> g_fail_next{true};
std::atomic<int> g_injected{0};
}  // namespace

extern "C" ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  if (const uint64_t budget = g_budget.load(); budget != 0) {
    if (total >= budget && g_fail_next.exchange(false)) {
      g_injected.fetch_add(1);
      errno = EAGAIN;
      return -1;
    }
    g_fail_next.store(true);
  }
  return ::syscall(SYS_writev, fd, iov, iovcnt);
}

namespace coss::server {
namespace {

constexpr uint64_t kOutputLimit = 32 << 10;
constexpr size_t kValueSize = 8 << 10;
constexpr int kGets = 40;  // 40 x 8 KiB: ten times the budget

class PumpStallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    const char* base = std::getenv("COSS_TEST_DIR");
    std::string tmpl =
        std::string(base != nullptr && *base != 0 ? base : "/var/tmp") + "/coss-pump-stall-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ServerConfig cfg;
    cfg.listen = "127.0.0.1";
    cfg.port = 0;  // any free port
    cfg.threads = 1;
    cfg.ram_bytes = 4u << 20;
    cfg.stores.push_back({dir_ + "/store", 16u << 20});
    cfg.stripe_size = 64u << 10;
    cfg.checkpoint = "none";
    cfg.conn_output_limit = kOutputLimit;
    spdlog::set_level(spdlog::level::warn);
    server_ = std::make_unique<Server>(cfg);
    std::string err;
    ASSERT_TRUE(server_->Open(&err)) << err;
  }

  void TearDown() override {
    g_budget.store(0);
    if (server_) {
      server_->Shutdown();
      server_.reset();
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // A blocking client socket whose reads give up after 10 s.
  int Connect() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  static bool SendAll(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes; what it got when the reads time out or fail.
  static std::string ReadN(int fd, size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(PumpStallTest, PipelinedGetsResumeAfterOutputPause) {
  const int fd = Connect();
  const std::string value(kValueSize, 'v');
  ASSERT_TRUE(SendAll(fd, "set v 0 0 " + std::to_string(kValueSize) + "\r\n" + value + "\r\n"));
  ASSERT_EQ(ReadN(fd, 8), "STORED\r\n");

  // One send: the server reads the whole pipeline at once, so no later
  // EPOLLIN can hide a lost wakeup.
  std::string req;
  for (int i = 0; i < kGets; i++) req += "get v\r\n";
  g_budget.store(kOutputLimit);
  ASSERT_TRUE(SendAll(fd, req));

  const std::string reply =
      "VALUE v 0 " + std::to_string(kValueSize) + "\r\n" + value + "\r\nEND\r\n";
  for (int i = 0; i < kGets; i++) {
    const std::string got = ReadN(fd, reply.size());
    ASSERT_TRUE(got == reply) << "reply " << i << " of " << kGets << ": got " << got.size()
                              << " of its " << reply.size()
                              << " bytes in 10 s (the connection stalled?)";
  }
  g_budget.store(0);
  EXPECT_GE(g_injected.load(), 1) << "the output budget never filled: the test tested nothing";
  ::close(fd);
}

}  // namespace
}  // namespace coss::server
