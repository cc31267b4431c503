#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "actors/config.hpp"
#include "core/config_grid.hpp"

namespace fs = std::filesystem;
using tb::actors::load_config;
using tb::core::value_source;

namespace {

struct temp_file {
  fs::path path;
  explicit temp_file(const std::string& text) {
    static int n = 0;
    path =
        fs::temp_directory_path() / ("tb_config_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".toml");
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

// `--set` arguments as the tool reads them.
std::vector<tb::core::config_override> sets(std::initializer_list<std::string> texts) {
  std::vector<tb::core::config_override> out;
  for (const auto& t : texts) {
    auto o = tb::core::parse_override(t, "--set " + t);
    BOOST_REQUIRE_MESSAGE(o, (o ? "" : o.error().message));
    out.push_back(*o);
  }
  return out;
}

std::string override_error(const std::string& file_text, std::initializer_list<std::string> texts) {
  temp_file f(file_text);
  auto r = load_config(f.path.string(), no_env, sets(texts));
  BOOST_REQUIRE_MESSAGE(!r, "expected an error");
  BOOST_TEST(r.error().code == tb::errc::bad_config);
  return r.error().message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_without_file) {
  auto r = load_config("", no_env);
  BOOST_REQUIRE(r);
  const auto& c = **r;
  BOOST_TEST(c.http.port == 8787);
  BOOST_TEST(c.http.address == "127.0.0.1");
  BOOST_TEST(c.trading.paper);
  BOOST_TEST(c.cache.ttl_s == 300);
  BOOST_TEST(c.cache.max_size_mb == 1000);
  BOOST_TEST(c.cache.decimals == 8);
  BOOST_TEST(c.inference.sampling.sample_count == 192);
  BOOST_TEST(c.inference.sampling.top_k == 20);
  BOOST_TEST(c.sources.at("http.port") == value_source::default_value);
}

BOOST_AUTO_TEST_CASE(file_values_and_sources) {
  temp_file f(
      "[http]\nport = 9000\naddress = \"0.0.0.0\"\n[forecast]\ntemperature = 1\n"
      "[trading]\nsymbols = [\"aapl\", \" btcusd \"]\n[daemon]\nlog_level = \"DEBUG\"\n");
  auto r = load_config(f.path.string(), no_env);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.http.port == 9000);
  BOOST_TEST(c.http.address == "0.0.0.0");
  BOOST_TEST(c.inference.sampling.temperature == 1.0);  // an integer is accepted where a real is expected
  BOOST_TEST(c.daemon.log_level == "debug");            // choices are normalised to lower case
  BOOST_TEST((c.trading.symbols == std::vector<std::string>{"AAPL", "BTCUSD"}));  // symbols upper-cased, trimmed
  BOOST_TEST(c.sources.at("http.port") == value_source::file);
  BOOST_TEST(c.sources.at("cache.ttl_s") == value_source::default_value);
  auto d = tb::actors::describe(c);
  BOOST_TEST(d["http.port"]["value"] == 9000);
  BOOST_TEST(d["http.port"]["source"] == "file");
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_file) {
  temp_file f("[cache]\nttl_s = 60\nenabled = true\n[trading]\nsymbols = [\"AAPL\", \"MSFT\", \"BTCUSD\"]\n");
  auto r = load_config(f.path.string(), env_of({{"KRONOS_PREDICTION_CACHE_TTL", "120"},
                                                {"KRONOS_PREDICTION_CACHE_ENABLED", "0"},
                                                {"KRONOS_PREDICTION_CACHE_MAX_SIZE_MB", "50"},
                                                {"KRONOS_CACHE_DECIMALS", "4"},
                                                {"KRONOS_COMPILE", "1"},
                                                {"KRONOS_COMPILE_MODE", "max-autotune"},
                                                {"KRONOS_COMPILE_BACKEND", "cudagraphs"},
                                                {"KRONOS_DTYPE", "BFloat16"},
                                                {"TRADABLE_PAIRS", "btcusd, AAPL"}}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.cache.ttl_s == 120);
  BOOST_TEST(!c.cache.enabled);
  BOOST_TEST(c.cache.max_size_mb == 50);
  BOOST_TEST(c.cache.decimals == 4);
  BOOST_TEST(c.inference.compile);
  BOOST_TEST(c.inference.compile_mode == "max-autotune");
  BOOST_TEST(c.inference.compile_backend == "cudagraphs");
  BOOST_TEST(c.inference.device.dtype == "bfloat16");
  BOOST_TEST(c.sources.at("cache.ttl_s") == value_source::env);
  // TRADABLE_PAIRS filters, keeping the file's order.
  BOOST_TEST((c.trading.active_symbols() == std::vector<std::string>{"AAPL", "BTCUSD"}));
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
  // torch.compile's backends the daemon has no meaning for are refused, with the ones it has.
  msg = error_of("", {{"KRONOS_COMPILE_BACKEND", "onnxrt"}});
  BOOST_TEST(contains(msg, "environment KRONOS_COMPILE_BACKEND=\"onnxrt\" (key 'model.compile_backend')"), msg);
  BOOST_TEST(contains(msg, "expected one of \"inductor\" \"cudagraphs\" \"aot_eager\" \"eager\""), msg);
}

BOOST_AUTO_TEST_CASE(live_trading_needs_both_paper_0_and_live_true) {
  auto msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"PAPER", "0"}});
  BOOST_TEST(contains(msg, "needs `live = true`"), msg);
  BOOST_TEST(contains(msg, "refusing to start"), msg);

