#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "core/config.hpp"

namespace fs = std::filesystem;
using tb::core::load_config;
using tb::core::value_source;

namespace {

struct temp_file {
  fs::path path;
  explicit temp_file(const std::string& text) {
    static int n = 0;
    path = fs::temp_directory_path() / ("tb_config_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".toml");
    std::ofstream(path) << text;
  }
  ~temp_file() { fs::remove(path); }
};

tb::core::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const tb::core::env_lookup no_env = env_of({});

std::string error_of(const std::string& text, std::map<std::string, std::string> env = {}) {
  temp_file f(text);
  auto r = load_config(f.path.string(), env_of(env));
  BOOST_REQUIRE_MESSAGE(!r, "expected an error for:\n" << text);
  BOOST_TEST(r.error().code == tb::errc::bad_config);
  // Every message names the file, except pure-environment problems.
  return r.error().message;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_without_file) {
  auto r = load_config("", no_env);
  BOOST_REQUIRE(r);
  const auto& c = **r;
  BOOST_TEST(c.http_port == 8787);
  BOOST_TEST(c.http_address == "127.0.0.1");
  BOOST_TEST(c.paper);
  BOOST_TEST(c.cache_ttl_s == 300);
  BOOST_TEST(c.cache_max_size_mb == 1000);
  BOOST_TEST(c.cache_decimals == 8);
  BOOST_TEST(c.sample_count == 192);
  BOOST_TEST(c.top_k == 20);
  BOOST_TEST(c.sources.at("http.port") == value_source::default_value);
}

BOOST_AUTO_TEST_CASE(file_values_and_sources) {
  temp_file f("[http]\nport = 9000\naddress = \"0.0.0.0\"\n[forecast]\ntemperature = 1\n"
              "[trading]\nsymbols = [\"aapl\", \" btcusd \"]\n[daemon]\nlog_level = \"DEBUG\"\n");
  auto r = load_config(f.path.string(), no_env);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.http_port == 9000);
  BOOST_TEST(c.http_address == "0.0.0.0");
  BOOST_TEST(c.temperature == 1.0);  // an integer is accepted where a real is expected
  BOOST_TEST(c.log_level == "debug");  // choices are normalised to lower case
  BOOST_TEST((c.symbols == std::vector<std::string>{"AAPL", "BTCUSD"}));  // symbols upper-cased, trimmed
  BOOST_TEST(c.sources.at("http.port") == value_source::file);
  BOOST_TEST(c.sources.at("cache.ttl_s") == value_source::default_value);
  auto d = tb::core::describe(c);
  BOOST_TEST(d["http.port"]["value"] == 9000);
  BOOST_TEST(d["http.port"]["source"] == "file");
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_file) {
  temp_file f("[cache]\nttl_s = 60\nenabled = true\n[trading]\nsymbols = [\"AAPL\", \"MSFT\", \"BTCUSD\"]\n");
  auto r = load_config(f.path.string(),
                       env_of({{"KRONOS_PREDICTION_CACHE_TTL", "120"},
                               {"KRONOS_PREDICTION_CACHE_ENABLED", "0"},
                               {"KRONOS_PREDICTION_CACHE_MAX_SIZE_MB", "50"},
                               {"KRONOS_CACHE_DECIMALS", "4"},
                               {"KRONOS_COMPILE", "1"},
                               {"KRONOS_COMPILE_MODE", "max-autotune"},
                               {"KRONOS_DTYPE", "BFloat16"},
                               {"TRADABLE_PAIRS", "btcusd, AAPL"}}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.cache_ttl_s == 120);
  BOOST_TEST(!c.cache_enabled);
  BOOST_TEST(c.cache_max_size_mb == 50);
  BOOST_TEST(c.cache_decimals == 4);
  BOOST_TEST(c.compile);
  BOOST_TEST(c.compile_mode == "max-autotune");
  BOOST_TEST(c.dtype == "bfloat16");
  BOOST_TEST(c.sources.at("cache.ttl_s") == value_source::env);
  // TRADABLE_PAIRS filters, keeping the file's order.
  BOOST_TEST((c.active_symbols() == std::vector<std::string>{"AAPL", "BTCUSD"}));
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_errors_with_line_and_suggestion) {
  auto msg = error_of("[http]\nport = 8787\nprot = 1\n");
  BOOST_TEST(contains(msg, ":3: unknown key 'http.prot'"), msg);
  BOOST_TEST(contains(msg, "did you mean 'http.port'"), msg);

  msg = error_of("[nonsense]\nfoo = 1\n");
  BOOST_TEST(contains(msg, ":2: unknown key 'nonsense.foo'; there is no section [nonsense]"), msg);

  msg = error_of("port = 1\n");
  BOOST_TEST(contains(msg, ":1: key 'port' outside a section"), msg);
}

BOOST_AUTO_TEST_CASE(wrong_types_and_ranges_name_what_is_allowed) {
  auto msg = error_of("[http]\nport = 70000\n");
  BOOST_TEST(contains(msg, ":2: key 'http.port': 70000 is out of range; expected an integer in [0, 65535]"), msg);

  msg = error_of("[http]\n\nport = \"80\"\n");
  BOOST_TEST(contains(msg, ":3: key 'http.port': expected an integer in [0, 65535]"), msg);

  msg = error_of("[cache]\nenabled = 1\n");
  BOOST_TEST(contains(msg, "key 'cache.enabled': expected true or false"), msg);

  msg = error_of("[forecast]\ntop_p = 1.5\n");
  BOOST_TEST(contains(msg, "key 'forecast.top_p': 1.5 is out of range"), msg);

  msg = error_of("[forecast]\ntemperature = nan\n");
  BOOST_TEST(contains(msg, "key 'forecast.temperature'"), msg);

  msg = error_of("[model]\ndtype = \"float64\"\n");
  BOOST_TEST(contains(msg, "\"float64\" is not allowed; expected one of \"float32\" \"bfloat16\" \"float16\""), msg);

  msg = error_of("[trading]\nsymbols = [\"AAPL\", 3]\n");
  BOOST_TEST(contains(msg, "key 'trading.symbols': expected a list of at most 500 strings"), msg);

  msg = error_of("[trading]\nsymbols = [\"AAPL\", \"aapl\"]\n");
  BOOST_TEST(contains(msg, "\"AAPL\" is listed twice"), msg);

  msg = error_of("[trading]\nsymbols = [\"A;B\"]\n");
  BOOST_TEST(contains(msg, "is not a symbol"), msg);
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_not_only_the_first) {
  auto msg = error_of("[http]\nport = -1\nbogus = 2\n[forecast]\ntop_k = -5\n");
  BOOST_TEST(contains(msg, ":2: key 'http.port'"), msg);
  BOOST_TEST(contains(msg, ":3: unknown key 'http.bogus'"), msg);
  BOOST_TEST(contains(msg, ":5: key 'forecast.top_k'"), msg);
}

BOOST_AUTO_TEST_CASE(syntax_errors_give_line_and_column) {
  temp_file f("[http]\nport = = 3\n");
  auto r = load_config(f.path.string(), no_env);
  BOOST_REQUIRE(!r);
  BOOST_TEST(contains(r.error().message, f.path.string() + ":2:"), r.error().message);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error) {
  auto r = load_config("/nonexistent/tradebotd.toml", no_env);
  BOOST_REQUIRE(!r);
  BOOST_TEST(contains(r.error().message, "/nonexistent/tradebotd.toml"), r.error().message);
}

BOOST_AUTO_TEST_CASE(bad_environment_values_name_the_variable) {
  auto msg = error_of("", {{"KRONOS_PREDICTION_CACHE_TTL", "5 minutes"}});
  BOOST_TEST(contains(msg, "environment KRONOS_PREDICTION_CACHE_TTL=\"5 minutes\" (key 'cache.ttl_s')"), msg);
  msg = error_of("", {{"PAPER", "maybe"}});
  BOOST_TEST(contains(msg, "environment PAPER=\"maybe\""), msg);
  msg = error_of("", {{"KRONOS_DTYPE", "int8"}});
  BOOST_TEST(contains(msg, "KRONOS_DTYPE"), msg);
}

BOOST_AUTO_TEST_CASE(live_trading_needs_both_paper_0_and_live_true) {
  auto msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"PAPER", "0"}});
  BOOST_TEST(contains(msg, "needs `live = true`"), msg);
  BOOST_TEST(contains(msg, "refusing to start"), msg);

  temp_file f("[trading]\nlive = true\n");
  auto r = load_config(f.path.string(), env_of({{"PAPER", "0"}}));
  BOOST_REQUIRE(r);
  BOOST_TEST(!(*r)->paper);
  // live = true alone keeps paper trading: both must be said.
  auto r2 = load_config(f.path.string(), no_env);
  BOOST_REQUIRE(r2);
  BOOST_TEST((*r2)->paper);
}

