// RFC 9111 rules as pure functions: Cache-Control parsing, HTTP dates, what a
// shared cache stores, freshness lifetime, current age and reuse decisions.
#include "http/freshness.h"

#include <gtest/gtest.h>

#include "http/date.h"
#include "http/parser.h"

namespace coss::http {
namespace {

ResponseHead Resp(std::string_view in) {
  HeadParser p;
  ResponseHead h;
  size_t used;
  ParseError err;
  EXPECT_EQ(p.ParseResponse(in, &h, &used, &err), ParseStatus::kDone) << err.reason;
  return h;
}

RequestHead Req(std::string_view in) {
  HeadParser p;
  RequestHead h;
  size_t used;
  ParseError err;
  EXPECT_EQ(p.ParseRequest(in, &h, &used, &err), ParseStatus::kDone) << err.reason;
  return h;
}

CacheControl CC(std::string_view value) {
  Fields f;
  f.Add("Cache-Control", value);
  return ParseCacheControl(f);
}

TEST(HttpDateTest, ParsesTheThreeFormatsAndFormatsImfFixdate) {
  const int64_t t = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", 1700000000), t);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  EXPECT_EQ(FormatHttpDate(t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(1951000000)), 1951000000);
  for (std::string_view bad :
       {"0", "", "-1", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun,  6 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 2023 00:00:00 GMT"}) {
    EXPECT_FALSE(ParseHttpDate(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT").has_value());
}

TEST(CacheControlTest, ParsesDirectivesRobustly) {
  CacheControl cc = CC("Max-Age=60, s-maxage=\"30\", PUBLIC, must-revalidate, x-unknown=1");
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_TRUE(cc.is_public);
  EXPECT_TRUE(cc.must_revalidate);
  // Huge values clamp to 2^31; invalid, negative and conflicting ones are invalid.
  EXPECT_EQ(CC("max-age=99999999999999999999").max_age, kMaxDelta);
  for (std::string_view bad :
       {"max-age=-1", "max-age=abc", "max-age", "max-age=1.5", "max-age=5, max-age=6"}) {
    CacheControl c = CC(bad);
    EXPECT_TRUE(c.max_age_invalid) << bad;
    EXPECT_FALSE(c.max_age.has_value()) << bad;
  }
  EXPECT_EQ(CC("max-age=5, max-age=5").max_age, 5);  // a repeat that agrees
  // Spread over several field lines.
  Fields f;
  f.Add("Cache-Control", "no-cache");
  f.Add("cache-control", "max-stale");
  CacheControl two = ParseCacheControl(f);
  EXPECT_TRUE(two.no_cache);
  EXPECT_TRUE(two.max_stale);
  EXPECT_FALSE(two.max_stale_limit.has_value());
  EXPECT_EQ(CC("max-stale=10").max_stale_limit, 10);
  EXPECT_TRUE(CC("private=\"Set-Cookie, X\"").is_private);
}

TEST(StorableTest, WhatASharedCacheStores) {
  const RequestHead get = Req("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  auto why = [&](const RequestHead& req, std::string_view resp) {
    const ResponseHead r = Resp(resp);
    return std::string(
        NotStorable(req, ParseCacheControl(req.fields), r, ParseCacheControl(r.fields)));
  };
  EXPECT_EQ(why(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"), "");
  EXPECT_EQ(why(get, "HTTP/1.1 200 OK\r\nExpires: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"), "");
  EXPECT_EQ(why(get, "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\n\r\n"), "");  // revalidatable
  EXPECT_NE(why(get, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"), "");
  EXPECT_NE(why(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, no-store\r\n\r\n"), "");
  EXPECT_NE(why(get, "HTTP/1.1 200 OK\r\nCache-Control: private, max-age=60\r\n\r\n"), "");
  EXPECT_NE(why(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nVary: *\r\n\r\n"), "");
  EXPECT_NE(why(get, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: a=b\r\n\r\n"),
            "");
  EXPECT_NE(why(get, "HTTP/1.1 206 Partial\r\nCache-Control: max-age=60\r\n\r\n"), "");
  EXPECT_NE(why(get, "HTTP/1.1 500 Oops\r\nCache-Control: max-age=60\r\n\r\n"), "");
  const RequestHead post = Req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(why(post, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"), "");
  const RequestHead nostore = Req("GET / HTTP/1.1\r\nHost: h\r\nCache-Control: no-store\r\n\r\n");
  EXPECT_NE(why(nostore, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"), "");
  const RequestHead auth = Req("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic eA==\r\n\r\n");
  EXPECT_NE(why(auth, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"), "");
  EXPECT_EQ(why(auth, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, public\r\n\r\n"), "");
  EXPECT_EQ(why(auth, "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60\r\n\r\n"), "");
}

int64_t Lifetime(std::string_view resp, bool* heuristic, int64_t received = 1000000000) {
  const ResponseHead r = Resp(resp);
  return FreshnessLifetime(r, ParseCacheControl(r.fields), {received, received}, {}, heuristic);
}

TEST(FreshnessTest, LifetimePrecedence) {
  bool h;
  const std::string date = "Date: " + FormatHttpDate(1000000000) + "\r\n";
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nCache-Control: max-age=10, s-maxage=20\r\n\r\n", &h), 20);
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nCache-Control: max-age=10\r\n" + date +
                         "Expires: " + FormatHttpDate(1000000500) + "\r\n\r\n",
                     &h),
            10);
  EXPECT_EQ(
      Lifetime("HTTP/1.1 200 OK\r\n" + date + "Expires: " + FormatHttpDate(1000000500) + "\r\n\r\n",
               &h),
      500);
  // Expires without Date counts from the time the response was received.
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nExpires: " + FormatHttpDate(1000000300) + "\r\n\r\n", &h),
            300);
  // Expires centuries after Date: clamped like a delta-seconds value (fuzz_http).
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1904 08:49:37 GMT\r\n"
                     "Expires: Wed, 06 Nov 2047 09:49:37 GMT\r\n\r\n",
                     &h),
            kMaxDelta);
  // Invalid or repeated Expires, invalid max-age: stale at once.
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nExpires: 0\r\n\r\n", &h), 0);
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\n" + date + "Expires: " + FormatHttpDate(1000000500) +
                         "\r\nExpires: " + FormatHttpDate(1000000900) + "\r\n\r\n",
                     &h),
            0);
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\nCache-Control: max-age=x\r\n" + date +
                         "Expires: " + FormatHttpDate(1000000500) + "\r\n\r\n",
                     &h),
            0);
  EXPECT_FALSE(h);
}

TEST(FreshnessTest, HeuristicNeedsLastModifiedAndIsCapped) {
  bool h;
  const std::string date = "Date: " + FormatHttpDate(1000000000) + "\r\n";
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\n" + date +
                         "Last-Modified: " + FormatHttpDate(1000000000 - 1000) + "\r\n\r\n",
                     &h),
            100);
  EXPECT_TRUE(h);
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\n" + date +
                         "Last-Modified: " + FormatHttpDate(1000000000 - 100 * 86400) + "\r\n\r\n",
                     &h),
            86400);  // capped at HeuristicOptions::max
  EXPECT_EQ(Lifetime("HTTP/1.1 200 OK\r\n" + date + "\r\n", &h), 0);
  EXPECT_FALSE(h);
  EXPECT_EQ(Lifetime("HTTP/1.1 302 Found\r\n" + date +
                         "Last-Modified: " + FormatHttpDate(1000000000 - 1000) + "\r\n\r\n",
                     &h),
            0);  // not heuristically cacheable
}

TEST(FreshnessTest, CurrentAgeFollowsTheRfc) {
  const ExchangeTimes t{1000, 1002};
  // No Date or Age: the response delay plus the time resident.
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\n\r\n"), t, 1010), 2 + 8);
  // Age from upstream is added to the delay.
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\nAge: 30\r\n\r\n"), t, 1002), 32);
  // A Date far in the past makes the apparent age win.
  EXPECT_EQ(
      CurrentAge(Resp("HTTP/1.1 200 OK\r\nDate: " + FormatHttpDate(902) + "\r\n\r\n"), t, 1002),
      100);
  // A Date in the future does not make the age negative.
  EXPECT_EQ(
      CurrentAge(Resp("HTTP/1.1 200 OK\r\nDate: " + FormatHttpDate(5000) + "\r\n\r\n"), t, 1002),
      2);
  // Invalid Age values are ignored; a list uses its first member; huge clamps.
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\nAge: -5\r\n\r\n"), t, 1002), 2);
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\nAge: abc\r\n\r\n"), t, 1002), 2);
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\nAge: 7, 900\r\n\r\n"), t, 1002), 9);
  EXPECT_EQ(CurrentAge(Resp("HTTP/1.1 200 OK\r\nAge: 99999999999999999999\r\n\r\n"), t, 1002),
            kMaxDelta);
}

TEST(FreshnessTest, ReuseDecisions) {
  const CacheControl none;
  EXPECT_EQ(Evaluate(none, none, 60, 10), Reuse::kFresh);
  EXPECT_EQ(Evaluate(none, none, 60, 60), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(none, CC("no-cache"), 60, 10), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("no-cache"), none, 60, 10), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("max-age=5"), none, 60, 10), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("min-fresh=55"), none, 60, 10), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("min-fresh=50"), none, 60, 10), Reuse::kFresh);
  EXPECT_EQ(Evaluate(CC("max-stale"), none, 60, 1000), Reuse::kStaleAllowed);
  EXPECT_EQ(Evaluate(CC("max-stale=5"), none, 60, 70), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("max-stale=10"), none, 60, 70), Reuse::kStaleAllowed);
  EXPECT_EQ(Evaluate(CC("max-stale"), CC("must-revalidate"), 60, 70), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(CC("max-stale"), CC("s-maxage=60"), 60, 70), Reuse::kRevalidate);
  EXPECT_EQ(Evaluate(none, CC("stale-while-revalidate=30"), 60, 80), Reuse::kStaleWhileRevalidate);
  EXPECT_EQ(Evaluate(none, CC("stale-while-revalidate=30"), 60, 100), Reuse::kRevalidate);
  EXPECT_TRUE(MayServeStaleOnError(none, CC("stale-if-error=60"), 60, 100));
  EXPECT_FALSE(MayServeStaleOnError(none, CC("stale-if-error=60"), 60, 200));
  EXPECT_FALSE(MayServeStaleOnError(none, CC("stale-if-error=60, must-revalidate"), 60, 100));
  EXPECT_FALSE(MayServeStaleOnError(none, none, 60, 61));
}

}  // namespace
}  // namespace coss::http
