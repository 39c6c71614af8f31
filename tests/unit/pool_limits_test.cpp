// The pool's bookkeeping under attack: connection slots (shedding the oldest
// waiting connection), the registry's address rules (the proved identity
// takes an address, identities per IP address capped) and the proof gate.
#include <catch2/catch.hpp>

#include "pool/connection_slots.hpp"
#include "pool/proof_gate.hpp"
#include "pool/registry.hpp"
#include "protocol/identity.hpp"
#include "protocol/ntor.hpp"

using namespace tpdp;

namespace {

NodeDescriptor node_at(const std::string& host, std::uint16_t port) {
  return {IdentityKeypair::generate().public_key, OnionKeypair::generate().public_key, host, port};
}

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

}  // namespace

TEST_CASE("connection slots: when full, the oldest waiting connection makes room") {
  ConnectionSlots slots(3, 2);
  std::vector<int> shed;
  auto a = slots.admit("10.0.0.1", [&] { shed.push_back(1); });
  auto b = slots.admit("10.0.0.2", [&] { shed.push_back(2); });
  auto c = slots.admit("10.0.0.3", [&] { shed.push_back(3); });
  REQUIRE(c.outcome == ConnectionSlots::Outcome::admitted);
  slots.busy(a.id);  // a's request is complete: never shed
  auto d = slots.admit("10.0.0.4", [&] { shed.push_back(4); });
  CHECK(d.outcome == ConnectionSlots::Outcome::admitted_after_shedding);
  CHECK(shed == std::vector<int>{2});  // b: the oldest still waiting
  CHECK(slots.size() == 3);
  slots.release(b.id);  // b's coroutine ends later: nothing more happens
  CHECK(slots.size() == 3);

  slots.busy(c.id);
  slots.busy(d.id);
  auto e = slots.admit("10.0.0.5", [] {});
  CHECK(e.outcome == ConnectionSlots::Outcome::refused_full);  // everyone is busy
  slots.waiting(d.id);  // a heartbeat after its challenge may be shed again
  auto f = slots.admit("10.0.0.5", [&] { shed.push_back(5); });
  CHECK(f.outcome == ConnectionSlots::Outcome::admitted_after_shedding);
  CHECK(shed == std::vector<int>{2, 4});
}

TEST_CASE("connection slots: a source over its cap is refused, whatever is waiting") {
  ConnectionSlots slots(10, 2);
  slots.admit("10.0.0.1", [] {});
  auto second = slots.admit("10.0.0.1", [] {});
  CHECK(slots.admit("10.0.0.1", [] {}).outcome == ConnectionSlots::Outcome::refused_per_source);
  slots.release(second.id);
  CHECK(slots.admit("10.0.0.1", [] {}).outcome == ConnectionSlots::Outcome::admitted);
}

TEST_CASE("registry: the identity whose proof succeeds takes the address") {
  Registry registry(10, 2);
  auto now = Registry::Clock::now();
  auto old = node_at("127.0.0.1", 7000);
  std::vector<NodeDescriptor> displaced;
  REQUIRE(registry.admit(old, ip("127.0.0.1"), 7000, now, nullptr, &displaced) == Errc::ok);
  CHECK(registry.proof_needed(old, now, std::chrono::seconds(600)) == Registry::ProofNeeded::none);
  CHECK(registry.proof_needed(old, now + std::chrono::seconds(600), std::chrono::seconds(600)) ==
        Registry::ProofNeeded::recheck);

  // Another spelling of the same endpoint: the proof reached 127.0.0.1:7000.
  auto taker = node_at("localhost", 7000);
  CHECK(registry.proof_needed(taker, now, std::chrono::seconds(600)) ==
        Registry::ProofNeeded::first);
  Registry::Change change{};
  REQUIRE(registry.admit(taker, ip("127.0.0.1"), 7000, now, &change, &displaced) == Errc::ok);
  CHECK(change == Registry::Change::added);
  REQUIRE(displaced.size() == 1);
  CHECK(displaced[0] == old);
  CHECK(registry.size() == 1);
}

