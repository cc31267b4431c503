#include "core/bar_csv.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/calendar.hpp"
#include "core/text.hpp"

namespace tb::core {
namespace {

// Splits one CSV line; false on an unterminated quote.
bool split_csv(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  out.push_back(std::move(field));
  return true;
}

bool read_digits(const std::string& s, std::size_t& pos, int n, int& value) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  value = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  return true;
}

bool parse_number(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE) return false;
  return true;
}

struct parsed_row {
  bar b;
  std::size_t line = 0;
};

bool same_values(const bar& a, const bar& b) {
  return a.time_s == b.time_s && a.utc_offset_s == b.utc_offset_s && a.open == b.open && a.high == b.high &&
         a.low == b.low && a.close == b.close && a.volume == b.volume && a.amount == b.amount;
}

tb::error data_error(const std::string& name, std::size_t line, const std::string& what) {
  return tb::error{errc::bad_data, name + ":" + std::to_string(line) + ": " + what};
}

}  // namespace

bool parse_bar_time(const std::string& text_in, std::int64_t& time_s, std::int32_t& utc_offset_s) {
  const std::string s = trim(text_in);
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!read_digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-') return false;
  if (!read_digits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-') return false;
  if (!read_digits(s, pos, 2, d)) return false;
  const civil_date date{y, mo, d};
  if (!is_valid(date)) return false;
  int offset = 0;
  if (pos < s.size()) {
    if (s[pos] != ' ' && s[pos] != 'T' && s[pos] != 't') return false;
    ++pos;
    if (!read_digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':') return false;
    if (!read_digits(s, pos, 2, mi)) return false;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, se)) return false;
      if (pos < s.size() && s[pos] == '.') {  // fractional seconds: ignored (bars are >= 1 s)
        ++pos;
        const std::size_t start = pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        if (pos == start) return false;
      }
    }
    if (h > 23 || mi > 59 || se > 60) return false;
    if (pos < s.size()) {
      if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        const int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(s, pos, 2, oh)) return false;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (pos < s.size() && !read_digits(s, pos, 2, om)) return false;
        if (oh > 18 || om > 59) return false;
        offset = sign * (oh * 3600 + om * 60);
      } else {
        return false;
      }
    }
    if (pos != s.size()) return false;
  }
  const std::int64_t local = days_from_civil(date) * seconds_per_day + h * 3600 + mi * 60 + se;
  time_s = local - offset;
  utc_offset_s = offset;
  return true;
}

