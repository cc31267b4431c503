// The dashboard at / of the real tradebotd on the synthetic demo, in headless Chromium and in
// headless Firefox (driven over WebDriver BiDi), with the same checks for both: after its script
// ran, the DOM holds every symbol, the status from /health, the equity curve drawn as an SVG
// path, the drawdown, the broker's recent orders and the cache hit rate /stats gives; screenshots
// at desktop (1280x900) and phone (390x844) width show the page with its equity line. Firefox,
// which a test can ask questions of, also checks at both widths that no KPI value is broken inside
// a word, and that the page logged no error (a script or style the CSP blocked, an exception).
// Each browser's case is skipped, saying so, when that browser is not installed
// (scripts/setup.sh installs both). TRADEBOT_KEEP_SCREENSHOTS=DIR keeps the PNGs
// (<browser>-dashboard-WxH.png).
#define BOOST_TEST_MODULE dashboard
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/chromium.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/firefox.hpp"
#include "tests/support/png.hpp"

using namespace tb::test;
using nlohmann::json;

namespace {

const std::string daemon_bin = std::string(TRADEBOT_BIN_DIR) + "/tradebotd";
const std::vector<std::string> symbols = {"DEMO01USD", "DEMO02USD", "DEMO03USD"};
const std::vector<std::pair<unsigned, unsigned>> screen_sizes = {{1280, 900}, {390, 844}};

double hit_rate(const json& stats) { return stats["cache"].value("hit_rate_percent", -1.0); }

// The real daemon on the synthetic demo (three crypto symbols, so simulated time never runs out
// of sessions; cycles paced 200 ms apart), once every symbol ran three cycles, the curve has three
// points, the cache has hits and the broker has orders.
struct demo_daemon {
  temp_dir state;
  daemon_process d{daemon_bin,
                   small_trading_config(state.path.string(),
                                        "[market]\nfeed = \"synthetic\"\nsynthetic_equities = 0\nsynthetic_crypto = 3\n"
                                        "clock = \"simulated\"\nsim_cycle_interval_ms = 200\n",
                                        "\"DEMO01USD\", \"DEMO02USD\", \"DEMO03USD\"", "", "enabled = true\n")};
  std::string url;

  demo_daemon() {
    BOOST_REQUIRE_MESSAGE(d.ready(), "no READY=1:\n" << d.proc->output());
    url = "http://127.0.0.1:" + std::to_string(d.port) + "/";
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
  }
};

// The page's DOM after its script ran on /health and /stats; `fresh` and `after` are /stats read
// just before the browser loaded the page and just after the DOM was taken.
void check_dom(const std::string& browser, const std::string& dom, const json& fresh, const json& after) {
  BOOST_TEST_MESSAGE(browser << ": DOM after the scripts ran: " << dom.size() << " bytes");
  // Every symbol in the per-symbol table.
  for (const auto& sym : symbols)
    BOOST_TEST(dom.find("<td class=\"sym\">" + sym + "</td>") != std::string::npos, browser << ": " << sym);
  // The status from /health, not the page's placeholder; no fetch problem shown.
  BOOST_TEST(std::regex_search(dom, std::regex("id=\"status\" class=\"badge (ok|degraded|failing)\"")),
             browser << ": " << dom.substr(0, 2000));
  BOOST_TEST(dom.find("<div id=\"problem\" class=\"\"></div>") != std::string::npos, browser);  // shown and cleared
  // The equity curve: an SVG path through every point the page fetched (at least the 3 seen).
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_search(dom, m, std::regex("<path id=\"equity-path\" d=\"(M[^\"]*)\"")),
                        browser << ": no equity path in the DOM");
  const std::string path = m[1];
  const auto segments = std::count(path.begin(), path.end(), 'L');
  BOOST_TEST(segments >= 2, browser << ": " << path);
  BOOST_TEST(std::regex_search(dom, std::regex("<path id=\"drawdown-path\" d=\"M")), browser);
  BOOST_TEST(dom.find("<svg id=\"equity-chart\"") != std::string::npos, browser);
  // The broker's recent orders: rows naming our symbols.
  const auto orders = dom.find("<table id=\"orders\">");
  BOOST_REQUIRE_MESSAGE(orders != std::string::npos, browser << ": no orders table");
  BOOST_TEST(dom.find("DEMO0", orders) < dom.find("</table>", orders), browser);
  // The cache hit rate, as /stats gave it while the page loaded (between the two reads).
  BOOST_REQUIRE_MESSAGE(std::regex_search(dom, m, std::regex("id=\"cache-hit-rate\">([0-9.]+) %<")),
                        browser << ": no cache hit rate in the DOM");
  const double shown = std::stod(m[1]);
  const double lo = std::min(hit_rate(fresh), hit_rate(after)), hi = std::max(hit_rate(fresh), hit_rate(after));
  BOOST_TEST_MESSAGE(browser << ": hit rate shown " << shown << " %, /stats " << lo << " .. " << hi << " %");
  BOOST_TEST(shown >= lo - 0.1, browser);
  BOOST_TEST(shown <= hi + 0.1, browser);
}

