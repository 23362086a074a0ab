// libFuzzer target for the request parser: any byte stream, any fragmentation.
//
// The first input byte picks a fragment size; the rest is the client stream.
// Checked for every input:
//  * the stream fed whole and fed in fragments yields the same events
//    (requests, replies, closes) in the same order;
//  * a step never consumes more than it was given, and the buffered input
//    never exceeds the parser's BufferBound() (plus one fragment);
//  * every request respects the limits (key length, value size, views inside
//    the input), and its reply flags can be encoded.
// Built only with -DCOSS_FUZZ=ON and clang; run under ASan+UBSan by CI.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/parser.h"
#include "proto/reply.h"

namespace {

using coss::proto::Parser;
using coss::proto::ParserLimits;
using coss::proto::Request;
using coss::proto::Step;
using coss::proto::StepKind;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Inside(std::string_view v, std::string_view buf) {
  return v.empty() || (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
}

std::string Describe(const Request& r) {
  std::string s = coss::proto::CommandName(r.cmd);
  for (auto k : r.keys) {
    s += '|';
    s += k;
  }
  s += '|';
  s += r.key();
  s += '|';
  s += r.data;
  s += '|' + std::to_string(r.client_flags) + '|' + std::to_string(r.exptime) + '|' +
       std::to_string(r.cas_unique) + '|' + std::to_string(r.delta) + '|' + r.meta.order +
       (r.noreply ? "|nr" : "");
  return s;
}

std::vector<std::string> Run(const uint8_t* data, size_t size, size_t chunk,
                             const ParserLimits& lim) {
  Parser p(lim);
  Step step;
  std::string buf;
  std::vector<std::string> events;
  size_t pos = 0;
  while (pos < size) {
    const size_t n = chunk == 0 ? size : std::min(chunk, size - pos);
    buf.append(reinterpret_cast<const char*>(data) + pos, n);
    pos += n;
    for (;;) {
      Check(buf.size() <= lim.BufferBound() + n);
      p.Next(buf, &step);
      Check(step.consumed <= buf.size());
      if (step.kind == StepKind::kRequest) {
        const Request& r = step.req;
        for (auto k : r.keys) Check(k.size() <= lim.max_key && Inside(k, buf));
        Check(r.key().size() <= lim.max_key);
        Check(Inside(r.key_raw, buf) && Inside(r.data, buf) && Inside(r.meta.opaque, buf));
        Check(r.data.size() <= lim.max_value);
        std::string out;
        coss::proto::MetaItemInfo info;
        info.present = (size & 1) != 0;
        coss::proto::AppendMetaFlags(&out, r, info, "bcfhklOst");
        events.push_back("R" + Describe(r));
      } else if (step.kind == StepKind::kReply) {
        events.push_back("E" + std::string(step.reply));
      } else if (step.kind == StepKind::kClose) {
        events.push_back("C" + std::string(step.reply));
        return events;
      }
      buf.erase(0, step.consumed);
      if (step.kind == StepKind::kNeedMore && (step.consumed == 0 || buf.empty())) break;
    }
  }
  events.push_back("P" + std::to_string(buf.size()));
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const size_t kChunks[] = {1, 2, 3, 5, 7, 10, 64, 100};
  const size_t chunk = kChunks[data[0] % 8];
  ParserLimits lim;
  lim.max_line = 256;
  lim.max_get_line = 1024;
  lim.max_value = 512;
  const auto whole = Run(data + 1, size - 1, 0, lim);
  const auto cut = Run(data + 1, size - 1, chunk, lim);
  Check(whole == cut);
  return 0;
}
