// A program using the client library may start other programs; they must
// not inherit its circuit links. Here a child (sleep) is started while a
// connection made with connect_to is open; when the program closes the
// connection, the far end must see it closed at once, not when the child
// exits. Real sockets on loopback, every wait bounded, the child ended by PID.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <optional>

#include "common/net.hpp"

extern char** environ;

using namespace tpdp;
using namespace std::chrono_literals;

namespace {

bool close_on_exec_set(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

// Starts `sleep 10` the way a careless program would: every descriptor
// without close-on-exec goes with it.
pid_t start_sleeping_child() {
  char sleep_path[] = "/bin/sleep";
  char ten[] = "10";
  char* argv[] = {sleep_path, ten, nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, sleep_path, nullptr, nullptr, argv, environ);
  REQUIRE(rc == 0);
  return pid;
}

// (Free functions, not lambdas: a coroutine lambda's captures die with the
// temporary lambda before the coroutine runs.)
asio::awaitable<void> connect_into(std::optional<tcp::socket>& out, std::uint16_t port) {
  HostPort where{"127.0.0.1", port};  // a local: GCC 12 mis-destroys temporaries in co_await
  out.emplace(co_await connect_to(where, 2s));
}

asio::awaitable<void> accept_into(std::optional<tcp::socket>& out, tcp::acceptor& acceptor) {
  out.emplace(co_await acceptor.async_accept(asio::use_awaitable));
}

}  // namespace

TEST_CASE("sockets from connect_to and listen_on are not inherited by programs the user starts") {
  asio::io_context io;
  auto acceptor = listen_on(io.get_executor(), HostPort{"127.0.0.1", 0});
  CHECK(close_on_exec_set(acceptor.native_handle()));
  std::uint16_t port = acceptor.local_endpoint().port();

  std::optional<tcp::socket> ours, theirs;
  asio::co_spawn(io, connect_into(ours, port), asio::detached);
  asio::co_spawn(io, accept_into(theirs, acceptor), asio::detached);
  io.run_for(2s);
  REQUIRE(ours);
  REQUIRE(theirs);
  CHECK(close_on_exec_set(ours->native_handle()));

  pid_t child = start_sleeping_child();
  ours->close();
  // The far end sees EOF within a second: no child holds our side open.
  pollfd p{theirs->native_handle(), POLLIN, 0};
  int ready = ::poll(&p, 1, 1000);
  char byte = 0;
  ssize_t got = ready == 1 ? ::recv(theirs->native_handle(), &byte, 1, 0) : -1;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  CHECK(ready == 1);
  CHECK(got == 0);
}
