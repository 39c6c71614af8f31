// tpdp-bench-crypto: how fast the hot-path primitives run on this machine.
//
// Each figure is measured for about --seconds (default 0.5 s) after a short
// warm-up, on 64 KiB buffers for the stream ciphers and 16 KiB payloads for
// the frame AEADs (the largest frame payload). Every loop is bounded both in
// time and in iterations. Prints an aligned table; --json FILE writes the
// same figures as JSON. See bench/README.md.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/frame.hpp"
#include "protocol/identity.hpp"
#include "protocol/layer_cipher.hpp"
#include "protocol/ntor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kStreamBuffer = 64 * 1024;
constexpr std::size_t kFramePayload = tpdp::kMaxFramePayload;  // 16384
constexpr std::uint64_t kMaxIterations = 50'000'000;           // bound besides time
constexpr int kWarmupIterations = 8;

// Results are folded into this so the compiler cannot drop the work.
volatile std::uint8_t g_sink = 0;

struct Row {
  std::string name;
  std::optional<double> value;  // nullopt: not measured (unavailable)
  std::string unit;
  std::string note;
};

// Runs op() for about `seconds` (at most kMaxIterations times) after a short
// warm-up and returns calls per second. Every op here takes microseconds, so
// reading the clock after each call costs well under 1%.
template <class Op>
double calls_per_second(Op&& op, double seconds) {
  for (int i = 0; i < kWarmupIterations; ++i) op();
  const auto start = Clock::now();
  const auto budget =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::uint64_t n = 0;
  auto now = start;
  do {
    op();
    ++n;
    now = Clock::now();
  } while (now - start < budget && n < kMaxIterations);
  return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
}

double mib_per_second(double calls, std::size_t bytes_per_call) {
  return calls * static_cast<double>(bytes_per_call) / (1024.0 * 1024.0);
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  randombytes_buf(v.data(), v.size());
  return v;
}

template <class Secret>
Secret random_secret() {
  Secret s;
  randombytes_buf(s.data(), s.size());
  return s;
}

// ---- the measurements ----

Row bench_aes_ctr(double seconds) {
  auto key = random_secret<tpdp::LayerKey>();
  auto iv = random_secret<tpdp::LayerIv>();
  tpdp::LayerCipher cipher(key, iv);
  auto buf = random_bytes(kStreamBuffer);
  double r = calls_per_second(
      [&] {
        cipher.apply(buf.data(), buf.size());
        g_sink = g_sink ^ buf[0];
      },
      seconds);
  return {"AES-256-CTR (LayerCipher, OpenSSL EVP), 64 KiB", mib_per_second(r, buf.size()), "MiB/s",
          "onion layer"};
}

Row bench_chacha20_ietf(double seconds) {
  auto key = random_bytes(crypto_stream_chacha20_ietf_KEYBYTES);
  auto nonce = random_bytes(crypto_stream_chacha20_ietf_NONCEBYTES);
  auto buf = random_bytes(kStreamBuffer);
  std::uint32_t ic = 0;  // 64-byte block counter, kept far from its 2^32 limit
  double r = calls_per_second(
      [&] {
        crypto_stream_chacha20_ietf_xor_ic(buf.data(), buf.data(), buf.size(), nonce.data(), ic,
                                           key.data());
        ic = (ic + static_cast<std::uint32_t>(buf.size() / 64)) % (1u << 30);
        g_sink = g_sink ^ buf[0];
      },
      seconds);
  return {"ChaCha20 (IETF, libsodium xor_ic), 64 KiB", mib_per_second(r, buf.size()), "MiB/s",
          "layer alternative"};
}

Row bench_xchacha20(double seconds) {
  auto key = random_bytes(crypto_stream_xchacha20_KEYBYTES);
  auto nonce = random_bytes(crypto_stream_xchacha20_NONCEBYTES);
  auto buf = random_bytes(kStreamBuffer);
  std::uint64_t ic = 0;
  double r = calls_per_second(
      [&] {
        crypto_stream_xchacha20_xor_ic(buf.data(), buf.data(), buf.size(), nonce.data(), ic,
                                       key.data());
        ic += buf.size() / 64;
        g_sink = g_sink ^ buf[0];
      },
      seconds);
  return {"XChaCha20 (libsodium xor_ic), 64 KiB", mib_per_second(r, buf.size()), "MiB/s",
          "layer alternative"};
}

