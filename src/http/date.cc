#include "http/date.h"

#include <chrono>
#include <cstdio>

namespace coss::http {

namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                     "Thursday", "Friday", "Saturday"};

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's
// days_from_civil algorithm.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t n, int* out) {
  if (s.size() != n) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int Month(std::string_view s) {
  for (int i = 0; i < 12; i++) {
    if (s == kMonths[i]) return i + 1;
  }
  return 0;
}

bool Time(std::string_view s, int* h, int* m, int* sec) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && Digits(s.substr(0, 2), 2, h) &&
         Digits(s.substr(3, 2), 2, m) && Digits(s.substr(6, 2), 2, sec) && *h < 24 && *m < 60 &&
         *sec < 61;
}

std::optional<int64_t> Make(int y, int mon, int d, int h, int m, int s) {
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mon < 1 || mon > 12 || d < 1 || d > kDaysIn[mon - 1] || y < 1900 || y > 9999) return {};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mon == 2 && d == 29 && !leap) return {};
  return DaysFromCivil(y, static_cast<unsigned>(mon), static_cast<unsigned>(d)) * 86400 +
         int64_t{h} * 3600 + int64_t{m} * 60 + (s == 60 ? 59 : s);
}

bool OneOf(std::string_view s, const char* const* names) {
  for (int i = 0; i < 7; i++) {
    if (s == names[i]) return true;
  }
  return false;
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view s, int64_t now) {
  int d, y, h, m, sec;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes)
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
      s.substr(25) == " GMT" && OneOf(s.substr(0, 3), kDays) && Digits(s.substr(5, 2), 2, &d) &&
      Digits(s.substr(12, 4), 4, &y) && Time(s.substr(17, 8), &h, &m, &sec)) {
    return Make(y, Month(s.substr(8, 3)), d, h, m, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994" (24 bytes)
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ' &&
      OneOf(s.substr(0, 3), kDays) && Time(s.substr(11, 8), &h, &m, &sec) &&
      Digits(s.substr(20, 4), 4, &y)) {
    std::string_view ds = s.substr(8, 2);
    if (ds[0] == ' ') ds.remove_prefix(1);
    if (!Digits(ds, ds.size(), &d) || ds.empty()) return {};
    return Make(y, Month(s.substr(4, 3)), d, h, m, sec);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  const size_t comma = s.find(", ");
  if (comma != std::string_view::npos && OneOf(s.substr(0, comma), kLongDays)) {
    const std::string_view r = s.substr(comma + 2);
    if (r.size() == 22 && r[2] == '-' && r[6] == '-' && r[9] == ' ' && r.substr(18) == " GMT" &&
        Digits(r.substr(0, 2), 2, &d) && Digits(r.substr(7, 2), 2, &y) &&
        Time(r.substr(10, 8), &h, &m, &sec)) {
      // The year in the current century, unless that is more than 50 years
      // in the future.
      const int64_t this_year = 1970 + now / 31556952;
      int64_t full = this_year / 100 * 100 + y;
      if (full > this_year + 50) full -= 100;
      return Make(static_cast<int>(full), Month(r.substr(3, 3)), d, h, m, sec);
    }
  }
  return {};
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return ParseHttpDate(s, now);
}

std::string FormatHttpDate(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const int64_t secs = t - days * 86400;
  const int wday = static_cast<int>((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mon = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (mon <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02d:%02d:%02d GMT", kDays[wday], d,
                kMonths[mon - 1], static_cast<long long>(y), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

}  // namespace coss::http
