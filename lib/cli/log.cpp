#include "cli/log.hpp"
#include "util/output.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fmt/format.h>

namespace mp::cli {

namespace {

void append_escaped(spdlog::memory_buf_t& dest, std::string_view s) {
  for (char c : s) {
    switch (c) {
    case '"': dest.append(std::string_view("\\\"")); break;
    case '\\': dest.append(std::string_view("\\\\")); break;
    case '\n': dest.append(std::string_view("\\n")); break;
    case '\r': dest.append(std::string_view("\\r")); break;
    case '\t': dest.append(std::string_view("\\t")); break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        const auto hex = fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        dest.append(hex.data(), hex.data() + hex.size());
      } else {
        dest.push_back(c);
      }
    }
  }
}

/// `{"ts":"2026-12-01T08:00:00.123Z","level":"info","logger":"mp-serve","msg":"..."}`
class JsonFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto secs = std::chrono::system_clock::to_time_t(msg.time);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const auto ts = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(std::string_view(R"({"ts":")"));
    dest.append(ts.data(), ts.data() + ts.size());
    dest.append(std::string_view(R"(","level":")"));
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view(R"(","logger":")"));
    append_escaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    dest.append(std::string_view(R"(","msg":")"));
    append_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view("\"}\n"));
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

} // namespace

void setup_logging(std::string_view tool, std::string_view level, std::string_view format) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      util::color_allowed(STDERR_FILENO) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>(std::string(tool), std::move(sink));
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace mp::cli
