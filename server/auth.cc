#include "server/auth.h"

#include <jwt.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include <nlohmann/json.hpp>

namespace quire::server {
namespace {

using nlohmann::json;

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
struct CFree {
  void operator()(char* p) const { std::free(p); }
};
using CString = std::unique_ptr<char, CFree>;

bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '-' ? 62 : 63;
}

// Unpadded base64url (RFC 7515, 2). REQUIRES: every character IsBase64Url.
std::optional<std::string> DecodeBase64Url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 6) | static_cast<uint32_t>(Base64UrlValue(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// No control characters: these strings reach logs and the audit trail.
bool PrintableUtf8(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

TokenCheck Invalid(std::string reason) {
  TokenCheck c;
  c.problem = TokenProblem::kInvalid;
  c.reason = std::move(reason);
  return c;
}

// The header, read before any key touches the token: only HS256 goes on
// to signature checking, so an RS256 or "none" token never reaches a
// verifier that could be talked into treating our secret as something else.
std::optional<std::string> CheckHeader(std::string_view encoded) {
  std::optional<std::string> bytes = DecodeBase64Url(encoded);
  if (!bytes) return "the header is not base64url";
  json header = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return "the header is not a JSON object";
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return "the header names no algorithm";
  if (*alg != "HS256") return "algorithm " + alg->dump() + " is not accepted (HS256 only)";
  auto typ = header.find("typ");
  if (typ != header.end() && (!typ->is_string() || *typ != "JWT")) return "typ is not JWT";
  if (header.contains("crit")) return "critical header extensions are not supported";
  return std::nullopt;
}

std::optional<int64_t> IntClaim(const json& claims, const char* key, std::string* error) {
  auto it = claims.find(key);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number_integer()) {
    *error = std::string(key) + " is not an integer";
    return std::nullopt;
  }
  return it->get<int64_t>();
}

std::optional<std::string> StringClaim(const json& claims, const char* key, size_t max_bytes,
                                       std::string* error) {
  auto it = claims.find(key);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_string()) {
    *error = std::string(key) + " is not a string";
    return std::nullopt;
  }
  std::string s = it->get<std::string>();
  if (s.size() > max_bytes || !PrintableUtf8(s)) {
    *error = std::string(key) + " is too long or holds control characters";
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<Grant>> DocsClaim(const json& claims, std::string* error) {
  auto it = claims.find("docs");
  if (it == claims.end() || !it->is_object()) {
    *error = "docs is missing or not an object";
    return std::nullopt;
  }
  if (it->size() > kMaxGrants) {
    *error = "docs has more than " + std::to_string(kMaxGrants) + " patterns";
    return std::nullopt;
  }
  std::vector<Grant> grants;
  for (const auto& [pattern, right] : it->items()) {
    if (pattern.empty() || pattern.size() > 256 || !right.is_string() ||
        (right != "r" && right != "rw")) {
      *error = "docs entries must be a pattern of 1 to 256 bytes with \"r\" or \"rw\"";
      return std::nullopt;
    }
    grants.push_back(Grant{pattern, right == "rw" ? Right::kWrite : Right::kRead});
  }
  return grants;
}

// The claims of a token whose signature checked out.
TokenCheck ReadClaims(const json& claims, int64_t now_s, int64_t leeway_s) {
  if (!claims.is_object()) return Invalid("the claims are not a JSON object");
  std::string error;
  TokenCheck out;
  Identity& id = out.identity;
  std::optional<std::string> sub = StringClaim(claims, "sub", kMaxSubBytes, &error);
  if (!error.empty()) return Invalid(error);
  if (!sub || sub->empty()) return Invalid("sub is missing or empty");
  id.sub = std::move(*sub);
  if (std::optional<std::string> name = StringClaim(claims, "name", kMaxNameBytes, &error)) {
    id.name = std::move(*name);
  }
  const std::optional<int64_t> exp = IntClaim(claims, "exp", &error);
  const std::optional<int64_t> nbf = IntClaim(claims, "nbf", &error);
  IntClaim(claims, "iat", &error);
  if (!error.empty()) return Invalid(error);
  if (!exp) return Invalid("exp is missing: tokens must expire");
  std::optional<std::vector<Grant>> docs = DocsClaim(claims, &error);
  if (!docs) return Invalid(error);
  id.docs = std::move(*docs);
  id.exp = *exp;
  if (nbf && now_s + leeway_s < *nbf) return Invalid("the token is not valid yet (nbf)");
  if (now_s >= *exp + leeway_s) {
    out.problem = TokenProblem::kExpired;
    out.reason = "the token expired";
    return out;
  }
  return out;
}

JwtPtr DecodeWith(const std::string& token, const std::string& secret) {
  jwt_t* raw = nullptr;
  if (secret.empty()) return nullptr;
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 0) {
    if (raw != nullptr) jwt_free(raw);
    return nullptr;
  }
  return JwtPtr(raw);
}

}  // namespace

Right Identity::RightFor(std::string_view doc) const {
  if (anonymous) return Right::kWrite;
  Right best = Right::kNone;
  for (const Grant& g : docs) {
    if (g.right > best && GlobMatch(g.pattern, doc)) best = g.right;
  }
  return best;
}

Identity AnonymousIdentity() {
  Identity id;
  id.sub = "anonymous";
  id.anonymous = true;
  return id;
}

bool GlobMatch(std::string_view pattern, std::string_view name) {
  // Greedy matching with one backtrack point (the last '*'): the classic
  // iterative wildcard match, O(|pattern| * |name|) worst case.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<std::vector<Grant>> ParseGrants(std::string_view spec) {
  std::vector<Grant> grants;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgument("'" + std::string(item) + "' is not PATTERN:r or PATTERN:rw");
    }
    const std::string_view right = item.substr(colon + 1);
    if (right != "r" && right != "rw") {
      return InvalidArgument("right '" + std::string(right) + "' is neither r nor rw");
    }
    grants.push_back(
        Grant{std::string(item.substr(0, colon)), right == "rw" ? Right::kWrite : Right::kRead});
    if (grants.size() > kMaxGrants) return InvalidArgument("too many patterns");
  }
  return grants;
}