  temp_file f("[trading]\nlive = true\n");
  auto r = load_config(f.path.string(), env_of({{"PAPER", "0"}}));
  BOOST_REQUIRE(r);
  BOOST_TEST(!(*r)->trading.paper);
  // live = true alone keeps paper trading: both must be said.
  auto r2 = load_config(f.path.string(), no_env);
  BOOST_REQUIRE(r2);
  BOOST_TEST((*r2)->trading.paper);
}

BOOST_AUTO_TEST_CASE(tradable_pairs_must_name_known_symbols) {
  auto msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"TRADABLE_PAIRS", "AAPL,ETHUSD"}});
  BOOST_TEST(contains(msg, "'ETHUSD', which is not in trading.symbols"), msg);
}

BOOST_AUTO_TEST_CASE(cross_key_rules) {
  auto msg = error_of("[forecast]\npred_len = 300\nmax_context = 256\n");
  BOOST_TEST(contains(msg, "forecast.pred_len (300) must be <= forecast.max_context (256)"), msg);
}

BOOST_AUTO_TEST_CASE(simulated_dates_are_checked_when_the_config_is_read) {
  // Outside the NYSE calendar's years, or not a date: refused at load, every one named.
  auto msg = error_of(
      "[market]\nsim_start = \"1979-12-31\"\nsim_end = \"2100-01-01T00:00:00Z\"\n"
      "synthetic_start = \"2024-02-30\"\n");
  BOOST_TEST(
      contains(msg, "market.sim_start = \"1979-12-31\" is outside the years the NYSE calendar covers (1980-2099)"),
      msg);
  BOOST_TEST(contains(msg, "market.sim_end = \"2100-01-01T00:00:00Z\" is outside the years the NYSE calendar covers"),
             msg);
  BOOST_TEST(contains(msg, "market.synthetic_start = \"2024-02-30\" is not a real date"), msg);
  // The edges of the range load.
  temp_file ok("[market]\nsim_start = \"1980-01-02\"\nsim_end = \"2099-12-31T21:00:00Z\"\n");
  auto c = load_config(ok.path.string(), no_env);
  BOOST_TEST(c.has_value(), (c ? "" : c.error().message));
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
      {"[inference]\nremote = [\"127.0.0.1\"]\n", {"key 'inference.remote': '127.0.0.1' is not host:port: no port"}},
      {"[inference]\nremote = [\"tcp://h:1\"]\n", {"'tcp://h:1' is not host:port: no scheme or path allowed"}},
      {"[inference]\nremote = [\":4242\"]\n", {"':4242' is not host:port: empty host"}},
      {"[inference]\nremote = [\"h:70000\"]\n", {"'h:70000' is not host:port: port out of 1..65535"}},
      {"[inference]\nremote = [\"h:1\", \"h:1\"]\n", {"\"h:1\" is listed twice"}},
  };
  for (const auto& [text, words] : cases) {
    const auto msg = error_of(text);
    for (const auto& w : words) BOOST_TEST(contains(msg, w), msg);
  }
  // The same values are fine where they are valid.
  temp_file ok(
      "[market]\nsim_start = \"2024-02-29\"\nsim_end = \"2024-03-01T00:00:00Z\"\nsynthetic_period_min = 15\n"
      "[http]\naddress = \"::1\"\n[alpaca]\ntrading_url = \"https://paper-api.alpaca.markets\"\n"
      "[inference]\nremote = [\"127.0.0.1:4242\", \"localhost:4243\", \"[::1]:4244\"]\n");
  auto r = load_config(ok.path.string(), no_env);
  BOOST_TEST(static_cast<bool>(r), (r ? "" : r.error().message));
}

