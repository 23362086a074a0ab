// Readers for recorded traces. Each appends requests to a Trace (times made
// relative to the first request) and returns an error message, empty on success.
//
//  * oracleGeneral (libCacheSim's binary format): packed little-endian 24-byte
//    records {u32 time, u64 id, u32 size, i64 next access}; every request is a
//    read (look-aside: a miss is followed by an insert).
//  * Twitter cache-trace CSV (github.com/twitter/cache-trace):
//    time,key,key size,value size,client id,operation,ttl. get/gets are reads;
//    set/add/replace/cas/append/prepend/incr/decr are stores; delete deletes.
//    Object size = key size + value size (at least 1). A get carries the TTL of
//    the last store of its key seen earlier in the trace (the trace records TTLs
//    only on writes), so the object a get-miss inserts expires like the original.
//    Malformed lines are skipped and counted in *skipped.
//
// `limit` = 0 reads everything; otherwise at most `limit` requests.
#pragma once

#include <cstdint>
#include <string>

#include "tools/sim/request.h"

namespace coss::sim {

std::string ReadOracleGeneral(const std::string& path, uint64_t limit, Trace* out);
std::string ReadTwitterCsv(const std::string& path, uint64_t limit, Trace* out, uint64_t* skipped);

}  // namespace coss::sim
