// bench_symbol_board: the cost of one symbol actor's /stats write with N symbols, as the
// symbol_board writes it (its own entry; the section is put together when read) against the
// former way measured side by side (the whole "symbols" section rebuilt and republished on each
// write), and the cost of one /stats read. Documents have the shape symbol_actor.cpp publishes.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "actors/symbol_actor.hpp"
#include "core/snapshot_board.hpp"

using json = nlohmann::json;
using clk = std::chrono::steady_clock;

namespace {

json symbol_doc(int cycle) {
  const json forecast = {{"bar_time", "2025-01-02T00:00:00Z"},
                         {"pred_close", 101.2},
                         {"pred_high", 102.0},
                         {"pred_low", 99.1},
                         {"edge", 0.0123},
                         {"windows", 9},
                         {"model", "0123456789abcdef"}};
  const json proposal = {{"state", "buy"}, {"strategy", "kronos_close"},     {"limit_price", 101.1},
                         {"qty", 12.0},    {"note", "edge 1.2% sharpe 1.4"}, {"bid", 100.9},
                         {"ask", 101.0}};
  return {{"state", "ok"},
          {"note", "proposal sent"},
          {"error", nullptr},
          {"last_bar_time", "2025-01-02T00:00:00Z"},
          {"bars_held", 257},
          {"cycles", cycle},
          {"last_cycle_at", "2025-01-02T14:30:00Z"},
          {"last_cycle_ms", 12.5},
          {"windows_asked", 90},
          {"windows_computed", 9},
          {"failures", 0},
          {"forecast", forecast},
          {"proposal", proposal}};
}

// Microseconds per write over `cycles` rounds of one write per symbol.
template <class Write>
double per_write_us(int symbols, int cycles, Write write) {
  const auto t0 = clk::now();
  for (int c = 0; c < cycles; ++c)
    for (int s = 0; s < symbols; ++s) write("SYM" + std::to_string(s), symbol_doc(c));
  return std::chrono::duration<double, std::micro>(clk::now() - t0).count() / (double(symbols) * cycles);
}

}  // namespace

int main() {
  std::printf("%8s %22s %22s %8s %16s\n", "symbols", "entry write (us)", "whole section (us)", "ratio",
              "/stats read (us)");
  for (int symbols : {20, 100, 500}) {
    const int cycles = symbols >= 500 ? 2 : 10;
    auto board = std::make_shared<tb::core::snapshot_board>();
    tb::actors::symbol_board entries(board);
    const double entry_us =
        per_write_us(symbols, cycles, [&](const std::string& s, json doc) { entries.update(s, std::move(doc), ""); });

    auto whole_board = std::make_shared<tb::core::snapshot_board>();
    std::map<std::string, json> docs;
    const double whole_us = per_write_us(symbols, cycles, [&](const std::string& s, json doc) {
      docs[s] = std::move(doc);
      json all = json::object();
      for (const auto& [name, d] : docs) all[name] = d;
      whole_board->publish("symbols", std::move(all));
    });

    const int reads = 20;
    const auto t0 = clk::now();
    std::size_t size = 0;
    for (int r = 0; r < reads; ++r) size += board->sections()["symbols"].size();
    const double read_us = std::chrono::duration<double, std::micro>(clk::now() - t0).count() / reads;
    if (size != std::size_t(symbols) * reads) return 1;
    std::printf("%8d %22.1f %22.1f %7.0fx %16.0f\n", symbols, entry_us, whole_us, whole_us / entry_us, read_us);
  }
}