BOOST_AUTO_TEST_CASE(huge_values_are_echoed_shortened) {
  const std::string huge(10 << 20, 'x');
  auto msg = error_of("[daemon]\nlog_level = \"" + huge + "\"\n");
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(
      contains(msg, "key 'daemon.log_level': \"" + std::string(80, 'x') + "... (10485760 bytes)\" is not allowed"),
      msg.substr(0, 400));
  msg = error_of("[trading]\nsymbols = [\"" + huge + "\"]\n");
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(contains(msg, "... (10485760 bytes)\" is not a symbol"), msg.substr(0, 400));
  msg = error_of("[daemon]\n" + huge + " = 1\n");  // an unknown key that long: no suggestion search
  BOOST_TEST(msg.size() < 1000u, msg.size());
  BOOST_TEST(contains(msg, "unknown key 'daemon." + std::string(73, 'x') + "... (10485767 bytes)'"),
             msg.substr(0, 400));
  temp_file f("[daemon]\nlog_level = \"info\"\n");
  auto r = load_config(f.path.string(), env_of({{"KRONOS_DTYPE", huge}}));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message.size() < 1000u, r.error().message.size());
  BOOST_TEST(
      contains(r.error().message, "environment KRONOS_DTYPE=\"" + std::string(80, 'x') + "... (10485760 bytes)\""),
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
  BOOST_TEST((*r)->trading.symbols.size() == 500u);
  auto msg = error_of(list(501));
  BOOST_TEST(contains(msg, "key 'trading.symbols': 501 entries; expected a list of at most 500 strings"), msg);
  std::string pairs;
  for (int i = 0; i < 501; ++i) pairs += "P" + std::to_string(i) + ",";
  msg = error_of("[trading]\nsymbols = [\"AAPL\"]\n", {{"TRADABLE_PAIRS", pairs}});
  BOOST_TEST(contains(msg, "TRADABLE_PAIRS"), msg.substr(0, 400));
  BOOST_TEST(contains(msg, "501 entries"), msg.substr(0, 400));
}

BOOST_AUTO_TEST_CASE(example_file_documents_every_key_and_is_in_sync) {
  const std::string example = tb::actors::example_toml();
  auto defaults = tb::actors::describe(**load_config("", no_env));
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
  auto loaded = tb::actors::describe(**r);
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
  auto keys = tb::actors::restart_required(**ra, **rb);
  BOOST_TEST((keys == std::vector<std::string>{"http.port"}));  // log_level is reloadable
  BOOST_TEST(tb::actors::restart_required(**ra, **ra).empty());
}

