// Not a test program: CTest compiles this file with -fsyntax-only (tests/actors/CMakeLists.txt,
// actors_typed_protocol_test_*). Without a TB_WRONG_* macro every message matches its receiver's
// typed interface (actors/protocol.hpp) and the file compiles; with one, that one message does
// not, and the compiler must refuse it where CAF checks it against the interface.
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/protocol.hpp"

namespace tb::actors {

void talk(caf::scoped_actor& self, const forecaster_actor& forecaster, const broker_actor& broker,
          const portfolio_actor& portfolio) {
#if defined(TB_WRONG_FORECASTER)
  // A feed query is the feed actor's; the forecaster takes a forecast_request.
  self->request(forecaster, caf::infinite, forecast_atom::value, feed_query{});
#else
  self->request(forecaster, caf::infinite, forecast_atom::value, forecast_request{});
#endif
#if defined(TB_WRONG_BROKER)
  // submit_atom takes the batch of intents, not one.
  self->request(broker, caf::infinite, submit_atom::value, order_intent{});
#else
  self->request(broker, caf::infinite, submit_atom::value, std::vector<order_intent>{});
#endif
#if defined(TB_WRONG_PORTFOLIO)
  // A proposal goes to the portfolio, an order outcome never does.
  self->send(portfolio, proposal_atom::value, order_outcome{});
#else
  self->send(portfolio, proposal_atom::value, proposal{});
#endif
}

}  // namespace tb::actors
