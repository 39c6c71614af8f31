// Room for the pool's connections in its descriptor limit. With a soft
// RLIMIT_NOFILE of 1024 (a shell's usual default) the pool would run out of
// descriptors before it reached its 1,024 connections: accept() would fail
// and the oldest waiting connection would never be shed to make room, so
// idle connections could lock everyone out again.
#pragma once

#include <cstddef>

#include "common/logging.hpp"

namespace tpdp {

// Raises the soft descriptor limit towards the hard one as far as `wanted`
// connections plus `reserve` other descriptors (listening socket, log,
// proofs' outgoing connections) need; returns how many connections fit
// (wanted, or fewer with a warning when the hard limit is too low).
std::size_t fit_connections_to_descriptors(std::size_t wanted, std::size_t reserve,
                                           const Logger& log);

}  // namespace tpdp