tb::expected<bar_series> load_bars_csv(std::istream& in, const std::string& name, const std::string& symbol,
                                       std::vector<std::string>* warnings) {
  std::string line;
  std::size_t line_no = 0;
  std::vector<std::string> fields;

  // Header.
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (trim(line).empty()) continue;
    have_header = true;
    break;
  }
  if (!have_header) return tb::error{errc::bad_data, name + ": empty file (no header)"};
  if (!split_csv(line, fields)) return data_error(name, line_no, "unterminated quote in header");
  const std::size_t n_cols = fields.size();
  int c_time = -1, c_open = -1, c_high = -1, c_low = -1, c_close = -1, c_vol = -1, c_amt = -1;
  int time_rank = 100;
  static const char* time_names[] = {"date", "datetime", "timestamp", "timestamps", "time"};
  for (std::size_t i = 0; i < n_cols; ++i) {
    const std::string h = to_lower(trim(fields[i]));
    const int col = static_cast<int>(i);
    for (int r = 0; r < 5; ++r) {
      if (h == time_names[r] && r < time_rank) {
        time_rank = r;
        c_time = col;
      }
    }
    if (h == "open" && c_open < 0) c_open = col;
    if (h == "high" && c_high < 0) c_high = col;
    if (h == "low" && c_low < 0) c_low = col;
    if (h == "close" && c_close < 0) c_close = col;
    if (h == "volume" && c_vol < 0) c_vol = col;
    if (h == "amount" && c_amt < 0) c_amt = col;
  }
  std::string missing;
  if (c_time < 0) missing += " date|datetime|timestamp|timestamps|time";
  if (c_open < 0) missing += " open";
  if (c_high < 0) missing += " high";
  if (c_low < 0) missing += " low";
  if (c_close < 0) missing += " close";
  if (!missing.empty()) return data_error(name, line_no, "header lacks column(s):" + missing);

  std::vector<parsed_row> rows;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    if (!split_csv(line, fields)) return data_error(name, line_no, "unterminated quote");
    if (fields.size() != n_cols) {
      return data_error(name, line_no,
                        std::to_string(fields.size()) + " fields, the header has " + std::to_string(n_cols));
    }
    parsed_row r;
    r.line = line_no;
    if (!parse_bar_time(fields[static_cast<std::size_t>(c_time)], r.b.time_s, r.b.utc_offset_s)) {
      return data_error(name, line_no, "bad time '" + fields[static_cast<std::size_t>(c_time)] + "'");
    }
    struct target {
      int col;
      double* value;
      const char* what;
      bool price;  // must be > 0
    };
    const target targets[] = {{c_open, &r.b.open, "open", true},     {c_high, &r.b.high, "high", true},
                              {c_low, &r.b.low, "low", true},        {c_close, &r.b.close, "close", true},
                              {c_vol, &r.b.volume, "volume", false}, {c_amt, &r.b.amount, "amount", false}};
    for (const auto& t : targets) {
      if (t.col < 0) continue;
      const std::string& text = fields[static_cast<std::size_t>(t.col)];
      if (!parse_number(text, *t.value)) {
        return data_error(name, line_no, std::string("bad ") + t.what + " '" + text + "'");
      }
      if (!std::isfinite(*t.value)) {
        return data_error(name, line_no, std::string(t.what) + " is not finite ('" + text + "')");
      }
      if (t.price && *t.value <= 0) {
        return data_error(name, line_no, std::string(t.what) + " " + text + " is not a positive price");
      }
    }
    if (r.b.high < r.b.low) return data_error(name, line_no, "high < low");
    if (r.b.volume < 0) return data_error(name, line_no, "negative volume");
    if (r.b.amount < 0) return data_error(name, line_no, "negative amount");
    if (c_vol < 0) {
      r.b.volume = 0;
      r.b.amount = 0;
    } else if (c_amt < 0) {
      r.b.amount = r.b.volume * (r.b.open + r.b.high + r.b.low + r.b.close) / 4.0;
    }
    rows.push_back(r);
  }
  if (in.bad()) return tb::error{errc::io, name + ": read error"};
  if (rows.empty()) return data_error(name, line_no, "no data rows");

  std::stable_sort(rows.begin(), rows.end(),
                   [](const parsed_row& a, const parsed_row& b) { return a.b.time_s < b.b.time_s; });
  bar_series out;
  out.symbol = symbol;
  if (out.symbol.empty()) {
    std::string base = name;
    const auto slash = base.find_last_of('/');
    if (slash != std::string::npos) base.erase(0, slash + 1);
    const auto dot = base.find_last_of('.');
    if (dot != std::string::npos && dot > 0) base.erase(dot);
    out.symbol = base;
  }
  out.bars.reserve(rows.size());
  std::size_t kept_line = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!out.bars.empty() && out.bars.back().time_s == rows[i].b.time_s) {
      const std::size_t first = std::min(kept_line, rows[i].line);
      const std::size_t second = std::max(kept_line, rows[i].line);
      if (!same_values(out.bars.back(), rows[i].b)) {
        return data_error(name, second, "same time as line " + std::to_string(first) + " with different values");
      }
      if (warnings) {
        warnings->push_back(name + ":" + std::to_string(second) + ": duplicate of line " + std::to_string(first) +
                            ", dropped");
      }
      continue;
    }
    out.bars.push_back(rows[i].b);
    kept_line = rows[i].line;
  }
  return out;
}

tb::expected<bar_series> load_bars_csv(const std::string& path, const std::string& symbol,
                                       std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tb::error{errc::io, path + ": cannot open"};
  return load_bars_csv(in, path, symbol, warnings);
}

}  // namespace tb::core
