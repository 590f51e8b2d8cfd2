// bench_shim.cc — the harness's one C++ file: Google Benchmark behind the
// plain C functions of bench_shim.h. Keep it small; logic belongs in C.
//
// Run-wide settings (min time, repetitions) go through Google Benchmark's
// own flags rather than per-benchmark MinTime()/Repetitions(): those would
// become part of every benchmark's name ("/min_time:0.050"), and compare.py
// matches benchmarks by name across runs made with different settings.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_shim.h"

namespace
{

struct Entry {
    std::string name;
    ckb_fn fn;
    void *arg;
    double bytes, flops;
    ckb_setup_fn setup;
    ckb_teardown_fn teardown;
    ckb_count_start_fn count_start;
    ckb_count_stop_fn count_stop;
    std::vector<const char *> counter_names;
    ckb_fn advance;                        // cold runs: the untimed step before each call
    benchmark::internal::Benchmark *bench; // to switch it to manual time
};

struct Registry {
    std::vector<Entry> entries;       // by id; the lambdas read their entry from here
    std::map<std::string, int> id_of; // registered name -> id
    std::vector<ckb_result> results;
    std::vector<bool> have_result;
};

Registry &registry()
{
    static Registry r;
    return r;
}

void copy_string(char *dst, size_t cap, const std::string &s)
{
    std::snprintf(dst, cap, "%s", s.c_str());
}

double seconds_per_unit(benchmark::TimeUnit u)
{
    switch (u) {
    case benchmark::kSecond: return 1.0;
    case benchmark::kMillisecond: return 1e-3;
    case benchmark::kMicrosecond: return 1e-6;
    default: return 1e-9;
    }
}

double counter_or_zero(const benchmark::UserCounters &c, const char *key)
{
    auto it = c.find(key);
    return it == c.end() ? 0.0 : it->second.value;
}

// The display reporter: prints nothing, keeps the figures for ckb_get_result,
// announces progress, and forwards everything to Google Benchmark's own JSON
// reporter writing to our file.
class CollectingReporter : public benchmark::BenchmarkReporter
{
  public:
    CollectingReporter(const ckb_options &opts, benchmark::BenchmarkReporter *json) : opts_(opts), json_(json) {}

    bool ReportContext(const Context &context) override
    {
        if (json_)
            json_->ReportContext(context);
        return true;
    }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        if (json_)
            json_->ReportRuns(runs);
        std::string last;
        int id = -1;
        for (const Run &run : runs)
            if (run.run_type == Run::RT_Iteration && !run.error_occurred)
                times_[run.run_name.function_name].push_back(run.GetAdjustedRealTime());
        for (const Run &run : runs) {
            if (!is_the_figure(run))
                continue;
            id = keep(run);
            last = run.benchmark_name();
        }
        if (id >= 0 && registry().entries[(size_t)id].teardown)
            registry().entries[(size_t)id].teardown(registry().entries[(size_t)id].arg);
        if (!last.empty() && opts_.progress)
            opts_.progress(opts_.progress_user, last.c_str(), ++done_, (int)registry().entries.size());
    }

    void Finalize() override
    {
        if (json_)
            json_->Finalize();
    }

  private:
    // One figure per benchmark: the single run, or the median of repetitions.
    bool is_the_figure(const Run &run) const
    {
        if (run.error_occurred)
            return true;
        if (opts_.repetitions > 1)
            return run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
        return run.run_type == Run::RT_Iteration;
    }

    // Returns the benchmark's id, or -1 if it is not one of ours.
    int keep(const Run &run)
    {
        Registry &reg = registry();
        auto it = reg.id_of.find(run.run_name.function_name);
        if (it == reg.id_of.end())
            return -1;
        ckb_result r;
        std::memset(&r, 0, sizeof r);
        copy_string(r.name, sizeof r.name, run.benchmark_name());
        r.error = run.error_occurred ? 1 : 0;
        copy_string(r.error_message, sizeof r.error_message, run.error_message);
        if (!run.error_occurred) {
            r.real_time_ns = run.GetAdjustedRealTime() * seconds_per_unit(run.time_unit) * 1e9;
            r.iterations = run.iterations;
            r.bytes_per_second = counter_or_zero(run.counters, "bytes_per_second");
            r.flops_per_second = counter_or_zero(run.counters, "flops_per_second");
        }
        r.cv = cv_of(times_[run.run_name.function_name]);
        const Entry &e = reg.entries[(size_t)it->second];
        for (size_t i = 0; i < CKB_MAX_COUNTERS; i++) {
            auto c = i < e.counter_names.size() ? run.counters.find(e.counter_names[i]) : run.counters.end();
            r.counters[i] = c == run.counters.end() || run.error_occurred ? NAN : c->second.value;
        }
        reg.results[(size_t)it->second] = r;
        reg.have_result[(size_t)it->second] = true;
        return it->second;
    }

