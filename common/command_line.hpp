// Shared start-up for the tpdp programs: standard descriptors, and command
// line errors as one clear line with exit status 2.
#pragma once

#include <fcntl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace tpdp {

// A program started with stdin, stdout or stderr closed would otherwise get
// its own sockets or Asio's eventfd as descriptor 0-2 and read or write them
// by mistake. Those slots are filled with /dev/null.
inline void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) {
      int null_fd = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null_fd >= 0 && null_fd != fd) {
        ::dup2(null_fd, fd);
        ::close(null_fd);
      }
    }
  }
}

// A duration option given in seconds: more than 0 and at most 7 days.
inline std::chrono::milliseconds seconds_option(double seconds, const char* name) {
  if (!(seconds > 0) || seconds > 7 * 86400) {
    throw std::invalid_argument(std::string(name) +
                                " must be more than 0 and at most 604800 seconds (7 days)");
  }
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// Parses the command line. Returns an exit status when the program should
// stop now (0 after --help, 2 after a usage error), nullopt to go on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << program << ": error: " << e.what() << " (see " << program << " --help)\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace tpdp
