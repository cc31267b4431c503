// market/replay_feed on tests/data: bars released on the simulated clock, period and label,
// per-file errors, and a scheduled replay through the sim broker that is the same on every run.
#define BOOST_TEST_MODULE replay_feed
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/calendar.hpp"
#include "market/replay_feed.hpp"
#include "market/sim_broker.hpp"
#include "market/symbols.hpp"

using namespace tb;
using namespace tb::market;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string data_dir = TRADEBOT_TEST_DATA;
std::string data(const std::string& rel) { return data_dir + "/" + rel; }

replay_source source(const std::string& symbol, const std::string& path) {
  replay_source s;
  s.symbol = symbol;
  s.path = path;
  return s;
}

core::time_point utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return core::from_unix_seconds(core::days_from_civil({y, mo, d}) * 86400 + h * 3600 + mi * 60);
}

std::shared_ptr<replay_feed> make(const replay_config& cfg, std::shared_ptr<core::sim_clock> clock) {
  auto f = replay_feed::create(cfg, clock);
  BOOST_REQUIRE_MESSAGE(f.has_value(), (f ? "" : f.error().message));
  return *f;
}

std::size_t visible(feed& f, const std::string& sym, core::time_point until) {
  bar_query q;
  q.symbol = sym;
  q.until = until;
  auto r = f.bars(q);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
  return r->bars.size();
}

