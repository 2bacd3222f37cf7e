#include "server/agents.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "crdt/id.h"

namespace quire::server {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kTicketBytes = 16;

Status IoError(const std::string& what) {
  return Status(StatusCode::kIoError, what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Agents>> Agents::Open(const std::string& dir) {
  const std::string path = dir + "/agent.key";
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() != kKeyBytes) {
      return Corruption(path + " holds " + std::to_string(key.size()) + " bytes, not " +
                        std::to_string(kKeyBytes) + ": delete it to issue new agent tickets");
    }
    return std::make_unique<Agents>(std::move(key));
  }
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeyBytes) != 1) {
    return Status(StatusCode::kInternal, "no random bytes for the agent key");
  }
  // Written to a temporary name and renamed, so a crash never leaves half a key.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return IoError("creating " + tmp);
  const bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) return IoError("writing " + path);
  return std::make_unique<Agents>(std::move(key));
}

uint64_t Agents::NewAgent() const {
  for (;;) {
    uint64_t v = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) continue;
    v &= (uint64_t{1} << 63) - 1;
    if (v != 0 && v != crdt::kRootAgent) return v;
  }
}

std::string Agents::Ticket(uint64_t agent, std::string_view user) const {
  std::string msg(8, '\0');
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<char>(agent >> (56 - 8 * i));
  msg.append(user);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), kTicketBytes);
}

bool Agents::CheckTicket(uint64_t agent, std::string_view user, std::string_view ticket) const {
  if (ticket.size() != kTicketBytes || agent == 0 || agent == crdt::kRootAgent) return false;
  const std::string want = Ticket(agent, user);
  return CRYPTO_memcmp(want.data(), ticket.data(), kTicketBytes) == 0;
}

uint64_t Agents::Claim(uint64_t agent, uint64_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& slot = live_[agent];
  const uint64_t previous = slot;
  slot = owner;
  return previous == owner ? 0 : previous;
}

void Agents::Release(uint64_t agent, uint64_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(agent);
  if (it != live_.end() && it->second == owner) live_.erase(it);
}

uint64_t Agents::ClaimHttpAgent(const std::string& user) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    HttpAgent& a = http_[user];
    if (a.agent == 0) a.agent = NewAgent();
    if (!a.busy) {
      a.busy = true;
      return a.agent;
    }
  }
  return NewAgent();
}

void Agents::ReleaseHttpAgent(const std::string& user, uint64_t agent) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = http_.find(user);
  if (it != http_.end() && it->second.agent == agent) it->second.busy = false;
}

}  // namespace quire::server
