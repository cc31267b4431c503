#pragma once
// THE protocol of tradebotd's actors: every atom and message type, in one place.
//
// Message types are plain structs with `inspect` overloads so the same actors can talk across
// processes through CAF's middleman. Types that stay inside one process (config snapshots,
// board pointers) are noted as such.
#include <cstdint>
#include <memory>

#include <caf/all.hpp>

#include "core/config.hpp"

namespace tb::actors {

// --- lifecycle (daemon <-> supervisor <-> every child) ---------------------------------------
// (heartbeat_atom) -> (heartbeat_atom, std::uint64_t beats): proves the actor is scheduled.
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
// (reload_atom, core::config_ptr): a new frozen config snapshot. In-process only.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
// (stop_atom) -> (caf::ok_atom): stop taking work, finish or persist in-flight work, then quit.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

}  // namespace tb::actors

// Config snapshots are shared in-process only; they never cross the middleman.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tb::core::config_ptr)
