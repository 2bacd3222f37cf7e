// Asio and Beast, compiled once for every target that uses them
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION):
// their implementations are heavy, and compiling them in each file would
// make builds on 2 cores slow.
#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without it.

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
