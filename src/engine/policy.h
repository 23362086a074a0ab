// Policy spec: the string in EngineOptions::relocation, parsed into the three
// independent decisions a shard makes about what goes (back) to the device.
//
//   spec   := part ('+' part)*
//   part   := "never" | "always" | "tail:<1-100>"      relocation of disk hits
//                                                       (relocation.h; default never)
//           | "reinsert:<1-100>[:reset]"                lazy reinsertion at stripe eviction,
//                                                       write amp <= 1 + N/100 (reinsertion.h)
//           | "admit:ghost[:<1-400>]"                   admission of new keys (admission.h):
//           | "admit:duel[:<1-400>]"                    always the ghost, or chosen by set dueling
//
// Examples: "tail:25" (relocation only), "reinsert:15", "reinsert:15+admit:ghost".
// Each kind may appear once. Errors name the offending part.
#pragma once

#include <cstdint>
#include <string>

#include "coss/status.h"

namespace coss {

struct ReinsertionConfig {
  bool enabled = false;
  // Write-amplification target above 1: reinsertion keeps device bytes at or
  // below (1 + budget) x the bytes clients asked to store (reinsertion.h).
  double budget = 0;
  // After a reinsertion the copy keeps hits - 1 (halves the log counter:
  // frequency with ageing); with reset it starts from 0 (CLOCK-like).
  bool reset_hits = false;
};

struct AdmissionConfig {
  bool ghost = false;
  // Set dueling (admission.h): two small groups of keys always use admit-all
  // and the ghost; the rest follow whichever group misses less.
  bool duel = false;
  // Ghost capacity, in percent of the shard's live objects.
  uint32_t ghost_percent = 100;
};

struct PolicySpec {
  std::string relocation = "never";  // for MakeRelocationPolicy
  ReinsertionConfig reinsertion;
  AdmissionConfig admission;
};

Result<PolicySpec> ParsePolicySpec(const std::string& spec);

}  // namespace coss