Result<std::string> MintToken(std::string_view secret, const TokenClaims& claims) {
  if (secret.size() < kMinSecretBytes) {
    return InvalidArgument("the secret must be at least " + std::to_string(kMinSecretBytes) +
                           " bytes");
  }
  if (claims.sub.empty()) return InvalidArgument("sub is empty");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal("jwt_new failed");
  JwtPtr jwt(raw);
  json extra = json::object();
  extra["docs"] = json::object();
  for (const Grant& g : claims.docs) {
    extra["docs"][g.pattern] = g.right == Right::kWrite ? "rw" : "r";
  }
  extra["sub"] = claims.sub;
  if (!claims.name.empty()) extra["name"] = claims.name;
  const std::string extra_json = extra.dump();
  bool ok = jwt_add_grants_json(jwt.get(), extra_json.c_str()) == 0 &&
            jwt_add_grant_int(jwt.get(), "exp", claims.exp) == 0 &&
            jwt_add_grant_int(jwt.get(), "iat", claims.iat) == 0;
  if (ok && claims.nbf) ok = jwt_add_grant_int(jwt.get(), "nbf", *claims.nbf) == 0;
  ok = ok && jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                         reinterpret_cast<const unsigned char*>(secret.data()),
                         static_cast<int>(secret.size())) == 0;
  if (!ok) return InvalidArgument("the claims could not be encoded");
  CString token(jwt_encode_str(jwt.get()));
  if (!token) return Internal("jwt_encode_str failed");
  return std::string(token.get());
}

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read the secret file " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes) {
    return InvalidArgument("the secret in " + path + " has " + std::to_string(secret.size()) +
                           " bytes; HS256 wants at least " + std::to_string(kMinSecretBytes) +
                           " (e.g. head -c 48 /dev/urandom | base64 > " + path + ")");
  }
  return secret;
}

TokenVerifier::TokenVerifier(Secrets secrets, int64_t leeway_s)
    : secrets_(std::move(secrets)), leeway_s_(leeway_s) {}

TokenCheck TokenVerifier::Verify(std::string_view token, int64_t now_s) const {
  if (token.empty()) return Invalid("no token");
  if (token.size() > kMaxTokenBytes) return Invalid("the token is too long");
  size_t dots[2], n = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') {
      if (n == 2) return Invalid("a JWT has three parts");
      dots[n++] = i;
    } else if (!IsBase64Url(token[i])) {
      return Invalid("the token holds a character outside base64url");
    }
  }
  if (n != 2) return Invalid("a JWT has three parts");
  if (dots[1] + 1 == token.size()) return Invalid("the token is unsigned");
  if (std::optional<std::string> bad = CheckHeader(token.substr(0, dots[0]))) return Invalid(*bad);

  const std::string text(token);
  JwtPtr jwt = DecodeWith(text, secrets_.current);
  if (!jwt && !secrets_.previous.empty() && now_s < secrets_.previous_until_s) {
    jwt = DecodeWith(text, secrets_.previous);
  }
  if (!jwt) return Invalid("the signature does not match");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return Invalid("algorithm is not HS256");
  CString claims_json(jwt_get_grants_json(jwt.get(), nullptr));
  if (!claims_json) return Invalid("the token has no claims");
  const json claims = json::parse(claims_json.get(), nullptr, /*allow_exceptions=*/false);
  return ReadClaims(claims, now_s, leeway_s_);
}

TokenCheck Authenticator::Verify(std::string_view token, int64_t now_s) const {
  if (dev_mode_) {
    TokenCheck c;
    c.identity = AnonymousIdentity();
    return c;
  }
  std::shared_ptr<const TokenVerifier> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = verifier_;
  }
  return v->Verify(token, now_s);
}

void Authenticator::Replace(std::shared_ptr<const TokenVerifier> verifier) {
  std::lock_guard<std::mutex> lock(mu_);
  verifier_ = std::move(verifier);
}

}  // namespace quire::server
