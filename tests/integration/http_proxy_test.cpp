// tpdp-http-proxy with real processes: a lab network of pool and nodes, the
// proxy, and curl as the client. Plain requests, bodies, keep-alive, CONNECT
// to a TLS server, every error status, a 100 MiB download and 50 clients at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

fs::path proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

bool accepts_connections(std::uint16_t port) {
  for (int i = 0; i < 500; ++i) {  // up to 5 s
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

struct Run {
  int exit_code = -1;  // -1: still running after the timeout
  std::string out, err;
};

// Runs a program to its end (bounded), stdout and stderr captured.
Run run(const TempDir& dir, std::vector<std::string> argv,
        std::chrono::milliseconds timeout = 30s) {
  static int runs = 0;
  std::string name = "run" + std::to_string(runs++);
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(timeout);
  return Run{status ? *status : -1, p.stdout_text(), p.stderr_text()};
}

// A running tpdp-http-proxy on a free port.
struct Proxy {
  std::uint16_t port = free_port();
  std::unique_ptr<Process> process;

  Proxy(const TempDir& dir, const std::string& pool, std::vector<std::string> extra = {}) {
    std::string name = "proxy" + std::to_string(port);
    std::vector<std::string> argv = {proxy_bin().string(),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--pool",
                                     pool,
                                     "--data-dir",
                                     (dir / name).string(),
                                     "--log-level",
                                     "debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir / (name + ".out"), dir / (name + ".log"));
    REQUIRE(accepts_connections(port));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string log() const { return process->stderr_text(); }
};

// Pool, `nodes` lab nodes (with extra node arguments) and a proxy pinned to the pool.
struct ProxyLab {
  TempDir dir;
  Network net{dir};
  std::string pool;
  std::unique_ptr<Proxy> proxy;

  explicit ProxyLab(int nodes, std::vector<std::string> node_args = {}) {
    for (int i = 0; i < nodes; ++i) net.add_node(node_args);
    REQUIRE(net.wait_for_nodes(static_cast<std::size_t>(nodes)));
    pool = net.pool_address() + "@" + net.pool_fingerprint();
    proxy = std::make_unique<Proxy>(dir, pool);
  }

  // curl through the proxy; `args` after the proxy option.
  Run curl(std::vector<std::string> args, const Proxy* through = nullptr) {
    std::vector<std::string> argv = {
        "/usr/bin/curl", "-sS", "--max-time", "30", "-x", (through ? through : proxy.get())->url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(dir, argv, 40s);
  }

  // The status code and the body of a request through the proxy.
  std::pair<std::string, std::string> status_and_body(const std::string& url,
                                                      const Proxy* through = nullptr) {
    fs::path body = dir / ("body" + std::to_string(bodies++));
    auto r = curl({"-o", body.string(), "-w", "%{http_code}", url}, through);
    INFO("curl stderr: " << r.err);
    CHECK(r.exit_code == 0);
    return {r.out, read_file(body)};
  }
  int bodies = 0;
};

// Compared without printing binary bytes on failure.
bool same_content(const fs::path& p, const std::string& expected) {
  return read_file(p) == expected;
}

std::string local_url(std::uint16_t port, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// ---- destination servers ----

std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads until the blank line; what came after it stays in `rest`.
bool read_head(int fd, std::string& head, std::string& rest) {
  std::string buf;
  char chunk[4096];
  while (buf.find("\r\n\r\n") == std::string::npos) {
    if (buf.size() > 65536) return false;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  auto end = buf.find("\r\n\r\n") + 4;
  head = buf.substr(0, end);
  rest = buf.substr(end);
  return true;
}

bool read_more(int fd, std::string& buf) {
  char chunk[65536];
  ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buf.append(chunk, static_cast<std::size_t>(n));
  return true;
}

// Decodes a chunked body from `buf` (reading more from fd as needed).
bool read_chunked(int fd, std::string& buf, std::string& body) {
  for (;;) {
    while (buf.find("\r\n") == std::string::npos) {
      if (!read_more(fd, buf)) return false;
    }
    auto line_end = buf.find("\r\n");
    std::size_t size = std::stoul(buf.substr(0, line_end), nullptr, 16);
    buf.erase(0, line_end + 2);
    if (size == 0) {
      while (buf.find("\r\n") == std::string::npos) {
        if (!read_more(fd, buf)) return false;
      }
      return true;  // (the proxy sends no trailers)
    }
    while (buf.size() < size + 2) {
      if (!read_more(fd, buf)) return false;
    }
    body += buf.substr(0, size);
    buf.erase(0, size + 2);
  }
}

// What the echo server saw of the last request.
struct Seen {
  std::mutex mutex;
  std::string head;
};

// Answers each request with its body (HTTP/1.1, Content-Length), after a
// 100 Continue when asked for one.
TcpServer::Handler echo_body_handler(std::shared_ptr<Seen> seen) {
  return [seen](int fd) {
    std::string head, rest, body;
    if (!read_head(fd, head, rest)) return;
    {
      std::lock_guard<std::mutex> lock(seen->mutex);
      seen->head = head;
    }
    std::string lower = to_lower(head);
    if (lower.find("expect: 100-continue") != std::string::npos) {
      std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      send_all(fd, cont.data(), cont.size());
    }
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      if (!read_chunked(fd, rest, body)) return;
    } else if (auto cl = lower.find("content-length: "); cl != std::string::npos) {
      std::size_t n = std::stoul(lower.substr(cl + 16));
      while (rest.size() < n) {
        if (!read_more(fd, rest)) return;
      }
      body = rest.substr(0, n);
    }
    std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n\r\n" + body;
    send_all(fd, reply.data(), reply.size());
    ::shutdown(fd, SHUT_WR);
  };
}

// Sends a fixed response (any framing, or none) after the request head, then closes.
TcpServer::Handler raw_response_handler(std::string response) {
  return [response = std::move(response)](int fd) {
    std::string head, rest;
    if (!read_head(fd, head, rest)) return;
    send_all(fd, response.data(), response.size());
    ::shutdown(fd, SHUT_WR);
  };
}

// 100 MiB: a 1 MiB random block repeated, each copy numbered in its first bytes.
constexpr std::size_t kBlock = 1 << 20;
constexpr std::size_t kBlocks = 100;

std::string numbered_block(const std::string& base, std::size_t i) {
  std::string block = base;
  std::string number = "block " + std::to_string(i) + " ";
  block.replace(0, number.size(), number);
  return block;
}

TcpServer::Handler big_download_handler(std::shared_ptr<const std::string> base) {
  return [base](int fd) {
    std::string head, rest;
    if (!read_head(fd, head, rest)) return;
    std::string reply =
        "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(kBlock * kBlocks) + "\r\n\r\n";
    if (!send_all(fd, reply.data(), reply.size())) return;
    for (std::size_t i = 0; i < kBlocks; ++i) {
      std::string block = numbered_block(*base, i);
      if (!send_all(fd, block.data(), block.size())) return;
    }
    ::shutdown(fd, SHUT_WR);
  };
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string sha256_of_file(const fs::path& p, std::uint64_t* size) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::ifstream in(p, std::ios::binary);
  std::vector<char> buf(1 << 20);
  *size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    crypto_hash_sha256_update(&state, reinterpret_cast<unsigned char*>(buf.data()), n);
    *size += n;
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return hex(digest, sizeof digest);
}

}  // namespace

TEST_CASE("http proxy: downloads, uploads, keep-alive and response framings through 3 hops") {
  ProxyLab lab(3);
  std::string file = random_bytes(300 * 1024 + 7);
  TcpServer web(http_handler(file));

  // A plain GET: the same bytes.
  fs::path out = lab.dir / "file.out";
  auto get = lab.curl({local_url(web.port(), "/file"), "-o", out.string()});
  INFO("curl: " << get.err << "\nproxy log:\n" << lab.proxy->log());
  REQUIRE(get.exit_code == 0);
  CHECK(same_content(out, file));

  // Request bodies: Content-Length, and chunked (re-framed by the proxy).
  auto seen = std::make_shared<Seen>();
  TcpServer echo(echo_body_handler(seen));
  std::string payload = random_bytes(200 * 1024);
  for (char& c : payload) c = c == '\0' ? 'z' : c;  // curl --data-binary @file keeps bytes
  write_file(lab.dir / "payload", payload);
  fs::path echoed = lab.dir / "echoed";
  auto post = lab.curl({"--data-binary", "@" + (lab.dir / "payload").string(), "-o",
                        echoed.string(), local_url(echo.port(), "/echo")});
  REQUIRE(post.exit_code == 0);
  CHECK(same_content(echoed, payload));
  {
    std::lock_guard<std::mutex> lock(seen->mutex);
    CHECK(seen->head.rfind("POST /echo HTTP/1.1\r\n", 0) == 0);
    CHECK(seen->head.find("Content-Length: " + std::to_string(payload.size())) !=
          std::string::npos);
    CHECK(seen->head.find("Proxy-Connection") == std::string::npos);
    CHECK(seen->head.find("Connection: close\r\n") != std::string::npos);
  }
  // (With Expect: the echo server's 100 Continue is relayed before the body goes up.)
  auto chunked = lab.curl({"-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                           "--data-binary", "@" + (lab.dir / "payload").string(), "-o",
                           echoed.string(), local_url(echo.port(), "/chunked")});
  REQUIRE(chunked.exit_code == 0);
  CHECK(same_content(echoed, payload));
  CHECK(chunked.err.empty());
  {
    std::lock_guard<std::mutex> lock(seen->mutex);
    CHECK(seen->head.find("Transfer-Encoding: chunked") != std::string::npos);
    CHECK(seen->head.find("Expect: 100-continue") != std::string::npos);
  }
  auto small = lab.curl({"-d", "hello=tpdp", local_url(echo.port(), "/form")});
  CHECK(small.out == "hello=tpdp");

  // Keep-alive: two URLs on one command line, one client connection, each
  // destination on its own circuit.
  TcpServer other(http_handler("second"));
  fs::path out1 = lab.dir / "ka1", out2 = lab.dir / "ka2";
  auto both = lab.curl({"-v", local_url(web.port(), "/one"), "-o", out1.string(),
                        local_url(other.port(), "/two"), "-o", out2.string()});
  INFO("curl: " << both.err);
  REQUIRE(both.exit_code == 0);
  CHECK(same_content(out1, file));
  CHECK(read_file(out2) == "second");
  CHECK(both.err.find("Re-using existing connection") != std::string::npos);

  // HEAD has no body; an HTTP/1.0 client gets its response too.
  auto head = lab.curl({"-I", local_url(web.port(), "/file")});
  CHECK(head.out.find("Content-Length: " + std::to_string(file.size())) != std::string::npos);
  fs::path old = lab.dir / "old";
  CHECK(lab.curl({"-0", "-o", old.string(), local_url(web.port(), "/old")}).exit_code == 0);
  CHECK(same_content(old, file));

  // Chunked and close-delimited responses reach the client whole.
  TcpServer chunked_web(raw_response_handler(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n"
      "0\r\nX-Trailer: 1\r\n\r\n"));
  CHECK(lab.status_and_body(local_url(chunked_web.port())) ==
        std::make_pair(std::string("200"), std::string("hello, world")));
  TcpServer close_web(raw_response_handler("HTTP/1.0 200 OK\r\n\r\nuntil the end"));
  CHECK(lab.status_and_body(local_url(close_web.port())) ==
        std::make_pair(std::string("200"), std::string("until the end")));
}

TEST_CASE("http proxy: CONNECT tunnels HTTPS to a local TLS server") {
  ProxyLab lab(3);
  auto key = lab.dir / "k.pem", cert = lab.dir / "c.pem";
  auto made =
      run(lab.dir, {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=localhost", "-days", "1", "-keyout", key.string(), "-out", cert.string()});
  REQUIRE(made.exit_code == 0);
  std::uint16_t tls_port = free_port();
  Process server({"/usr/bin/openssl", "s_server", "-accept", std::to_string(tls_port), "-cert",
                  cert.string(), "-key", key.string(), "-www", "-quiet"},
                 lab.dir / "s_server.out", lab.dir / "s_server.err");
  REQUIRE(accepts_connections(tls_port));

  std::string url = "https://localhost:" + std::to_string(tls_port) + "/";
  auto r = lab.curl({"-k", "-v", url});
  INFO("curl: " << r.err << "\nproxy log:\n" << lab.proxy->log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("s_server") != std::string::npos);
  CHECK(r.err.find("200 Connection established") != std::string::npos);
  // Twice more on fresh tunnels (each its own circuit).
  CHECK(lab.curl({"-k", url}).out.find("s_server") != std::string::npos);
  CHECK(lab.curl({"-k", url}).out.find("s_server") != std::string::npos);

  // A tunnel to a closed port is refused with 502 before any TLS.
  std::uint16_t closed = free_port();
  auto refused = lab.curl({"-k", "-v", "https://localhost:" + std::to_string(closed) + "/"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("HTTP/1.1 502") != std::string::npos);
}

TEST_CASE("http proxy: every failure is answered with a status and a reason") {
  // Every node refuses one destination port by policy.
  TcpServer forbidden(http_handler("never served"));
  ProxyLab lab(3, {"--exit-policy", "reject 127.0.0.1:" + std::to_string(forbidden.port())});
  TcpServer web(http_handler("fine"));
  REQUIRE(lab.status_and_body(local_url(web.port())).second == "fine");

  auto [policy_status, policy_body] = lab.status_and_body(local_url(forbidden.port()));
  CHECK(policy_status == "403");
  CHECK(policy_body.find("policy") != std::string::npos);
  CHECK(policy_body.find("hop 3") != std::string::npos);
  CHECK(forbidden.connections() == 0);

  auto [closed_status, closed_body] = lab.status_and_body(local_url(free_port()));
  CHECK(closed_status == "502");
  CHECK(closed_body.find("unreachable") != std::string::npos);
  CHECK(closed_body.find("connection refused") != std::string::npos);

  bool closed = false;
  auto garbage = raw_exchange(lab.proxy->port, "GARBAGE\r\n\r\n", 5s, &closed);
  CHECK(garbage.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(garbage.find("malformed request line") != std::string::npos);
  CHECK(closed);
  auto origin_form = raw_exchange(lab.proxy->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(origin_form.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(origin_form.find("absolute URL") != std::string::npos);
  auto folded = raw_exchange(
      lab.proxy->port, "GET " + local_url(web.port()) + " HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n");
  CHECK(folded.rfind("HTTP/1.1 400", 0) == 0);
  auto huge = raw_exchange(lab.proxy->port, "GET " + local_url(web.port()) + " HTTP/1.1\r\nX: " +
                                                std::string(70000, 'a') + "\r\n\r\n");
  CHECK(huge.rfind("HTTP/1.1 431", 0) == 0);

  // Destinations that misbehave: no response, a broken one.
  TcpServer silent(raw_response_handler(""));
  auto [silent_status, silent_body] = lab.status_and_body(local_url(silent.port()));
  CHECK(silent_status == "502");
  CHECK(silent_body.find("without a response") != std::string::npos);
  TcpServer broken(raw_response_handler("SPDY/9 what\r\n\r\n"));
  CHECK(lab.status_and_body(local_url(broken.port())).first == "502");

  // Not enough nodes for --hops 5.
  Proxy five(lab.dir, lab.pool, {"--hops", "5"});
  auto [few_status, few_body] = lab.status_and_body(local_url(web.port()), &five);
  CHECK(few_status == "503");
  CHECK(few_body.find("needs 5 distinct nodes, but the pools list only 3") != std::string::npos);

  // No pool answering.
  Proxy no_pool(lab.dir, "127.0.0.1:" + std::to_string(free_port()), {"--timeout", "2"});
  auto [pool_status, pool_body] = lab.status_and_body(local_url(web.port()), &no_pool);
  CHECK(pool_status == "502");
  CHECK(pool_body.find("cannot fetch the node list") != std::string::npos);

  // A destination that never answers: 504 after --idle-timeout.
  TcpServer mute([](int fd) {
    std::string head, rest;
    read_head(fd, head, rest);
    std::this_thread::sleep_for(2500ms);
  });
  Proxy impatient(lab.dir, lab.pool, {"--idle-timeout", "1"});
  auto [mute_status, mute_body] = lab.status_and_body(local_url(mute.port()), &impatient);
  CHECK(mute_status == "504");
  CHECK(mute_body.find("no response within 1 s") != std::string::npos);

  // A node listed but gone: the path cannot be built, and the reply names the hop.
  lab.net.node(1).signal(SIGKILL);
  lab.net.node(1).wait_exit(5s);
  Proxy stale(lab.dir, lab.pool);  // fetched the list while the pool still lists the dead node
  auto [dead_status, dead_body] = lab.status_and_body(local_url(web.port()), &stale);
  if (dead_status == "502") {
    CHECK(dead_body.find("could not build the path: hop") != std::string::npos);
    CHECK(dead_body.find(std::to_string(lab.net.node_port(1))) != std::string::npos);
  } else {
    // The pool already dropped it (lab expiry is short): too few nodes now.
    CHECK(dead_status == "503");
  }
}

TEST_CASE("http proxy: a 100 MiB download and 50 clients at once") {
  ProxyLab lab(3);
  REQUIRE(sodium_init() >= 0);
  auto base = std::make_shared<const std::string>(random_bytes(kBlock));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (std::size_t i = 0; i < kBlocks; ++i) {
    std::string block = numbered_block(*base, i);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(block.data()),
                              block.size());
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  std::string expected = hex(digest, sizeof digest);

  TcpServer big(big_download_handler(base));
  fs::path out = lab.dir / "big.out";
  auto started = std::chrono::steady_clock::now();
  auto r = lab.curl({local_url(big.port(), "/big"), "-o", out.string()});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO("curl: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::uint64_t size = 0;
  CHECK(sha256_of_file(out, &size) == expected);
  CHECK(size == kBlock * kBlocks);
  WARN("100 MiB through the proxy and 3 hops in " << seconds << " s");
  fs::remove(out);

  // 50 curls at once, each its own circuit.
  std::string file = random_bytes(64 * 1024 + 3);
  TcpServer web(http_handler(file));
  std::vector<std::unique_ptr<Process>> clients;
  for (int i = 0; i < 50; ++i) {
    std::string name = "parallel" + std::to_string(i);
    clients.push_back(std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/curl", "-sS", "--max-time", "30", "-x", lab.proxy->url(),
                                 local_url(web.port(), "/" + name), "-o",
                                 (lab.dir / name).string()},
        lab.dir / (name + ".stdout"), lab.dir / (name + ".stderr")));
  }
  int intact = 0;
  for (int i = 0; i < 50; ++i) {
    std::string name = "parallel" + std::to_string(i);
    auto status = clients[static_cast<std::size_t>(i)]->wait_exit(40s);
    INFO(name << ": " << read_file(lab.dir / (name + ".stderr")));
    CHECK(status == 0);
    std::string got = read_file(lab.dir / name);
    if (got == file) {
      ++intact;
    } else {
      std::size_t same = 0;
      while (same < got.size() && same < file.size() && got[same] == file[same]) ++same;
      FAIL_CHECK(name << ": got " << got.size() << " bytes, expected " << file.size()
                      << ", first difference at " << same);
    }
  }
  CHECK(intact == 50);
}