Row bench_frame_seal(double seconds) {
  tpdp::FrameSealer sealer(random_secret<tpdp::AeadKey>());
  // Sealed in place, as the circuit does: payload at frame + header.
  auto frame = random_bytes(tpdp::kMaxFrameSize);
  tpdp::ByteView payload(frame.data() + tpdp::kFrameHeaderSize, kFramePayload);
  double r = calls_per_second(
      [&] {
        sealer.seal(tpdp::FrameType::data, payload, frame.data());
        g_sink = g_sink ^ frame[tpdp::kMaxFrameSize - 1];
      },
      seconds);
  return {"ChaCha20-Poly1305 frame seal (FrameSealer), 16 KiB", mib_per_second(r, kFramePayload),
          "MiB/s", "stream frames"};
}

Row bench_frame_open(double seconds) {
  tpdp::AeadKey key = random_secret<tpdp::AeadKey>();
  tpdp::FrameSealer sealer(key.clone());
  // A batch of sealed frames, opened in turn (each open consumes one counter).
  constexpr std::size_t batch = 64;
  std::vector<std::vector<std::uint8_t>> sealed(batch, random_bytes(tpdp::kMaxFrameSize));
  for (auto& f : sealed) {
    sealer.seal(tpdp::FrameType::data, {f.data() + tpdp::kFrameHeaderSize, kFramePayload},
                f.data());
  }
  std::vector<std::uint8_t> work(tpdp::kMaxFrameSize);
  std::optional<tpdp::FrameOpener> opener;
  std::size_t next = batch;
  bool ok = true;
  double r = calls_per_second(
      [&] {
        if (next == batch) {  // a fresh opener at counter 0 for the next pass
          opener.emplace(key.clone());
          next = 0;
        }
        std::memcpy(work.data(), sealed[next++].data(), work.size());
        auto d = opener->open({work.data(), work.size()});
        ok = ok && tpdp::is_value(d);
        g_sink = g_sink ^ work[5];
      },
      seconds);
  if (!ok) throw std::runtime_error("frame open failed");
  return {"ChaCha20-Poly1305 frame open (FrameOpener), 16 KiB, +copy",
          mib_per_second(r, kFramePayload), "MiB/s", "client side of stream frames"};
}

// The same AEAD (RFC 8439, byte for byte: checked below) from OpenSSL,
// which has AVX-512 code for it. Not used by tpdp (libsodium does frames;
// OpenSSL is for AES-CTR only): shown as the bound the frames could reach.
Row bench_openssl_chacha20_poly1305(double seconds) {
  auto key = random_bytes(32);
  auto nonce = random_bytes(12);
  auto in = random_bytes(kFramePayload);
  std::vector<std::uint8_t> out(kFramePayload), reference(kFramePayload);
  std::uint8_t ad[tpdp::kFrameHeaderSize] = {6, 0x40, 0x00};
  std::uint8_t tag[16], reference_tag[16];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx || EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key.data(), nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw std::runtime_error("OpenSSL ChaCha20-Poly1305 unavailable");
  }
  bool ok = true;
  auto seal = [&] {
    int len = 0, tail = 0;
    ok = ok && EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
         EVP_EncryptUpdate(ctx, nullptr, &len, ad, sizeof ad) == 1 &&
         EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) == 1 &&
         EVP_EncryptFinal_ex(ctx, out.data() + len, &tail) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag) == 1;
  };
  seal();
  unsigned long long mac_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(reference.data(), reference_tag, &mac_len,
                                                     in.data(), in.size(), ad, sizeof ad, nullptr,
                                                     nonce.data(), key.data());
  ok = ok && out == reference && std::memcmp(tag, reference_tag, sizeof tag) == 0;
  double r = 0;
  if (ok) {
    r = calls_per_second(
        [&] {
          seal();
          sodium_increment(nonce.data(), nonce.size());
          g_sink = g_sink ^ tag[0];
        },
        seconds);
  }
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL ChaCha20-Poly1305 differs from libsodium's");
  return {"ChaCha20-Poly1305 (OpenSSL EVP, same bytes), 16 KiB", mib_per_second(r, kFramePayload),
          "MiB/s", "not used: the frames' bound"};
}

