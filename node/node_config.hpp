// Everything a node is configured with (command line -> NodeConfig).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/pool_address.hpp"
#include "protocol/exit_policy.hpp"
#include "protocol/host.hpp"
#include "protocol/protocol_version.hpp"

namespace tpdp {

struct NodeConfig {
  HostPort listen;
  ProtocolVersion protocol = ProtocolVersion::tpdp1;  // what this port speaks
  std::optional<HostPort> advertise;  // what the pool publishes; listen address if unset
  std::vector<PoolAddress> pools;
  std::filesystem::path data_dir;
  ExitPolicy exit_policy;
  bool lab = false;
  // TPDP/1: the whole control phase; TPDP/0.1: each read step of the handshake.
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds heartbeat_retry{10000};
  std::size_t max_circuits = 16384;
  std::size_t max_handshakes_per_source = 256;
  bool log_destinations = false;  // destinations at info only when the operator asks
};

}  // namespace tpdp
