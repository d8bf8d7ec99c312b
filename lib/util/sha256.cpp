#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <memory>

namespace mp::util {

namespace {

// OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider tables on every
// call; fetching it once and reusing a context per thread makes a cache key several
// times cheaper.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

} // namespace

Digest sha256(std::string_view data) noexcept {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Digest d{};
  unsigned int len = 0;
  EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  EVP_DigestFinal_ex(ctx.get(), d.data(), &len);
  return d;
}

std::string to_hex(const Digest& d) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (auto b : d) {
    out += k_hex[b >> 4];
    out += k_hex[b & 0xf];
  }
  return out;
}

} // namespace mp::util
