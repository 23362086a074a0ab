// Base64 (RFC 4648, standard alphabet, '=' padding) for meta-command binary
// keys (the 'b' flag). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace coss::proto {

// Decodes `in` into *out. False (and *out unspecified) on any invalid byte,
// bad padding or a length that is not a multiple of 4.
bool Base64Decode(std::string_view in, std::string* out);
void Base64Encode(std::string_view in, std::string* out);  // appends

}  // namespace coss::proto
