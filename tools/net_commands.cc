// Commands that talk to a running quire-server as a client would:
//   quire cat ws://HOST:PORT/DOC             print the document's text
//   quire type ws://HOST:PORT/DOC --file F   type F's contents in at the end
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <CLI/CLI.hpp>

#include "base/utf8.h"
#include "client/client.h"
#include "tools/command.h"

namespace quire::tools {
namespace {

using namespace std::chrono_literals;

struct Target {
  std::string host;
  uint16_t port = 0;
  std::string doc;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ws://HOST:PORT/DOC; DOC is percent-decoded and may hold '/'. The
// document may also come as the next argument.
std::optional<Target> ParseUrl(const std::string& url, std::string* error) {
  constexpr std::string_view kScheme = "ws://";
  if (url.rfind(kScheme, 0) != 0) {
    *error = "expected ws://HOST:PORT/DOC, got '" + url + "'";
    return std::nullopt;
  }
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *error = "the URL needs HOST:PORT";
    return std::nullopt;
  }
  Target t;
  t.host = authority.substr(0, colon);
  try {
    const unsigned long port = std::stoul(authority.substr(colon + 1));
    if (port == 0 || port > 65535) throw std::out_of_range("port");
    t.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    *error = "bad port in '" + url + "'";
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    const std::string raw = rest.substr(slash + 1);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && HexValue(raw[i + 1]) >= 0 &&
          HexValue(raw[i + 2]) >= 0) {
        t.doc.push_back(static_cast<char>(HexValue(raw[i + 1]) * 16 + HexValue(raw[i + 2])));
        i += 2;
      } else {
        t.doc.push_back(raw[i]);
      }
    }
  }
  return t;
}

// A client on its own io thread, connected and synced to one document.
class Session {
 public:
  Session(const Target& t, const std::string& token, client::Mode mode)
      : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    client::ClientOptions o;
    o.host = t.host;
    o.port = t.port;
    o.name = "quire-cli";
    o.token = token;
    o.backoff_min = 200ms;
    o.backoff_max = 1000ms;
    client_ = std::make_unique<client::Client>(io_, o);
    client_->Start();
    channel_ = client_->Open(t.doc, mode);
  }
  ~Session() {
    client_->Stop();
    client_.reset();
    work_.reset();
    thread_.join();
  }
  // Waits until synced and nothing is unacked; false on timeout or error.
  bool WaitSynced(std::chrono::seconds timeout, std::string* why) {
    const bool ok = client_->WaitFor(
        channel_, [](const client::DocStatus& s) { return s.synced || s.last_error || s.stale; },
        timeout);
    const client::DocStatus s = client_->StatusOf(channel_);
    if (ok && s.synced) return true;
    *why = s.last_error ? s.last_error->message
           : s.stale    ? "the document was created again"
                        : "no answer from the server in time";
    return false;
  }
  client::Client& client() { return *client_; }
  uint16_t channel() const { return channel_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<client::Client> client_;
  uint16_t channel_ = 0;
};

struct NetArgs {
  std::string url, doc, token, file;
  int delay_ms = -1;
};

// URL and [DOC] positionals and --token (or QUIRE_TOKEN) on `cmd`.
std::shared_ptr<NetArgs> Declare(CLI::App& cmd, std::string_view description) {
  auto a = std::make_shared<NetArgs>();
  cmd.description(std::string(description));
  cmd.add_option("URL", a->url, "ws://HOST:PORT/DOC (DOC percent-encoded)")->required();
  cmd.add_option("DOC", a->doc, "the document, when the URL does not name it");
  cmd.add_option("--token", a->token,
                 "an access token (quire token); the QUIRE_TOKEN variable keeps it out of ps")
      ->envname("QUIRE_TOKEN");
  return a;
}

std::optional<Target> TargetOf(const NetArgs& a, std::string* error) {
  std::optional<Target> t = ParseUrl(a.url, error);
  if (t && t->doc.empty()) t->doc = a.doc;
  if (t && t->doc.empty()) {
    *error = "which document? ws://HOST:PORT/DOC";
    return std::nullopt;
  }
  return t;
}

int Cat(const NetArgs& a) {
  std::string error;
  std::optional<Target> t = TargetOf(a, &error);
  if (!t) return UsageError(error);
  Session s(*t, a.token, client::Mode::kOt);
  if (!s.WaitSynced(std::chrono::seconds(10), &error)) {
    std::cerr << "quire: " << error << "\n";
    return kExitFailed;
  }
  std::cout << s.client().Text(s.channel());
  return kExitOk;
}

int Type(const NetArgs& a) {
  std::string error;
  std::optional<Target> t = TargetOf(a, &error);
  if (!t) return UsageError(error);
  const std::string& file = a.file;
  const int delay_ms = a.delay_ms;
  std::ifstream in(file, std::ios::binary);
  if (!in) return UsageError("cannot read " + file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!utf8::Validate(text).ok()) return UsageError(file + " is not valid UTF-8");

  Session s(*t, a.token, client::Mode::kCrdt);
  if (!s.WaitSynced(std::chrono::seconds(10), &error)) {
    std::cerr << "quire: " << error << "\n";
    return kExitFailed;
  }
  size_t offset = 0;
  while (offset < text.size()) {
    // A line, or one character when typing slowly.
    size_t end = offset;
    if (delay_ms >= 0) {
      utf8::Next(text, &end);
    } else {
      end = text.find('\n', offset);
      end = end == std::string::npos ? text.size() : end + 1;
    }
    const std::string piece = text.substr(offset, end - offset);
    const size_t at = utf8::CountCodePoints(s.client().Text(s.channel()));
    if (Status st = s.client().Insert(s.channel(), at, piece); !st.ok()) {
      std::cerr << "quire: " << st.ToString() << "\n";
      return kExitFailed;
    }
    offset = end;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
  if (!s.WaitSynced(std::chrono::seconds(30), &error)) {
    std::cerr << "quire: " << error << "\n";
    return kExitFailed;
  }
  std::cerr << "quire: typed " << utf8::CountCodePoints(text) << " characters into '" << t->doc
            << "'\n";
  return kExitOk;
}

}  // namespace

Runner AddCat(CLI::App& cmd) {
  auto a = Declare(cmd, "Prints the document's current text.\n");
  return [a] { return Cat(*a); };
}

Runner AddType(CLI::App& cmd) {
  auto a = Declare(cmd,
                   "Types FILE's contents in at the end of the document, a line at a time\n"
                   "(or a character at a time every N ms), and waits until the server has\n"
                   "acknowledged all of it.\n");
  cmd.add_option("--file", a->file, "the UTF-8 text to type")->required();
  cmd.add_option("--delay-ms", a->delay_ms, "type a character at a time, pausing this long")
      ->check(CLI::Range(0, 60000));
  return [a] { return Type(*a); };
}

}  // namespace quire::tools