BOOST_AUTO_TEST_CASE(tradable_pairs_must_name_known_symbols) {
  auto msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"TRADABLE_PAIRS", "AAPL,ETHUSD"}});
  BOOST_TEST(contains(msg, "'ETHUSD', which is not in trading.symbols"), msg);
}

BOOST_AUTO_TEST_CASE(cross_key_rules) {
  auto msg = error_of("[forecast]\npred_len = 300\nmax_context = 256\n");
  BOOST_TEST(contains(msg, "forecast.pred_len (300) must be <= forecast.max_context (256)"), msg);
}

BOOST_AUTO_TEST_CASE(an_empty_file_or_a_directory_is_refused_and_a_commented_file_is_not) {
  for (const std::string text : {"", " \n\n\t\n"}) {
    auto msg = error_of(text);
    BOOST_TEST(contains(msg, ": the file is empty; refusing it"), msg);
  }
  const fs::path dir = fs::temp_directory_path() / ("tb_config_dir_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto r = load_config(dir.string(), no_env);
  fs::remove(dir);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == tb::errc::bad_config);
  BOOST_TEST(contains(r.error().message, dir.string() + ": is a directory, not a config file"), r.error().message);
  // Comments and empty sections (the generated example as shipped) are a deliberate file.
  temp_file commented("# every key at its default\n[daemon]\n# log_level = \"info\"\n");
  BOOST_TEST(static_cast<bool>(load_config(commented.path.string(), no_env)));
}

