// mp-cache: inspect, export, import and flush mp-serve's AI result cache, in Redis
// (--redis, or the config's redis.url / the seed's redis_host) or in one mp-serve's L1
// through its admin endpoints (--server). The commands are written once against
// CacheBackend (cache_backend.hpp); this file is the CLI and the line formats.

#include "cli/tool.hpp"
#include "redis/url.hpp"
#include "tools/cache_backend.hpp"
#include "tools/tools.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace mp::tools {

namespace {

const std::vector<std::string> k_types = {"classification", "summary", "action_items", "analysis"};

/// "90s", "30m", "24h", "7d" or plain seconds; Errc::usage naming `flag` otherwise.
std::int64_t parse_duration(const std::string& text, const char* flag) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const std::int64_t scale = unit.empty() || unit == "s" ? 1
                             : unit == "m"               ? 60
                             : unit == "h"               ? 3600
                             : unit == "d"               ? 86400
                                                         : -1;
  if (ec != std::errc{} || v < 0 || scale < 0) {
    throw Fatal(Error{Errc::usage,
                      fmt::format("{}: '{}' is not a duration (90s, 30m, 24h, 7d or seconds)", flag, text),
                      flag});
  }
  return v * scale;
}

/// Keys from arguments, or from stdin for `-`: one key a line, or NDJSON lines with a
/// "key" field (what `ls` prints). Every key must be a cache key; a bad line is an error
/// naming it, before anything is deleted.
std::vector<std::string> keys_to_delete(const std::vector<std::string>& args) {
  std::vector<std::string> keys;
  auto add = [&keys](std::string_view key, const std::string& where) {
    if (!cache_key_type(key)) {
      throw Fatal(Error{Errc::usage,
                        fmt::format("{}: '{}' is not a cache key (mp:cache:v1:<type>:<sha256>)", where, key),
                        "keys"});
    }
    keys.emplace_back(key);
  };
  for (const auto& a : args) {
    if (a != "-") {
      add(a, "del");
      continue;
    }
    std::string line;
    for (std::size_t n = 1; std::getline(std::cin, line); ++n) {
      const std::string_view t = util::trim(line);
      if (t.empty()) {
        continue;
      }
      if (!t.starts_with('{')) {
        add(t, fmt::format("stdin line {}", n));
        continue;
      }
      auto doc = util::parse_json(t);
      const auto key = doc ? util::get_string(*doc, "key") : std::nullopt;
      if (!key) {
        throw Fatal(
            Error{Errc::usage, fmt::format("stdin line {}: a JSON line needs a \"key\" string", n), "keys"});
      }
      add(*key, fmt::format("stdin line {}", n));
    }
  }
  return keys;
}

/// One import line, or the reason it is bad.
Expected<CacheEntry> parse_import_line(std::string_view line) {
  auto doc = util::parse_json(line);
  if (!doc) {
    return std::unexpected(doc.error());
  }
  if (!doc->IsObject()) {
    return fail(Errc::invalid, "not a JSON object");
  }
  const auto key = util::get_string(*doc, "key");
  if (!key || !cache_key_type(*key)) {
    return fail(Errc::invalid, "\"key\" must be a cache key (mp:cache:v1:<type>:<sha256>)", "key");
  }
  if (!doc->HasMember("value") || !(*doc)["value"].IsObject()) {
    return fail(Errc::invalid, "\"value\" must be the result JSON object", "value");
  }
  std::int64_t ttl = -1;
  if (doc->HasMember("ttl_s")) {
    const auto t = util::get_int(*doc, "ttl_s");
    if (!t) {
      return fail(Errc::invalid, "\"ttl_s\" must be an integer", "ttl_s");
    }
    ttl = *t;
  }
  return CacheEntry{std::string(*key), ttl, util::to_json((*doc)["value"])};
}

