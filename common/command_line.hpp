// Shared start-up for the tpdp programs: standard descriptors, --config files,
// and command line errors as one clear line with exit status 2.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/pool_address.hpp"
#include "protocol/host.hpp"

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

// Checks attached to options (->check(...)): CLI11 runs them on values from the
// command line and from --config files alike, so a bad value is a usage error
// (exit 2) with one line naming the option, before the program does anything.

// A duration in seconds: more than 0 (or at least 0 with zero_allowed) and at most
// max_seconds (7 days by default).
inline CLI::Validator seconds_check(double max_seconds = 7 * 86400, bool zero_allowed = false) {
  const std::string range = std::string(zero_allowed ? "[0, " : "(0, ") +
                            std::to_string(static_cast<long long>(max_seconds)) + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "not a number of seconds: " + text;
        if (!(value > 0 || (zero_allowed && value == 0)) || value > max_seconds) {
          return text + " is out of range: seconds in " + range;
        }
        return {};
      },
      "SECONDS in " + range, "seconds");
}

// HOST:PORT, [V6]:PORT (port 1..65535).
inline CLI::Validator host_port_check() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::string error;
        return parse_host_port(text, &error) ? std::string() : error;
      },
      "", "HOST:PORT");
}

// HOST:PORT or HOST:PORT@FINGERPRINT.
inline CLI::Validator pool_address_check() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::string error;
        return parse_pool_address(text, &error) ? std::string() : error;
      },
      "", "pool address");
}

inline CLI::Validator log_level_check() {
  return CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"});
}

// A usage error found after parsing (options that depend on each other): one line, exit 2.
inline int usage_error(const char* program, const std::string& what) {
  std::cerr << program << ": error: " << what << " (see " << program << " --help)\n";
  return 2;
}

namespace detail {

// A config reader that reads nothing: parsing the command line again with it
// tells whether an error came from the config file or from the command line.
struct NoConfigFile : CLI::ConfigTOML {
  std::vector<CLI::ConfigItem> from_config(std::istream&) const override { return {}; }
};

// CLI11's wording for a key that names no option is about INI parsing.
inline std::string config_error_text(const CLI::ParseError& e) {
  std::string what = e.what();
  const std::string extras = "INI was not able to parse ";
  if (what.rfind(extras, 0) == 0) return "unknown option '" + what.substr(extras.size()) + "'";
  return what;
}

// What is wrong with a --config FILE before CLI11 reads it, or nullopt. CLI11
// opens it with a blocking std::ifstream and reads it whole: a FIFO would hang
// the program and /dev/zero would eat its memory. So it must be a regular file
// (opened without blocking, the descriptor examined) of at most 1 MiB. A file
// that cannot be opened is left to CLI11's own message.
inline std::optional<std::string> config_file_problem(const std::string& path) {
  constexpr off_t kMaxConfigFile = 1 << 20;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    return path + " is " + kind + ", not a regular file";
  }
  if (st.st_size > kMaxConfigFile) return path + " is larger than 1 MiB";
  return std::nullopt;
}

// The --config FILE values on a command line (as "--config FILE" or "--config=FILE").
inline std::vector<std::string> config_files_named(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "--config" && i + 1 < argc) files.emplace_back(argv[++i]);
    if (arg.rfind("--config=", 0) == 0) files.push_back(arg.substr(9));
  }
  return files;
}

}  // namespace detail

// Parses the command line, with --config FILE: the same long options, one
// "name = value" per line (TOML-like: # comments, "quoted strings", flags as
// true/false, repeated options as [lists]); the command line wins over the
// file. Returns an exit status when the program should stop now (0 after
// --help, 2 after a usage error in either place), nullopt to go on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             const char* program) {
  auto* config =
      app.set_config("--config", "",
                     "Read options from FILE: one 'option = value' per line, long option names "
                     "without '--' (e.g. data-dir = /var/lib/tpdp); the command line overrides it");
  config->type_name("FILE");
  app.allow_config_extras(CLI::config_extras_mode::error);
  auto usage_error = [&](const std::string& what) { return tpdp::usage_error(program, what); };
  for (const auto& file : detail::config_files_named(argc, argv)) {
    if (auto problem = detail::config_file_problem(file)) {
      return usage_error("cannot read config file: " + *problem);
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::FileError& e) {
    // Only the config file is opened while parsing.
    return usage_error("cannot read config file: " + std::string(e.what()));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string file = config->count() > 0 ? config->as<std::string>() : "";
    if (file.empty()) return usage_error(e.what());
    bool from_file = true;
    app.config_formatter(std::make_shared<detail::NoConfigFile>());
    app.clear();
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& again) {
      from_file = std::string(again.what()) != e.what();
    }
    if (!from_file) return usage_error(e.what());
    return usage_error("in config file " + file + ": " + detail::config_error_text(e));
  }
  return std::nullopt;
}

}  // namespace tpdp
