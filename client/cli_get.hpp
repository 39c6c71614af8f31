// tpdp-client get: what the subcommand is asked to do.
#pragma once

#include <optional>
#include <string>

#include "client/cli_common.hpp"

namespace tpdp::cli {

struct GetOptions {
  std::string url;
  std::string output;             // empty or "-": standard output
  bool follow_redirects = false;  // -L
  int max_redirects = 10;         // followed at most, each over a fresh circuit
  std::optional<bool> progress;   // unset: a progress bar when stderr is a terminal
};

// Exit status: 0 for a 2xx answer, 3 for another status; throws for failures (exit 1).
int run_get(const Options& options, const GetOptions& get);

}  // namespace tpdp::cli
