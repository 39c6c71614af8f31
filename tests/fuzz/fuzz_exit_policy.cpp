// Fuzzes exit policy parsing: anything that parses must print canonically,
// reparse to the same text and the same decisions, and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/exit_policy.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tpdp::ExitPolicy;
  using tpdp::IpAddress;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // Addresses: a parsed address prints and reparses to itself.
  if (auto a = IpAddress::parse(text)) {
    auto b = IpAddress::parse(a->to_string());
    check(b.has_value() && *b == *a);
  }

  std::string error;
  auto policy = ExitPolicy::parse(text, &error);
  if (!policy) {
    check(!error.empty());
    return 0;
  }
  std::string canonical = policy->to_string();
  std::string error2;
  auto again = ExitPolicy::parse(canonical, &error2);
  check(again.has_value());
  check(again->to_string() == canonical);
  check(again->rules().size() == policy->rules().size());
  for (const auto& rule : policy->rules()) {
    auto one = ExitPolicy::parse(rule.to_string());
    check(one.has_value() && one->rules().size() == 1 &&
          one->rules()[0].to_string() == rule.to_string());
  }

  // Decisions agree between the parsed and the reparsed policy.
  std::vector<IpAddress> probes;
  for (const char* a : {"127.0.0.1", "::1", "1.2.3.4", "fe80::1", "10.0.0.1", "::ffff:8.8.8.8"}) {
    probes.push_back(*IpAddress::parse(a));
  }
  // Two addresses taken from the input bytes themselves.
  IpAddress from_data_v4, from_data_v6;
  from_data_v6.v4 = false;
  for (std::size_t i = 0; i < 16 && i < size; ++i) {
    if (i < 4) from_data_v4.bytes[i] = data[i];
    from_data_v6.bytes[i] = data[size - 1 - i];
  }
  probes.push_back(from_data_v4);
  probes.push_back(from_data_v6);
  // The first few rules' networks and their neighbours just outside the prefix.
  for (std::size_t i = 0; i < policy->rules().size() && i < 4; ++i) {
    const auto& rule = policy->rules()[i];
    if (rule.any_address) continue;
    probes.push_back(rule.network);
    IpAddress outside = rule.network;
    int bit = rule.prefix_bits - 1;  // last bit of the prefix
    if (bit >= 0) outside.bytes[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    probes.push_back(outside);
    check(rule.matches(rule.network, rule.port_low));
    if (bit >= 0) check(!rule.matches(outside, rule.port_low));
  }
  std::uint16_t ports[] = {
      0, 1, 80, 443, 65535, static_cast<std::uint16_t>(size > 1 ? (data[0] << 8) | data[1] : 0)};
  for (const auto& addr : probes) {
    for (auto port : ports) {
      check(policy->allows(addr, port) == again->allows(addr, port));
    }
  }

  // Appending the defaults never changes a decision the operator's rules made.
  ExitPolicy combined = *policy;
  combined.append(
      tpdp::default_exit_policy({probes[from_data_v4.bytes[0] % probes.size()]}, size % 2 == 0));
  check(combined.rules().size() > policy->rules().size());
  for (const auto& addr : probes) {
    for (auto port : ports) {
      bool decided = false;
      for (const auto& rule : policy->rules()) decided = decided || rule.matches(addr, port);
      if (decided) check(combined.allows(addr, port) == policy->allows(addr, port));
    }
  }
  return 0;
}
