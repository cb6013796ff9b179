using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace PagePool.Benchmarks;

/// <summary>
/// Entry point. All BenchmarkDotNet switches work (<c>--filter</c>, <c>--job</c>, ...); <c>--quick</c> picks
/// <see cref="QuickConfig"/> (one launch, 3 warmups, 8 iterations) so the whole suite runs in minutes on 2 cores;
/// <c>--smoke</c> runs each benchmark once (BenchmarkDotNet's Dry job) to check that every one works.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick", StringComparer.OrdinalIgnoreCase);
        bool smoke = args.Contains("--smoke", StringComparer.OrdinalIgnoreCase);
        string[] rest = args.Where(a => !string.Equals(a, "--quick", StringComparison.OrdinalIgnoreCase)
                                      && !string.Equals(a, "--smoke", StringComparison.OrdinalIgnoreCase)).ToArray();
        IConfig config = smoke ? new SmokeConfig() : quick ? new QuickConfig() : new FullConfig();
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