std::string key_info_json(const KeyInfo& k) {
  return fmt::format(R"({{"key":{},"type":"{}","bytes":{},"ttl_s":{},"age_s":{}}})", util::json_quote(k.key),
                     k.type, k.bytes, k.ttl_s, k.age_s ? std::to_string(*k.age_s) : "null");
}

/// A one-row summary: an object in json/jsonl, an aligned table or CSV otherwise.
void print_summary(const util::Table& t, util::Format f) {
  util::render(std::cout, t, f == util::Format::json ? util::Format::jsonl : f);
}

util::Cell opt_cell(std::optional<std::int64_t> v) {
  return v ? util::Cell{*v} : util::Cell{};
}

void write_type_summary(util::JsonWriter& w, const TypeSummary& s) {
  util::write_key(w, "keys");
  w.Uint64(s.keys);
  util::write_key(w, "bytes");
  w.Uint64(s.bytes);
  util::write_key(w, "ttl_s");
  if (!s.ttl_min) {
    w.Null();
    return;
  }
  w.StartObject();
  for (auto [name, v] : {std::pair{"min", s.ttl_min}, {"p50", s.ttl_p50}, {"max", s.ttl_max}}) {
    util::write_key(w, name);
    w.Int64(*v);
  }
  w.EndObject();
}

/// hits / (hits + misses) in percent, or nullopt before any lookup.
std::optional<double> rate(const CacheSummary& s, const char* hits, const char* misses) {
  auto get = [&s](const char* k) {
    auto it = s.counters.find(k);
    return it == s.counters.end() ? 0.0 : static_cast<double>(it->second);
  };
  const double h = get(hits);
  const double total = h + get(misses);
  return total > 0 ? std::optional<double>(100.0 * h / total) : std::nullopt;
}

void print_stats(const CacheSummary& s, util::Format f) {
  const auto hit_rate = rate(s, "hits", "misses");
  const auto l2_rate = rate(s, "l2_hits", "l2_misses");
  if (f == util::Format::json || f == util::Format::jsonl) {
    rapidjson::StringBuffer buf;
    util::JsonWriter w(buf);
    w.StartObject();
    util::write_kv(w, "source", s.source);
    util::write_kv(w, "where", s.where);
    util::write_kv(w, "bytes_method", s.bytes_method);
    write_type_summary(w, s.all);
    util::write_key(w, "no_ttl_keys");
    w.Uint64(s.no_ttl_keys);
    util::write_key(w, "by_type");
    w.StartObject();
    for (const auto& [type, t] : s.by_type) {
      util::write_key(w, type);
      w.StartObject();
      write_type_summary(w, t);
      w.EndObject();
    }
    w.EndObject();
    util::write_key(w, "counters");
    w.StartObject();
    for (const auto& [k, v] : s.counters) {
      util::write_key(w, k);
      w.Int64(v);
    }
    w.EndObject();
    for (auto [name, v] : {std::pair{"hit_rate_percent", hit_rate}, {"l2_hit_rate_percent", l2_rate}}) {
      util::write_key(w, name);
      v ? w.Double(*v) : w.Null();
    }
    w.EndObject();
    std::cout << (f == util::Format::json ? util::to_json(*util::parse_json(buf.GetString()), true)
                                          : std::string(buf.GetString()))
              << '\n';
    return;
  }
  util::Table t{{"type", "keys", "bytes", "ttl_min_s", "ttl_p50_s", "ttl_max_s"}, {}};
  auto row = [&t](const std::string& name, const TypeSummary& x) {
    t.add({name, static_cast<std::int64_t>(x.keys), static_cast<std::int64_t>(x.bytes), opt_cell(x.ttl_min),
           opt_cell(x.ttl_p50), opt_cell(x.ttl_max)});
  };
  for (const auto& [type, x] : s.by_type) {
    row(type, x);
  }
  row("all", s.all);
  util::render(std::cout, t, f);
  if (f == util::Format::table) {
    auto pct = [](std::optional<double> v) { return v ? fmt::format("{:.1f}%", *v) : std::string("n/a"); };
    std::cout << fmt::format("\n{} {} (bytes by {}); {} key(s) without a TTL\nhit rate {} (servers' counters",
                             s.source, s.where, s.bytes_method, s.no_ttl_keys, pct(hit_rate));
    for (const auto& [k, v] : s.counters) {
      std::cout << fmt::format(" {}={}", k, v);
    }
    std::cout << fmt::format("); L2 hit rate {}\n", pct(l2_rate));
  }
}

