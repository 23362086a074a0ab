#include "tools/stats/net.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace coss::tools {

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool Endpoint::IsLoopback() const {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

bool ParseEndpoint(std::string_view s, Endpoint* out, std::string* err) {
  Endpoint ep;
  std::string_view port;
  if (s.starts_with("[")) {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) {
      *err = "bad server address '" + std::string(s) + "': missing ']'";
      return false;
    }
    ep.host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        *err = "bad server address '" + std::string(s) + "'";
        return false;
      }
      port = rest.substr(1);
    }
  } else {
    const size_t colon = s.rfind(':');
    if (colon != std::string_view::npos) {
      if (colon > 0) ep.host = std::string(s.substr(0, colon));
      port = s.substr(colon + 1);
    } else if (!s.empty()) {
      ep.host = std::string(s);
    }
  }
  if (!port.empty() || s.ends_with(":")) {
    unsigned v = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 ||
        v > 65535) {
      *err = "bad port in server address '" + std::string(s) + "' (expected 1..65535)";
      return false;
    }
    ep.port = static_cast<uint16_t>(v);
  }
  if (ep.host.empty()) {
    *err = "bad server address '" + std::string(s) + "': empty host";
    return false;
  }
  *out = ep;
  return true;
}

int ConnectTcp(const Endpoint& ep, int timeout_ms, std::string* err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  const int gai = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    *err = "cannot resolve " + ep.host + ": " + gai_strerror(gai);
    return -1;
  }
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, timeout_ms);
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int so = 0;
        socklen_t len = sizeof so;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
        errno = so;
        rc = so == 0 ? 0 : -1;
      }
    }
    if (rc == 0) break;
    last = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    *err = "cannot connect to " + ep.ToString() + ": " + last;
    return -1;
  }
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace coss::tools