// --- the cache keys ----------------------------------------------------------------------
BOOST_AUTO_TEST_CASE(cache_redis_keys_from_file_and_environment_password_masked) {
  temp_file f(
      "[cache]\nredis_enabled = true\nredis_host = \"10.0.0.7\"\nredis_port = 6380\nredis_db = 3\n"
      "redis_password = \"hunter2\"\nmemory_max_mb = 64\nwrite_queue_max = 500\n");
  auto r =
      load_config(f.path.string(), env_of({{"KRONOS_REDIS_KEY_PREFIX", "fleet:a:"}, {"KRONOS_REDIS_PORT", "6390"}}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.cache.redis_enabled);
  BOOST_TEST(c.cache.redis.host == "10.0.0.7");
  BOOST_TEST(c.cache.redis.port == 6390);  // the environment wins over the file
  BOOST_TEST(c.cache.redis.db == 3);
  BOOST_TEST(c.cache.redis.key_prefix == "fleet:a:");
  BOOST_TEST(c.cache.memory_max_mb == 64);
  BOOST_TEST(c.cache.write_queue_max == 500);
  auto described = tb::actors::describe(c);
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
  BOOST_TEST(
      (tb::actors::restart_required(**ra, **rb) == std::vector<std::string>{"cache.ttl_s", "cache.redis_enabled"}));
}

BOOST_AUTO_TEST_CASE(set_overrides_win_over_file_and_environment_read_as_toml) {
  temp_file f("[portfolio]\nmax_positions = 8\n[cache]\nttl_s = 60\n[trading]\nsymbols = [\"AAPL\"]\n");
  auto r =
      load_config(f.path.string(), env_of({{"KRONOS_PREDICTION_CACHE_TTL", "120"}}),
                  sets({"portfolio.max_positions=5", "cache.ttl_s=30", "strategy.min_sharpe=0.6",
                        "forecast.temperature=1", "risk.crypto_long_only=false", "model.dtype=BFloat16",
                        "daemon.state_dir=/tmp/x=y", "trading.symbols=nvda, AAPL", "market.sim_start=\"2025-01-02\"",
                        "market.sim_end=2025-04-01", "risk.max_order_notional=1e4", "strategy.min_sharpe=0.3"}));
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  const auto& c = **r;
  BOOST_TEST(c.portfolio.max_positions == 5);
  BOOST_TEST(c.cache.ttl_s == 30);           // over the environment too
  BOOST_TEST(c.strategy.min_sharpe == 0.3);  // the later of two wins
  BOOST_TEST(c.inference.sampling.temperature == 1.0);
  BOOST_TEST(!c.risk.crypto_long_only);
  BOOST_TEST(c.inference.device.dtype == "bfloat16");  // choices normalised as from the file
  BOOST_TEST(c.daemon.state_dir == "/tmp/x=y");        // unquoted text for a string; only the first '=' splits
  BOOST_TEST((c.trading.symbols == std::vector<std::string>{"NVDA", "AAPL"}));
  BOOST_TEST(c.market.sim_start == "2025-01-02");
  BOOST_TEST(c.market.sim_end == "2025-04-01");  // a TOML date is no string: the text is
  BOOST_TEST(c.risk.max_order_notional == 1e4);
  BOOST_TEST(c.sources.at("portfolio.max_positions") == value_source::command_line);
  BOOST_TEST(c.sources.at("cache.ttl_s") == value_source::command_line);
  BOOST_TEST(c.sources.at("http.port") == value_source::default_value);
  auto d = tb::actors::describe(c);
  BOOST_TEST(d["portfolio.max_positions"]["value"] == 5);
  BOOST_TEST(d["portfolio.max_positions"]["source"] == "cli");

  // The same through apply_overrides on a loaded config.
  auto again = tb::actors::apply_overrides(c, sets({"portfolio.max_positions=7"}));
  BOOST_REQUIRE(again);
  BOOST_TEST((*again)->portfolio.max_positions == 7);
  BOOST_TEST((*again)->cache.ttl_s == 30);
}

BOOST_AUTO_TEST_CASE(set_errors_name_the_argument_as_the_file_names_its_line) {
  auto msg = override_error("", {"portfolio.max_positions=ten"});
  BOOST_TEST(
      contains(msg,
               "--set portfolio.max_positions=ten: key 'portfolio.max_positions': expected an integer in [1, 1000]"),
      msg);
  msg = override_error("", {"portfolio.max_positions=5.0"});  // TOML: 5.0 is not an integer
  BOOST_TEST(contains(msg, "--set portfolio.max_positions=5.0: key 'portfolio.max_positions': expected an integer"),
             msg);
  msg = override_error("", {"portfolio.max_positions=5000"});
  BOOST_TEST(contains(msg, "--set portfolio.max_positions=5000: key 'portfolio.max_positions': 5000 is out of range"),
             msg);
  msg = override_error("", {"strategy.min_sharpe=.3"});  // not a TOML number
  BOOST_TEST(
      contains(msg, "--set strategy.min_sharpe=.3: key 'strategy.min_sharpe': expected a number in [-10.0, 10.0]"),
      msg);
  msg = override_error("", {"forecast.temperature=nan"});
  BOOST_TEST(contains(msg, "--set forecast.temperature=nan: key 'forecast.temperature': nan is out of range"), msg);
  msg = override_error("", {"risk.crypto_long_only=1"});
  BOOST_TEST(contains(msg, "key 'risk.crypto_long_only': expected true or false"), msg);
  msg = override_error("", {"model.dtype=float64"});
  BOOST_TEST(contains(msg, "--set model.dtype=float64: key 'model.dtype': \"float64\" is not allowed"), msg);
  msg = override_error("", {"strategy.min_sharp=0.3"});
  BOOST_TEST(
      contains(msg,
               "--set strategy.min_sharp=0.3: unknown key 'strategy.min_sharp'; did you mean 'strategy.min_sharpe'?"),
      msg);
  msg = override_error("", {"portfolio.max_positions=1\nhttp.port=1"});  // one value, nothing smuggled
  BOOST_TEST(contains(msg, "key 'portfolio.max_positions': expected an integer"), msg);
  // Every problem, the file's too.
  msg = override_error("[http]\nport = -1\n", {"cache.ttl_s=x", "nope.key=1"});
  BOOST_TEST(contains(msg, ":2: key 'http.port'"), msg);
  BOOST_TEST(contains(msg, "--set cache.ttl_s=x"), msg);
  BOOST_TEST(contains(msg, "--set nope.key=1: unknown key 'nope.key'; there is no section [nope]"), msg);
  // The cross-key rules see the overridden values.
  msg = override_error("[portfolio]\nmin_positions = 4\n", {"portfolio.max_positions=2"});
  BOOST_TEST(contains(msg, "portfolio.min_positions (4) must be <= portfolio.max_positions (2)"), msg);
  temp_file f("[portfolio]\nmax_positions = 2\n[trading]\nsymbols = [\"AAPL\"]\n");  // invalid alone
  BOOST_TEST(!load_config(f.path.string(), no_env));
  BOOST_TEST(load_config(f.path.string(), no_env, sets({"portfolio.min_positions=1"})).has_value());  // made valid

  auto bad = tb::core::parse_override("strategy.min_sharpe", "--set strategy.min_sharpe");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(contains(bad.error().message, "--set strategy.min_sharpe: expected KEY=VALUE"), bad.error().message);
  BOOST_TEST(!tb::core::parse_override("=3", "--set =3"));
}

BOOST_AUTO_TEST_CASE(a_grid_expands_to_every_combination_first_axis_slowest) {
  auto base = load_config("", no_env);
  BOOST_REQUIRE(base);
  auto a = tb::core::parse_grid_axis("strategy.min_sharpe=0,0.3,0.6", "--grid A");
  auto b = tb::core::parse_grid_axis("portfolio.max_positions=5,10", "--grid B");
  auto c = tb::core::parse_grid_axis("trading.symbols=[\"AAPL\",\"NVDA\"],[\"JD\"]", "--grid C");
  BOOST_REQUIRE(a && b && c);
  BOOST_TEST((a->values == std::vector<std::string>{"0", "0.3", "0.6"}));
  BOOST_TEST((c->values == std::vector<std::string>{"[\"AAPL\",\"NVDA\"]", "[\"JD\"]"}));
  auto points = tb::actors::expand_grid(**base, {*a, *b});
  BOOST_REQUIRE_MESSAGE(points, (points ? "" : points.error().message));
  BOOST_REQUIRE_EQUAL(points->size(), 6u);
  const double sharpe[] = {0, 0, 0.3, 0.3, 0.6, 0.6};
  const std::int64_t positions[] = {5, 10, 5, 10, 5, 10};
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST((*points)[i].config->strategy.min_sharpe == sharpe[i]);
    BOOST_TEST((*points)[i].config->portfolio.max_positions == positions[i]);
    BOOST_TEST((*points)[i].config->sources.at("strategy.min_sharpe") == value_source::command_line);
  }
  BOOST_TEST(tb::core::settings_text((*points)[3].settings) == "strategy.min_sharpe=0.3 portfolio.max_positions=10");
  auto lists = tb::actors::expand_grid(**base, {*c});
  BOOST_REQUIRE(lists);
  BOOST_TEST(((*lists)[0].config->trading.symbols == std::vector<std::string>{"AAPL", "NVDA"}));
  BOOST_TEST(((*lists)[1].config->trading.symbols == std::vector<std::string>{"JD"}));
  auto none = tb::actors::expand_grid(**base, {});
  BOOST_REQUIRE(none);
  BOOST_TEST(none->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_bad_grid_names_the_argument_and_the_value) {
  auto base = load_config("", no_env);
  BOOST_REQUIRE(base);
  auto expand_error = [&](std::vector<std::string> texts) {
    std::vector<tb::core::grid_axis> axes;
    for (const auto& t : texts) {
      auto a = tb::core::parse_grid_axis(t, "--grid " + t);
      BOOST_REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
      axes.push_back(*a);
    }
    auto r = tb::actors::expand_grid(**base, axes);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == tb::errc::bad_config);
    return r.error().message;
  };
  auto msg = expand_error({"portfolio.max_positions=5,ten"});
  BOOST_TEST(
      contains(msg,
               "--grid portfolio.max_positions=5,ten (value ten): key 'portfolio.max_positions': expected an integer"),
      msg);
  msg = expand_error({"strategy.min_sharp=0,0.3"});
  BOOST_TEST(contains(msg,
                      "--grid strategy.min_sharp=0,0.3 (value 0): unknown key 'strategy.min_sharp'; did you mean "
                      "'strategy.min_sharpe'?"),
             msg);
  msg = expand_error({"strategy.min_sharpe=0,11"});
  BOOST_TEST(contains(msg, "(value 11): key 'strategy.min_sharpe': 11.0 is out of range"), msg);
  msg = expand_error({"strategy.min_sharpe=0", "strategy.min_sharpe=1"});
  BOOST_TEST(contains(msg, "--grid strategy.min_sharpe=1: key 'strategy.min_sharpe' is in another --grid too"), msg);
  // A combination breaking a cross-key rule is named by its settings (min_positions is 4).
  msg = expand_error({"portfolio.max_positions=2,10"});
  BOOST_TEST(contains(msg,
                      "the combination portfolio.max_positions=2: portfolio.min_positions (4) must be <= "
                      "portfolio.max_positions (2)"),
             msg);
  BOOST_TEST(!contains(msg, "max_positions=10"), msg);
  // ... and one that is fine with another axis' value is not an error.
  BOOST_TEST(tb::actors::expand_grid(**base, {*tb::core::parse_grid_axis("portfolio.max_positions=2", "g1"),
                                              *tb::core::parse_grid_axis("portfolio.min_positions=1", "g2")})
                 .has_value());
  auto bad = tb::core::parse_grid_axis("strategy.min_sharpe=0,,1", "--grid strategy.min_sharpe=0,,1");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(contains(bad.error().message, "--grid strategy.min_sharpe=0,,1: an empty value"), bad.error().message);
  bad = tb::core::parse_grid_axis("strategy.min_sharpe=0,1,0", "--grid X");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(contains(bad.error().message, "--grid X: the value 0 is listed twice"), bad.error().message);
  BOOST_TEST(!tb::core::parse_grid_axis("strategy.min_sharpe", "--grid strategy.min_sharpe"));
}

