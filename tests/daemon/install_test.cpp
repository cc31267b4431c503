// `cmake --install` puts the binaries, the units (tradebotd.service and the template
// tradebotd@.service an inference host runs as), their companions and the example config in the
// usual places, and systemd-analyze accepts both units (when the tool is present).
#define BOOST_TEST_MODULE install
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <regex>

#include "tests/support/process.hpp"

using namespace tb::test;
namespace fs = std::filesystem;

namespace {
const fs::path build_dir = fs::path(TRADEBOT_BIN_DIR).parent_path();

int shell(const std::string& cmd) { return std::system(cmd.c_str()); }

// The configured layout, relative to DESTDIR (default prefix /usr: usr/sbin, etc/, ...).
std::string relative(const char* absolute) { return std::string(absolute).substr(1); }
const std::string prefix = relative(TRADEBOT_INSTALL_PREFIX);
const std::string sbin = relative(TRADEBOT_INSTALL_SBINDIR);
const std::string sysconf_dir = relative(TRADEBOT_INSTALL_SYSCONFDIR);
const std::string docdir = relative(TRADEBOT_INSTALL_DOCDIR);
}  // namespace

BOOST_AUTO_TEST_CASE(install_layout_and_unit_verifies) {
  temp_dir dest;
  const std::string install = "DESTDIR=" + dest.path.string() + " cmake --install " + build_dir.string() + " > " +
                              (dest.path / "install.log").string() + " 2>&1";
  BOOST_REQUIRE_MESSAGE(shell(install) == 0, read_file(dest.path / "install.log"));
  for (const std::string& f :
       std::vector<std::string>{sbin + "/tradebotd", prefix + "/lib/systemd/system/tradebotd.service",
                                prefix + "/lib/systemd/system/tradebotd@.service",
                                prefix + "/lib/sysusers.d/tradebotd.conf", prefix + "/lib/tmpfiles.d/tradebotd.conf",
                                sysconf_dir + "/tradebotd/tradebotd.toml", docdir + "/examples/tradebotd.toml"})
    BOOST_TEST(fs::exists(dest.path / f), f);

  // An existing /etc config is never overwritten by a later install.
  std::ofstream(dest.path / (sysconf_dir + "/tradebotd/tradebotd.toml")) << "# mine\n";
  BOOST_REQUIRE(shell(install) == 0);
  BOOST_TEST(read_file(dest.path / (sysconf_dir + "/tradebotd/tradebotd.toml")) == "# mine\n");

  const std::string unit = read_file(dest.path / (prefix + "/lib/systemd/system/tradebotd.service"));
  const std::string templ = read_file(dest.path / (prefix + "/lib/systemd/system/tradebotd@.service"));
  for (const auto& u : {unit, templ})
    for (const char* line : {"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "WatchdogSec=",
                             "User=tradebotd", "ConfigurationDirectory=tradebotd", "NoNewPrivileges=yes",
                             "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies="})
      BOOST_TEST(u.find(line) != std::string::npos, line);
  for (const char* line : {"ExecStart=/usr/sbin/tradebotd --config /etc/tradebotd/tradebotd.toml\n",
                           "StateDirectory=tradebotd\n", "CacheDirectory=tradebotd\n"})
    BOOST_TEST(unit.find(line) != std::string::npos, line);
  for (const char* line : {"ExecStart=/usr/sbin/tradebotd --config /etc/tradebotd/%i.toml\n",
                           "StateDirectory=tradebotd/%i\n", "CacheDirectory=tradebotd/%i\n"})
    BOOST_TEST(templ.find(line) != std::string::npos, line);
  for (const auto& u : {unit, templ}) BOOST_TEST(u.find("@UNIT_") == std::string::npos);  // every placeholder filled

  if (shell("command -v systemd-analyze > /dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("systemd-analyze not present: unit verification skipped");
    return;
  }
  // Verify the installed units (the template as an instance) with the binary path in DESTDIR.
  const auto bin = (dest.path / (sbin + "/tradebotd")).string();
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"tradebotd.service", unit},
                                   std::pair<std::string, std::string>{"tradebotd@inference.service", templ}}) {
    const auto verify_unit = dest.path / name;
    std::ofstream(verify_unit) << std::regex_replace(text, std::regex("/usr/sbin/tradebotd"), bin);
    const auto log = dest.path / (name + ".verify.log");
    const int rc = shell("systemd-analyze verify " + verify_unit.string() + " > " + log.string() + " 2>&1");
    BOOST_TEST(rc == 0, name << ": " << read_file(log));
    BOOST_TEST(read_file(log).empty(), name << ": " << read_file(log));
  }
}
