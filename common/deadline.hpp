// Every phase has a deadline: race an operation against a steady_timer
// (Asio 1.22 has no cancel_after). The loser is cancelled.
#pragma once

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <system_error>
#include <type_traits>

#include "protocol/errors.hpp"

namespace tpdp {

// Runs op; if it has not finished after d, cancels it and throws
// std::system_error(Errc::timeout).
template <class T>
asio::awaitable<T> with_deadline(asio::awaitable<T> op, std::chrono::steady_clock::duration d) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
  if (result.index() == 1) throw std::system_error(make_error_code(Errc::timeout));
  if constexpr (!std::is_void_v<T>) co_return std::move(std::get<0>(result));
}

}  // namespace tpdp
