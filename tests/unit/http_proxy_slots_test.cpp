// tpdp-http-proxy's slot table (examples/http_proxy/connection_slots.hpp):
// the per-source cap, and which connection a full proxy sheds.
#include <catch2/catch.hpp>
#include <thread>

#include "examples/http_proxy/connection_slots.hpp"

using tpdp::http_proxy::ConnectionSlots;
using Admission = ConnectionSlots::Admission;
using State = ConnectionSlots::State;

TEST_CASE("http proxy slots: per-source cap, shedding order, nothing to shed") {
  ConnectionSlots slots(3, 2);
  std::vector<int> shed;
  ConnectionSlots::Id a = 0, b = 0, c = 0, d = 0, e = 0;
  REQUIRE(slots.admit(
              "10.0.0.1", [&] { shed.push_back(1); }, a) == Admission::admitted);
  REQUIRE(slots.admit(
              "10.0.0.1", [&] { shed.push_back(2); }, b) == Admission::admitted);
  ConnectionSlots::Id over = 0;
  CHECK(slots.admit(
            "10.0.0.1", [] {}, over) == Admission::source_full);
  CHECK(over == 0);
  REQUIRE(slots.admit(
              "10.0.0.2", [&] { shed.push_back(3); }, c) == Admission::admitted);
  CHECK(slots.size() == 3);

  // All new (nothing sent, younger than the grace): nothing may be shed yet.
  CHECK(slots.admit(
            "10.0.0.3", [] {}, d) == Admission::full);
  CHECK(shed.empty());

  // A half-sent head goes first, even a younger one; then the longest wait.
  slots.set_state(a, State::between_requests);
  slots.set_state(c, State::sending_head);
  slots.set_state(b, State::sending_head);
  CHECK(slots.admit(
            "10.0.0.3", [&] { shed.push_back(4); }, d) == Admission::admitted);
  CHECK(shed == std::vector<int>{3});
  CHECK_FALSE(slots.holds(c));
  CHECK(slots.from("10.0.0.2") == 0);
  CHECK(slots.admit(
            "10.0.0.4", [] {}, e) == Admission::admitted);
  CHECK(shed == std::vector<int>{3, 2});

  // Serving connections are never shed; an idle keep-alive one is, last.
  slots.set_state(d, State::serving);
  slots.set_state(e, State::serving);
  ConnectionSlots::Id f = 0;
  CHECK(slots.admit(
            "10.0.0.5", [] {}, f) == Admission::admitted);
  CHECK(shed == std::vector<int>{3, 2, 1});
  slots.set_state(f, State::serving);
  ConnectionSlots::Id g = 0;
  CHECK(slots.admit(
            "10.0.0.6", [] {}, g) == Admission::full);
  slots.release(d);
  slots.release(d);  // once only
  CHECK(slots.size() == 2);
  CHECK(slots.admit(
            "10.0.0.6", [] {}, g) == Admission::admitted);
  CHECK(slots.shed_count() == 3);
}

TEST_CASE("http proxy slots: a connection silent for the grace period may be shed") {
  ConnectionSlots slots(1, 1);
  bool shed = false;
  ConnectionSlots::Id a = 0, b = 0;
  REQUIRE(slots.admit(
              "10.0.0.1", [&] { shed = true; }, a) == Admission::admitted);
  CHECK(slots.admit(
            "10.0.0.2", [] {}, b) == Admission::full);
  std::this_thread::sleep_for(ConnectionSlots::kShedGrace + std::chrono::milliseconds(50));
  CHECK(slots.admit(
            "10.0.0.2", [] {}, b) == Admission::admitted);
  CHECK(shed);
}
