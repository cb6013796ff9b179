using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace PagePool.Benchmarks;

/// <summary>
/// Entry point. All BenchmarkDotNet switches work (<c>--filter</c>, <c>--job</c>, ...); <c>--quick</c> picks
/// <see cref="QuickConfig"/> (one launch, 3 warmups, 8 iterations) so the whole suite runs in minutes on 2 cores;
/// <c>--interleaved [folder]</c> runs the owner-thread scenarios round-robin in one process (paired ratios, for busy
/// machines) and writes the tables to the folder; <c>--smoke</c> runs each benchmark once (BenchmarkDotNet's Dry job) to check that every one works.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int interleaved = Array.FindIndex(args, a => string.Equals(a, "--interleaved", StringComparison.OrdinalIgnoreCase));
        if (interleaved >= 0)
        {
            return Interleaved.Run(interleaved + 1 < args.Length ? args[interleaved + 1] : "results");
        }
        bool quick = args.Contains("--quick", StringComparer.OrdinalIgnoreCase);
        bool smoke = args.Contains("--smoke", StringComparer.OrdinalIgnoreCase);
        string[] rest = args.Where(a => !string.Equals(a, "--quick", StringComparison.OrdinalIgnoreCase)
                                      && !string.Equals(a, "--smoke", StringComparison.OrdinalIgnoreCase)).ToArray();
        IConfig config = smoke ? new SmokeConfig() : quick ? new QuickConfig() : new FullConfig();
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
