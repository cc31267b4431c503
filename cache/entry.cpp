#include "cache/entry.hpp"

namespace tb::cache {

const char* to_string(window_kind k) { return k == window_kind::live ? "live" : "closed"; }

entry make_entry(const cache_key& key, core::forecast value, window_kind kind, const ttl_policy& policy,
                 std::int64_t now_ms) {
  entry e;
  e.key_id = key.id;
  e.symbol = key.symbol;
  e.value = std::move(value);
  e.created_ms = now_ms;
  e.expires_ms = policy.expiry_ms(kind, now_ms);
  e.kind = kind;
  return e;
}

std::size_t memory_footprint(const entry& e) {
  // The entry itself, its heap blocks (rows, symbol beyond SSO) and the LRU bookkeeping (a list
  // node and a hash-map node with their pointers), rounded generously.
  return sizeof(entry) + e.value.rows.capacity() * sizeof(core::feature_row) +
         (e.symbol.capacity() > 15 ? e.symbol.capacity() + 1 : 0) + 96;
}

}  // namespace tb::cache