/// Progress on stderr, only when it is a terminal, at most ten times a second.
Progress tty_progress(const char* verb) {
  if (isatty(STDERR_FILENO) == 0) {
    return {};
  }
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [last, verb](std::uint64_t seen, std::uint64_t deleted) {
    const auto now = std::chrono::steady_clock::now();
    if (now - *last >= std::chrono::milliseconds(100)) {
      *last = now;
      std::cerr << fmt::format("\r{} {} key(s), scanned {}   ", verb, deleted, seen) << std::flush;
    }
  };
}

/// Asks before a flush: refused without --yes when stdin is not a terminal.
void confirm_flush(const KeyFilter& f, const std::string& where) {
  const std::string what =
      fmt::format("{}cache keys{}", f.type.empty() ? "all " : "the " + f.type + " ",
                  f.older_than_s ? fmt::format(" older than {} s", *f.older_than_s) : std::string());
  if (isatty(STDIN_FILENO) == 0) {
    throw Fatal(
        Error{Errc::usage,
              fmt::format("flush: stdin is not a terminal, so it cannot ask: pass --yes to delete {} in {}",
                          what, where),
              "--yes"});
  }
  std::cerr << fmt::format("Delete {} in {}? [y/N] ", what, where) << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  const std::string_view a = util::trim(answer);
  if (a != "y" && a != "Y" && a != "yes") {
    throw Fatal(Error{Errc::internal, "flush: not confirmed; nothing deleted"});
  }
}

int run_import(CacheBackend& backend, std::optional<std::chrono::seconds> ttl, bool replace, util::Format f) {
  constexpr std::size_t k_batch = 1000;
  ImportOutcome total;
  std::uint64_t bad = 0;
  std::vector<CacheEntry> batch;
  auto send = [&] {
    const auto r = value_or_throw(backend.import_entries(batch, ttl, replace));
    total.imported += r.imported;
    total.existing += r.existing;
    batch.clear();
  };
  std::string line;
  for (std::size_t n = 1; std::getline(std::cin, line); ++n) {
    if (util::trim(line).empty()) {
      continue;
    }
    auto e = parse_import_line(util::trim(line));
    if (!e) {
      std::cerr << fmt::format("mp-cache: error: stdin line {}: {}\n", n, e.error().message);
      ++bad;
      continue;
    }
    batch.push_back(std::move(*e));
    if (batch.size() == k_batch) {
      send();
    }
  }
  if (!batch.empty()) {
    send();
  }
  util::Table t{{"imported", "existing", "bad_lines"}, {}};
  t.add({static_cast<std::int64_t>(total.imported), static_cast<std::int64_t>(total.existing),
         static_cast<std::int64_t>(bad)});
  print_summary(t, f);
  return bad > 0 ? static_cast<int>(ExitCode::failure) : 0;
}

int run_export(CacheBackend& backend, const KeyFilter& filter) {
  std::uint64_t bad = 0;
  value_or_throw(backend.export_entries(
      filter,
      [](const CacheEntry& e) {
        std::cout << fmt::format(R"({{"key":{},"ttl_s":{},"value":{}}})", util::json_quote(e.key), e.ttl_s,
                                 e.value_json)
                  << '\n';
      },
      [&bad](const std::string& key) {
        std::cerr << fmt::format("mp-cache: error: {}: the value is not a zstd frame of JSON; skipped\n",
                                 key);
        ++bad;
      }));
  std::cout << std::flush;
  return bad > 0 ? static_cast<int>(ExitCode::failure) : 0;
}

