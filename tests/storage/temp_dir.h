// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away.
#ifndef QUIRE_TESTS_STORAGE_TEMP_DIR_H_
#define QUIRE_TESTS_STORAGE_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace quire::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/quire-test-XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace quire::test

#endif  // QUIRE_TESTS_STORAGE_TEMP_DIR_H_