// A screenshot of the rendered page at w x h: a real picture with the equity line drawn. Kept as
// <browser>-dashboard-WxH.png in $TRADEBOT_KEEP_SCREENSHOTS when set.
void check_screenshot(const std::string& browser, const std::string& png, unsigned w, unsigned h) {
  const std::string size = std::to_string(w) + "x" + std::to_string(h), what = browser + " " + size;
  const auto img = decode_png(png);
  BOOST_REQUIRE_MESSAGE(img.error.empty(), what << ": " << img.error);
  BOOST_TEST(img.width == w, what);
  BOOST_TEST(img.height == h, what);
  std::set<std::uint32_t> colours;
  for (std::size_t i = 0; i + 2 < img.rgb.size(); i += 3)
    colours.insert((std::uint32_t(img.rgb[i]) << 16) | (std::uint32_t(img.rgb[i + 1]) << 8) | img.rgb[i + 2]);
  const auto blue = pixels_near(img, 0x1f, 0x5f, 0xbf, 40);  // the equity line and the token button
  BOOST_TEST_MESSAGE("screenshot " << what << ": " << colours.size() << " colours, " << blue << " equity-blue pixels");
  BOOST_TEST(colours.size() > 20u, what);
  BOOST_TEST(blue > 100u, what);
  if (const char* keep = std::getenv("TRADEBOT_KEEP_SCREENSHOTS"); keep && *keep)
    std::ofstream(std::filesystem::path(keep) / (browser + "-dashboard-" + size + ".png"), std::ios::binary) << png;
}

}  // namespace

BOOST_AUTO_TEST_CASE(chromium_shows_the_demo_daemon) {
  using namespace tb::test::chromium;
  const std::string browser = find_chromium();
  if (browser.empty()) {
    BOOST_TEST_MESSAGE("chromium is not installed (scripts/setup.sh installs it): skipping its dashboard check");
    return;
  }
  demo_daemon demo;
  const auto& dir = demo.state.path;
  // --dump-dom after a virtual-time budget: the DOM once the page's fetches answered and rendered.
  const json fresh = demo.d.get("/stats");
  int rc = run_chromium(browser, dir / "profile-dom", "--dump-dom --virtual-time-budget=5000 --window-size=1280,900",
                        demo.url, dir / "dom.html", dir / "dom.log");
  const json after = demo.d.get("/stats");
  BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --dump-dom exited " << rc << ": " << read_file(dir / "dom.log"));
  check_dom("chromium", read_file(dir / "dom.html"), fresh, after);

  for (const auto& [w, h] : screen_sizes) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    const auto png = dir / ("dashboard-" + size + ".png");
    rc = run_chromium(browser, dir / ("profile-" + size),
                      "--screenshot=" + shell_quote(png.string()) + " --virtual-time-budget=5000 --window-size=" +
                          std::to_string(w) + "," + std::to_string(h) + " --hide-scrollbars",
                      demo.url, dir / (size + ".out"), dir / (size + ".log"));
    BOOST_REQUIRE_MESSAGE(rc == 0, "chromium --screenshot exited " << rc << ": " << read_file(dir / (size + ".log")));
    check_screenshot("chromium", read_file(png), w, h);
  }
  BOOST_TEST(demo.d.stop() == 0, demo.d.proc->output());
}

BOOST_AUTO_TEST_CASE(firefox_shows_the_demo_daemon) {
  const std::string binary = firefox::find_firefox();
  if (binary.empty()) {
    BOOST_TEST_MESSAGE(
        "firefox is not installed (scripts/setup.sh installs firefox-esr): skipping its dashboard check");
    return;
  }
  demo_daemon demo;
  firefox::browser ff(binary, demo.state.path / "firefox");
  BOOST_TEST_MESSAGE("firefox " << ff.version());
  const auto log_text = [&ff] {
    std::string text;
    for (const auto& line : ff.log()) text += "\n  " + line;
    return text.empty() ? std::string(" none") : text;
  };
  // Loaded, then polled until the first refresh from /health and /stats rendered (it stamps
  // #updated) or failed (#problem shown).
  ff.set_viewport(1280, 900);
  const json fresh = demo.d.get("/stats");
  ff.navigate(demo.url);
  const bool rendered = ff.wait_until(
      "document.getElementById('updated').textContent !== '' || document.getElementById('problem').className === "
      "'shown'",
      30s);
  const std::string dom = ff.evaluate_string("document.documentElement.outerHTML");
  const json after = demo.d.get("/stats");
  BOOST_REQUIRE_MESSAGE(rendered, "firefox: the dashboard did not render from /stats within 30 s; the page's log:"
                                      << log_text() << "\nDOM: " << dom.substr(0, 3000));
  check_dom("firefox", dom, fresh, after);

  for (const auto& [w, h] : screen_sizes) {
    ff.set_viewport(w, h);
    check_screenshot("firefox", ff.screenshot(), w, h);
    // The layout, which a screenshot's colours do not show: no KPI value (a date, an amount)
    // is broken across lines inside a word.
    const std::string broken = ff.evaluate_string(R"js(
      Array.from(document.querySelectorAll(".kpi .value")).filter((v) => {
        const text = v.firstChild;
        if (!text) return false;
        let at = 0;
        return text.textContent.split(" ").some((word) => {
          const r = document.createRange();
          r.setStart(text, at);
          r.setEnd(text, at + word.length);
          at += word.length + 1;
          return r.getClientRects().length > 1;
        });
      }).map((v) => v.textContent).join(" | "))js");
    BOOST_TEST(broken.empty(), "firefox " << w << "x" << h << ": KPI values broken inside a word: " << broken);
  }
  // Firefox reports what Chromium's --dump-dom cannot: the page logged no error (a script or
  // style the CSP blocked, an exception).
  for (const auto& line : ff.log()) BOOST_TEST(line.rfind("error:", 0) != 0, "firefox: the page logged " << line);
  BOOST_TEST_MESSAGE("firefox: the page's log:" << log_text());
  BOOST_TEST(demo.d.stop() == 0, demo.d.proc->output());
}
