// tpdp-client get over a real lab network: HTTP/1.1 requests, chunked and
// Content-Length bodies (whole, truncated, malformed), redirects with and
// without -L, exit statuses, -o through FILE.part, the progress bar.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

// What the servers saw, shared with their handler threads.
struct Requests {
  std::mutex mutex;
  std::vector<std::string> heads;
  void add(const std::string& head) {
    std::lock_guard lock(mutex);
    heads.push_back(head);
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return heads;
  }
};

// The request head, or empty if the peer went away first (bounded at 64 KiB).
std::string read_request_head(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    if (::recv(fd, &c, 1, 0) != 1) return {};
    head.push_back(c);
  }
  return head;
}

// "GET /path HTTP/1.1" -> "/path".
std::string request_target(const std::string& head) {
  auto start = head.find(' ');
  auto end = head.find(' ', start + 1);
  if (start == std::string::npos || end == std::string::npos) return {};
  return head.substr(start + 1, end - start - 1);
}

void send_text(int fd, const std::string& text) {
  send_all(fd, text.data(), text.size());
}

// The chunked form of body in uneven chunks (with an extension on some and a
// trailer), sent in small writes with pauses so it arrives split anywhere.
void send_chunked(int fd, const std::string& body, bool finish = true) {
  static const std::size_t kSizes[] = {1, 700, 4096, 17, 65536, 3, 20000};
  std::size_t at = 0, i = 0;
  while (at < body.size()) {
    std::size_t n = std::min(kSizes[i % 7], body.size() - at);
    char size[32];
    std::snprintf(size, sizeof size, "%zx%s\r\n", n, i % 3 == 0 ? ";ext=\"v\"" : "");
    std::string piece = size + body.substr(at, n) + "\r\n";
    for (std::size_t off = 0; off < piece.size(); off += 5000) {
      if (!send_all(fd, piece.data() + off, std::min<std::size_t>(5000, piece.size() - off))) {
        return;
      }
    }
    if (i % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    at += n;
    ++i;
  }
  if (finish) send_text(fd, "0\r\nX-Checksum: none\r\n\r\n");
}

// A server answering by path; every response closes the connection.
TcpServer::Handler routes(std::string body, std::shared_ptr<Requests> seen,
                          std::shared_ptr<std::atomic<int>> other_port) {
  return [body = std::move(body), seen, other_port](int fd) {
    std::string head = read_request_head(fd);
    if (head.empty()) return;
    seen->add(head);
    std::string path = request_target(head);
    const std::string chunked_head =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: "
        "application/octet-stream\r\n\r\n";
    auto redirect = [&](int status, const std::string& location) {
      std::string text = "see " + location;
      send_text(fd, "HTTP/1.1 " + std::to_string(status) + " Redirect\r\nLocation: " + location +
                        "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n" + text);
    };
    if (path == "/chunked") {
      send_text(fd, chunked_head);
      send_chunked(fd, body);
    } else if (path == "/length") {
      send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body);
    } else if (path == "/interim") {
      send_text(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else if (path == "/short") {
      send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + body.substr(0, 50000));
    } else if (path == "/short-chunked") {
      send_text(fd, chunked_head);
      send_chunked(fd, body.substr(0, 30000), false);
    } else if (path == "/bad-chunk") {
      send_text(fd, chunked_head + "5\r\nhello\r\nzz\r\n");
    } else if (path == "/missing") {
      send_text(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\nno such page");
    } else if (path.rfind("/chain/", 0) == 0) {
      // /chain/N redirects to /chain/N-1 with every redirect status and
      // every form of Location; /chain/0 is the page.
      int n = std::stoi(path.substr(7));
      static const int kStatus[] = {301, 302, 303, 307, 308};
      std::string next = std::to_string(n - 1);
      if (n == 0) {
        send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\narrived");
      } else if (n % 3 == 0) {
        redirect(kStatus[n % 5], next);  // relative to /chain/
      } else if (n % 3 == 1) {
        redirect(kStatus[n % 5], "/chain/./x/../" + next);
      } else {
        redirect(kStatus[n % 5],
                 "http://127.0.0.1:" + std::to_string(other_port->load()) + "/chain/" + next);
      }
    } else if (path == "/loop") {
      redirect(302, "/loop");
    } else if (path == "/to-https") {
      redirect(301, "https://127.0.0.1/");
    } else if (path == "/no-location") {
      send_text(fd, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
    } else {
      send_text(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
    }
    ::shutdown(fd, SHUT_WR);
  };
}

struct Lab {
  TempDir dir;
  Network net{dir};
  std::string body = random_bytes(300000);
  std::shared_ptr<Requests> seen = std::make_shared<Requests>();
  std::shared_ptr<std::atomic<int>> port = std::make_shared<std::atomic<int>>(0);
  TcpServer server{routes(body, seen, port)};
  Lab() {
    port->store(server.port());
    for (int i = 0; i < 3; ++i) net.add_node();
    REQUIRE(net.wait_for_nodes(3));
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }
  std::size_t circuits(const ClientResult& r) const {
    std::size_t count = 0;
    for (auto at = r.err.find("hop 1:"); at != std::string::npos; at = r.err.find("hop 1:", at + 1))
      ++count;
    return count;
  }
};

}  // namespace

TEST_CASE("get: HTTP/1.1 request, chunked and Content-Length bodies, -o, progress") {
  Lab lab;
  auto out = lab.dir / "page.bin";

  // A chunked body in uneven, extended chunks with a trailer, to a file.
  auto r = lab.net.client({"get", lab.url("/chunked"), "-o", out.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(out) == lab.body);
  CHECK_FALSE(fs::exists(out.string() + ".part"));
  CHECK(r.err.find('%') == std::string::npos);  // stderr is not a terminal: no progress bar
  auto heads = lab.seen->all();
  REQUIRE(heads.size() == 1);
  std::string host = "127.0.0.1:" + std::to_string(lab.server.port());
  CHECK(heads[0].rfind("GET /chunked HTTP/1.1\r\n", 0) == 0);
  CHECK(heads[0].find("\r\nHost: " + host + "\r\n") != std::string::npos);
  CHECK(heads[0].find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(heads[0].find("\r\nUser-Agent: tpdp-client/0.1\r\n") != std::string::npos);

  // Content-Length to stdout; --progress forces the bar onto a non-terminal.
  r = lab.net.client({"get", "--progress", lab.url("/length")});
  CHECK(r.exit_code == 0);
  CHECK(r.out == lab.body);
  CHECK(r.err.find("100% [####################] 293.0 KiB / 293.0 KiB") != std::string::npos);
  CHECK(r.err.find("/s  in 0:") != std::string::npos);
  r = lab.net.client({"get", "--no-progress", "-o", "-", lab.url("/length")});
  CHECK(r.exit_code == 0);
  CHECK(r.out == lab.body);
  CHECK(r.err.find('%') == std::string::npos);

  // An interim 100 Continue is skipped.
  r = lab.net.client({"get", lab.url("/interim")});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "ok");

  // Verbose: the path (three hops with fingerprints), build time, status.
  r = lab.net.client({"get", "--verbose", lab.url("/length"), "-o", out.string()});
  CHECK(r.exit_code == 0);
  CHECK(lab.circuits(r) == 1);
  CHECK(r.err.find("hop 3: 127.0.0.1:") != std::string::npos);
  CHECK(r.err.find(lab.net.node_fingerprint(0)) != std::string::npos);
  CHECK(r.err.find(" built in ") != std::string::npos);
  CHECK(r.err.find("HTTP 200 OK, 300000 bytes in ") != std::string::npos);
}

TEST_CASE("get: truncated and malformed bodies fail and statuses give exit 3") {
  Lab lab;
  auto out = lab.dir / "page.bin";
  auto r = lab.net.client({"get", lab.url("/short"), "-o", out.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("tpdp-client: error: body truncated: got 50000 of 100000 bytes") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out.string() + ".part"));

  r = lab.net.client({"get", lab.url("/short-chunked"), "-o", out.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: chunked body truncated after 30000 bytes") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out.string() + ".part"));

  r = lab.net.client({"get", lab.url("/bad-chunk")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: bad chunked body: malformed chunk size") != std::string::npos);
  CHECK(r.out == "hello");

  // A 404: the body is still delivered (like curl), the status line on stderr, exit 3.
  r = lab.net.client({"get", lab.url("/missing"), "-o", out.string()});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("tpdp-client: error: HTTP status 404 Not Found") != std::string::npos);
  CHECK(read_file(out) == "no such page");
}

TEST_CASE("get: redirects followed only with -L, each over a fresh circuit") {
  Lab lab;
  // Without -L: the redirect itself is the answer, exit 3, with a hint.
  auto r = lab.net.client({"get", lab.url("/chain/3")});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("error: HTTP status 307 Redirect (Location: 2; add -L to follow)") !=
        std::string::npos);
  CHECK(r.out == "see 2");

  // With -L: 5 redirects (every status; relative, dotted and absolute Locations).
  auto before = lab.server.connections();
  r = lab.net.client({"get", "-L", "-v", lab.url("/chain/5")});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "arrived");
  CHECK(lab.server.connections() - before == 6);
  CHECK(lab.circuits(r) == 6);
  for (auto path : {"/chain/4", "/chain/3", "/chain/2", "/chain/1", "/chain/0"}) {
    CHECK(r.err.find("redirected to " + lab.url(path)) != std::string::npos);
  }
  auto heads = lab.seen->all();
  CHECK(heads.back().rfind("GET /chain/0 HTTP/1.1\r\n", 0) == 0);

  // Ten redirects are followed; the eleventh is refused.
  r = lab.net.client({"get", "-L", lab.url("/chain/10")});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "arrived");
  auto out = lab.dir / "loop.bin";
  r = lab.net.client({"get", "-L", lab.url("/loop"), "-o", out.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: too many redirects (more than 10)") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out.string() + ".part"));

  // Only http:// targets.
  r = lab.net.client({"get", "-L", lab.url("/to-https")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: cannot follow the redirect: refusing to follow a redirect to a "
                   "non-http URL: https://127.0.0.1/") != std::string::npos);
  // A redirect status without a Location is a final answer.
  r = lab.net.client({"get", "-L", lab.url("/no-location")});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("error: HTTP status 302 Found") != std::string::npos);
}
