// TempDir: a fresh directory under $TMPDIR (or /var/tmp: a real disk file
// system, so O_DIRECT is exercised), removed at scope exit.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace coss::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("COSS_TEST_DIR");
    std::string tmpl = std::string(base ? base : "/var/tmp") + "/coss-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : throw std::runtime_error("mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace coss::testing
