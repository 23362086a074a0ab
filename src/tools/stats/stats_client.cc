#include "tools/stats/stats_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace coss::tools {

namespace {

bool SendAll(int fd, std::string_view data, std::string* err) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = std::string("send: ") + std::strerror(errno);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

bool FetchStats(const Endpoint& ep, std::string_view args, int timeout_ms, StatList* out,
                std::string* err) {
  out->clear();
  const int fd = ConnectTcp(ep, timeout_ms, err);
  if (fd < 0) return false;
  std::string req = "stats";
  if (!args.empty()) {
    req += ' ';
    req += args;
  }
  req += "\r\n";
  bool ok = SendAll(fd, req, err);
  std::string buf;
  size_t pos = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (ok) {
    const size_t eol = buf.find("\r\n", pos);
    if (eol != std::string::npos) {
      const std::string_view line(buf.data() + pos, eol - pos);
      pos = eol + 2;
      if (line == "END" || line == "RESET") break;
      if (line.starts_with("STAT ")) {
        const std::string_view rest = line.substr(5);
        const size_t sp = rest.find(' ');
        out->emplace_back(std::string(rest.substr(0, sp)),
                          sp == std::string_view::npos ? "" : std::string(rest.substr(sp + 1)));
        continue;
      }
      *err = "stats: unexpected reply from " + ep.ToString() + ": " + std::string(line);
      ok = false;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int rc = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (rc == 0) {
      *err = "stats: no complete reply from " + ep.ToString() + " within " +
             std::to_string(timeout_ms) + " ms";
      ok = false;
      break;
    }
    if (rc < 0 && errno == EINTR) continue;
    char tmp[16384];
    const ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      *err = "stats: connection to " + ep.ToString() + " closed before END";
      ok = false;
      break;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok;
}

const std::string* FindStat(const StatList& s, std::string_view name) {
  for (const auto& [k, v] : s) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace coss::tools