TEST_CASE("registry: at most max_per_address identities at one proved IP address") {
  Registry registry(100, 2);
  auto now = Registry::Clock::now();
  auto literal = ip("192.0.2.7");
  for (std::uint16_t port : {1001, 1002}) {
    REQUIRE(registry.admit(node_at("192.0.2.7", port), literal, port, now, nullptr, nullptr) ==
            Errc::ok);
  }
  auto third = node_at("192.0.2.7", 1003);
  CHECK(registry.precheck(third, &literal) == Errc::limit_reached);  // no proof spent
  CHECK(registry.admit(third, literal, 1003, now, nullptr, nullptr) == Errc::limit_reached);
  CHECK(registry.size() == 2);
  // Elsewhere is fine; so is taking over one of the two addresses.
  CHECK(registry.admit(node_at("192.0.2.8", 1003), ip("192.0.2.8"), 1003, now, nullptr, nullptr) ==
        Errc::ok);
  CHECK(registry.admit(node_at("192.0.2.7", 1001), literal, 1001, now, nullptr, nullptr) ==
        Errc::ok);
  CHECK(registry.size() == 3);
}

TEST_CASE("registry: a full list makes room only for an identity that displaces another") {
  Registry registry(1, 0);
  auto now = Registry::Clock::now();
  auto first = node_at("127.0.0.1", 1);
  REQUIRE(registry.admit(first, ip("127.0.0.1"), 1, now, nullptr, nullptr) == Errc::ok);
  auto other = node_at("127.0.0.1", 2);
  CHECK(registry.precheck(other, nullptr) == Errc::limit_reached);
  CHECK(registry.admit(other, ip("127.0.0.1"), 2, now, nullptr, nullptr) == Errc::limit_reached);
  auto same_address = node_at("127.0.0.1", 1);
  CHECK(registry.precheck(same_address, nullptr) == Errc::ok);
  CHECK(registry.admit(same_address, ip("127.0.0.1"), 1, now, nullptr, nullptr) == Errc::ok);
  CHECK(registry.snapshot().at(0) == same_address);
}

TEST_CASE("proof gate: proofs in flight are capped, failures remembered briefly") {
  ProofGate gate(3, 2, std::chrono::seconds(30), 2);
  auto a1 = gate.acquire("a");
  auto a2 = gate.acquire("a");
  CHECK(a1);
  CHECK(a2);
  CHECK_FALSE(gate.acquire("a"));  // per source
  auto b1 = gate.acquire("b");
  CHECK(b1);
  CHECK_FALSE(gate.acquire("c"));  // in all
  a1.reset();
  auto c1 = gate.acquire("c");
  CHECK(c1);
  CHECK(gate.in_flight() == 3);

  auto now = ProofGate::Clock::now();
  auto n1 = node_at("127.0.0.1", 1), n2 = node_at("127.0.0.1", 2), n3 = node_at("127.0.0.1", 3);
  gate.remember_failure(n1, Errc::connect_failed, now);
  CHECK(gate.remembered_failure(n1, now + std::chrono::seconds(29)) == Errc::connect_failed);
  CHECK_FALSE(gate.remembered_failure(n1, now + std::chrono::seconds(30)));
  CHECK_FALSE(gate.remembered_failure(n2, now));
  gate.remember_failure(n2, Errc::unknown_identity, now + std::chrono::seconds(1));
  gate.remember_failure(n3, Errc::timeout, now + std::chrono::seconds(2));  // full: n1 goes
  CHECK(gate.remembered() == 2);
  CHECK_FALSE(gate.remembered_failure(n1, now + std::chrono::seconds(2)));
  CHECK(gate.remembered_failure(n3, now + std::chrono::seconds(2)) == Errc::timeout);
}
