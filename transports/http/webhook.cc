#include "reprise/http/webhook.h"

#include <httplib.h>

#include <strings.h>

#include <memory>
#include <mutex>
#include <vector>

namespace reprise::http {
namespace {

// Headers a message may carry that would garble the request if forwarded.
bool Forwardable(const std::string& name) {
  for (const char* s : {"content-length", "content-type", "host", "connection", "transfer-encoding"}) {
    if (strcasecmp(name.c_str(), s) == 0) return false;
  }
  return true;
}

// What went wrong, in words (cpp-httplib's names are one word each).
std::string Describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "could not connect (refused, or no route to the host)";
    case httplib::Error::ConnectionTimeout: return "no connection within connect_timeout";
    case httplib::Error::Read: return "no answer within the timeout, or the connection was closed";
    case httplib::Error::Write: return "could not send the request (timeout, or the connection was closed)";
    case httplib::Error::SSLConnection: return "the TLS handshake failed";
    case httplib::Error::SSLLoadingCerts: return "cannot load the CA certificates (ca_file)";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate did not verify against the trusted CAs (ca_file)";
    default: return "request failed (" + httplib::to_string(e) + ")";
  }
}

// One webhook: its URL and a pool of keep-alive connections to it.
// Thread-safe: each call borrows a client of its own.
class Webhook {
 public:
  Webhook(WebhookOptions options, std::string origin, std::string path)
      : options_(std::move(options)), origin_(std::move(origin)), path_(std::move(path)) {}

  Status Send(const Message& out) {
    httplib::Headers headers;
    for (const auto& [name, value] : options_.headers) headers.emplace(name, value);
    for (const auto& [name, value] : out.headers) {
      if (Forwardable(name)) headers.emplace(name, value);
    }
    headers.emplace(kRecordIdHeader, out.id);
    if (!out.origin_id.empty()) {
      headers.emplace(kOriginHeader, out.origin_id);
      headers.emplace(kJobHeader, out.job_id);
    }
    std::unique_ptr<httplib::Client> client = Borrow();
    httplib::Result res = client->Post(path_, headers, out.payload,
                                       out.content_type.empty() ? "application/octet-stream"
                                                                : out.content_type);
    if (!res) {
      return Unavailable("webhook " + options_.url + ": " + Describe(res.error()));
    }
    const int status = res->status;
    if (status >= 200 && status < 300) {
      Return(std::move(client));
      return Status::Ok();
    }
    std::string excerpt = res->body.substr(0, options_.max_error_body);
    if (res->body.size() > excerpt.size()) excerpt += "...";
    while (!excerpt.empty() && (excerpt.back() == '\n' || excerpt.back() == '\r')) excerpt.pop_back();
    std::string error = "webhook " + options_.url + ": HTTP " + std::to_string(status) + " " +
                        res->reason + (excerpt.empty() ? "" : ": " + excerpt);
    Return(std::move(client));
    return status >= 500 ? Unavailable(std::move(error)) : FailedPrecondition(std::move(error));
  }

 private:
  std::unique_ptr<httplib::Client> Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        auto client = std::move(idle_.back());
        idle_.pop_back();
        return client;
      }
    }
    auto client = std::make_unique<httplib::Client>(origin_);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // headers and body are written apart
    client->set_connection_timeout(options_.connect_timeout);
    client->set_read_timeout(options_.timeout);
    client->set_write_timeout(options_.timeout);
    client->enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file);
    return client;
  }

  void Return(std::unique_ptr<httplib::Client> client) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(client));
  }

  const WebhookOptions options_;
  const std::string origin_;  // scheme://host[:port]
  const std::string path_;    // /path?query
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // guarded by mu_
};

}  // namespace

StatusOr<Sender> WebhookSender(WebhookOptions options) {
  const std::string& url = options.url;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("webhook URL \"" + url +
                           "\" must start with http:// or https:// (for example "
                           "http://127.0.0.1:9000/notify)");
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  const std::string origin = url.substr(0, path_start);
  if (origin.size() == scheme_end + 3) {
    return InvalidArgument("webhook URL \"" + url + "\" names no host");
  }
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (options.timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    return InvalidArgument("webhook " + url + ": timeouts must be positive");
  }
  if (!options.ca_file.empty() && scheme != "https") {
    return InvalidArgument("webhook " + url + ": ca_file is for https:// URLs");
  }
  if (!httplib::Client(origin).is_valid()) {
    return InvalidArgument("webhook URL \"" + url + "\": cannot use \"" + origin + "\"");
  }
  auto hook = std::make_shared<Webhook>(std::move(options), origin, std::move(path));
  return Sender([hook](const Message& out) { return hook->Send(out); });
}

}  // namespace reprise::http
