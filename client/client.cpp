#include "client/client.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include <asio/experimental/as_tuple.hpp>

#include "common/message_io.hpp"
#include "common/v0_1_pool_list.hpp"
#include "protocol/host.hpp"
#include "protocol/identity.hpp"

namespace tpdp {

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : ex_(std::move(ex)), options_(std::move(options)) {
  // Idempotent; picks libsodium's fast code paths for library users too.
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  // TPDP/0.1 pools have no keys: nothing to trust or remember.
  if (!options_.data_dir.empty() && options_.protocol == ProtocolVersion::tpdp1) {
    trust_.emplace(options_.data_dir / "known_pools.json");
    list_cache_.emplace(options_.data_dir / "last_lists.json");
  }
}

namespace {

// The unsigned TPDP/0.1 list, as descriptors keyed by address.
asio::awaitable<std::vector<NodeDescriptor>> fetch_v0_1_descriptors(const PoolAddress& pool,
                                                                    const ClientOptions& options) {
  std::string where = "TPDP/0.1 pool " + pool.to_string();
  if (pool.pinned_key) {
    throw PoolError(
        Errc::protocol_error,
        where + " has no key to pin: give it as HOST:PORT (nothing is signed in TPDP/0.1)");
  }
  std::vector<NodeDescriptor> out;
  std::size_t skipped = 0;
  try {
    auto list = co_await fetch_v0_1_node_list(pool.address, options.timeout);
    skipped = list.skipped;
    for (const auto& n : list.nodes) out.push_back(v0_1::descriptor_for(n));
  } catch (const ProtocolViolation& e) {
    throw PoolError(Errc::protocol_error, where + " sent a malformed list: " + e.what());
  } catch (const std::system_error& e) {
    throw PoolError(Errc::connect_failed,
                    "cannot fetch the node list from " + where + ": " + e.code().message());
  }
  if (skipped > 0 && options.on_warning) {
    options.on_warning(where + " lists " + std::to_string(skipped) +
                       " entries that are not valid host names or addresses; ignored");
  }
  co_return out;
}

}  // namespace

asio::awaitable<std::size_t> Client::sync_nodes_list(const PoolAddress& pool) {
  if (options_.protocol == ProtocolVersion::tpdp0_1) {
    // The identity field is the address label: one address, one node.
    auto listed = co_await fetch_v0_1_descriptors(pool, options_);
    co_return merge(std::move(listed));
  }
  if (!pool.pinned_key && !trust_) {
    throw PoolError(Errc::authentication_failed,
                    "pool " + pool.to_string() +
                        " is not pinned (HOST:PORT@FINGERPRINT) and there is no trust store");
  }
  std::optional<VerifiedNodeList> fetched;
  std::exception_ptr failure;
  std::string why;
  try {
    fetched.emplace(co_await fetch_node_list(pool, trust_ ? &*trust_ : nullptr, options_.timeout));
  } catch (const PoolError& e) {
    // An impersonated pool is never papered over with a remembered list.
    if (e.code() == Errc::authentication_failed || e.code() == Errc::bad_signature) throw;
    failure = std::current_exception();
    why = e.what();
  } catch (const std::system_error& e) {
    failure = std::current_exception();
    why = e.what();
  }
  if (!fetched) {
    auto cached = remembered_list(pool);
    if (!cached) std::rethrow_exception(failure);
    auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                cached->verified_at);
    if (options_.on_warning) {
      options_.on_warning(why + "; using its last verified list from " +
                          std::to_string(age.count()) + " s ago (" +
                          std::to_string(cached->nodes.size()) + " nodes)");
    }
    co_return merge(std::move(cached->nodes));
  }
  auto& list = *fetched;
  if (list.first_use && options_.on_warning) {
    options_.on_warning("trusting pool " + pool.to_string() + " on first use: its key is " +
                        fingerprint(list.pool_key) + " (remembered in " + trust_->file().string() +
                        "; pin it with --pool " + pool.to_string() + "@" +
                        fingerprint(list.pool_key) + ")");
  }
  if (list_cache_) {
    list_cache_->save(pool.to_string(),
                      {list.pool_key, list.nodes, std::chrono::system_clock::now()});
  }
  co_return merge(std::move(list.nodes));
}

std::optional<CachedNodeList> Client::remembered_list(const PoolAddress& pool) const {
  if (!list_cache_) return std::nullopt;
  std::string address = pool.to_string();
  auto cached = list_cache_->load(address);
  if (!cached) return std::nullopt;
  // Only a list signed by the key this client trusts for the pool now.
  std::string trusted = pool.pinned_key ? fingerprint(*pool.pinned_key)
                                        : (trust_ ? trust_->remembered(address) : std::string());
  if (trusted.empty() || trusted != fingerprint(cached->pool_key)) return std::nullopt;
  auto age = std::chrono::system_clock::now() - cached->verified_at;
  if (age < std::chrono::seconds(0) || age > options_.last_list_max_age) return std::nullopt;
  return cached;
}