BOOST_AUTO_TEST_CASE(what_the_start_would_refuse_is_refused_by_validation) {
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {"[market]\nsim_start = \"2025-02-30\"\n", {"market.sim_start = \"2025-02-30\" is not a real date"}},
      {"[market]\nsim_end = \"2025-13-01\"\nsynthetic_start = \"yesterday\"\n",
       {"market.sim_end = \"2025-13-01\"", "market.synthetic_start = \"yesterday\" is not YYYY-MM-DD"}},
      {"[market]\nsim_start = \"2025-06-02\"\nsim_end = \"2025-06-01T23:59:59Z\"\n",
       {"market.sim_end (2025-06-01T23:59:59Z) must be after market.sim_start (2025-06-02)"}},
      {"[market]\nsynthetic_period_min = 7\n", {"market.synthetic_period_min (7) must be 1440 (daily) or divide 30"}},
      {"[market]\nsynthetic_equities = 0\nsynthetic_crypto = 0\n", {"the synthetic feed has no symbol"}},
      {"[market]\nsynthetic_equities = 999\nsynthetic_crypto = 1\n", {"(1000) must be <= 999"}},
      {"[http]\naddress = \"localhost\"\n", {"http.address \"localhost\" is not an IPv4 or IPv6 address literal"}},
      {"[market]\nfeed = \"replay\"\nreplay_dir = \"/nonexistent/bars\"\n",
       {"market.replay_dir /nonexistent/bars is not a directory"}},
      {"[alpaca]\ndata_url = \"data.alpaca.markets\"\ntrading_url = \"http://127.0.0.1:9\"\n",
       {"alpaca.data_url: URL 'data.alpaca.markets': expected scheme://host[:port]",
        "alpaca.trading_url (http://127.0.0.1:9) must be https://"}},
      {"[alpaca]\ntrading_url = \"https://API.alpaca.markets\"\n",
       {"is the live endpoint but live trading is not enabled"}},
      {"[broker]\nkind = \"alpaca\"\n[alpaca]\nca_file = \"/nonexistent/ca.pem\"\n",
       {"alpaca.ca_file /nonexistent/ca.pem cannot be read"}},
  };
  for (const auto& [text, words] : cases) {
    const auto msg = error_of(text);
    for (const auto& w : words) BOOST_TEST(contains(msg, w), msg);
  }
  // The same values are fine where they are valid.
  temp_file ok("[market]\nsim_start = \"2024-02-29\"\nsim_end = \"2024-03-01T00:00:00Z\"\nsynthetic_period_min = 15\n"
               "[http]\naddress = \"::1\"\n[alpaca]\ntrading_url = \"https://paper-api.alpaca.markets\"\n");
  auto r = load_config(ok.path.string(), no_env);
  BOOST_TEST(static_cast<bool>(r), (r ? "" : r.error().message));
}

