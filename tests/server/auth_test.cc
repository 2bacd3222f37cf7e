// server/auth.h without a server: what a token must be to be accepted, and
// how patterns give rights. Every refusal names why; none of them leaks
// into an accepted identity.
#include "server/auth.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gtest/gtest.h>

#include "tests/server/tokens.h"

namespace quire::server {
namespace {

using test::kOtherSecret;
using test::kSecret;

constexpr int64_t kNow = 1'700'000'000;

std::string Base64Url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string Mint(const std::string& secret = kSecret, int64_t exp = kNow + 3600,
                 std::optional<int64_t> nbf = std::nullopt) {
  TokenClaims c;
  c.sub = "alice";
  c.name = "Alice";
  c.docs = ParseGrants("notes/*:rw,public/*:r").value();
  c.iat = kNow;
  c.exp = exp;
  c.nbf = nbf;
  return MintToken(secret, c).value();
}

TokenVerifier Verifier() { return TokenVerifier({kSecret, "", 0}, /*leeway_s=*/0); }

// A token with this header and payload, "signed" with `signature`.
std::string Forge(std::string_view header, std::string_view payload, std::string_view signature) {
  return Base64Url(header) + "." + Base64Url(payload) + "." + std::string(signature);
}

// A real RS256 token, signed with a fresh RSA key.
std::string Rs256Token() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* pem = nullptr;
  const long len = BIO_get_mem_data(bio, &pem);
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, "{\"sub\":\"mallory\",\"exp\":1800000000,\"docs\":{\"*\":\"rw\"}}");
  jwt_set_alg(jwt, JWT_ALG_RS256, reinterpret_cast<const unsigned char*>(pem),
              static_cast<int>(len));
  char* token = jwt_encode_str(jwt);
  std::string out = token != nullptr ? token : "";
  free(token);
  jwt_free(jwt);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return out;
}

TEST(TokenTest, AWellSignedTokenGivesItsClaims) {
  const TokenCheck c = Verifier().Verify(Mint(), kNow);
  ASSERT_TRUE(c.ok()) << c.reason;
  EXPECT_EQ(c.identity.sub, "alice");
  EXPECT_EQ(c.identity.name, "Alice");
  EXPECT_EQ(c.identity.exp, kNow + 3600);
  EXPECT_TRUE(c.identity.CanWrite("notes/today"));
  EXPECT_TRUE(c.identity.CanRead("public/readme"));
  EXPECT_FALSE(c.identity.CanWrite("public/readme"));
  EXPECT_FALSE(c.identity.CanRead("private/x"));
}