std::size_t Client::merge(std::vector<NodeDescriptor> nodes) {
  std::size_t added = 0;
  for (auto& n : nodes) {
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const NodeDescriptor& k) { return k.identity == n.identity; });
    if (it == nodes_.end()) {
      nodes_.push_back(std::move(n));
      ++added;
    } else {
      *it = std::move(n);
    }
  }
  return added;
}

std::filesystem::path default_client_data_dir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) {
    return std::filesystem::path(x) / "tpdp";
  }
  if (const char* h = std::getenv("HOME"); h && *h) {
    return std::filesystem::path(h) / ".local/share/tpdp";
  }
  return ".tpdp-client";
}

std::vector<NodeDescriptor> pick_random_path(const std::vector<NodeDescriptor>& nodes,
                                             std::size_t n) {
  if (n == 0) throw std::invalid_argument("a path needs at least one hop");
  if (nodes.size() < n) {
    throw std::runtime_error("a " + std::to_string(n) + "-hop path needs " + std::to_string(n) +
                             " distinct nodes, but only " + std::to_string(nodes.size()) +
                             " are known");
  }
  std::vector<NodeDescriptor> pool = nodes;
  // Partial Fisher-Yates with an unbiased CSPRNG.
  for (std::size_t i = 0; i < n; ++i) {
    auto j = i + randombytes_uniform(static_cast<std::uint32_t>(pool.size() - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(n);
  return pool;
}

std::vector<NodeDescriptor> pick_listed_path(const std::vector<NodeDescriptor>& nodes,
                                             const std::vector<std::string>& addresses) {
  if (addresses.empty()) throw std::invalid_argument("a path needs at least one hop");
  std::vector<NodeDescriptor> path;
  for (const auto& text : addresses) {
    std::string error;
    auto wanted = parse_host_port(text, &error);
    if (!wanted) throw std::runtime_error("--path: '" + text + "': " + error);
    // Compared in canonical form, so [::1]:6001 and an IPv6 node match.
    auto canonical = format_host_port(*wanted);
    auto listed = std::find_if(nodes.begin(), nodes.end(), [&](const NodeDescriptor& n) {
      return format_host_port(n.host, n.port) == canonical;
    });
    if (listed == nodes.end()) {
      throw std::runtime_error("--path: no listed node at " + canonical +
                               " (tpdp-client nodes shows what the pools list)");
    }
    for (const auto& chosen : path) {
      if (format_host_port(chosen.host, chosen.port) == canonical) {
        throw std::runtime_error("--path: " + canonical +
                                 " appears twice (a path's nodes are distinct)");
      }
    }
    path.push_back(*listed);
  }
  return path;
}

Circuit& Client::circuit() {
  if (!circuit_) throw std::logic_error("no circuit: connect first");
  return *circuit_;
}

asio::awaitable<void> Client::connect(const NodeDescriptor& first) {
  if (circuit_) circuit_->close();
  circuit_ = std::make_unique<Circuit>(ex_, CircuitOptions{options_.timeout, options_.protocol});
  co_await circuit_->connect(first);
}

asio::awaitable<void> Client::next_destination(const NodeDescriptor& node) {
  co_await circuit().extend(node);
}

asio::awaitable<void> Client::open_stream(const std::string& host, std::uint16_t port) {
  co_await circuit().begin(host, port);
}

asio::awaitable<void> Client::random_path_to_destination(const std::string& host,
                                                         std::uint16_t port, std::size_t n) {
  auto path = pick_random_path(nodes_, n);
  co_await connect(path[0]);
  for (std::size_t i = 1; i < path.size(); ++i) co_await next_destination(path[i]);
  co_await open_stream(host, port);
}

asio::awaitable<void> Client::send(ByteView data) {
  co_await asio::async_write(circuit(), asio::buffer(data.data(), data.size()),
                             asio::use_awaitable);
}

asio::awaitable<Bytes> Client::receive(std::size_t max) {
  Bytes out(max);
  auto [ec, n] = co_await circuit().async_read_some(
      asio::buffer(out), asio::experimental::as_tuple(asio::use_awaitable));
  if (ec == asio::error::eof)
    n = 0;
  else if (ec)
    throw std::system_error(ec);
  out.resize(n);
  co_return out;
}

asio::awaitable<Bytes> Client::receive_exactly(std::size_t n) {
  Bytes out(n);
  co_await asio::async_read(circuit(), asio::buffer(out), asio::use_awaitable);
  co_return out;
}

asio::awaitable<void> Client::shutdown_send() {
  co_await circuit().async_shutdown_send(asio::use_awaitable);
}

asio::awaitable<void> Client::close() {
  if (!circuit_) co_return;
  if (circuit_->is_streaming()) {
    // Best effort: a circuit that already failed is closed all the same.
    co_await circuit_->async_shutdown_send(asio::experimental::as_tuple(asio::use_awaitable));
  }
  circuit_.reset();
}

}  // namespace tpdp
