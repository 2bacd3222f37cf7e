// `quire token --secret-file F --sub alice --name Alice --docs 'notes/*:rw,public/*:r'
// --ttl 1h`: mints an HS256 access token for quire-server (server/auth.h has
// the claims; docs/operations.md, "Tokens"). The token goes to stdout.
#include <chrono>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "server/auth.h"
#include "tools/command.h"

namespace quire::tools {
namespace {

struct Args {
  std::string secret_file, sub, name, docs, ttl = "1h", not_before;
};

// "90", "90s", "15m", "1h", "7d" -> seconds; nullopt for anything else.
std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (s.back()) {
    case 's': unit = 1; s.remove_suffix(1); break;
    case 'm': unit = 60; s.remove_suffix(1); break;
    case 'h': unit = 3600; s.remove_suffix(1); break;
    case 'd': unit = 86400; s.remove_suffix(1); break;
    default: break;
  }
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n * unit;
}

int Mint(const Args& a) {
  const std::optional<int64_t> ttl = ParseDuration(a.ttl);
  if (!ttl || *ttl <= 0) return UsageError("--ttl wants a duration such as 90s, 15m, 1h or 7d");
  std::optional<int64_t> delay;
  if (!a.not_before.empty()) {
    delay = ParseDuration(a.not_before);
    if (!delay) return UsageError("--not-before wants a duration such as 10m");
  }
  Result<std::vector<server::Grant>> grants = server::ParseGrants(a.docs);
  if (!grants.ok()) return UsageError("--docs: " + grants.status().message());
  Result<std::string> secret = server::ReadSecretFile(a.secret_file);
  if (!secret.ok()) return UsageError(secret.status().message());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  server::TokenClaims claims;
  claims.sub = a.sub;
  claims.name = a.name;
  claims.docs = std::move(*grants);
  claims.iat = now;
  claims.exp = now + *ttl;
  if (delay) claims.nbf = now + *delay;
  Result<std::string> token = server::MintToken(*secret, claims);
  if (!token.ok()) return UsageError(token.status().message());
  std::cout << *token << "\n";
  return kExitOk;
}

}  // namespace

Runner AddToken(CLI::App& cmd) {
  auto a = std::make_shared<Args>();
  cmd.description(
      "Mints an HS256 JSON Web Token that quire-server --jwt-secret-file F accepts:\n"
      "user SUB (the author of its edits), display NAME, rights on documents\n"
      "(patterns where * matches anything, '/' included; r reads, rw writes),\n"
      "expiring after TTL. Prints the token.\n");
  cmd.add_option("--secret-file", a->secret_file, "the server's secret (at least 32 bytes)")
      ->required();
  cmd.add_option("--sub", a->sub, "the user id")->required();
  cmd.add_option("--name", a->name, "the display name");
  cmd.add_option("--docs", a->docs, "rights: PATTERN:r or PATTERN:rw, comma-separated")
      ->required();
  cmd.add_option("--ttl", a->ttl, "lifetime: 90s, 15m, 1h, 7d")->capture_default_str();
  cmd.add_option("--not-before", a->not_before, "valid only after this delay (nbf)");
  return [a] { return Mint(*a); };
}

}  // namespace quire::tools