BOOST_AUTO_TEST_CASE(the_middleman_beyond_loopback_needs_all_three_tls_files) {
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {"[inference]\npublish = true\npublish_address = \"0.0.0.0\"\n",
       {"inference.publish_address 0.0.0.0 is not loopback: the middleman beyond this machine needs mutual TLS",
        "inference.tls_certificate, inference.tls_key and inference.tls_ca"}},
      {"[inference]\nremote = [\"127.0.0.1:4242\", \"gpu1.lan:4242\", \"[fd00::1]:1\"]\n",
       {"inference.remote gpu1.lan:4242, inference.remote [fd00::1]:1 are not loopback"}},
      {"[inference]\ntls_certificate = \"/etc/hostname\"\n", {"go together: set all three"}},
      {"[inference]\ntls_certificate = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n"
       "tls_ca = \"/nonexistent/ca.pem\"\n",
       {"inference.tls_certificate /nonexistent/c.pem cannot be read",
        "inference.tls_ca /nonexistent/ca.pem cannot be read"}},
      {"[inference]\nremote = [\"gpu1\"]\n", {"'gpu1' is not host:port: no port"}},
      {"[inference]\nremote = [\"gpu1:70000\"]\n", {"port out of 1..65535"}},
      {"[inference]\nremote = [\"::1:4242\"]\n", {"write an IPv6 address as [address]:port"}},
      {"[inference]\nremote = [\"localhost:1\", \"localhost:1\"]\n", {"\"localhost:1\" is listed twice"}},
  };
  for (const auto& [text, words] : cases) {
    const auto msg = error_of(text);
    for (const auto& w : words) BOOST_TEST(contains(msg, w), msg);
  }
  // Loopback needs no TLS; a non-loopback address is fine while not publishing; with three
  // readable files anything goes (their content is checked at start: actors/middleman_transport).
  temp_file pem("not checked here\n");
  for (const std::string& text :
       {std::string("[inference]\npublish = true\npublish_address = \"127.0.0.2\"\n"
                    "remote = [\"127.0.0.1:4242\", \"[::1]:4243\", \"localhost:4244\"]\n"),
        std::string("[inference]\npublish_address = \"0.0.0.0\"\n"),
        "[inference]\npublish = true\npublish_address = \"0.0.0.0\"\nremote = [\"gpu1:4242\"]\ntls_certificate = \"" +
            pem.path.string() + "\"\ntls_key = \"" + pem.path.string() + "\"\ntls_ca = \"" + pem.path.string() +
            "\"\n"}) {
    temp_file f(text);
    auto r = load_config(f.path.string(), no_env);
    BOOST_TEST(static_cast<bool>(r), (r ? "" : r.error().message));
  }
}
