// The dashboard at / of the real tradebotd on the synthetic demo, in headless Chromium: after its
// script ran, the DOM holds every symbol, the equity curve drawn as an SVG path, the broker's
// recent orders and the cache hit rate /stats gives; screenshots at desktop (1280x900) and phone
// (390x844) width. Skipped, saying so, when chromium is not installed (scripts/setup.sh installs
// it). TRADEBOT_KEEP_SCREENSHOTS=DIR keeps the two PNGs.
#define BOOST_TEST_MODULE dashboard
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/chromium.hpp"
#include "tests/support/daemon_process.hpp"

using namespace tb::test;
using namespace tb::test::chromium;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
const std::vector<std::string> symbols = {"DEMO01USD", "DEMO02USD", "DEMO03USD"};

double hit_rate(const json& stats) { return stats["cache"].value("hit_rate_percent", -1.0); }

}  // namespace

BOOST_AUTO_TEST_CASE(chromium_shows_the_demo_daemon) {
  const std::string browser = find_chromium();
  if (browser.empty()) {
    BOOST_TEST_MESSAGE("chromium is not installed (scripts/setup.sh installs it): skipping the dashboard check");
    return;
  }
  temp_dir state;
  // Crypto only, so simulated time never runs out of sessions; cycles paced 200 ms apart.
  const std::string market =
      "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 0\nsynthetic_crypto = 3\nclock = \"simulated\"\n"
      "sim_cycle_interval_ms = 200\n";
  daemon_process d(daemon_bin,
                   small_trading_config(state.path.string(), market, "\"DEMO01USD\", \"DEMO02USD\", \"DEMO03USD\"",
                                        "", "enabled = true\n"));
  BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
  const auto cycled = [](const json& s) {
    for (const auto& sym : symbols)
      if (!s["symbols"].contains(sym) || s["symbols"][sym].value("cycles", 0) < 3) return false;
    return s["portfolio"].value("equity_curve", json::array()).size() >= 3 && hit_rate(s) > 0 &&
           !s["broker"].value("recent_orders", json::array()).empty();
  };
  const json before = d.stats_until(cycled, 90s);
  BOOST_REQUIRE_MESSAGE(cycled(before), before.dump().substr(0, 3000));
  // What the dashboard reads, published by the portfolio and broker actors.
  const auto& point = before["portfolio"]["equity_curve"][0];
  BOOST_TEST((point.is_array() && point.size() == 2u && point[0].is_number_integer() && point[1].is_number()),
             point.dump());
  for (const char* field : {"client_order_id", "at", "symbol", "side", "qty", "limit_price", "state"})
    BOOST_TEST(before["broker"]["recent_orders"][0].contains(field), field);

  const json fresh = d.get("/stats");
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port) + "/";
  const auto dom_file = state.path / "dom.html";
  int rc = run_chromium(browser, state.path / "profile-dom", "--dump-dom --virtual-time-budget=5000 --window-size=1280,900",
                        url, dom_file, state.path / "dom.log");
  const json after = d.get("/stats");
  BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --dump-dom exited " << rc << ": " << read_file(state.path / "dom.log"));
  const std::string dom = read_file(dom_file);
  BOOST_TEST_MESSAGE("DOM after the scripts ran: " << dom.size() << " bytes");

  // Every symbol in the per-symbol table.
  for (const auto& sym : symbols)
    BOOST_TEST(dom.find("<td class=\"sym\">" + sym + "</td>") != std::string::npos, sym);
  // The status from /health, not the page's placeholder; no fetch problem shown.
  BOOST_TEST(std::regex_search(dom, std::regex("id=\"status\" class=\"badge (ok|degraded|failing)\"")),
             dom.substr(0, 2000));
  BOOST_TEST(dom.find("<div id=\"problem\" class=\"\"></div>") != std::string::npos);  // shown and cleared
  // The equity curve: an SVG path through every point the page fetched (at least the 3 seen).
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_search(dom, m, std::regex("<path id=\"equity-path\" d=\"(M[^\"]*)\"")),
                        "no equity path in the DOM");
  const std::string path = m[1];
  const auto segments = std::count(path.begin(), path.end(), 'L');
  BOOST_TEST(segments >= 2, path);
  BOOST_TEST(std::regex_search(dom, std::regex("<path id=\"drawdown-path\" d=\"M")));
  BOOST_TEST(dom.find("<svg id=\"equity-chart\"") != std::string::npos);
  // The broker's recent orders: rows naming our symbols.
  const auto orders = dom.find("<table id=\"orders\">");
  BOOST_REQUIRE(orders != std::string::npos);
  BOOST_TEST(dom.find("DEMO0", orders) < dom.find("</table>", orders));
  // The cache hit rate, as /stats gave it while the page loaded (between the two reads).
  BOOST_REQUIRE_MESSAGE(std::regex_search(dom, m, std::regex("id=\"cache-hit-rate\">([0-9.]+) %<")),
                        "no cache hit rate in the DOM");
  const double shown = std::stod(m[1]);
  const double lo = std::min(hit_rate(fresh), hit_rate(after)), hi = std::max(hit_rate(fresh), hit_rate(after));
  BOOST_TEST_MESSAGE("hit rate shown " << shown << " %, /stats " << lo << " .. " << hi << " %");
  BOOST_TEST(shown >= lo - 0.1);
  BOOST_TEST(shown <= hi + 0.1);

  // Screenshots at desktop and phone width: real pictures of the page with the equity line drawn.
  const char* keep = std::getenv("TRADEBOT_KEEP_SCREENSHOTS");
  for (const auto& [w, h] : {std::pair<unsigned, unsigned>{1280, 900}, {390, 844}}) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    const auto png = state.path / ("dashboard-" + size + ".png");
    rc = run_chromium(browser, state.path / ("profile-" + size),
                      "--screenshot=" + shell_quote(png.string()) + " --virtual-time-budget=5000 --window-size=" +
                          std::to_string(w) + "," + std::to_string(h) + " --hide-scrollbars",
                      url, state.path / (size + ".out"), state.path / (size + ".log"));
    BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --screenshot exited " << rc << ": " << read_file(state.path / (size + ".log")));
    const auto img = decode_png(read_file(png));
    BOOST_REQUIRE_MESSAGE(img.error.empty(), img.error);
    BOOST_TEST(img.width == w, size);
    BOOST_TEST(img.height == h, size);
    std::set<std::uint32_t> colours;
    for (std::size_t i = 0; i + 2 < img.rgb.size(); i += 3)
      colours.insert((std::uint32_t(img.rgb[i]) << 16) | (std::uint32_t(img.rgb[i + 1]) << 8) | img.rgb[i + 2]);
    const auto blue = pixels_near(img, 0x1f, 0x5f, 0xbf, 40);  // the equity line and the token button
    BOOST_TEST_MESSAGE("screenshot " << size << ": " << colours.size() << " colours, " << blue << " equity-blue pixels");
    BOOST_TEST(colours.size() > 20u, size);
    BOOST_TEST(blue > 100u, size);
    if (keep && *keep) std::filesystem::copy_file(png, std::filesystem::path(keep) / png.filename(),
                                                  std::filesystem::copy_options::overwrite_existing);
  }
  BOOST_TEST(d.stop() == 0, d.proc->output());
}