BOOST_AUTO_TEST_CASE(huge_values_are_echoed_shortened) {
  const std::string huge(10 << 20, 'x');
  auto msg = error_of("[daemon]\nlog_level = \"" + huge + "\"\n");
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(contains(msg, "key 'daemon.log_level': \"" + std::string(80, 'x') + "... (10485760 bytes)\" is not allowed"),
             msg.substr(0, 400));
  msg = error_of("[trading]\nsymbols = [\"" + huge + "\"]\n");
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(contains(msg, "... (10485760 bytes)\" is not a symbol"), msg.substr(0, 400));
  msg = error_of("[daemon]\n" + huge + " = 1\n");  // an unknown key that long: no suggestion search
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(contains(msg, "unknown key 'daemon." + std::string(73, 'x') + "... (10485767 bytes)'"), msg.substr(0, 400));
  temp_file f("[daemon]\nlog_level = \"info\"\n");
  auto r = load_config(f.path.string(), env_of({{"KRONOS_DTYPE", huge}}));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message.size() < 1000u, r.error().message.size());
  BOOST_TEST(contains(r.error().message, "environment KRONOS_DTYPE=\"" + std::string(80, 'x') + "... (10485760 bytes)\""),
             r.error().message.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(the_universe_is_bounded) {
  const auto list = [](int n) {
    std::string s = "[trading]\nsymbols = [";
    for (int i = 0; i < n; ++i) s += (i ? ", \"S" : "\"S") + std::to_string(i) + "\"";
    return s + "]\n";
  };
  temp_file ok(list(500));
  auto r = load_config(ok.path.string(), no_env);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  BOOST_TEST((*r)->symbols.size() == 500u);
  auto msg = error_of(list(501));
  BOOST_TEST(contains(msg, "key 'trading.symbols': 501 entries; expected a list of at most 500 strings"), msg);
  std::string pairs;
  for (int i = 0; i < 501; ++i) pairs += "P" + std::to_string(i) + ",";
  msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"TRADABLE_PAIRS", pairs}});
  BOOST_TEST(contains(msg, "TRADABLE_PAIRS"), msg.substr(0, 400));
  BOOST_TEST(contains(msg, "501 entries"), msg.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(example_file_documents_every_key_and_is_in_sync) {
  const std::string example = tb::core::example_toml();
  auto defaults = tb::core::describe(**load_config("", no_env));
  for (const auto& [name, entry] : defaults.items()) {
    const auto key = name.substr(name.find('.') + 1);
    BOOST_TEST(contains(example, "# " + key + " = "), "example lacks " << name);
  }
  // Uncommenting every key yields the defaults again.
  std::string uncommented;
  std::istringstream in(example);
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, std::regex("^# [a-z_]+ = "))) line = line.substr(2);
    uncommented += line + "\n";
  }
  temp_file f(uncommented);
  auto r = load_config(f.path.string(), no_env);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  auto loaded = tb::core::describe(**r);
  for (const auto& [name, entry] : defaults.items()) {
    BOOST_TEST(loaded[name]["value"] == entry["value"], name);
    BOOST_TEST(loaded[name]["source"] == "file", name);
  }
  // The shipped example is the generated one.
  std::ifstream shipped(std::string(TRADEBOT_SOURCE_DIR) + "/config/tradebotd.toml");
  std::stringstream ss;
  ss << shipped.rdbuf();
  BOOST_TEST(ss.str() == example, "config/tradebotd.toml is stale: regenerate with `tradebotd --print-config`");
}