TEST(TokenTest, EveryBadTokenIsRefusedAsInvalid) {
  const std::string good = Mint();
  const size_t dot = good.rfind('.');
  std::string flipped = good;
  flipped[dot + 3] = flipped[dot + 3] == 'A' ? 'B' : 'A';
  const std::string payload = R"({"sub":"alice","exp":1700003600,"docs":{"*":"rw"}})";
  const struct {
    const char* name;
    std::string token;
  } cases[] = {
      {"forged signature", flipped},
      {"signed with another secret", Mint(kOtherSecret)},
      {"alg none, unsigned", Forge(R"({"alg":"none","typ":"JWT"})", payload, "")},
      {"alg none with a signature", Forge(R"({"alg":"none"})", payload, "c2lnbmF0dXJl")},
      {"RS256 with a real RSA signature", Rs256Token()},
      {"HS512", Forge(R"({"alg":"HS512"})", payload, "c2ln")},
      {"no alg", Forge(R"({"typ":"JWT"})", payload, "c2ln")},
      {"crit header", Forge(R"({"alg":"HS256","crit":["b64"]})", payload, "c2ln")},
      {"two parts", good.substr(0, dot)},
      {"four parts", good + ".x"},
      {"not base64url", good + "!"},
      {"empty", ""},
      {"huge", std::string(kMaxTokenBytes + 1, 'a')},
      {"header not JSON", Forge("{{{", payload, "c2ln")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const TokenCheck check = Verifier().Verify(c.token, kNow);
    EXPECT_EQ(check.problem, TokenProblem::kInvalid);
    EXPECT_FALSE(check.reason.empty());
    EXPECT_TRUE(check.identity.sub.empty());
  }
}

TEST(TokenTest, ClaimsMustBeThereAndTyped) {
  auto signed_with = [](const std::string& claims) {
    jwt_t* jwt = nullptr;
    jwt_new(&jwt);
    jwt_add_grants_json(jwt, claims.c_str());
    jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(kSecret),
                static_cast<int>(sizeof(kSecret) - 1));
    char* t = jwt_encode_str(jwt);
    std::string out = t;
    free(t);
    jwt_free(jwt);
    return out;
  };
  const struct {
    const char* name;
    std::string claims;
  } cases[] = {
      {"missing exp", R"({"sub":"a","docs":{"*":"rw"}})"},
      {"exp as a string", R"({"sub":"a","exp":"1800000000","docs":{"*":"rw"}})"},
      {"exp as a float", R"({"sub":"a","exp":1800000000.5,"docs":{"*":"rw"}})"},
      {"missing sub", R"({"exp":1800000000,"docs":{"*":"rw"}})"},
      {"empty sub", R"({"sub":"","exp":1800000000,"docs":{"*":"rw"}})"},
      {"sub with a newline", R"({"sub":"a\nlevel=error","exp":1800000000,"docs":{"*":"rw"}})"},
      {"missing docs", R"({"sub":"a","exp":1800000000})"},
      {"docs as an array", R"({"sub":"a","exp":1800000000,"docs":["*:rw"]})"},
      {"a right that is not r or rw", R"({"sub":"a","exp":1800000000,"docs":{"*":"admin"}})"},
      {"nbf as a string", R"({"sub":"a","exp":1800000000,"nbf":"0","docs":{"*":"r"}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Verifier().Verify(signed_with(c.claims), kNow).problem, TokenProblem::kInvalid);
  }
}

TEST(TokenTest, TimeWindow) {
  EXPECT_EQ(Verifier().Verify(Mint(kSecret, kNow - 1), kNow).problem, TokenProblem::kExpired);
  EXPECT_EQ(Verifier().Verify(Mint(kSecret, kNow), kNow).problem, TokenProblem::kExpired);
  EXPECT_TRUE(Verifier().Verify(Mint(kSecret, kNow + 1), kNow).ok());
  EXPECT_EQ(Verifier().Verify(Mint(kSecret, kNow + 60, kNow + 10), kNow).problem,
            TokenProblem::kInvalid);
  EXPECT_TRUE(Verifier().Verify(Mint(kSecret, kNow + 60, kNow), kNow).ok());
  // Leeway forgives skew on both ends.
  const TokenVerifier lenient({kSecret, "", 0}, /*leeway_s=*/30);
  EXPECT_TRUE(lenient.Verify(Mint(kSecret, kNow - 10), kNow).ok());
  EXPECT_TRUE(lenient.Verify(Mint(kSecret, kNow + 60, kNow + 10), kNow).ok());
  // An expired token with a bad signature is invalid, not "expired": only
  // a real token may learn that it expired.
  EXPECT_EQ(Verifier().Verify(Mint(kOtherSecret, kNow - 1), kNow).problem, TokenProblem::kInvalid);
}

TEST(TokenTest, ThePreviousSecretIsAcceptedUntilItsDeadline) {
  const TokenVerifier rotated({kOtherSecret, kSecret, kNow + 100}, 0);
  EXPECT_TRUE(rotated.Verify(Mint(kSecret), kNow).ok());
  EXPECT_TRUE(rotated.Verify(Mint(kOtherSecret), kNow).ok());
  EXPECT_EQ(rotated.Verify(Mint(kSecret), kNow + 100).problem, TokenProblem::kInvalid);
  EXPECT_TRUE(rotated.Verify(Mint(kOtherSecret, kNow + 3600), kNow + 100).ok());
}

TEST(TokenTest, ShortSecretsAreRefused) {
  TokenClaims c;
  c.sub = "a";
  c.exp = kNow;
  EXPECT_FALSE(MintToken("short", c).ok());
}

TEST(GrantTest, PatternsAndRights) {
  EXPECT_TRUE(GlobMatch("notes/*", "notes/a"));
  EXPECT_TRUE(GlobMatch("notes/*", "notes/a/b"));
  EXPECT_TRUE(GlobMatch("notes/*", "notes/"));
  EXPECT_FALSE(GlobMatch("notes/*", "notes"));
  EXPECT_FALSE(GlobMatch("notes/*", "private/notes/a"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-b-c"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a-b-b-"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
  // Many stars over a long name stay fast (no exponential backtracking).
  EXPECT_FALSE(GlobMatch(std::string(100, '*') + "x", std::string(10000, 'a')));

  Identity id;
  id.sub = "bob";
  id.docs = ParseGrants("*:r,team/*:rw,team/secret:r").value();
  EXPECT_EQ(id.RightFor("anything"), Right::kRead);
  EXPECT_EQ(id.RightFor("team/x"), Right::kWrite);
  EXPECT_EQ(id.RightFor("team/secret"), Right::kWrite);  // The strongest right wins.
  EXPECT_EQ(AnonymousIdentity().RightFor("x"), Right::kWrite);

  EXPECT_EQ(ParseGrants("a:b:rw").value()[0].pattern, "a:b");
  EXPECT_FALSE(ParseGrants("notes/*").ok());
  EXPECT_FALSE(ParseGrants("notes/*:w").ok());
  EXPECT_FALSE(ParseGrants(":rw").ok());
  EXPECT_TRUE(ParseGrants("").value().empty());
}

}  // namespace
}  // namespace quire::server
