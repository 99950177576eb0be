#include "reprise/http/endpoint.h"

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "reprise/base/did_you_mean.h"

namespace reprise::http {
namespace {

using Json = nlohmann::json;

// Request headers that describe the connection, not the message, and the
// ones cpp-httplib adds itself: not recorded.
bool ConnectionHeader(const std::string& name) {
  static const char* const kSkipped[] = {
      "connection", "content-length", "content-type", "keep-alive", "transfer-encoding",
      "expect",     "te",             "upgrade",      "remote_addr", "remote_port",
      "local_addr", "local_port"};
  for (const char* s : kSkipped) {
    if (name == s) return true;
  }
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A key from a JSON field: strings as they are, numbers as JSON writes them.
StatusOr<std::string> KeyAt(const Json& body, const std::string& path) {
  const Json* at = &body;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    const std::string field = path.substr(start, dot - start);
    if (!at->is_object() || !at->contains(field)) {
      return InvalidArgument("the body has no field \"" + path + "\" for the message key");
    }
    at = &(*at)[field];
    start = dot + 1;
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_number() || at->is_boolean()) return at->dump();
  return InvalidArgument("the body's field \"" + path +
                         "\" is not a string or a number; it cannot be the message key");
}

StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("listen \"" + listen + "\" is not host:port (for example 127.0.0.1:8080)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = listen.substr(colon + 1);
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    port = std::stoi(port_text);
  }
  if (port < 0 || port > 65535) {
    return InvalidArgument("listen \"" + listen + "\": the port must be 0..65535 (0 picks a free one)");
  }
  return std::make_pair(host, port);
}

class EndpointImpl final : public Endpoint {
 public:
  EndpointImpl(Agent& agent, EndpointOptions options)
      : agent_(agent), options_(std::move(options)) {}

