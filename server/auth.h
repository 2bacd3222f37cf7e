// Authentication and per-document rights (docs/security.md, "Tokens").
//
// A client proves who it is with an HS256 JSON Web Token whose claims are:
//   sub   (string, required)  the user id: the author of every change it
//                             makes, the key of its rate limits
//   exp   (integer, required) expiry, Unix seconds
//   nbf   (integer, optional) not valid before, Unix seconds
//   iat   (integer, optional) issued at (informational)
//   name  (string, optional)  display name
//   docs  (object, required)  document-name pattern -> "r" or "rw"
// A pattern matches a document name exactly, except that each `*` matches
// any run of characters, '/' included ("notes/*" matches "notes/a/b").
// When several patterns match, the strongest right wins.
//
// TokenVerifier checks signature (libjwt), algorithm (HS256 only: "none",
// RS256 and every other algorithm are refused whatever their signature),
// the time window and the claims' types, and rotates secrets: a previous
// secret is accepted until a deadline while tokens signed with it expire.
//
// Thread safety: TokenVerifier is immutable after construction; its
// methods may run concurrently. Free functions are pure.
#ifndef QUIRE_SERVER_AUTH_H_
#define QUIRE_SERVER_AUTH_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quire::server {

enum class Right : uint8_t { kNone = 0, kRead = 1, kWrite = 2 };

struct Grant {
  std::string pattern;
  Right right = Right::kNone;
  friend bool operator==(const Grant&, const Grant&) = default;
};

// Who a session (or an HTTP request) acts as.
struct Identity {
  std::string sub;   // User id; "anonymous" in dev mode.
  std::string name;  // Display name (may be empty: the client's own then).
  int64_t exp = 0;   // Unix seconds; 0: never (dev mode).
  std::vector<Grant> docs;
  bool anonymous = false;  // Dev mode: every right on every document.

  Right RightFor(std::string_view doc) const;
  bool CanRead(std::string_view doc) const { return RightFor(doc) >= Right::kRead; }
  bool CanWrite(std::string_view doc) const { return RightFor(doc) == Right::kWrite; }
};

// The dev-mode identity: anonymous, every right, never expires.
Identity AnonymousIdentity();

// `*` matches any run of characters; everything else matches itself.
// Linear in |pattern| * |name| at worst, without recursion.
bool GlobMatch(std::string_view pattern, std::string_view name);

// "notes/*:rw,public/*:r" (the `quire token --docs` form). A pattern may
// hold ':' (the last one separates the right). InvalidArgument on an
// empty pattern, a right other than r or rw, or more than kMaxGrants.
Result<std::vector<Grant>> ParseGrants(std::string_view spec);

inline constexpr size_t kMaxTokenBytes = 8192;
inline constexpr size_t kMaxGrants = 256;
inline constexpr size_t kMaxSubBytes = 256;
inline constexpr size_t kMaxNameBytes = 256;
// HS256 wants a key as long as the hash (RFC 7518, 3.2).
inline constexpr size_t kMinSecretBytes = 32;

struct TokenClaims {
  std::string sub, name;
  std::vector<Grant> docs;
  int64_t iat = 0, exp = 0;
  std::optional<int64_t> nbf;
};

// Signs `claims` with HS256 under `secret` (`quire token`, tests).
Result<std::string> MintToken(std::string_view secret, const TokenClaims& claims);

// Reads a secret file: its bytes with trailing whitespace (a newline an
// editor adds) removed. InvalidArgument when shorter than kMinSecretBytes.
Result<std::string> ReadSecretFile(const std::string& path);

enum class TokenProblem : uint8_t {
  kNone,
  kInvalid,  // Malformed, bad signature or algorithm, bad claims, not yet valid: 300.
  kExpired,  // Well signed but past `exp`: 301.
};

struct TokenCheck {
  TokenProblem problem = TokenProblem::kNone;
  std::string reason;  // Why, for logs and error messages; never the token.
  Identity identity;   // Set when problem == kNone.
  bool ok() const { return problem == TokenProblem::kNone; }
};

class TokenVerifier {
 public:
  struct Secrets {
    std::string current;
    std::string previous;            // Empty: none.
    int64_t previous_until_s = 0;    // Unix seconds: `previous` is refused after this.
  };
  // `leeway_s`: clock skew allowed on exp and nbf.
  TokenVerifier(Secrets secrets, int64_t leeway_s);

  // Checks `token` at Unix time `now_s`.
  TokenCheck Verify(std::string_view token, int64_t now_s) const;

 private:
  Secrets secrets_;
  int64_t leeway_s_;
};

// The server's view of authentication: dev mode (no secret: everyone is
// the anonymous user with every right) or a verifier that a reload of the
// secret files (SIGHUP) replaces while sessions keep running.
class Authenticator {
 public:
  // `verifier` null: dev mode, for the server's whole life.
  explicit Authenticator(std::shared_ptr<const TokenVerifier> verifier)
      : dev_mode_(verifier == nullptr), verifier_(std::move(verifier)) {}
  bool dev_mode() const { return dev_mode_; }
  // In dev mode every token (or none) is the anonymous identity.
  TokenCheck Verify(std::string_view token, int64_t now_s) const;
  // REQUIRES: !dev_mode().
  void Replace(std::shared_ptr<const TokenVerifier> verifier);

 private:
  const bool dev_mode_;
  mutable std::mutex mu_;
  std::shared_ptr<const TokenVerifier> verifier_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_AUTH_H_