Row bench_aes_gcm(double seconds, bool sodium_initialised) {
  const std::string name = "AES-256-GCM (libsodium AEAD), 16 KiB";
  if (!crypto_aead_aes256gcm_is_available()) {
    // CPU features are only detected by sodium_init().
    return {name, std::nullopt, "MiB/s",
            sodium_initialised ? "not available on this CPU (needs AES-NI and PCLMUL)"
                               : "not detected: sodium_init() was not called"};
  }
  auto key = random_bytes(crypto_aead_aes256gcm_KEYBYTES);
  auto nonce = random_bytes(crypto_aead_aes256gcm_NPUBBYTES);
  auto in = random_bytes(kFramePayload);
  std::vector<std::uint8_t> out(kFramePayload);
  std::uint8_t ad[tpdp::kFrameHeaderSize] = {6, 0x40, 0x00};
  std::uint8_t mac[crypto_aead_aes256gcm_ABYTES];
  double r = calls_per_second(
      [&] {
        unsigned long long mac_len = 0;
        crypto_aead_aes256gcm_encrypt_detached(out.data(), mac, &mac_len, in.data(), in.size(), ad,
                                               sizeof ad, nullptr, nonce.data(), key.data());
        sodium_increment(nonce.data(), nonce.size());
        g_sink = g_sink ^ mac[0];
      },
      seconds);
  return {name, mib_per_second(r, kFramePayload), "MiB/s", "frame alternative"};
}

Row bench_x25519(double seconds) {
  auto scalar = random_bytes(crypto_scalarmult_SCALARBYTES);
  std::vector<std::uint8_t> point(crypto_scalarmult_BYTES);
  crypto_scalarmult_base(point.data(), scalar.data());
  std::vector<std::uint8_t> out(crypto_scalarmult_BYTES);
  double r = calls_per_second(
      [&] {
        if (crypto_scalarmult(out.data(), scalar.data(), point.data()) == 0) point.swap(out);
        g_sink = g_sink ^ point[0];
      },
      seconds);
  return {"X25519 scalar multiplication (crypto_scalarmult)", r, "ops/s", ""};
}

Row bench_ntor_server(double seconds) {
  auto node_id = tpdp::IdentityKeypair::generate().public_key;
  auto onion = tpdp::OnionKeypair::generate();
  auto client = tpdp::OnionKeypair::generate();
  bool ok = true;
  double r = calls_per_second(
      [&] {
        // The full server side of one CREATE: a fresh ephemeral, two DH,
        // AUTH and the key schedule.
        auto reply = tpdp::ntor_server_respond(node_id, onion, client.public_key);
        ok = ok && reply.has_value();
        if (reply) g_sink = g_sink ^ reply->auth.bytes[0];
      },
      seconds);
  if (!ok) throw std::runtime_error("ntor_server_respond failed");
  return {"ntor server handshake (ntor_server_respond)", r, "ops/s", "per hop built"};
}

Row bench_ed25519_sign(double seconds, const tpdp::IdentityKeypair& keys,
                       const std::vector<std::uint8_t>& message) {
  double r = calls_per_second(
      [&] {
        auto sig = tpdp::sign_detached(keys.secret_key, message);
        g_sink = g_sink ^ sig.bytes[0];
      },
      seconds);
  return {"Ed25519 sign, 256-byte message", r, "ops/s", "heartbeats, node lists"};
}

Row bench_ed25519_verify(double seconds, const tpdp::IdentityKeypair& keys,
                         const std::vector<std::uint8_t>& message) {
  auto sig = tpdp::sign_detached(keys.secret_key, message);
  bool ok = true;
  double r = calls_per_second(
      [&] { ok = ok && tpdp::verify_detached(keys.public_key, message, sig); }, seconds);
  if (!ok) throw std::runtime_error("Ed25519 verification failed");
  return {"Ed25519 verify, 256-byte message", r, "ops/s", "heartbeats, node lists"};
}

// ---- output ----

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "unknown";
}

std::string format_figure(double v) {
  char text[64];
  std::snprintf(text, sizeof text, v >= 100 ? "%.0f" : "%.1f", v);
  return text;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void print_table(const std::vector<Row>& rows) {
  std::size_t name_w = 0, value_w = 0, unit_w = 0;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r.name.size());
    value_w = std::max(value_w, r.value ? format_figure(*r.value).size() : 1);
    unit_w = std::max(unit_w, r.unit.size());
  }
  for (const auto& r : rows) {
    std::string value = r.value ? format_figure(*r.value) : "-";
    std::printf("%-*s  %*s  %-*s", static_cast<int>(name_w), r.name.c_str(),
                static_cast<int>(value_w), value.c_str(), static_cast<int>(unit_w), r.unit.c_str());
    if (!r.note.empty()) std::printf("  %s", r.note.c_str());
    std::printf("\n");
  }
}

