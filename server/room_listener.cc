#include "server/room_listener.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/room.h"

namespace quire::server {
namespace asio = boost::asio;

RoomListener::RoomListener(asio::any_io_executor strand, size_t max_queued_bytes,
                           std::function<void()> on_overflow)
    : strand_(strand),
      wake_(strand),
      max_queued_bytes_(max_queued_bytes),
      on_overflow_(std::move(on_overflow)) {}

void RoomListener::Push(ServerMessage message, size_t bytes) {
  bool wake = false, overflow = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (overflowed_ || failed_) return;
    if (!synced_) {
      synced_ = std::holds_alternative<SyncedMsg>(message);
      catch_up_bytes_ += bytes;
    }
    if (synced_ && queued_bytes_ - catch_up_bytes_ + bytes > max_queued_bytes_) {
      overflowed_ = overflow = true;
      queue_.clear();
      queued_bytes_ = 0;
    } else {
      queued_bytes_ += bytes;
      queue_.emplace_back(std::move(message), bytes);
    }
    wake = waiting_ || overflow;
    waiting_ = false;
  }
  if (!wake) return;
  asio::post(strand_, [self = shared_from_this(), overflow] {
    self->wake_.cancel();
    if (overflow && self->on_overflow_) self->on_overflow_();
  });
}

void RoomListener::Send(Frame frame) {
  const std::string bytes = frame.Bytes();
  Result<std::vector<ServerMessage>> messages = DecodeServerFrame(bytes);
  if (!messages.ok()) return;  // The server's own encoding: cannot happen.
  for (ServerMessage& m : *messages) Push(std::move(m), bytes.size());
}

void RoomListener::SendError(const ProtocolError& error, std::optional<uint64_t> epoch) {
  ErrorMsg e{error.code, error.message, error.channel, error.ref, epoch};
  Push(std::move(e), error.message.size() + 16);
}

void RoomListener::Fail() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
  }
  asio::post(strand_, [self = shared_from_this()] { self->wake_.cancel(); });
}

void RoomListener::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  wake_.cancel();
}

bool RoomListener::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool RoomListener::overflowed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflowed_;
}

bool RoomListener::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

asio::awaitable<std::optional<ServerMessage>> RoomListener::Next(
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (overflowed_ || failed_ || stopped_) co_return std::nullopt;
      if (!queue_.empty()) {
        auto [message, bytes] = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= bytes;
        catch_up_bytes_ -= std::min(catch_up_bytes_, bytes);
        co_return std::move(message);
      }
      if (std::chrono::steady_clock::now() >= deadline) co_return std::nullopt;
      // Push() posts a wake-up; it runs on this strand after the wait below
      // has started, so none is lost.
      waiting_ = true;
    }
    wake_.expires_at(deadline);
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard<std::mutex> lock(mu_);
    waiting_ = false;
  }
}

RoomMembership::RoomMembership(ServerContext& ctx, const std::string& doc)
    : ctx_(ctx), room_(ctx.rooms->Acquire(doc)) {}

RoomMembership::~RoomMembership() {
  if (listener_) room_->Leave(listener_);
  ctx_.rooms->Release(room_);
}

void RoomMembership::Open(std::shared_ptr<RoomListener> listener, uint64_t seq, uint64_t agent,
                          const std::string& user) {
  listener_ = listener;
  OpenMsg open;
  open.channel = 0;
  open.doc = room_->name();
  open.mode = Mode::kOt;
  open.seq = seq;
  MemberInfo member;
  member.peer = std::move(listener);
  member.channel = 0;
  member.mode = Mode::kOt;
  member.agent = crdt::AgentId{agent};
  member.user = user;
  member.session = ctx_.next_session_id.fetch_add(1);
  member.observer = true;
  room_->Open(std::move(member), std::move(open));
}

}  // namespace quire::server
