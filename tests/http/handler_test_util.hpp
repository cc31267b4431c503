#pragma once
// Shared by the tests of the pure handler (request_handler_test.cpp, auth_test.cpp): a request
// as a client sends it, and a header of a response.
#include <string>

#include <boost/beast/http.hpp>

#include "http/request_handler.hpp"

namespace tb::http::test {

// `method target HTTP/<version>` with `Host: 127.0.0.1` (version 11 = HTTP/1.1).
inline request make_request(boost::beast::http::verb method, const std::string& target, unsigned version = 11) {
  request req{method, target, version};
  req.set(boost::beast::http::field::host, "127.0.0.1");
  return req;
}

// The value of the header `name` (a beast::http::field or a string), "" when it is absent.
template <class Name>
std::string header(const response& res, const Name& name) {
  auto it = res.find(name);
  return it == res.end() ? "" : std::string(it->value());
}

}  // namespace tb::http::test
