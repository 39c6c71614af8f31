// The --protocol option shared by every program (protocol/protocol_version.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tpdp {

inline CLI::Option* add_protocol_option(CLI::App& app, std::string& text) {
  return app
      .add_option("--protocol", text,
                  "Wire protocol: 1 (TPDP/1) or 0.1 (TPDP/0.1, the insecure protocol of the "
                  "original Python torpydo, only to interoperate with it; spec/tpdp-0.1.md)")
      ->check(CLI::IsMember({"1", "0.1"}))
      ->capture_default_str();
}

}  // namespace tpdp
