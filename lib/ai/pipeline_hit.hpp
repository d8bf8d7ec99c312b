#pragma once
// The hit ring's record, shared by pipeline.cpp and pipeline_hits.cpp (internal).

#include "ai/pipeline.hpp"

namespace mp::ai {

/// A cache hit's record: only what its JSON shows, kept in place in the hit ring so a
/// hit allocates nothing once its slot has been used.
struct Pipeline::Hit {
  std::string id;
  analyser::RequestType type = analyser::RequestType::classification;
  Priority priority = Priority::normal;
  std::string email_id_json;
  std::string owner;
  std::string model;
  std::shared_ptr<const std::string> result;
  util::Clock::SteadyTime at{};
  double created_unix = 0;
};

} // namespace mp::ai