  ~EndpointImpl() override {
    // cpp-httplib's stop() does nothing until the listener runs: repeat it.
    while (thread_.joinable() && !listen_returned_.load()) {
      server_.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (thread_.joinable()) thread_.join();
  }

  Status Start() {
    if (options_.threads == 0) return InvalidArgument("threads must be at least 1");
    for (HttpChannel& c : options_.channels) {
      if (c.name.empty()) return InvalidArgument("a channel needs a name");
      if (c.key_header.empty() == c.key_path.empty()) {
        return InvalidArgument("channel \"" + c.name +
                               "\": set exactly one of key_header (the key from a request header) "
                               "and key_path (from a field of the JSON body)");
      }
      if (!c.key_path.empty()) c.json = true;
      if (!channels_.emplace(c.name, c).second) {
        return InvalidArgument("channel \"" + c.name + "\" is listed twice");
      }
    }
    REPRISE_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(options_.listen));
    const size_t threads = options_.threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // cpp-httplib sets SO_REUSEPORT, which lets a second server share a
    // port that is in use: only SO_REUSEADDR, so that a taken port is an error.
    server_.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // cpp-httplib writes an answer's headers and body apart: without
    // TCP_NODELAY each answer may wait out the client's delayed ACK.
    server_.set_tcp_nodelay(true);
    server_.set_payload_max_length(options_.max_body_bytes);
    server_.set_read_timeout(options_.read_timeout);
    // Keep-alive clients (the usual webhook caller) keep their connection.
    server_.set_keep_alive_max_count(1000);
    server_.Post(R"(/channels/([^/]+))",
                 [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
    // What cpp-httplib answers by itself (no route, body too large) gets a
    // body that says what to do.
    server_.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;  // Serve's own answer
      if (res.status == 413) {
        Answer(res, 413, "the body is larger than this endpoint's max_body_bytes (" +
                             std::to_string(options_.max_body_bytes) + " bytes)");
      } else if (res.status == 404) {
        Answer(res, 404, "no such resource: send POST /channels/NAME (channels: " + ChannelList() + ")");
      } else {
        Answer(res, res.status, "refused by the HTTP server");
      }
    });
    // Called once for every answer, whoever made it, before it is written
    // (so that the counters include an answer its client has seen).
    server_.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { Count(req, res); });
    server_.set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                         std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      Answer(res, 500, "internal error: " + what);
    });
    int port = host_port.second;
    if (port == 0) {
      port = server_.bind_to_any_port(host_port.first);
      if (port < 0) return Unavailable("cannot listen on " + options_.listen);
    } else if (!server_.bind_to_port(host_port.first, port)) {
      return Unavailable("cannot listen on " + options_.listen + ": in use, or not an address of this host");
    }
    address_ = host_port.first + ":" + std::to_string(port);
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      listen_returned_ = true;
    });
    return Status::Ok();
  }

  std::string listen_address() const override { return address_; }

  EndpointStats Stats() const override {
    EndpointStats s;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.answered_2xx = answered_[0].load(std::memory_order_relaxed);
    s.answered_4xx = answered_[1].load(std::memory_order_relaxed);
    s.answered_5xx = answered_[2].load(std::memory_order_relaxed);
    s.commit_timeouts = commit_timeouts_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(error_mu_);
    s.last_error = last_error_;
    s.last_error_at = last_error_at_;
    return s;
  }

 private:
  static void Answer(httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text + "\n", "text/plain; charset=utf-8");
  }

  std::string ChannelList() const {
    std::string out;
    for (const auto& [name, c] : channels_) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "none" : out;
  }

  void Count(const httplib::Request& req, const httplib::Response& res) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    const int cls = res.status / 100;
    if (cls >= 2 && cls <= 5 && cls != 3) {
      answered_[cls == 2 ? 0 : cls == 4 ? 1 : 2].fetch_add(1, std::memory_order_relaxed);
    }
    if (res.status >= 400) {
      std::string body = res.body;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = std::to_string(res.status) + " " + req.method + " " + req.path + ": " + body;
      last_error_at_ = std::chrono::system_clock::now();
    }
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    auto it = channels_.find(name);
    if (it == channels_.end()) {
      std::vector<std::string> names;
      for (const auto& [n, c] : channels_) names.push_back(n);
      Answer(res, 404, "no channel \"" + name + "\" at this endpoint" + DidYouMean(name, names) +
                           " (channels: " + ChannelList() + ")");
      return;
    }
    const HttpChannel& channel = it->second;

    std::string key;
    if (channel.json) {
      Json body;
      try {
        body = Json::parse(req.body);
      } catch (const Json::parse_error& e) {
        Answer(res, 400, "channel \"" + name + "\" takes JSON and the body is not: " + e.what());
        return;
      }
      if (!channel.key_path.empty()) {
        StatusOr<std::string> k = KeyAt(body, channel.key_path);
        if (!k.ok()) {
          Answer(res, 400, k.status().message());
          return;
        }
        key = std::move(*k);
      }
    }
    if (!channel.key_header.empty()) {
      if (!req.has_header(channel.key_header.c_str())) {
        Answer(res, 400, "channel \"" + name + "\" takes the message key from the " +
                             channel.key_header + " header, which the request lacks");
        return;
      }
      key = req.get_header_value(channel.key_header.c_str());
    }

    DeliverOptions deliver;
    deliver.content_type = req.get_header_value("Content-Type");
    for (const auto& [header, value] : req.headers) {
      std::string lower = Lower(header);
      if (ConnectionHeader(lower)) continue;
      auto [at, inserted] = deliver.headers.emplace(std::move(lower), value);
      if (!inserted) at->second += ", " + value;
    }

    DeliverResult r = agent_.Deliver(name, key, req.body, std::move(deliver));
    if (!r.id.empty()) res.set_header(kRecordIdHeader, r.id);
    if (!r.handled) {
      if (r.id.empty() && r.status.code() == StatusCode::kResourceExhausted) {
        Answer(res, 413, r.status.message());
      } else {
        Answer(res, 503, "not handled, retry later: " + r.status.message());
      }
      return;
    }
    // The answer promises the record is in the journal: wait for the commit
    // of everything recorded so far (in process and power durability it
    // already happened).
    if (!agent_.WaitCommitted(agent_.RecordedMark(), options_.commit_timeout)) {
      commit_timeouts_.fetch_add(1, std::memory_order_relaxed);
      std::string why = agent_.Stats().recording.last_error;
      Answer(res, 503, "handled (" + std::string(r.status.ok() ? "ok" : "failed") +
                           ") but not committed to the journal within " +
                           std::to_string(options_.commit_timeout.count()) + " ms" +
                           (why.empty() ? "" : " (the journal is failing: " + why + ")") +
                           "; record " + r.id + " is written when the journal recovers");
      return;
    }
    if (!r.status.ok()) {
      Answer(res, 500, "the handler failed: " + r.status.message() + "; record " + r.id +
                           " keeps it for reflow");
      return;
    }
    res.status = 200;
    res.set_content("{\"record_id\":\"" + r.id + "\"}\n", "application/json");
  }

  Agent& agent_;
  EndpointOptions options_;
  std::map<std::string, HttpChannel, std::less<>> channels_;  // fixed once started
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  std::string address_;

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> answered_[3] = {};  // 2xx, 4xx, 5xx
  std::atomic<uint64_t> commit_timeouts_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
  std::chrono::system_clock::time_point last_error_at_{};  // guarded by error_mu_
};

}  // namespace

StatusOr<std::unique_ptr<Endpoint>> Endpoint::Start(Agent& agent, EndpointOptions options) {
  auto endpoint = std::make_unique<EndpointImpl>(agent, std::move(options));
  REPRISE_RETURN_IF_ERROR(endpoint->Start());
  return std::unique_ptr<Endpoint>(std::move(endpoint));
}

}  // namespace reprise::http