void write_json(const std::string& path, const std::vector<Row>& rows, double seconds,
                bool sodium_initialised) {
  std::ostringstream out;
  out << "{\n"
      << "  \"benchmark\": \"tpdp-bench-crypto\",\n"
      << "  \"cpu\": " << json_string(cpu_model()) << ",\n"
      << "  \"threads\": 1,\n"
      << "  \"hardware_threads\": " << std::thread::hardware_concurrency() << ",\n"
      << "  \"libsodium\": " << json_string(sodium_version_string()) << ",\n"
      << "  \"sodium_init_called\": " << (sodium_initialised ? "true" : "false") << ",\n"
      << "  \"openssl\": " << json_string(OpenSSL_version(OPENSSL_VERSION)) << ",\n"
      << "  \"seconds_per_figure\": " << seconds << ",\n"
      << "  \"stream_buffer_bytes\": " << kStreamBuffer << ",\n"
      << "  \"frame_payload_bytes\": " << kFramePayload << ",\n"
      << "  \"results\": [\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out << "    {\"name\": " << json_string(r.name) << ", \"value\": ";
    if (r.value) {
      char v[64];
      std::snprintf(v, sizeof v, "%.1f", *r.value);
      out << v;
    } else {
      out << "null";
    }
    out << ", \"unit\": " << json_string(r.unit) << ", \"note\": " << json_string(r.note) << "}"
        << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  std::ofstream file(path, std::ios::trunc);
  file << out.str();
  if (!file.flush()) throw std::runtime_error("cannot write " + path);
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: tpdp-bench-crypto [--seconds S] [--json FILE] [--skip-sodium-init]\n"
               "  Measures the hot-path crypto primitives, one thread, about S seconds each\n"
               "  (default 0.5, at most 60).\n"
               "  --json FILE         also write the figures as JSON\n"
               "  --skip-sodium-init  do not call sodium_init(): shows what a process that\n"
               "                      never calls it gets (libsodium's portable fallbacks)\n");
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  std::string json_path;
  bool init_sodium = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--json" || arg == "--seconds") && i + 1 >= argc) {
      std::fprintf(stderr, "tpdp-bench-crypto: %s needs a value\n", arg.c_str());
      return 2;
    }
    if (arg == "--json") {
      json_path = argv[++i];
    } else if (arg == "--seconds") {
      char* end = nullptr;
      seconds = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(seconds > 0) || seconds > 60) {
        std::fprintf(stderr, "tpdp-bench-crypto: --seconds must be in (0, 60]\n");
        return 2;
      }
    } else if (arg == "--skip-sodium-init") {
      init_sodium = false;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  // sodium_init() picks the fastest implementations for this CPU (SIMD
  // ChaCha20, X25519...) and enables AES-GCM detection.
  if (init_sodium && sodium_init() < 0) {
    std::fprintf(stderr, "tpdp-bench-crypto: sodium_init failed\n");
    return 1;
  }

  try {
    std::printf("tpdp-bench-crypto: %s; libsodium %s%s; %s; one thread, %.2g s per figure\n\n",
                cpu_model().c_str(), sodium_version_string(),
                init_sodium ? "" : " (sodium_init NOT called)", OpenSSL_version(OPENSSL_VERSION),
                seconds);
    std::fflush(stdout);
    auto identity = tpdp::IdentityKeypair::generate();
    auto message = random_bytes(256);
    std::vector<Row> rows;
    auto run = [&](Row row) {
      rows.push_back(std::move(row));
      std::fprintf(stderr, ".");  // progress while the figures are measured
    };
    run(bench_aes_ctr(seconds));
    run(bench_chacha20_ietf(seconds));
    run(bench_xchacha20(seconds));
    run(bench_frame_seal(seconds));
    run(bench_frame_open(seconds));
    run(bench_openssl_chacha20_poly1305(seconds));
    run(bench_aes_gcm(seconds, init_sodium));
    run(bench_x25519(seconds));
    run(bench_ntor_server(seconds));
    run(bench_ed25519_sign(seconds, identity, message));
    run(bench_ed25519_verify(seconds, identity, message));
    std::fprintf(stderr, "\n");
    print_table(rows);
    if (!json_path.empty()) write_json(json_path, rows, seconds, init_sodium);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpdp-bench-crypto: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
