// Racing coroutines. Asio 1.22's `a || b` waits for the first *success*, so
// a failing operation would wait for the other; these helpers end on the
// first completion of either kind, cancel the other, and wait for it.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <system_error>
#include <type_traits>

#include "protocol/errors.hpp"

namespace tpdp {

// Runs a and b concurrently. When the first ends (returning or throwing),
// the other is cancelled and awaited; the first one's outcome is returned.
inline asio::awaitable<void> first_of(asio::awaitable<void> a, asio::awaitable<void> b) {
  auto ex = co_await asio::this_coro::executor;
  auto [order, ea, eb] = co_await asio::experimental::make_parallel_group(
                             asio::co_spawn(ex, std::move(a), asio::experimental::deferred),
                             asio::co_spawn(ex, std::move(b), asio::experimental::deferred))
                             .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  std::exception_ptr first = order[0] == 0 ? ea : eb;
  if (first) std::rethrow_exception(first);
}

namespace detail {
template <class T>
asio::awaitable<void> store_result(asio::awaitable<T> op, std::optional<T>& out) {
  out.emplace(co_await std::move(op));
}
inline asio::awaitable<void> mark_done(asio::awaitable<void> op, bool& done) {
  co_await std::move(op);
  done = true;
}
// Throws Errc::timeout when the timer expires. Cancelled, it returns
// quietly: usually the operation finished first, and an exception for every
// deadline met costs microseconds on every step of every circuit.
inline asio::awaitable<void> expire(asio::steady_timer& timer) {
  auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (!ec) throw std::system_error(make_error_code(Errc::timeout));
}
}  // namespace detail

// Runs op; if it has not finished after d, cancels it and throws
// std::system_error(Errc::timeout). Errors from op propagate at once; if
// the whole race is cancelled, throws asio::error::operation_aborted.
template <class T>
asio::awaitable<T> with_deadline(asio::awaitable<T> op, std::chrono::steady_clock::duration d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, d);
  if constexpr (std::is_void_v<T>) {
    bool done = false;
    co_await first_of(detail::mark_done(std::move(op), done), detail::expire(timer));
    if (!done) throw std::system_error(asio::error::operation_aborted);
  } else {
    std::optional<T> result;
    co_await first_of(detail::store_result(std::move(op), result), detail::expire(timer));
    if (!result) throw std::system_error(asio::error::operation_aborted);
    co_return std::move(*result);
  }
}

}  // namespace tpdp
