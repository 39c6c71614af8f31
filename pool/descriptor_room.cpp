#include "pool/descriptor_room.hpp"

#include <sys/resource.h>

namespace tpdp {

std::size_t fit_connections_to_descriptors(std::size_t wanted, std::size_t reserve,
                                           const Logger& log) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
  const rlim_t needed = static_cast<rlim_t>(wanted + reserve);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? needed : std::min(needed, lim.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= needed) return wanted;
  std::size_t fits = lim.rlim_cur > reserve + 16 ? lim.rlim_cur - reserve : 16;
  log->warn("descriptor limit {} (hard {}): serving at most {} connections instead of {}",
            lim.rlim_cur, lim.rlim_max, fits, wanted);
  return fits;
}

}  // namespace tpdp