BOOST_AUTO_TEST_CASE(restart_only_keys_are_named_on_reload) {
  temp_file a("[http]\nport = 9000\n[daemon]\nlog_level = \"info\"\n");
  temp_file b("[http]\nport = 9001\n[daemon]\nlog_level = \"debug\"\n");
  auto ra = load_config(a.path.string(), no_env);
  auto rb = load_config(b.path.string(), no_env);
  BOOST_REQUIRE(ra && rb);
  auto keys = tb::core::restart_required(**ra, **rb);
  BOOST_TEST((keys == std::vector<std::string>{"http.port"}));  // log_level is reloadable
  BOOST_TEST(tb::core::restart_required(**ra, **ra).empty());
}

// --- the cache keys (issue 4) ---------------------------------------------------------------
BOOST_AUTO_TEST_CASE(cache_redis_keys_from_file_and_environment_password_masked) {
  temp_file f("[cache]\nredis_enabled = true\nredis_host = \"10.0.0.7\"\nredis_port = 6380\nredis_db = 3\n"
              "redis_password = \"hunter2\"\nmemory_max_mb = 64\nwrite_queue_max = 500\n");
  auto r = load_config(f.path.string(), env_of({{"KRONOS_REDIS_KEY_PREFIX", "fleet:a:"}, {"KRONOS_REDIS_PORT", "6390"}}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.cache_redis_enabled);
  BOOST_TEST(c.cache_redis_host == "10.0.0.7");
  BOOST_TEST(c.cache_redis_port == 6390);  // the environment wins over the file
  BOOST_TEST(c.cache_redis_db == 3);
  BOOST_TEST(c.cache_redis_key_prefix == "fleet:a:");
  BOOST_TEST(c.cache_memory_max_mb == 64);
  BOOST_TEST(c.cache_write_queue_max == 500);
  auto described = tb::core::describe(c);
  BOOST_TEST(described["cache.redis_password"]["value"] == "***");
  BOOST_TEST(described["cache.redis_password"]["source"] == "file");
  BOOST_TEST(described.dump().find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(cache_key_bounds_and_cross_rules) {
  auto msg = error_of("[cache]\nredis_port = 0\n");
  BOOST_TEST(contains(msg, "key 'cache.redis_port': 0 is out of range; expected an integer in [1, 65535]"), msg);
  msg = error_of("[cache]\nmemory_max_mb = 0\n");
  BOOST_TEST(contains(msg, "key 'cache.memory_max_mb'"), msg);
  msg = error_of("[cache]\nredis_backoff_initial_ms = 5000\nredis_backoff_max_ms = 1000\n");
  BOOST_TEST(contains(msg, "cache.redis_backoff_initial_ms (5000) must be <= cache.redis_backoff_max_ms (1000)"), msg);
  msg = error_of("[cache]\nredis_key_prefix = \"\"\n");
  BOOST_TEST(contains(msg, "cache.redis_key_prefix must not be empty"), msg);
  msg = error_of("[cache]\nredis_enabled = true\nredis_host = \"\"\n");
  BOOST_TEST(contains(msg, "cache.redis_host must not be empty"), msg);
  msg = error_of("", {{"KRONOS_REDIS_ENABLED", "maybe"}});
  BOOST_TEST(contains(msg, "environment KRONOS_REDIS_ENABLED=\"maybe\" (key 'cache.redis_enabled')"), msg);
}

BOOST_AUTO_TEST_CASE(cache_keys_are_read_at_start_only) {
  temp_file a("[cache]\nttl_s = 300\nredis_enabled = false\n");
  temp_file b("[cache]\nttl_s = 60\nredis_enabled = true\n");
  auto ra = load_config(a.path.string(), no_env);
  auto rb = load_config(b.path.string(), no_env);
  BOOST_REQUIRE(ra && rb);
  BOOST_TEST((tb::core::restart_required(**ra, **rb) == std::vector<std::string>{"cache.ttl_s", "cache.redis_enabled"}));
}
