// libFuzzer target for the server's connection state machine: the real
// Server (workers, epoll loop, Connection, RAM tier, engine on a store in
// /dev/shm, durable acknowledgements) runs in this process; each input is one
// client stream sent over TCP in fragments, with the client also reading
// replies slowly or not at all, then half-closed.
//
// The first input byte picks the fragment size and whether the client reads
// while it sends (not reading fills the server's output budget and pauses the
// connection). Checked for every input:
//  * the server answers everything it was sent and closes the connection
//    after the client's EOF, with no 20 s of polls without progress (no stuck
//    op, no lost wakeup; counted in polls, so a stopped process is no hang);
//  * the reply stream ends at a reply boundary ("\r\n"): nothing is cut short;
// and every 16 inputs, on a fresh connection: the server still answers, and
// every earlier connection is gone from curr_connections (no leaked state).
// ASan+UBSan catch memory errors in any of it. Built with -DCOSS_FUZZ=ON.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/config.h"
#include "server/server.h"

namespace {

void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_conn: %s\n", what);
    __builtin_trap();
  }
}

uint16_t StartServer() {
  char tmpl[] = "/dev/shm/coss-fuzz-conn-XXXXXX";
  Check(::mkdtemp(tmpl) != nullptr, "mkdtemp failed");
  using coss::server::ServerConfig;
  ServerConfig cfg;
  cfg.listen = "127.0.0.1";
  cfg.port = 0;  // any free port
  cfg.threads = 2;
  cfg.ram_bytes = 4u << 20;
  cfg.stores.push_back({std::string(tmpl) + "/store", 16u << 20});
  cfg.stripe_size = 64u << 10;
  cfg.io = coss::IoKind::kThreads;
  cfg.checkpoint = "none";
  cfg.max_buffer_age_s = 0;
  // Small limits, so that inputs reach the pauses and the pipeline bounds.
  cfg.max_item_size = 64u << 10;
  cfg.conn_output_limit = 64u << 10;
  cfg.conn_inflight = 4;
  cfg.conn_pending = 32;
  spdlog::set_level(spdlog::level::off);
  ::signal(SIGPIPE, SIG_IGN);
  // Never destroyed: the process ends with the fuzzer.
  auto* server = new coss::server::Server(cfg);
  std::string err;
  if (!server->Open(&err)) {
    std::fprintf(stderr, "fuzz_conn: server did not start: %s\n", err.c_str());
    std::abort();
  }
  return server->port();
}

uint16_t Port() {
  static const uint16_t port = StartServer();
  return port;
}

int Connect() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Check(fd >= 0, "socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(Port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Check(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect failed");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Sends `in` in fragments of `frag` bytes, reading replies (when `read_while`)
// as they come, half-closes, then reads until the server closes. Returns the
// replies; traps when the server has not closed by the deadline.
std::string Exchange(const char* in, size_t n, size_t frag, bool read_while) {
  const int fd = Connect();
  std::string out;
  char buf[65536];
  size_t sent = 0;
  bool half_closed = false;
  // The deadline counts polls that saw no progress (20 s of them), not wall
  // time: a process stopped and resumed (SIGSTOP, a loaded machine) is not a hang.
  int idle_polls = 0;
  for (;;) {
    Check(idle_polls < 400, "the server did not finish and close the connection");
    if (sent == n && !half_closed) {
      ::shutdown(fd, SHUT_WR);
      half_closed = true;
    }
    const bool want_read = read_while || half_closed;
    pollfd p{fd, static_cast<short>((want_read ? POLLIN : 0) | (half_closed ? 0 : POLLOUT)), 0};
    // Not reading while the server's output is full stalls both sides: then
    // read after all (as a slow client finally would).
    const int r = ::poll(&p, 1, 50);
    idle_polls++;
    if (r == 0 && !want_read) {
      read_while = true;
      continue;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got == 0) break;
      if (got < 0 && errno != EAGAIN && errno != EINTR) break;  // reset: the server closed
      if (got > 0) {
        out.append(buf, static_cast<size_t>(got));
        idle_polls = 0;
      }
    }
    if ((p.revents & POLLOUT) && sent < n) {
      const ssize_t w = ::write(fd, in + sent, std::min(frag, n - sent));
      if (w > 0) {
        sent += static_cast<size_t>(w);
        idle_polls = 0;
      }
      if (w < 0 && errno != EAGAIN && errno != EINTR) break;  // the server closed first
    }
  }
  ::close(fd);
  return out;
}

std::string Request(const std::string& text) {
  return Exchange(text.data(), text.size(), text.size(), true);
}

void Probe() {
  const std::string v = Request("version\r\n");
  Check(v.rfind("VERSION ", 0) == 0, "the server stopped answering");
  const std::string s = Request("stats\r\n");
  Check(s.find("STAT curr_connections 1\r\n") != std::string::npos,
        "a closed connection is still counted");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)Port();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t inputs = 0;
  if (size < 1) return 0;
  const size_t frag = 1 + (data[0] & 0x7f) * (data[0] & 0x40 ? 64 : 1);
  const bool read_while = (data[0] & 0x80) == 0;
  const std::string out =
      Exchange(reinterpret_cast<const char*>(data) + 1, size - 1, frag, read_while);
  Check(out.empty() || (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0),
        "a reply was cut short");
  if (++inputs % 16 == 0) Probe();
  return 0;
}
