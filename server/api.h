// The HTTP API for scripts and webhooks (docs/protocol.md, "HTTP"):
//   GET  /api/docs/{id}      {"doc", "text", "seq", "epoch"}       right r
//   POST /api/docs/{id}/ops  {"base_seq": N, "op": [...]} -> {"seq"}  right rw
// Both go through the document's room as an OT channel does (room_listener.h):
// the text is what is durable at `seq`; an op is rebased from `base_seq`,
// validated, rate-limited with its user's budget and answered once durable.
//
// Thread safety: coroutines on the HTTP connection's strand.
#ifndef QUIRE_SERVER_API_H_
#define QUIRE_SERVER_API_H_

#include <string>

#include <boost/asio/awaitable.hpp>

#include "base/result.h"
#include "ot/text_op.h"
#include "server/http_util.h"

namespace quire::server {

boost::asio::awaitable<HttpResponse> GetDocument(ServerContext& ctx, const HttpRequest& req,
                                                 const Target& target, const std::string& doc);
boost::asio::awaitable<HttpResponse> PostOps(ServerContext& ctx, const HttpRequest& req,
                                             const Target& target, const std::string& doc,
                                             const std::string& address);

// An op in ot-text-unicode's JSON form: [3, "ab", {"d": 2}] (a delete may
// also name its text: {"d": "xy"}). InvalidArgument for anything else.
Result<ot::TextOp> OpFromJson(std::string_view json);

// Whether `doc` exists, read on the loader pool: its head seq, NotFound,
// or the store's error.
boost::asio::awaitable<Result<uint64_t>> StoredHead(ServerContext& ctx, const std::string& doc);

}  // namespace quire::server

#endif  // QUIRE_SERVER_API_H_
