// What a Circuit holds in TPDP/0.1 mode (private to circuit.cpp and
// v0_1_circuit.cpp).
#pragma once

#include <vector>

#include "client/circuit.hpp"
#include "protocol/v0_1/client_path.hpp"

namespace tpdp {

struct Circuit::V01 {
  v0_1::ClientPathBuilder builder;
  std::vector<NodeDescriptor> nodes;    // the path so far (the last one may be mid-handshake)
  std::vector<v0_1::HopLayers> layers;  // once streaming: every hop's streams, hop 1 first
};

}  // namespace tpdp
