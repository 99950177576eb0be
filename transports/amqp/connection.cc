#include "connection.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <vector>

namespace reprise::amqp {
namespace {

timeval ToTimeval(std::chrono::microseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(d.count() % 1000000);
  return tv;
}

struct ParsedUrl {
  amqp_connection_info info{};
  std::vector<char> text;  // info's strings point into it
};

StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl p;
  p.text.assign(url.begin(), url.end());
  p.text.push_back('\0');
  amqp_default_connection_info(&p.info);
  if (int rc = amqp_parse_url(p.text.data(), &p.info); rc != AMQP_STATUS_OK) {
    return InvalidArgument("AMQP URL \"" + RedactedUrl(url) + "\": " + amqp_error_string2(rc) +
                           "; expected amqp://USER:PASSWORD@HOST:PORT/VHOST or amqps://...");
  }
  return p;
}

}  // namespace

std::string RedactedUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "****" + url.substr(at);
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectionOptions& o) {
  REPRISE_ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(o.url));
  const std::string where = RedactedUrl(o.url);
  if (url.info.ssl && o.tls_ca_cert.empty() && o.tls_verify) {
    return InvalidArgument("AMQP URL " + where +
                           " is amqps:// but no tls_ca_cert is given to check the broker's certificate "
                           "against; set tls_ca_cert (or tls_verify = false to skip the check)");
  }
  amqp_connection_state_t state = amqp_new_connection();
  if (state == nullptr) return ResourceExhausted("cannot allocate an AMQP connection");
  std::unique_ptr<Connection> c(new Connection(state));
  amqp_socket_t* socket = url.info.ssl ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state);
  if (socket == nullptr) return Internal("cannot create a socket for " + where);
  if (url.info.ssl) {
    if (!o.tls_ca_cert.empty()) {
      if (int rc = amqp_ssl_socket_set_cacert(socket, o.tls_ca_cert.c_str()); rc != AMQP_STATUS_OK) {
        return InvalidArgument("tls_ca_cert " + o.tls_ca_cert + ": " + amqp_error_string2(rc));
      }
    }
    amqp_ssl_socket_set_verify_peer(socket, o.tls_verify ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, o.tls_verify ? 1 : 0);
    if (!o.tls_cert.empty()) {
      if (int rc = amqp_ssl_socket_set_key(socket, o.tls_cert.c_str(), o.tls_key.c_str()); rc != AMQP_STATUS_OK) {
        return InvalidArgument("tls_cert/tls_key " + o.tls_cert + ": " + amqp_error_string2(rc));
      }
    }
  }
  timeval tv = ToTimeval(o.connect_timeout);
  if (int rc = amqp_socket_open_noblock(socket, url.info.host, url.info.port, &tv); rc != AMQP_STATUS_OK) {
    c->set_broken();
    return Unavailable("cannot connect to " + where + ": " + amqp_error_string2(rc));
  }
  amqp_set_handshake_timeout(state, &tv);
  amqp_set_rpc_timeout(state, &tv);
  // Brokers send connection.blocked only to clients that say they read it.
  amqp_table_entry_t capability;
  capability.key = amqp_cstring_bytes("connection.blocked");
  capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capability.value.value.boolean = 1;
  amqp_table_entry_t property;
  property.key = amqp_cstring_bytes("capabilities");
  property.value.kind = AMQP_FIELD_KIND_TABLE;
  property.value.value.table = {1, &capability};
  amqp_table_t properties{1, &property};
  // "amqp://host:5672/" names no vhost: RabbitMQ has no vhost "", so it
  // means the default one, as in other clients.
  const char* vhost = url.info.vhost != nullptr && *url.info.vhost != '\0' ? url.info.vhost : "/";
  REPRISE_RETURN_IF_ERROR(c->Check(
      amqp_login_with_properties(state, vhost, 0, AMQP_DEFAULT_FRAME_SIZE,
                                 static_cast<int>(o.heartbeat.count()), &properties, AMQP_SASL_METHOD_PLAIN,
                                 url.info.user, url.info.password),
      "logging in to " + where));
  amqp_channel_open(state, kChannel);
  REPRISE_RETURN_IF_ERROR(c->Check(amqp_get_rpc_reply(state), "opening a channel on " + where));
  return c;
}

Connection::~Connection() {
  if (!broken_) {
    (void)amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    (void)amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
}

Status Connection::CheckCode(int code, const std::string& what) {
  if (code == AMQP_STATUS_OK) return Status::Ok();
  broken_ = true;
  return Unavailable(what + ": " + amqp_error_string2(code));
}

Status Connection::Check(amqp_rpc_reply_t reply, const std::string& what) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return Status::Ok();
    case AMQP_RESPONSE_NONE:
      broken_ = true;
      return Internal(what + ": no reply from the AMQP library");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      broken_ = true;
      return Unavailable(what + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION: break;
  }
  broken_ = true;
  if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
    amqp_connection_close_ok_t ok{};
    (void)amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    return Unavailable(what + ": the broker closed the connection: " + std::to_string(m->reply_code) + " " +
                       String(m->reply_text));
  }
  if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
    amqp_channel_close_ok_t ok{};
    (void)amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    return FailedPrecondition(what + ": the broker closed the channel: " + std::to_string(m->reply_code) + " " +
                              String(m->reply_text));
  }
  return Unavailable(what + ": unexpected reply " + amqp_method_name(reply.reply.id));
}

Status Connection::NextFrame(amqp_frame_t* frame, std::chrono::microseconds timeout) {
  timeval tv = ToTimeval(timeout);
  const int rc = amqp_simple_wait_frame_noblock(state_, frame, &tv);
  if (rc == AMQP_STATUS_OK) return Status::Ok();
  if (rc == AMQP_STATUS_TIMEOUT) return DeadlineExceeded("no frame");
  broken_ = true;
  return Unavailable(std::string("connection lost: ") + amqp_error_string2(rc));
}

}  // namespace reprise::amqp
