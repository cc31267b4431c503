#pragma once
// Replay of recorded bars from CSV files (core/bar_csv.hpp reads every format of ../shared/data),
// released bar by bar on the injected clock: a bar becomes visible once its period has closed
// (bar_timing::closes_at(bar) <= clock.now()).
//
// Files are read once, at create(). A file that fails to load does not fail the feed: its symbol
// is still listed, and every query of it returns the load error (errc::io / errc::bad_data naming
// file and line), so one corrupt file reports an error while the other symbols trade.
//
// Quotes: CSV files hold no quotes; latest_quote() is the last visible close with the configured
// relative spread around it (replay_source::spread, else the asset class default).
//
// Thread: immutable after create(); safe to share between threads.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bar.hpp"
#include "market/feed.hpp"

namespace tb::market {

struct replay_source {
  std::string symbol;  // empty: the file name without folder and extension
  std::string path;
  // How the file labels bars. Daily files dated YYYY-MM-DD are period_start (the default);
  // ../shared/data/intraday/XSHG_600977_5min.csv labels a bar by its end (09:35 = 09:30-09:35).
  bar_label label = bar_label::period_start;
  // Bar period; when unset, the smallest gap between consecutive bars of the file (24 h when the
  // file has fewer than two bars).
  std::optional<core::duration> period;
  // Relative spread for quotes; when unset, replay_config's default for the symbol's class.
  std::optional<double> spread;
};

struct replay_config {
  std::vector<replay_source> sources;  // at least one; symbols unique
  double equity_spread = 0.0005;       // relative, [0, 0.1] (5 bps)
  double crypto_spread = 0.001;        // relative, [0, 0.1] (10 bps)
};

class replay_feed final : public feed {
 public:
  // errc::bad_config for an empty source list, duplicate symbols, a period <= 0 or a spread out
  // of bounds; load failures of single files are kept per symbol (see above). `clock` not null.
  static tb::expected<std::shared_ptr<replay_feed>> create(const replay_config& cfg,
                                                           std::shared_ptr<const core::clock> clock);

  std::vector<std::string> symbols() const override;
  tb::expected<bar_timing> timing(const std::string& symbol) const override;
  tb::expected<core::bar_series> bars(const bar_query& q) override;
  tb::expected<quote> latest_quote(const std::string& symbol) override;

  // Every bar of the file regardless of the clock (for tools; not for trading decisions).
  tb::expected<core::bar_series> all_bars(const std::string& symbol) const;
  // Warnings the loader reported (dropped duplicate rows), per file, in source order.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct series_state {
    std::string symbol;
    std::optional<tb::error> load_error;
    core::bar_series series;
    bar_timing timing;
    double spread = 0;
  };

  replay_feed(std::shared_ptr<const core::clock> clock) : clock_(std::move(clock)) {}
  const series_state* find(const std::string& symbol) const;
  tb::expected<const series_state*> usable(const std::string& symbol) const;

  std::shared_ptr<const core::clock> clock_;
  std::vector<series_state> series_;
  std::vector<std::string> warnings_;
};

}  // namespace tb::market
