// The client's state file (docs/client.md has the format): the agent with
// its ticket and every open document with what is not yet acked, written
// atomically so a crash leaves the old file or the new one, never a mix.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "base/coding.h"
#include "base/wire.h"
#include "client/client_impl.h"
#include "ot/codec.h"

namespace quire::client {
namespace {

constexpr std::string_view kMagic = "quire-client-state";
constexpr uint64_t kFormat = 1;
// A state file larger than this is refused rather than read.
constexpr size_t kMaxStateBytes = size_t{1} << 30;

Status Errno(const std::string& what) {
  return IoError(what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing " + path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Writes `bytes` to `path` so that a crash leaves either the old file or
// the new one: a temporary file, fsynced, renamed over, directory fsynced.
Status AtomicWrite(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating " + tmp);
  Status s = WriteAll(fd, bytes, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync " + tmp);
  ::close(fd);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("renaming " + tmp);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("opening " + dir);
  const int r = ::fsync(dfd);
  ::close(dfd);
  return r == 0 ? Status::Ok() : Errno("fsync " + dir);
}

void PackOptionalOp(wire::Packer& pk, const std::optional<ot::TextOp>& op) {
  if (op) {
    ot::EncodeOp(*op, pk);
  } else {
    pk.pack_nil();
  }
}

Status Bad(std::string what) { return Corruption("client state: " + std::move(what)); }

bool ReadOptionalOp(wire::Reader& r, std::optional<ot::TextOp>* out) {
  if (r.Peek() == wire::Type::kNil) return r.Nil();
  Result<ot::TextOp> op = ot::ReadOp(r);
  if (!op.ok()) return false;
  *out = std::move(*op);
  return true;
}

}  // namespace

Status Client::Impl::SaveLocked() {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_array(5);
  wire::PackStr(pk, kMagic);
  pk.pack_uint64(kFormat);
  pk.pack_uint64(agent);
  wire::PackBin(pk, ticket);
  pk.pack_array(static_cast<uint32_t>(docs.size()));
  for (const auto& [channel, d] : docs) {
    pk.pack_array(5);
    wire::PackStr(pk, d.name);
    pk.pack_uint8(static_cast<uint8_t>(d.mode));
    pk.pack_uint64(d.epoch);
    pk.pack_uint64(d.seq);
    if (d.mode == Mode::kCrdt) {
      pk.pack_array(2);
      pk.pack_uint64(d.acked);
      wire::PackBin(pk, d.crdt ? d.crdt->Encode() : std::string());
    } else {
      pk.pack_array(6);
      wire::PackStr(pk, d.text);
      pk.pack_uint64(d.agent_next);
      PackOptionalOp(pk, d.inflight);
      if (d.inflight_agent_seq) {
        pk.pack_uint64(*d.inflight_agent_seq);
      } else {
        pk.pack_nil();
      }
      PackOptionalOp(pk, d.buffer);
      pk.pack_uint64(d.inflight_ref);
    }
  }
  std::string bytes = buf.Take();
  const uint32_t crc = Crc32(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(crc >> (8 * i)));
  return AtomicWrite(options.state_file, bytes);
}

Status Client::Impl::LoadLocked() {
  if (options.state_file.empty()) return Status::Ok();
  std::ifstream in(options.state_file, std::ios::binary);
  if (!in) return Status::Ok();  // Nothing saved yet.
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 4 || bytes.size() > kMaxStateBytes) return Bad("bad size");
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) {
    crc |= uint32_t{static_cast<uint8_t>(bytes[bytes.size() - 4 + i])} << (8 * i);
  }
  const std::string_view body(bytes.data(), bytes.size() - 4);
  if (Crc32(body) != crc) return Bad("checksum mismatch");

  wire::Reader r(body);
  uint32_t n, ndocs;
  std::string_view magic, ticket_bytes;
  uint64_t format, saved_agent;
  if (!r.ArrayHeader(&n) || n != 5 || !r.Str(&magic) || magic != kMagic || !r.Uint(&format) ||
      format != kFormat || !r.Uint(&saved_agent) || !r.Bin(&ticket_bytes) ||
      !r.ArrayHeader(&ndocs)) {
    return Bad("not a version 1 state file");
  }
  std::map<uint16_t, Doc> loaded;
  uint16_t channel = 0;
  for (uint32_t i = 0; i < ndocs; ++i, ++channel) {
    Doc d;
    uint32_t fields, parts;
    uint64_t mode;
    std::string_view name;
    if (!r.ArrayHeader(&fields) || fields != 5 || !r.Str(&name) || !r.Uint(&mode) || mode > 1 ||
        !r.Uint(&d.epoch) || !r.Uint(&d.seq) || !r.ArrayHeader(&parts)) {
      return Bad("document " + std::to_string(i) + " is malformed");
    }
    d.name.assign(name);
    d.channel = channel;
    d.mode = static_cast<Mode>(mode);
    if (d.mode == Mode::kCrdt) {
      std::string_view encoded;
      if (parts != 2 || !r.Uint(&d.acked) || !r.Bin(&encoded)) return Bad("CRDT document " + d.name);
      if (!encoded.empty()) {
        Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(encoded, crdt::AgentId{saved_agent});
        if (!doc.ok()) return Bad(d.name + ": " + doc.status().message());
        d.crdt = std::move(*doc);
      }
      d.sent = d.acked;
    } else {
      std::string_view text;
      if (parts != 6 || !r.Str(&text) || !r.Uint(&d.agent_next) || !ReadOptionalOp(r, &d.inflight)) {
        return Bad("OT document " + d.name);
      }
      d.text.assign(text);
      if (r.Peek() == wire::Type::kNil) {
        r.Nil();
      } else {
        uint64_t v;
        if (!r.Uint(&v)) return Bad("OT document " + d.name);
        d.inflight_agent_seq = v;
      }
      if (!ReadOptionalOp(r, &d.buffer) || !r.Uint(&d.inflight_ref)) {
        return Bad("OT document " + d.name);
      }
    }
    loaded.emplace(d.channel, std::move(d));
  }
  if (!r.done()) return Bad("bytes after the state");
  agent = saved_agent;
  ticket.assign(ticket_bytes);
  docs = std::move(loaded);
  next_channel = channel;
  for (const auto& [c, d] : docs) next_ref = std::max(next_ref, d.inflight_ref + 1);
  return Status::Ok();
}

}  // namespace quire::client