    // Of the repetitions' times; -1 with fewer than two.
    static double cv_of(const std::vector<double> &t)
    {
        if (t.size() < 2)
            return -1.0;
        double mean = 0, ss = 0;
        for (double x : t)
            mean += x / (double)t.size();
        for (double x : t)
            ss += (x - mean) * (x - mean);
        return mean > 0 ? std::sqrt(ss / (double)(t.size() - 1)) / mean : -1.0;
    }

    ckb_options opts_;
    benchmark::BenchmarkReporter *json_;
    int done_ = 0;
    std::map<std::string, std::vector<double>> times_; // per benchmark, each repetition's real time
};

void skip(benchmark::State &state, int status)
{
    std::string msg = "the benchmarked function returned " + std::to_string(status);
    state.SkipWithError(msg.c_str());
}

void run_entry(benchmark::State &state, int id)
{
    const Entry &e = registry().entries[(size_t)id];
    if (e.setup) {
        char err[256] = "";
        if (e.setup(e.arg, err, sizeof err) != 0) {
            state.SkipWithError(err[0] ? err : "setup failed");
            for (auto _ : state) // Google Benchmark wants the loop entered once
                break;
            return;
        }
    }
    double totals[CKB_MAX_COUNTERS];
    int counting = e.count_start ? e.count_start(e.arg) : -1;
    if (e.advance) {
        // Only the call is timed (manual time): picking the next copy of the
        // operands is not what the row measures (the counters, started and
        // stopped around the whole loop, include that small step).
        for (auto _ : state) {
            e.advance(e.arg);
            auto t0 = std::chrono::steady_clock::now();
            int status = e.fn(e.arg);
            state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            if (status != 0) {
                skip(state, status);
                break;
            }
        }
    } else {
        for (auto _ : state) {
            int status = e.fn(e.arg);
            if (status != 0) {
                skip(state, status);
                break;
            }
        }
    }
    if (e.count_stop && e.count_stop(e.arg, totals) == 0 && counting == 0)
        for (size_t i = 0; i < e.counter_names.size(); i++)
            if (std::isfinite(totals[i]))
                state.counters[e.counter_names[i]] = benchmark::Counter(totals[i], benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed((int64_t)(e.bytes * (double)state.iterations()));
    state.counters["bytes"] = benchmark::Counter(e.bytes);
    state.counters["flops"] = benchmark::Counter(e.flops);
    state.counters["flops_per_second"] = benchmark::Counter(e.flops, benchmark::Counter::kIsIterationInvariantRate);
}

// Google Benchmark reads its settings from flags; hand it ours.
void set_flags(const ckb_options &opts)
{
    double min_time = opts.min_time > 0 ? opts.min_time : 0.05;
    int reps = opts.repetitions > 1 ? opts.repetitions : 1;
    // Google Benchmark keeps argv[0] (as the JSON's "executable"): static.
    static char executable[] = "ckbench";
    std::vector<std::string> args = {
        "--benchmark_min_time=" + std::to_string(min_time),
        "--benchmark_repetitions=" + std::to_string(reps),
    };
    std::vector<char *> argv = {executable};
    for (std::string &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    int argc = (int)argv.size() - 1;
    benchmark::Initialize(&argc, argv.data());
}

} // namespace

extern "C" void ckb_reset(void)
{
    benchmark::ClearRegisteredBenchmarks();
    Registry &reg = registry();
    reg.entries.clear();
    reg.id_of.clear();
    reg.results.clear();
    reg.have_result.clear();
    std::map<std::string, std::string> *&ctx = benchmark::internal::GetGlobalContext();
    if (ctx)
        ctx->clear();
}

extern "C" int ckb_register(const char *name, ckb_fn fn, void *arg, double bytes_per_call, double flops_per_call)
{
    if (!name || !*name || !fn)
        return -1;
    Registry &reg = registry();
    if (reg.id_of.count(name))
        return -1;
    Entry e{name, fn, arg, bytes_per_call, flops_per_call, nullptr, nullptr, nullptr, nullptr, {}, nullptr, nullptr};
    int id = (int)reg.entries.size();
    // Real (wall) time unless ckb_set_advance switches it to manual time:
    // Google Benchmark takes one or the other, so it is set when the run starts.
    e.bench = benchmark::RegisterBenchmark(e.name.c_str(), [id](benchmark::State &st) { run_entry(st, id); });
    e.bench->Unit(benchmark::kMicrosecond);
    reg.entries.push_back(e);
    reg.id_of[e.name] = id;
    reg.results.push_back(ckb_result());
    reg.have_result.push_back(false);
    return id;
}

extern "C" int ckb_set_advance(int id, ckb_fn advance)
{
    Registry &reg = registry();
    if (id < 0 || (size_t)id >= reg.entries.size() || !advance)
        return -1;
    reg.entries[(size_t)id].advance = advance;
    return 0;
}

extern "C" int ckb_set_hooks(int id, ckb_setup_fn setup, ckb_teardown_fn teardown)
{
    Registry &reg = registry();
    if (id < 0 || (size_t)id >= reg.entries.size())
        return -1;
    reg.entries[(size_t)id].setup = setup;
    reg.entries[(size_t)id].teardown = teardown;
    return 0;
}

extern "C" int ckb_set_counting(int id, ckb_count_start_fn start, ckb_count_stop_fn stop, const char *const *names,
                                int n)
{
    Registry &reg = registry();
    if (id < 0 || (size_t)id >= reg.entries.size() || n < 0 || n > CKB_MAX_COUNTERS || (n > 0 && !names))
        return -1;
    Entry &e = reg.entries[(size_t)id];
    e.count_start = start;
    e.count_stop = stop;
    e.counter_names.assign(names, names + n);
    return 0;
}

extern "C" void ckb_add_context(const char *key, const char *value)
{
    if (!key || !value)
        return;
    std::map<std::string, std::string> *&ctx = benchmark::internal::GetGlobalContext();
    if (ctx && ctx->count(key))
        (*ctx)[key] = value; // replace: AddCustomContext refuses duplicates
    else
        benchmark::AddCustomContext(key, value);
}

extern "C" int ckb_run(const ckb_options *opts_in, const char *json_out_path, char *err, size_t err_len)
{
    ckb_options opts = {};
    if (opts_in)
        opts = *opts_in;
    if (opts.repetitions < 1)
        opts.repetitions = 1;
    std::ofstream out;
    std::unique_ptr<benchmark::JSONReporter> json;
    if (json_out_path) {
        out.open(json_out_path);
        if (!out) {
            std::snprintf(err, err_len, "%s: cannot open for writing: %s", json_out_path, std::strerror(errno));
            return -1;
        }
        json.reset(new benchmark::JSONReporter());
        json->SetOutputStream(&out);
        json->SetErrorStream(&out);
    }
    set_flags(opts);
    for (Entry &e : registry().entries) {
        if (e.advance)
            e.bench->UseManualTime();
        else
            e.bench->UseRealTime();
    }
    CollectingReporter display(opts, json.get());
    size_t n = benchmark::RunSpecifiedBenchmarks(&display);
    if (json_out_path) {
        out.close();
        if (out.fail()) {
            std::snprintf(err, err_len, "%s: write failed", json_out_path);
            return -1;
        }
    }
    return (int)n;
}

extern "C" int ckb_get_result(int id, ckb_result *out)
{
    Registry &reg = registry();
    if (id < 0 || (size_t)id >= reg.results.size() || !reg.have_result[(size_t)id])
        return -1;
    *out = reg.results[(size_t)id];
    return 0;
}
