// core/text: trim and to_lower, as the config, CSV, secret and URL readers use them.
#define BOOST_TEST_MODULE text
#include <boost/test/unit_test.hpp>

#include "core/text.hpp"

using tb::core::to_lower;
using tb::core::trim;

BOOST_AUTO_TEST_CASE(trim_strips_every_kind_of_surrounding_whitespace_only) {
  BOOST_TEST(trim("") == "");
  BOOST_TEST(trim(" \t\r\n\v\f") == "");
  BOOST_TEST(trim("  a b\t") == "a b");
  BOOST_TEST(trim("token\n") == "token");  // `echo TOKEN > file`
  BOOST_TEST(trim("\r\nx\r\n") == "x");    // a CRLF CSV line
  BOOST_TEST(trim("x") == "x");
  BOOST_TEST(trim(std::string("\0a\0", 3)) == std::string("\0a\0", 3));  // NUL is not whitespace
}

BOOST_AUTO_TEST_CASE(to_lower_changes_ascii_letters_only) {
  BOOST_TEST(to_lower("HTTPS") == "https");
  BOOST_TEST(to_lower("Client_Order_ID 409") == "client_order_id 409");
  BOOST_TEST(to_lower("\xC3\x89T\xC3\x89") == "\xC3\x89t\xC3\x89");  // UTF-8 bytes kept
  BOOST_TEST(to_lower("") == "");
}