// A scratch folder for files the test writes, removed at the end.
struct scratch {
  fs::path dir;
  scratch() {
    dir = fs::temp_directory_path() / ("tb_replay_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(daily_bars_are_released_one_by_one_on_the_clock) {
  auto clock = std::make_shared<core::sim_clock>(utc(2023, 9, 14));
  replay_config cfg;
  cfg.sources = {source("", data("daily/ARM.csv"))};
  auto f = make(cfg, clock);
  BOOST_TEST(f->symbols() == std::vector<std::string>{"ARM"});
  const auto t = f->timing("ARM").value();
  BOOST_TEST((t.period == std::chrono::hours(24)));  // inferred: smallest gap
  const auto all = f->all_bars("ARM").value().bars;
  BOOST_REQUIRE(all.size() > 600u);
  BOOST_TEST(all.front().time_s == core::to_unix_seconds(utc(2023, 9, 14)));

  // First bar (Thu 2023-09-14) closes at Fri 00:00.
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 0u);
  BOOST_REQUIRE(clock->advance_to(utc(2023, 9, 15) - 1ns));
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 0u);
  BOOST_REQUIRE(clock->advance(1ns));
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 1u);
  // Asking for later than now reveals nothing more.
  BOOST_TEST(visible(*f, "ARM", utc(2026, 1, 1)) == 1u);
  // Friday's bar at Sat 00:00; nothing new over the weekend; Monday's at Tue 00:00.
  BOOST_REQUIRE(clock->advance_to(utc(2023, 9, 16)));
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 2u);
  BOOST_REQUIRE(clock->advance_to(utc(2023, 9, 18, 23)));
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 2u);
  BOOST_REQUIRE(clock->advance_to(utc(2023, 9, 19)));
  BOOST_TEST(visible(*f, "ARM", clock->now()) == 3u);

  // Stepping a day at a time releases exactly the file's bars, in order.
  std::size_t seen = 3;
  for (int d = 0; d < 120; ++d) {
    BOOST_REQUIRE(clock->advance(24h));
    bar_query q;
    q.symbol = "ARM";
    q.until = clock->now();
    q.closed_after = clock->now() - 24h;
    auto fresh = f->bars(q).value().bars;
    BOOST_TEST(fresh.size() <= 1u);
    for (const core::bar& b : fresh) {
      BOOST_TEST(b.time_s == all[seen].time_s);
      BOOST_TEST(b.close == all[seen].close);
      ++seen;
    }
  }
  BOOST_TEST(seen == visible(*f, "ARM", clock->now()));
  BOOST_TEST(seen > 80u);

  // The quote is the last visible close with the equity default spread.
  const auto q = f->latest_quote("ARM").value();
  BOOST_TEST(q.mid() == all[seen - 1].close, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(q.relative_spread() == 0.0005, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(intraday_end_labelled_bars_and_crypto) {
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 6, 18, 11, 14));
  replay_config cfg;
  replay_source x;
  x.symbol = "XSHG600977";
  x.path = data("intraday/XSHG_600977_5min.csv");
  x.label = bar_label::period_end;
  replay_source sui;
  sui.path = data("daily/SUIUSD.csv");
  cfg.sources = {x, sui};
  auto f = make(cfg, clock);
  const auto t = f->timing("XSHG600977").value();
  BOOST_TEST((t.period == 5min));
  // The first bar, written 2024-06-18 11:15 (naive: taken as written), is visible at 11:15.
  BOOST_TEST(visible(*f, "XSHG600977", clock->now()) == 0u);
  BOOST_REQUIRE(clock->advance_to(utc(2024, 6, 18, 11, 15)));
  BOOST_TEST(visible(*f, "XSHG600977", clock->now()) == 1u);
  // 11:30 is the last morning bar; 13:05 the first of the afternoon.
  BOOST_REQUIRE(clock->advance_to(utc(2024, 6, 18, 13, 4)));
  BOOST_TEST(visible(*f, "XSHG600977", clock->now()) == 4u);
  BOOST_REQUIRE(clock->advance_to(utc(2024, 6, 18, 13, 5)));
  BOOST_TEST(visible(*f, "XSHG600977", clock->now()) == 5u);

  BOOST_TEST(is_crypto("SUIUSD"));
  BOOST_TEST((f->timing("SUIUSD").value().period == std::chrono::hours(24)));
  // SUIUSD trades every day: 2024-01-01 .. 2024-06-17 are visible on 06-18 11:xx.
  BOOST_TEST(visible(*f, "SUIUSD", clock->now()) == 169u);
  BOOST_TEST(f->latest_quote("SUIUSD").value().relative_spread() == 0.001, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(a_corrupt_or_missing_file_fails_only_its_symbol) {
  scratch s;
  const std::string bad = s.write("BAD.csv",
                                  "Date,open,high,low,close,volume\n"
                                  "2024-01-02,10,11,9,10.5,100\n"
                                  "2024-01-03,10,9,11,10.5,100\n");  // high < low
  const std::string negative = s.write("NEG.csv",
                                       "Date,open,high,low,close,volume\n"
                                       "2024-01-02,10,11,9,10.5,100\n"
                                       "2024-01-03,10,11,9,-10.5,100\n");
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 6, 1));
  replay_config cfg;
  cfg.sources = {source("", data("daily/JD.csv")), source("", bad), source("", negative),
                 source("GONE", s.dir.string() + "/missing.csv")};
  auto f = make(cfg, clock);
  BOOST_TEST(f->symbols().size() == 4u);
  BOOST_TEST(visible(*f, "JD", clock->now()) > 1000u);
  bar_query q;
  q.symbol = "BAD";
  q.until = clock->now();
  auto e = f->bars(q);
  BOOST_REQUIRE(!e.has_value());
  BOOST_TEST((e.error().code == errc::bad_data));
  BOOST_TEST(e.error().message.find("BAD.csv:3") != std::string::npos, e.error().message);
  BOOST_TEST(!f->timing("BAD").has_value());
  BOOST_TEST(!f->latest_quote("BAD").has_value());
  q.symbol = "NEG";  // a negative price names its file and line like any bad row
  auto n = f->bars(q);
  BOOST_REQUIRE(!n.has_value());
  BOOST_TEST(n.error().message.find("NEG.csv:3: close -10.5 is not a positive price") != std::string::npos,
             n.error().message);
  q.symbol = "GONE";
  auto g = f->bars(q);
  BOOST_REQUIRE(!g.has_value());
  BOOST_TEST((g.error().code == errc::io));
  q.symbol = "NOPE";
  BOOST_TEST((f->bars(q).error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(config_errors) {
  auto clock = std::make_shared<core::sim_clock>(utc(2024, 6, 1));
  BOOST_TEST(!replay_feed::create(replay_config{}, clock).has_value());
  replay_config dup;
  dup.sources = {source("", data("daily/JD.csv")), source("JD", data("daily/NIO.csv"))};
  auto e = replay_feed::create(dup, clock);
  BOOST_REQUIRE(!e.has_value());
  BOOST_TEST((e.error().code == errc::bad_config));
  replay_config neg;
  replay_source src = source("", data("daily/JD.csv"));
  src.period = -1s;
  neg.sources = {src};
  BOOST_TEST(!replay_feed::create(neg, clock).has_value());
}

// Months of daily bars, driven by the analysis schedule on simulated time: at each open pass a
// trivial rule (buy 10 at the last close when the last bar rose and flat, sell at the last close
// when it fell and long) sends limit orders; the broker fills them against later bars. Two runs
// give the same orders and fills.
BOOST_AUTO_TEST_CASE(scheduled_replay_through_the_broker_is_the_same_on_every_run) {
  const std::vector<std::string> names = {"JD", "NIO", "PDD", "XPO", "SUIUSD"};
  auto run = [&](std::vector<fill>& fills, std::vector<order>& orders, double& equity) {
    auto clock = std::make_shared<core::sim_clock>(utc(2024, 2, 1));
    replay_config cfg;
    for (const std::string& n : names) cfg.sources.push_back(source(n, data("daily/" + n + ".csv")));
    auto f = make(cfg, clock);
    sim_broker b(sim_broker_config{}, clock, f);
    const core::schedule_config sched;
    int n_events = 0;
    while (clock->now() < utc(2024, 6, 1)) {
      auto ev = core::next_scheduled_event(sched, clock->now());
      BOOST_REQUIRE_MESSAGE(ev.has_value(), (ev ? "" : ev.error().message));
      BOOST_REQUIRE(clock->advance_to(ev->at));
      if (!ev->has(core::event_kind::open_pass)) continue;
      ++n_events;
      for (const std::string& sym : names) {
        bar_query q;
        q.symbol = sym;
        q.until = clock->now();
        q.max_bars = 2;
        auto bars = f->bars(q).value().bars;
        if (bars.size() < 2) continue;
        double held = 0;
        const std::vector<position> positions = b.positions().value();
        for (const position& p : positions)
          if (p.symbol == sym) held = p.qty;
        const std::string id = sym + "-" + std::to_string(bars.back().time_s);
        const double qty = is_crypto(sym) ? 1000.0 : 10.0;
        if (bars[1].close > bars[0].close && held == 0)
          b.submit_limit_order({id + "-buy", sym, side::buy, qty, bars[1].close, time_in_force::gtc});
        else if (bars[1].close < bars[0].close && held > 0)
          b.submit_limit_order({id + "-sell", sym, side::sell, held, bars[1].close, time_in_force::gtc});
      }
    }
    BOOST_TEST(n_events > 70);  // Feb-May 2024 trading days
    equity = b.account().value().equity;
    fills = b.fills();
    orders = b.all_orders();
  };
  std::vector<fill> f1, f2;
  std::vector<order> o1, o2;
  double e1 = 0, e2 = 0;
  run(f1, o1, e1);
  run(f2, o2, e2);
  BOOST_TEST(o1.size() > 20u);
  BOOST_TEST(f1.size() > 10u);
  BOOST_REQUIRE(o1.size() == o2.size());
  BOOST_REQUIRE(f1.size() == f2.size());
  for (std::size_t i = 0; i < o1.size(); ++i) {
    BOOST_TEST(o1[i].client_order_id == o2[i].client_order_id);
    BOOST_TEST((o1[i].status == o2[i].status));
  }
  for (std::size_t i = 0; i < f1.size(); ++i) {
    BOOST_TEST(f1[i].client_order_id == f2[i].client_order_id);
    BOOST_TEST(f1[i].price == f2[i].price);
    BOOST_TEST(f1[i].fee == f2[i].fee);
    BOOST_TEST((f1[i].at == f2[i].at));
    // Every fill came from a bar that closed after its order was placed.
    const order& o =
        *std::find_if(o1.begin(), o1.end(), [&](const order& x) { return x.client_order_id == f1[i].client_order_id; });
    BOOST_TEST((f1[i].at > o.submitted_at));
  }
  BOOST_TEST(e1 == e2);
}
