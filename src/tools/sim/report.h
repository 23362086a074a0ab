// Report: renders RunResults as a text table (stdout), CSV, JSON, and a PNG of
// miss ratio and write amplification against cache size (drawn by a small
// matplotlib script written next to the CSV and run with /usr/bin/python3).
//
// Every output names the accounting: cache size = device bytes for the engine
// (its headers, keys, directory and journal inside them), object bytes for the
// LRU/FIFO baselines; write amplification = device bytes written / object
// bytes the replay asked to store.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tools/sim/cache_model.h"
#include "tools/sim/request.h"

namespace coss::sim {

void PrintTraceSummary(FILE* out, const Trace& t);
void PrintTable(FILE* out, const std::vector<RunResult>& rs);

// Each returns an error message, empty on success.
std::string WriteCsv(const std::string& path, const std::vector<RunResult>& rs);
std::string WriteJson(const std::string& path, const Trace& t, const std::vector<RunResult>& rs);
// Writes <png>.py and runs it on `csv`; the message explains a missing matplotlib.
std::string WritePng(const std::string& png, const std::string& csv, const std::string& title);

// Relative miss-ratio delta against the LRU run of the same cache size in rs
// ((m - m_lru) / m_lru); NaN when there is none.
double DeltaVsLru(const RunResult& r, const std::vector<RunResult>& rs);

// The accounting note printed with every table.
extern const char kAccountingNote[];

}  // namespace coss::sim
