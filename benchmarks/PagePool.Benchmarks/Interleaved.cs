using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using BenchmarkDotNet.Attributes;

namespace PagePool.Benchmarks;

/// <summary>
/// <c>--interleaved</c>: a paired measurement for busy machines. Every owner-thread benchmark of a class runs in one
/// process, round-robin, a short slice each per round; per round, each candidate's time is divided by the baseline's
/// time of the same round, and the median of those ratios is reported. Load from other processes hits every candidate
/// alike, so the ratios stay meaningful where BenchmarkDotNet's separate runs drift apart. Complements, does not replace,
/// the BenchmarkDotNet tables.
/// </summary>
internal static class Interleaved
{
    private const int WarmupRounds = 40;
    private const int Rounds = 200;
    private const int InvokesPerSlice = 8;

    public static int Run(string resultsFolder)
    {
        Directory.CreateDirectory(resultsFolder);
        foreach (Type type in new[] { typeof(SingleBenchmarks), typeof(BurstBenchmarks) })
        {
            string table = Measure(type);
            Console.WriteLine(table);
            File.WriteAllText(Path.Combine(resultsFolder, $"{type.Name}-interleaved.md"), table);
        }
        return 0;
    }

    private sealed record Candidate(string Name, Action Invoke, int Pairs, bool Baseline);

    private static string Measure(Type type)
    {
        object instance = Activator.CreateInstance(type)!;
        MethodInfo[] methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance);
        methods.Single(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null).Invoke(instance, null);
        var candidates = methods
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<BenchmarkAttribute>()))
            .Where(x => x.Attribute is not null)
            .OrderBy(x => x.Attribute!.SourceCodeLineNumber)
            .Select(x => new Candidate(x.Attribute!.Description ?? x.Method.Name, x.Method.CreateDelegate<Action>(instance),
                                       x.Attribute.OperationsPerInvoke, x.Attribute.Baseline))
            .ToArray();
        int baseline = Array.FindIndex(candidates, c => c.Baseline);

        var nsPerPair = new List<double>[candidates.Length];
        var ratios = new List<double>[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            nsPerPair[i] = new List<double>(Rounds);
            ratios[i] = new List<double>(Rounds);
        }
        double[] round = new double[candidates.Length];
        long gen0 = 0;
        for (int r = 0; r < WarmupRounds + Rounds; r++)
        {
            for (int i = 0; i < candidates.Length; i++)
            {
                // Rotate the order each round so no candidate always runs right after another.
                int c = (i + r) % candidates.Length;
                Candidate candidate = candidates[c];
                long start = Stopwatch.GetTimestamp();
                for (int k = 0; k < InvokesPerSlice; k++)
                {
                    candidate.Invoke();
                }
                long elapsed = Stopwatch.GetTimestamp() - start;
                round[c] = elapsed * (1e9 / Stopwatch.Frequency) / (InvokesPerSlice * (double)candidate.Pairs);
            }
            if (r >= WarmupRounds)
            {
                for (int c = 0; c < candidates.Length; c++)
                {
                    nsPerPair[c].Add(round[c]);
                    ratios[c].Add(round[c] / round[baseline]);
                }
            }
            else if (r == WarmupRounds - 1)
            {
                gen0 = GC.CollectionCount(0);
            }
        }
        methods.SingleOrDefault(m => m.GetCustomAttribute<GlobalCleanupAttribute>() is not null)?.Invoke(instance, null);

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{type.Name}, interleaved: {Rounds} rounds after {WarmupRounds} warm-up rounds, " +
                                                      $"{InvokesPerSlice} invocations per candidate per round, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        text.AppendLine();
        text.AppendLine("| Method | Median ns/pair | Min ns/pair | Paired ratio vs baseline (median of rounds) | Ratio of mins |");
        text.AppendLine("|--- |---:|---:|---:|---:|");
        for (int c = 0; c < candidates.Length; c++)
        {
            string ratioText = c == baseline ? "baseline" : RatioText(Median(ratios[c]));
            string minRatioText = c == baseline ? "baseline" : RatioText(nsPerPair[c].Min() / nsPerPair[baseline].Min());
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {candidates[c].Name} | {Median(nsPerPair[c]):F2} | {nsPerPair[c].Min():F2} | {ratioText} | {minRatioText} |");
        }
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Gen0 collections while measuring (all candidates together): {GC.CollectionCount(0) - gen0}");
        return text.ToString();
    }

    private static string RatioText(double ratio) =>
        ratio < 1 ? string.Create(CultureInfo.InvariantCulture, $"{1 / ratio:F2}x faster")
                  : string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}x slower");

    private static double Median(List<double> values)
    {
        double[] sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
