// Small TCP helpers shared by `coss stats` and `coss bench`: parsing
// "host:port" endpoints and connecting with a timeout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace coss::tools {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 11211;
  std::string ToString() const;
  // True for 127.0.0.0/8, ::1 and "localhost": the server's /proc is ours to read.
  bool IsLoopback() const;
};

// "HOST:PORT", "HOST" (port 11211), ":PORT", "[V6]:PORT".
bool ParseEndpoint(std::string_view s, Endpoint* out, std::string* err);

// A connected, blocking TCP socket with TCP_NODELAY, or -1 and *err.
int ConnectTcp(const Endpoint& ep, int timeout_ms, std::string* err);

}  // namespace coss::tools
