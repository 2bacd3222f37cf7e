// Tokens for tests: a secret file in a test's directory and tokens minted
// with it (or deliberately wrong), as `quire token` would mint them.
#ifndef QUIRE_TESTS_SERVER_TOKENS_H_
#define QUIRE_TESTS_SERVER_TOKENS_H_

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "server/auth.h"

namespace quire::test {

inline constexpr char kSecret[] = "test-secret-test-secret-test-secret-0123456789";
inline constexpr char kOtherSecret[] = "another-secret-another-secret-another-secret-99";

inline int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes `secret` to `path` and returns the path.
inline std::string WriteSecret(const std::string& path, const std::string& secret = kSecret) {
  std::ofstream(path) << secret << "\n";
  return path;
}

// A token for `sub` with `docs` ("notes/*:rw,public/*:r") expiring in
// `ttl_s` seconds, signed with `secret`.
inline std::string Token(const std::string& sub, const std::string& docs, int64_t ttl_s = 3600,
                         const std::string& secret = kSecret) {
  server::TokenClaims c;
  c.sub = sub;
  c.name = sub + " (test)";
  c.docs = server::ParseGrants(docs).value();
  c.iat = NowSeconds();
  c.exp = c.iat + ttl_s;
  Result<std::string> t = server::MintToken(secret, c);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : std::string();
}

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_TOKENS_H_
