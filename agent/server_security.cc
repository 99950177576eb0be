#include "server_security.h"

#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace reprise {
namespace {

StatusOr<std::string> ReadPem(const std::string& path, const char* option) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    return FailedPrecondition(std::string("cannot read ") + option + " " + path +
                              "; check the path and its permissions");
  }
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return InvalidArgument(std::string(option) + " " + path + " is not a PEM file");
  }
  return text.str();
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The certificate parses, the key parses, and they belong together.
Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem,
                    const AgentOptions& o) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  if (cert == nullptr) {
    return InvalidArgument("tls_cert " + o.tls_cert + " holds no certificate: " + OpenSslError());
  }
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  Status st;
  if (key == nullptr) {
    st = InvalidArgument("tls_key " + o.tls_key +
                         " holds no private key (or an encrypted one): " + OpenSslError());
  } else if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    st = InvalidArgument("tls_key " + o.tls_key + " is not the key of the certificate " +
                         o.tls_cert);
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  return st;
}

}  // namespace

bool IsLoopback(std::string_view listen) {
  if (listen.substr(0, 5) == "unix:") return true;
  std::string_view host = listen.substr(0, listen.rfind(':'));
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 written as an address, not a name that merely starts with "127."
  return host.substr(0, 4) == "127." &&
         host.find_first_not_of("0123456789.") == std::string_view::npos;
}

Status CheckListenSecurity(const AgentOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return InvalidArgument("TLS needs both a certificate and its key (tls_cert and tls_key, "
                           "--tls-cert and --tls-key)");
  }
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
    return InvalidArgument("tls_client_ca (mutual TLS) needs TLS: set tls_cert and tls_key too");
  }
  if (o.listen.empty() || IsLoopback(o.listen) || o.insecure) return Status::Ok();
  if (o.tls_cert.empty() || o.token_file.empty()) {
    std::string missing = o.tls_cert.empty() && o.token_file.empty() ? "TLS and tokens"
                          : o.tls_cert.empty()                         ? "TLS"
                                                                       : "tokens";
    return FailedPrecondition("refusing to listen on " + o.listen + " without " + missing +
                              ": set --tls-cert/--tls-key and --token-file (docs/security.md), "
                              "listen on 127.0.0.1, or pass --insecure on a trusted network");
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(const AgentOptions& o) {
  REPRISE_RETURN_IF_ERROR(CheckListenSecurity(o));
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  REPRISE_ASSIGN_OR_RETURN(auto cert, ReadPem(o.tls_cert, "tls_cert"));
  REPRISE_ASSIGN_OR_RETURN(auto key, ReadPem(o.tls_key, "tls_key"));
  REPRISE_RETURN_IF_ERROR(CheckKeyPair(cert, key, o));
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!o.tls_client_ca.empty()) {
    REPRISE_ASSIGN_OR_RETURN(auto ca, ReadPem(o.tls_client_ca, "tls_client_ca"));
    ssl.pem_root_certs = ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace reprise
