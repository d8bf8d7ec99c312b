#include "cli/tool.hpp"
#include "serve/service.hpp"
#include "tools/tools.hpp"

#include <optional>

namespace mp::tools {

namespace {

struct ServeFlags {
  std::optional<std::string> host;
  std::optional<std::string> port;
  std::optional<std::string> threads;
  std::optional<std::string> keys_file;
  std::optional<std::string> provider;
  std::optional<std::string> openai_base_url;
  std::optional<std::string> redis;
  bool insecure = false;
};

void apply(config::Config& cfg, const ServeFlags& f) {
  auto set = [&](const std::optional<std::string>& v, std::string_view key, std::string_view flag) {
    if (v) {
      value_or_throw(config::set_value(cfg, key, *v, flag));
    }
  };
  set(f.host, "server.host", "--host");
  set(f.port, "server.port", "--port");
  set(f.threads, "server.threads", "--threads");
  set(f.keys_file, "auth.keys_file", "--keys-file");
  set(f.provider, "ai_processing.provider", "--provider");
  set(f.openai_base_url, "ai_processing.openai.base_url", "--openai-base-url");
  set(f.redis, "redis.url", "--redis");
  if (f.insecure) {
    cfg.server.insecure = true;
  }
}

} // namespace

int serve_main(int argc, char** argv) {
  CLI::App app{"mp-serve: the AI back end of an email-intelligence system: HTTP API, a cached, "
               "prioritised, rate-limited AI pipeline, Prometheus metrics, health checks.",
               "mp-serve"};
  cli::CommonOptions common;
  ServeFlags flags;
  cli::add_common_options(app, common);
  app.add_option("--host", flags.host, "Address to bind (default: 127.0.0.1)")->type_name("ADDR");
  app.add_option("-p,--port", flags.port, "TCP port; 0 picks a free one (default: 8002)")->type_name("PORT");
  app.add_option("-t,--threads", flags.threads, "I/O threads; 0 means one per core (default: 0)")
      ->type_name("N");
  app.add_option("--keys-file", flags.keys_file, "API keys file, one KEY[:SCOPE[:USER]] a line")
      ->type_name("FILE");
  app.add_flag("--insecure", flags.insecure, "Allow a non-loopback bind with no API keys");
  app.add_option("--provider", flags.provider, "AI provider: local|openai (default: local)")
      ->type_name("NAME");
  app.add_option("--openai-base-url", flags.openai_base_url,
                 "OpenAI-compatible API base URL (key from $OPENAI_API_KEY)")
      ->type_name("URL");

  app.add_option("--redis", flags.redis,
                 "Redis for state shared with other instances: redis://[user:password@]host:port/db")
      ->type_name("URL");

  return cli::run_tool("mp-serve", app, argc, argv, [&] {
    auto cfg = cli::load_config("mp-serve", common);
    apply(cfg, flags);
    if (common.print_config) {
      cli::print_config(cfg);
      return 0;
    }
    auto service = value_or_throw(serve::Service::create(cfg));
    value_or_throw(service->listen());
    service->run();
    return 0;
  });
}

} // namespace mp::tools