std::unique_ptr<CacheBackend> open_backend(const config::Config& cfg, const std::string& server) {
  if (!server.empty()) {
    const char* key = std::getenv("MP_API_KEY");
    return open_server_backend(server, key ? key : "");
  }
  auto url = value_or_throw(redis::from_config(cfg));
  if (!url) {
    throw Fatal(
        Error{Errc::usage,
              "no cache to reach: give --redis URL (or redis.url in the config), or --server URL for an "
              "mp-serve without Redis",
              "--redis"});
  }
  RedisBackendOptions o;
  o.connect_timeout = std::chrono::milliseconds(cfg.redis.connect_timeout_ms);
  o.command_timeout = std::chrono::milliseconds(cfg.redis.command_timeout_ms);
  o.ttl_seconds = cfg.ai_processing.cache.ttl_seconds;
  o.zstd_level = static_cast<int>(cfg.ai_processing.cache.compression_level);
  auto b = open_redis_backend(*url, o);
  if (!b) {
    throw Fatal(Error{b.error().code, fmt::format("{}: {}", url->redacted(), b.error().message), "--redis"});
  }
  return std::move(*b);
}

} // namespace

int cache_main(int argc, char** argv) {
  CLI::App app{"mp-cache: inspect, export, import and flush mp-serve's AI result cache.", "mp-cache"};
  cli::CommonOptions common;
  cli::add_common_options(app, common);
  std::optional<std::string> redis_url;
  std::string server, format;
  app.add_option("--redis", redis_url,
                 "Redis holding the cache: redis://[user:password@]host:port/db (sets redis.url)")
      ->type_name("URL");
  app.add_option(
         "--server", server,
         "an mp-serve without Redis, e.g. http://127.0.0.1:8002: its admin endpoints (key from MP_API_KEY)")
      ->type_name("URL");
  cli::add_format_option(app, format);
  app.require_subcommand(0, 1);
  app.fallthrough(); // --redis, --server and --format may follow the command

  auto type_option = [](CLI::App* sub, std::string& type, const char* what) {
    sub->add_option("--type", type, what)->check(CLI::IsMember(k_types))->type_name("TYPE");
  };
  KeyFilter filter;
  std::string older_than;
  app.add_subcommand("stats", "keys, bytes and TTL spread by request type; the servers' hit rate");
  auto* ls = app.add_subcommand("ls", "list keys as NDJSON: key, type, bytes, ttl_s, age_s");
  type_option(ls, filter.type, "only this request type: classification|summary|action_items|analysis");
  ls->add_option("--pattern", filter.pattern, "a Redis glob over the whole key, e.g. 'mp:cache:v1:*:ab*'")
      ->type_name("GLOB");
  ls->add_option("--older-than", older_than, "only keys at least this old: 90s, 30m, 24h, 7d")
      ->type_name("DUR");
  ls->add_option("--limit", filter.limit, "stop after N keys (0: all)")->type_name("N");
  auto* get = app.add_subcommand("get", "a key's result, decompressed, as pretty JSON");
  std::string get_key;
  get->add_option("key", get_key, "the cache key")->required();
  auto* del = app.add_subcommand("del", "delete keys given as arguments, or read from stdin with '-'");
  std::vector<std::string> del_keys;
  del->add_option("keys", del_keys,
                  "cache keys, or '-': one a line or NDJSON with \"key\" (mp-cache ls | ...)")
      ->required();
  auto* flush = app.add_subcommand("flush", "delete every matching key (SCAN plus pipelined UNLINK)");
  std::string flush_type, flush_older;
  bool dry_run = false, yes = false;
  type_option(flush, flush_type, "only this request type");
  flush->add_option("--older-than", flush_older, "only keys at least this old: 90s, 30m, 24h, 7d")
      ->type_name("DUR");
  flush->add_flag("--dry-run", dry_run, "count the keys it would delete; delete nothing");
  flush->add_flag("--yes", yes, "do not ask (required when stdin is not a terminal)");
  auto* exp = app.add_subcommand("export", "NDJSON {key, ttl_s, value}, for warming and migration");
  std::string export_type;
  type_option(exp, export_type, "only this request type");
  auto* imp = app.add_subcommand("import", "store NDJSON {key, ttl_s, value} from stdin (zstd, SET EX NX)");
  std::string import_ttl;
  bool replace = false;
  imp->add_option("--ttl", import_ttl,
                  "TTL for every key (default: the line's ttl_s, else ai_processing.cache.ttl_seconds)")
      ->type_name("DUR");
  imp->add_flag("--replace", replace, "overwrite keys that exist (default: keep them)");

  return cli::run_tool("mp-cache", app, argc, argv, [&]() -> int {
    auto cfg = cli::load_config("mp-cache", common);
    if (redis_url) {
      value_or_throw(config::set_value(cfg, "redis.url", *redis_url, "--redis"));
    }
    if (common.print_config) {
      cli::print_config(cfg);
      return 0;
    }
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
    if (redis_url && !server.empty()) {
      throw Fatal(Error{Errc::usage, "--redis and --server: give one", "--server"});
    }
    const auto f = value_or_throw(cli::resolve_format(format));
    const std::vector<std::string> keys =
        del->parsed() ? keys_to_delete(del_keys) : std::vector<std::string>{};
    auto backend = open_backend(cfg, server);
    if (app.got_subcommand("stats")) {
      print_stats(value_or_throw(backend->stats()), f);
      return 0;
    }
    if (ls->parsed()) {
      if (!older_than.empty()) {
        filter.older_than_s = parse_duration(older_than, "--older-than");
      }
      value_or_throw(backend->list(filter, [](const KeyInfo& k) {
        std::cout << key_info_json(k) << '\n';
        return static_cast<bool>(std::cout);
      }));
      std::cout << std::flush;
      return 0;
    }
    if (get->parsed()) {
      const auto json = value_or_throw(backend->get(get_key));
      std::cout << util::to_json(*util::parse_json(json), true) << '\n';
      return 0;
    }
    if (del->parsed()) {
      const auto n = value_or_throw(backend->del(keys));
      util::Table t{{"deleted", "requested"}, {}};
      t.add({static_cast<std::int64_t>(n), static_cast<std::int64_t>(keys.size())});
      print_summary(t, f);
      return 0;
    }
    if (flush->parsed()) {
      KeyFilter ff;
      ff.type = flush_type;
      if (!flush_older.empty()) {
        ff.older_than_s = parse_duration(flush_older, "--older-than");
      }
      if (!dry_run && !yes) {
        confirm_flush(ff, server.empty() ? redis::from_config(cfg).value()->redacted() : server);
      }
      const auto r =
          value_or_throw(backend->flush(ff, dry_run, tty_progress(dry_run ? "matched" : "deleted")));
      if (isatty(STDERR_FILENO) != 0) {
        std::cerr << '\n';
      }
      util::Table t{{"dry_run", "scanned", "matched", "deleted", "servers_notified"}, {}};
      t.add({dry_run, static_cast<std::int64_t>(r.scanned), static_cast<std::int64_t>(r.matched),
             static_cast<std::int64_t>(r.deleted), static_cast<std::int64_t>(r.servers_notified)});
      print_summary(t, f);
      return 0;
    }
    if (exp->parsed()) {
      KeyFilter ef;
      ef.type = export_type;
      return run_export(*backend, ef);
    }
    std::optional<std::chrono::seconds> ttl;
    if (!import_ttl.empty()) {
      ttl = std::chrono::seconds(parse_duration(import_ttl, "--ttl"));
      if (ttl->count() <= 0) {
        throw Fatal(Error{Errc::usage, "--ttl: must be at least 1s", "--ttl"});
      }
    }
    return run_import(*backend, ttl, replace, f);
  });
}

} // namespace mp::tools
