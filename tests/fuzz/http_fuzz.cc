// libFuzzer target for the HTTP message layer (src/http): heads, framing,
// chunked bodies, Cache-Control, dates and the freshness rules.
//
// Input: byte 0 picks a fragment size and the message kind (request or
// response); the rest is the stream. Checked for every input:
//  * a head parsed from the whole stream and from the stream grown fragment
//    by fragment gives the same outcome (status, error code, consumed bytes,
//    fields), and never consumes more than it was given;
//  * the chunked decoder yields the same body and outcome whole and in
//    fragments, each step within its input;
//  * a stored-entry value (httpd/cache_entry.h) decodes without reading out
//    of bounds, and what decodes encodes back to the same bytes;
//  * freshness values stay in range (lifetime and age in [0, 2^31]), and an
//    HTTP date that parses formats back to the same time.
// Built only with -DCOSS_FUZZ=ON and clang; run under ASan+UBSan by CI.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/cache_control.h"
#include "http/date.h"
#include "http/freshness.h"
#include "http/parser.h"
#include "http/range.h"
#include "httpd/cache_entry.h"

namespace {

using namespace coss::http;  // NOLINT(google-build-using-namespace)

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  int error = 0;
  size_t consumed = 0;
  std::string fields;
};

template <typename Head>
Outcome ParseGrowing(std::string_view in, size_t frag, bool request, Head* head) {
  HeadParser p(Limits{4096, 1024, 20});
  Outcome o;
  ParseError err;
  for (size_t n = frag < in.size() ? frag : in.size();; n = std::min(in.size(), n + frag)) {
    const std::string_view part = in.substr(0, n);
    if constexpr (std::is_same_v<Head, RequestHead>) {
      o.status = p.ParseRequest(part, head, &o.consumed, &err);
    } else {
      o.status = p.ParseResponse(part, head, &o.consumed, &err);
    }
    (void)request;
    if (o.status != ParseStatus::kNeedMore || n == in.size()) break;
  }
  if (o.status == ParseStatus::kDone) {
    Check(o.consumed <= in.size());
    head->fields.AppendTo(&o.fields);
  }
  if (o.status == ParseStatus::kError) o.error = err.status;
  return o;
}

std::string Dechunk(std::string_view in, size_t frag, int* outcome) {
  ChunkedDecoder d;
  std::string body, buf;
  size_t fed = 0;
  for (int guard = 0; guard < 1 << 20; guard++) {
    const ChunkedDecoder::Step s = d.Next(buf);
    Check(s.consumed <= buf.size());
    if (s.kind == ChunkedDecoder::Step::kData) {
      Check(!s.data.empty() && s.data.data() + s.data.size() <= buf.data() + buf.size());
      body.append(s.data);
    }
    buf.erase(0, s.consumed);
    if (s.kind == ChunkedDecoder::Step::kDone || s.kind == ChunkedDecoder::Step::kError) {
      *outcome = s.kind;
      return body;
    }
    if (s.kind == ChunkedDecoder::Step::kNeedMore) {
      if (fed == in.size()) break;
      const size_t n = std::min(frag, in.size() - fed);
      buf.append(in.substr(fed, n));
      fed += n;
    }
  }
  *outcome = ChunkedDecoder::Step::kNeedMore;
  return body;
}

template <typename Head>
void CheckHead(std::string_view in, size_t frag, Head* whole) {
  Head part;
  const Outcome a = ParseGrowing(in, in.size() ? in.size() : 1, true, whole);
  const Outcome b = ParseGrowing(in, frag, true, &part);
  Check(a.status == b.status && a.error == b.error && a.consumed == b.consumed &&
        a.fields == b.fields);
  if (a.status != ParseStatus::kDone) return;
  // Framing and the body that follows the head.
  const std::string_view rest = in.substr(a.consumed);
  int whole_out = 0, frag_out = 0;
  const std::string b1 = Dechunk(rest, rest.size() ? rest.size() : 1, &whole_out);
  const std::string b2 = Dechunk(rest, frag, &frag_out);
  Check(b1 == b2 && whole_out == frag_out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (const auto e =
          coss::httpd::DecodeEntry(std::string_view(reinterpret_cast<const char*>(data), size))) {
    Check(coss::httpd::EncodeEntry(*e) ==
          std::string_view(reinterpret_cast<const char*>(data), size));
  }
  if (const auto m = coss::httpd::DecodeVaryMarker(
          std::string_view(reinterpret_cast<const char*>(data), size))) {
    Check(coss::httpd::EncodeVaryMarker(*m) ==
          std::string_view(reinterpret_cast<const char*>(data), size));
  }
  const size_t frag = (data[0] & 0x3f) + 1;
  const bool request = (data[0] & 0x40) == 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  if (request) {
    RequestHead h;
    CheckHead(in, frag, &h);
    Framing f;
    ParseError err;
    if (!h.method.empty() && !RequestFraming(h, &f, &err)) Check(err.status >= 400);
    const CacheControl cc = ParseCacheControl(h.fields);
    if (cc.max_age) Check(*cc.max_age >= 0 && *cc.max_age <= kMaxDelta);
    if (const auto range = h.fields.Get("Range")) {
      // Ranges come back inside the representation, ascending, disjoint.
      const uint64_t length = size * 37;
      std::vector<ByteRange> rs;
      const RangeOutcome o = EvaluateRange(*range, length, &rs);
      Check((o == RangeOutcome::kSatisfiable) == !rs.empty());
      Check(rs.size() <= kMaxRanges);
      for (size_t i = 0; i < rs.size(); i++) {
        Check(rs[i].first <= rs[i].last && rs[i].last < length);
        if (i > 0) Check(rs[i - 1].last + 1 < rs[i].first);
      }
      (void)IfRangeHolds(h.fields, h.fields);
    }
  } else {
    ResponseHead h;
    CheckHead(in, frag, &h);
    if (h.status == 0) return 0;
    Framing f;
    ParseError err;
    if (!ResponseFraming(h, "GET", &f, &err)) Check(err.status == 502);
    const CacheControl cc = ParseCacheControl(h.fields);
    bool heuristic;
    const ExchangeTimes t{1700000000, 1700000001};
    const int64_t life = FreshnessLifetime(h, cc, t, {}, &heuristic);
    const int64_t age = CurrentAge(h, t, 1700000100);
    Check(life >= 0 && life <= kMaxDelta && age >= 0 && age <= kMaxDelta);
    (void)Evaluate(cc, cc, life, age);
    for (const Field& fl : h.fields.all()) {
      if (const auto d = ParseHttpDate(fl.value)) Check(ParseHttpDate(FormatHttpDate(*d)) == *d);
    }
  }
  return 0;
}
